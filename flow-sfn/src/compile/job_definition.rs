//! AWS Batch job definitions: one per distinct combination of image, resources, job role
//! and timeout, in the shape of the `RegisterJobDefinition` request.
//!
//! Steps with the same settings share a definition, so a 500-step flow with default
//! settings registers one. The name is the state machine's name plus a hash of the
//! content: redeploying unchanged settings reuses the name, changed settings get a new one.
//!
//! Batch retries a job only when its host failed (a Spot reclaim: AWS Batch, "Automated job
//! retries"); the step's own retries are Step Functions' (see `asl.rs`), because Batch never
//! retries a job it stopped for its timeout (AWS Batch, "Job timeouts") and would sleep the
//! backoff inside a paid container. Batch's timeout is only a backstop past the step's own.

use super::names::job_definition_name;
use super::CompileError;
use crate::config::DeployConfig;
use crate::infra::fargate::{apply_to_job_definition, fargate_resources, FargateError};
use crate::json::to_canonical_compact;
use flow_graph::StepSpec;
use serde_json::{json, Value};

/// Attempts Batch makes of a job whose host failed (AWS Batch allows 1 to 10): at a 5%
/// Spot reclaim rate, a task still fails this way once in 3.2 million.
pub const HOST_FAILURE_ATTEMPTS: u32 = 5;
/// The status reason of a job attempt whose EC2 host went away (a Spot reclaim, a host
/// failure), as Batch reports it: such attempts are retried, every other failure is not.
pub const HOST_FAILURE_STATUS_REASON: &str = "Host EC2*";
/// Seconds Batch lets an attempt run past the step's timeout before it kills it: the job
/// loads its inputs before the step's clock starts and commits its outputs after it stops,
/// and a sync step that overran ends the process only once its attempt is recorded.
pub const BATCH_TIMEOUT_MARGIN_SECS: u64 = 300;

/// The settings of one step's Batch job, resolved against the deployment defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepJob {
    /// The job definition's name (shared by steps with identical settings).
    pub definition_name: String,
    /// The `RegisterJobDefinition` request, name included.
    pub definition: Value,
    /// The job queue the step is submitted to.
    pub queue: String,
}

/// Resolves `step`'s Batch settings, or says which option is out of Batch's range.
pub fn step_job(step: &StepSpec, config: &DeployConfig) -> Result<StepJob, CompileError> {
    let name = step.name.as_str();
    let options = &step.options;
    let resources = &options.resources;
    let cpu = resources.cpu.unwrap_or(config.default_cpu);
    let memory_mb = resources.memory_mb.unwrap_or(config.default_memory_mb);
    if cpu == 0 {
        return Err(invalid_option(
            name,
            "resources(cpu = 0)",
            "ask for at least 1 vCPU",
        ));
    }
    if memory_mb < 4 {
        return Err(invalid_option(
            name,
            &format!("resources(memory = {memory_mb})"),
            "AWS Batch needs at least 4 MiB",
        ));
    }
    let batch = &options.batch;
    let image = batch.image.as_deref().unwrap_or(&config.image);
    let queue = batch.queue.as_deref().unwrap_or(&config.job_queue);
    let job_role = batch.job_role.as_deref().or(config.job_role_arn.as_deref());
    for (what, value) in [("batch(image)", image), ("batch(queue)", queue)] {
        if value.is_empty() || value.chars().any(char::is_whitespace) {
            return Err(invalid_option(
                name,
                &format!("{what} = {value:?}"),
                "give a non-empty value without whitespace",
            ));
        }
    }
    if let Some(role) = job_role {
        if !(role.starts_with("arn:") && role.contains(":role/")) {
            return Err(invalid_option(
                name,
                &format!("batch(job_role = {role:?})"),
                "give an IAM role ARN: arn:aws:iam::<account>:role/<name>",
            ));
        }
    }

    let mut requirements = vec![
        json!({"type": "VCPU", "value": cpu.to_string()}),
        json!({"type": "MEMORY", "value": memory_mb.to_string()}),
    ];
    if let Some(gpu) = resources.gpu.filter(|&g| g > 0) {
        requirements.push(json!({"type": "GPU", "value": gpu.to_string()}));
    }
    let mut container = json!({
        "image": image,
        // Every task overrides the command with its own argv; this default only shows,
        // in the Batch console, which program the definition is for.
        "command": [config.binary_name.as_str(), "step"],
        "resourceRequirements": requirements,
    });
    if let Some(role) = job_role {
        container["jobRoleArn"] = json!(role);
    }
    step_environment(step, config, &mut container)?;
    let mut definition = json!({
        "type": "container",
        "containerProperties": container,
        "retryStrategy": host_failure_retry(),
        "propagateTags": true,
    });
    if let Some(secs) = options.timeout_secs {
        definition["timeout"] = json!({"attemptDurationSeconds": backstop_timeout_secs(secs)});
    }
    if let Some(fargate) = &config.fargate {
        let resources = fargate_resources(step, config.default_cpu, config.default_memory_mb)
            .map_err(|e| fargate_refusal(step, config, e))?;
        apply_to_job_definition(&mut definition, &resources, fargate);
    }
    let definition_name = job_definition_name(
        &config.state_machine_name,
        &to_canonical_compact(&definition),
    );
    definition["jobDefinitionName"] = json!(definition_name);
    Ok(StepJob {
        definition_name,
        definition,
        queue: queue.to_string(),
    })
}

