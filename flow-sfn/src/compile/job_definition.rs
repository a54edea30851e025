//! AWS Batch job definitions: one per distinct combination of image, resources, job role,
//! retry and timeout, in the shape of the `RegisterJobDefinition` request.
//!
//! Steps with the same settings share a definition, so a 500-step flow with default
//! settings registers one. The name is the state machine's name plus a hash of the
//! content: redeploying unchanged settings reuses the name, changed settings get a new one.

use super::names::job_definition_name;
use super::CompileError;
use crate::config::DeployConfig;
use crate::json::to_canonical_compact;
use flow_graph::StepSpec;
use serde_json::{json, Value};

/// AWS Batch runs a job at most this many times (`RetryStrategy.attempts`).
pub const MAX_BATCH_ATTEMPTS: u32 = 10;
/// AWS Batch cannot time out an attempt sooner than this (`attemptDurationSeconds`).
pub const MIN_ATTEMPT_DURATION_SECS: u64 = 60;

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
    let attempts = match options.retry {
        None => 1,
        Some(retry) if retry.times < MAX_BATCH_ATTEMPTS => retry.times + 1,
        Some(retry) => {
            return Err(CompileError::TooManyRetries {
                step: name.to_string(),
                times: retry.times,
            })
        }
    };
    if let Some(secs) = options.timeout_secs {
        if secs < MIN_ATTEMPT_DURATION_SECS {
            return Err(CompileError::TimeoutTooShort {
                step: name.to_string(),
                secs,
            });
        }
    }
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
    let mut definition = json!({
        "type": "container",
        "containerProperties": container,
        "retryStrategy": {"attempts": attempts},
        "propagateTags": true,
    });
    if let Some(secs) = options.timeout_secs {
        definition["timeout"] = json!({"attemptDurationSeconds": secs});
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
    fn defaults_give_one_attempt_and_the_default_resources() {
        let job = step_job(&step_with(StepOptions::default()), &config()).unwrap();
        let d = &job.definition;
        assert_eq!(d["retryStrategy"]["attempts"], 1);
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
    fn retry_maps_to_attempts_times_plus_one() {
        for (times, attempts) in [(0, 1), (3, 4), (9, 10)] {
            let options = StepOptions {
                retry: Some(Retry {
                    times,
                    backoff_ms: 2000,
                }),
                ..StepOptions::default()
            };
            let job = step_job(&step_with(options), &config()).unwrap();
            assert_eq!(job.definition["retryStrategy"]["attempts"], attempts);
        }
    }

    #[test]
    fn more_than_ten_attempts_is_an_error_naming_the_step() {
        let options = StepOptions {
            retry: Some(Retry {
                times: 10,
                backoff_ms: 0,
            }),
            ..StepOptions::default()
        };
        let message = step_job(&step_with(options), &config())
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "step `work` retries 10 times, but AWS Batch runs a job at most 10 times: \
             lower it to `retry(times = 9)` or less"
        );
    }

    #[test]
    fn timeout_maps_to_attempt_duration_and_must_be_a_minute() {
        let options = StepOptions {
            timeout_secs: Some(600),
            ..StepOptions::default()
        };
        let job = step_job(&step_with(options), &config()).unwrap();
        assert_eq!(
            job.definition["timeout"],
            json!({"attemptDurationSeconds": 600})
        );
        let options = StepOptions {
            timeout_secs: Some(59),
            ..StepOptions::default()
        };
        let message = step_job(&step_with(options), &config())
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "step `work` times out after 59s, but AWS Batch cannot stop an attempt sooner than \
             60 seconds: write `timeout = \"60s\"` or more"
        );
        let exact = StepOptions {
            timeout_secs: Some(60),
            ..StepOptions::default()
        };
        assert!(step_job(&step_with(exact), &config()).is_ok());
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
}