/// A step's `env` as the container's `environment`, and its `secrets` as `secrets` entries
/// whose `valueFrom` is the secret's ARN: Batch reads each from Secrets Manager when the job
/// starts, with the job's execution role, so the value is in no definition, input or log
/// (AWS Batch User Guide, "Specifying sensitive data with Secrets Manager"). On EC2 compute
/// that role is `--execution-role`; a Fargate job has its own.
fn step_environment(
    step: &StepSpec,
    config: &DeployConfig,
    container: &mut serde_json::Value,
) -> Result<(), CompileError> {
    let options = &step.options;
    if !options.env.is_empty() {
        container["environment"] = options
            .env
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
    }
    if options.secrets.is_empty() {
        return Ok(());
    }
    container["secrets"] = options
        .secrets
        .iter()
        .map(|(name, arn)| json!({"name": name, "valueFrom": arn}))
        .collect();
    if config.fargate.is_none() {
        let Some(role) = &config.execution_role_arn else {
            return Err(invalid_option(
                &step.name,
                "secrets(...)",
                "AWS Batch reads a step's secrets with an execution role: give \
                 --execution-role / FLOW_SFN_EXECUTION_ROLE (a role trusted by \
                 ecs-tasks.amazonaws.com that may call secretsmanager:GetSecretValue on them)",
            ));
        };
        container["executionRoleArn"] = json!(role);
    }
    Ok(())
}

/// The `retryStrategy` of every job: retry an attempt whose host failed, stop on any other
/// failure (the first matching condition decides; AWS Batch, "Automated job retries").
pub fn host_failure_retry() -> Value {
    json!({
        "attempts": HOST_FAILURE_ATTEMPTS,
        "evaluateOnExit": [
            {"onStatusReason": HOST_FAILURE_STATUS_REASON, "action": "RETRY"},
            {"onReason": "*", "action": "EXIT"},
        ],
    })
}

/// Batch's `attemptDurationSeconds` for a step that times out after `step_timeout_secs`:
/// past it by [`BATCH_TIMEOUT_MARGIN_SECS`], so that the step's own timeout always fires
/// first and records the attempt, and never under Batch's minimum of 60 seconds.
pub fn backstop_timeout_secs(step_timeout_secs: u64) -> u64 {
    step_timeout_secs.saturating_add(BATCH_TIMEOUT_MARGIN_SECS)
}

/// A step's resources Fargate cannot serve, as the option the user wrote and the fix.
fn fargate_refusal(step: &StepSpec, config: &DeployConfig, error: FargateError) -> CompileError {
    let resources = &step.options.resources;
    let compute = config.compute;
    let (option, fix) = match &error {
        FargateError::Gpu { gpus, .. } => (
            format!("resources(gpu = {gpus})"),
            format!(
                "Fargate (--compute {compute}) has no GPUs: deploy with `--compute ec2` or \
                 `--compute spot`, or give the step a queue of GPU instances with \
                 `batch(queue = ..)`"
            ),
        ),
        FargateError::Vcpu { vcpus, valid, .. } => (
            match resources.cpu {
                Some(_) => format!("resources(cpu = {vcpus})"),
                None => format!("{vcpus} vCPU(s) by default (--cpu)"),
            },
            format!("a Fargate job (--compute {compute}) has {valid} vCPUs"),
        ),
        FargateError::Memory {
            vcpu,
            memory_mib,
            valid,
            ..
        } => (
            match (resources.cpu, resources.memory_mb) {
                (Some(cpu), Some(_)) => format!("resources(cpu = {cpu}, memory = {memory_mib})"),
                (None, Some(_)) => format!("resources(memory = {memory_mib})"),
                (_, None) => format!("{memory_mib} MiB by default (--memory)"),
            },
            format!(
                "a Fargate job (--compute {compute}) with {vcpu} vCPU(s) has one of {valid} MiB"
            ),
        ),
    };
    invalid_option(&step.name, &option, &fix)
}

fn invalid_option(step: &str, option: &str, fix: &str) -> CompileError {
    CompileError::InvalidStepOption {
        step: step.to_string(),
        option: option.to_string(),
        fix: fix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::S3Root;
    use flow_graph::{BatchOverrides, Resources, Retry, StepOptions, Transition};

    fn config() -> DeployConfig {
        DeployConfig::new(
            "Machine",
            S3Root::parse("s3://bucket").unwrap(),
            "image:1",
            "queue",
            "flow",
        )
    }

    fn step_with(options: StepOptions) -> StepSpec {
        let mut step = StepSpec::new("work", Transition::Next("end".into()));
        step.options = options;
        step
    }

    #[test]
    fn defaults_retry_host_failures_only_and_use_the_default_resources() {
        let job = step_job(&step_with(StepOptions::default()), &config()).unwrap();
        let d = &job.definition;
        assert_eq!(
            d["retryStrategy"],
            json!({
                "attempts": 5,
                "evaluateOnExit": [
                    {"onStatusReason": "Host EC2*", "action": "RETRY"},
                    {"onReason": "*", "action": "EXIT"}
                ]
            })
        );
        assert!(d.get("timeout").is_none());
        assert_eq!(
            d["containerProperties"]["resourceRequirements"],
            json!([{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "4096"}])
        );
        assert_eq!(d["containerProperties"]["image"], "image:1");
        assert!(d["containerProperties"].get("jobRoleArn").is_none());
        assert_eq!(job.queue, "queue");
        assert_eq!(d["jobDefinitionName"], json!(job.definition_name));
        assert!(job.definition_name.starts_with("Machine-"));
    }

    #[test]
    fn step_retries_are_not_batch_retries() {
        // Step Functions retries the step (a new job per attempt): the job definition is the
        // same whatever the step's retries, and so is its name.
        let plain = step_job(&step_with(StepOptions::default()), &config()).unwrap();
        for times in [1, 9, 10, 50] {
            let options = StepOptions {
                retry: Some(Retry {
                    times,
                    backoff_ms: 2000,
                }),
                ..StepOptions::default()
            };
            let job = step_job(&step_with(options), &config()).unwrap();
            assert_eq!(job, plain, "retry(times = {times})");
        }
    }

    #[test]
    fn the_batch_timeout_is_a_backstop_past_the_step_timeout() {
        for (step, batch) in [(600, 900), (61, 361), (1, 301)] {
            let options = StepOptions {
                timeout_secs: Some(step),
                ..StepOptions::default()
            };
            let job = step_job(&step_with(options), &config()).unwrap();
            assert_eq!(
                job.definition["timeout"],
                json!({"attemptDurationSeconds": batch}),
                "timeout = \"{step}s\""
            );
            // Batch refuses an attempt duration under 60 seconds; the margin keeps clear of it.
            assert!(batch >= 60);
        }
    }

    #[test]
    fn resources_and_batch_overrides() {
        let options = StepOptions {
            resources: Resources {
                cpu: Some(4),
                memory_mb: Some(16_384),
                gpu: Some(1),
            },
            batch: BatchOverrides {
                image: Some("gpu-image:2".into()),
                queue: Some("gpu-queue".into()),
                job_role: Some("arn:aws:iam::123456789012:role/gpu".into()),
            },
            ..StepOptions::default()
        };
        let job = step_job(&step_with(options), &config()).unwrap();
        let container = &job.definition["containerProperties"];
        assert_eq!(
            container["resourceRequirements"],
            json!([
                {"type": "VCPU", "value": "4"},
                {"type": "MEMORY", "value": "16384"},
                {"type": "GPU", "value": "1"}
            ])
        );
        assert_eq!(container["image"], "gpu-image:2");
        assert_eq!(
            container["jobRoleArn"],
            "arn:aws:iam::123456789012:role/gpu"
        );
        assert_eq!(job.queue, "gpu-queue");
        let plain = step_job(&step_with(StepOptions::default()), &config()).unwrap();
        assert_ne!(job.definition_name, plain.definition_name);
    }

    #[test]
    fn the_deployment_job_role_applies_unless_overridden() {
        let mut config = config();
        config.job_role_arn = Some("arn:aws:iam::1:role/default".into());
        let job = step_job(&step_with(StepOptions::default()), &config).unwrap();
        assert_eq!(
            job.definition["containerProperties"]["jobRoleArn"],
            "arn:aws:iam::1:role/default"
        );
    }

    #[test]
    fn bad_resources_name_the_step_and_option() {
        let options = StepOptions {
            resources: Resources {
                cpu: Some(0),
                ..Resources::default()
            },
            ..StepOptions::default()
        };
        let message = step_job(&step_with(options), &config())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`work`") && message.contains("cpu = 0"),
            "{message}"
        );
        let options = StepOptions {
            batch: BatchOverrides {
                job_role: Some("role".into()),
                ..BatchOverrides::default()
            },
            ..StepOptions::default()
        };
        let message = step_job(&step_with(options), &config())
            .unwrap_err()
            .to_string();
        assert!(message.contains("job_role"), "{message}");
    }

    fn fargate_config() -> DeployConfig {
        let mut config = config();
        config.compute = crate::infra::Compute::Fargate;
        config.fargate = Some(crate::infra::fargate::FargateJobSettings {
            execution_role_arn: "arn:aws:iam::123456789012:role/exec".into(),
            assign_public_ip: true,
            platform_version: None,
            log_group: Some("flow-logs".into()),
        });
        config
    }

    fn resources(cpu: Option<u32>, memory_mb: Option<u64>, gpu: Option<u32>) -> StepOptions {
        StepOptions {
            resources: Resources {
                cpu,
                memory_mb,
                gpu,
            },
            ..StepOptions::default()
        }
    }

    #[test]
    fn fargate_job_definitions_have_the_platform_role_network_and_a_fargate_size() {
        let job = step_job(
            &step_with(resources(Some(2), Some(8192), None)),
            &fargate_config(),
        )
        .unwrap();
        let d = &job.definition;
        assert_eq!(d["platformCapabilities"], json!(["FARGATE"]));
        let container = &d["containerProperties"];
        assert_eq!(
            container["executionRoleArn"],
            "arn:aws:iam::123456789012:role/exec"
        );
        assert_eq!(
            container["networkConfiguration"],
            json!({"assignPublicIp": "ENABLED"})
        );
        assert_eq!(
            container["logConfiguration"]["options"]["awslogs-group"],
            "flow-logs"
        );
        assert_eq!(
            container["resourceRequirements"],
            json!([{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "8192"}])
        );
        // The Fargate fields are part of the content the name hashes.
        let ec2 = step_job(&step_with(resources(Some(2), Some(8192), None)), &config()).unwrap();
        assert_ne!(ec2.definition_name, job.definition_name);
        assert!(ec2.definition.get("platformCapabilities").is_none());
    }

    #[test]
    fn fargate_refuses_gpus_and_sizes_it_does_not_offer_naming_the_step() {
        let refuse = |options: StepOptions| {
            step_job(&step_with(options), &fargate_config())
                .unwrap_err()
                .to_string()
        };
        let message = refuse(resources(Some(4), Some(16384), Some(1)));
        assert!(
            message.contains("step `work` has `resources(gpu = 1)`")
                && message.contains("Fargate (--compute fargate) has no GPUs"),
            "{message}"
        );
        let message = refuse(resources(Some(3), None, None));
        assert!(
            message.contains("step `work` has `resources(cpu = 3)`")
                && message.contains("0.25, 0.5, 1, 2, 4, 8, 16, 32 vCPUs"),
            "{message}"
        );
        let message = refuse(resources(Some(1), Some(1024), None));
        assert!(
            message.contains("`resources(cpu = 1, memory = 1024)`")
                && message.contains("with 1 vCPU(s) has one of 2048, 3072, 4096"),
            "{message}"
        );
        let message = refuse(resources(Some(8), None, None));
        assert!(
            message.contains("`4096 MiB by default (--memory)`")
                && message.contains("16384, 20480"),
            "{message}"
        );
    }
}
