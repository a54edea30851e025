//! `step-functions infra` through every example's own binary, for every `--compute` kind:
//! it prints a template, and cfn-lint finds nothing in it. The examples are found in
//! `examples/`, so a new one is checked without being listed anywhere
//! (`flow-sfn/tests/infra.rs` checks the library's templates further: YAML, parliament,
//! the emulator).
//!
//! Then the whole path a user takes: the template deployed on the emulator's CloudFormation,
//! `create --stack`, `trigger --wait`, `status` and `delete` running the foreach example to
//! SUCCEEDED on the stack's own queue; and `create --print-policy`, whose policy parliament
//! accepts and whose actions are the deployer's rows of the permissions table.

mod common;
#[path = "common/emulator.rs"]
mod emulator;

use common::{example_names, run_example};
use emulator::{examples_dir, runtime, Aws};
use flow_sfn::infra::policy::{permissions_of, Needed};
use flow_sfn::infra::Principal;
use flow_test_support::tool;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

const COMPUTE: [&str; 4] = ["ec2", "spot", "fargate", "fargate-spot"];

#[test]
fn every_example_prints_a_template_cfn_lint_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for example in example_names() {
        // A project's flow gets its production's stack (without a flag, the user's).
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(format!("{example}.rs"));
        let project = std::fs::read_to_string(source)
            .unwrap()
            .contains("project = \"");
        for compute in COMPUTE {
            let mut args = vec!["step-functions", "infra", "--compute", compute];
            if project {
                args.push("--production");
            }
            let out = run_example(&example, &args, dir.path());
            assert!(
                out.status.success(),
                "{example} step-functions infra --compute {compute} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let template: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{example} on {compute}: not JSON: {e}"));
            assert_eq!(
                template["Resources"]["ComputeEnvironment"]["Properties"]["ComputeResources"]
                    ["Type"],
                compute.to_uppercase().replace('-', "_"),
                "{example} on {compute}"
            );
            // A flow started by EventBridge (a schedule or triggers) gets the role its rules'
            // targets run as: trusted by EventBridge, starting this state machine only.
            let started_by_events = [("params", "ParamsFlow"), ("downstream", "DownstreamFlow")];
            if let Some((_, flow)) = started_by_events.iter().find(|(e, _)| *e == example) {
                let role = &template["Resources"]["ScheduleRole"]["Properties"];
                let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
                assert_eq!(
                    trust["Principal"]["Service"], "events.amazonaws.com",
                    "{example}"
                );
                let start = &role["Policies"][0]["PolicyDocument"]["Statement"][0];
                assert_eq!(start["Action"], "states:StartExecution", "{example}");
                let resources = start["Resource"].to_string();
                assert!(
                    resources.contains(&format!(":stateMachine:{flow}\"")),
                    "{example}: {resources}"
                );
            } else if example == "upstream" {
                assert!(template["Resources"].get("ScheduleRole").is_none());
            }
            let path = dir.path().join(format!("{example}-{compute}.json"));
            std::fs::write(&path, &out.stdout).unwrap();
            files.push(path);
        }
    }
    // Exit status 0: no error and no warning.
    let output = Command::new(tool("FLOW_CFN_LINT"))
        .arg("--")
        .args(&files)
        .output()
        .expect("cfn-lint runs");
    assert!(
        output.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn text(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs an example against the emulator with no `FLOW_SFN_*` setting but `extra_env`, so
/// that every setting comes from the flags or the stack.
fn stack_cli(aws: &Aws, example: &str, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(examples_dir().join(example));
    command
        .args(args)
        .envs(aws.emulator.env())
        .envs(extra_env.iter().copied())
        .current_dir(aws.dir.path());
    for (key, _) in std::env::vars() {
        if key.starts_with("FLOW_SFN_") || key == "FLOW_DATASTORE" {
            command.env_remove(key);
        }
    }
    command.output().expect("example runs")
}

fn stack_ok(aws: &Aws, example: &str, args: &[&str]) -> String {
    let output = stack_cli(aws, example, args, &[]);
    assert!(
        output.status.success(),
        "{example} {args:?}: {}\nemulator logs:\n{}",
        text(&output),
        aws.emulator.logs()
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Deploys `example`'s template for `compute` as stack `stack` on the emulator (the default
/// VPC's subnets and security group as parameters); returns the stack's outputs.
fn deploy_stack(aws: &Aws, example: &str, compute: &str, stack: &str) -> BTreeMap<String, String> {
    let dir = aws.dir.path();
    let template = stack_ok(
        aws,
        example,
        &["step-functions", "infra", "--compute", compute],
    );
    let template_path = dir.join(format!("{stack}.json"));
    std::fs::write(&template_path, template).unwrap();
    let manifest = dir.join(format!("{stack}-manifest.json"));
    let compute_type = compute.to_uppercase().replace('-', "_");
    std::fs::write(
        &manifest,
        json!([{"stack": stack, "template": template_path, "compute_type": compute_type}])
            .to_string(),
    )
    .unwrap();
    let output = Command::new(tool("FLOW_MOTO_PYTHON"))
        .arg(repo_root().join("tests/support/aws-emulator/deploy_stacks.py"))
        .args([
            aws.emulator.endpoint.as_str(),
            aws.emulator.region.as_str(),
            // moto, unlike AWS, has no Batch service-linked role: pass the launcher's role.
            aws.emulator.role_arn.as_str(),
        ])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let result = &results[0];
    assert_eq!(
        (&result["status"], &result["problems"]),
        (&json!("CREATE_COMPLETE"), &json!([])),
        "{result}"
    );
    serde_json::from_value(result["outputs"].clone()).unwrap()
}

/// The job queues that ran jobs, with the image of each job's definition.
fn jobs_by_queue(aws: &Aws, queues: &[&str]) -> BTreeMap<String, Vec<String>> {
    let clients = aws.clients();
    runtime().block_on(async {
        let mut found = BTreeMap::new();
        for queue in queues {
            let mut images = Vec::new();
            for status in ["SUCCEEDED", "FAILED", "RUNNING", "RUNNABLE", "SUBMITTED"] {
                let listed = clients
                    .batch
                    .list_jobs()
                    .job_queue(*queue)
                    .job_status(status.into())
                    .send()
                    .await
                    .expect("ListJobs");
                let ids: Vec<String> = listed
                    .job_summary_list()
                    .iter()
                    .map(|j| j.job_id().unwrap_or_default().to_string())
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                let described = clients
                    .batch
                    .describe_jobs()
                    .set_jobs(Some(ids))
                    .send()
                    .await
                    .expect("DescribeJobs");
                for job in described.jobs() {
                    let definition = clients
                        .batch
                        .describe_job_definitions()
                        .job_definitions(job.job_definition().unwrap_or_default())
                        .send()
                        .await
                        .expect("DescribeJobDefinitions");
                    for d in definition.job_definitions() {
                        let image = d
                            .container_properties()
                            .and_then(|c| c.image())
                            .unwrap_or_default();
                        images.push(image.to_string());
                    }
                }
            }
            found.insert(queue.to_string(), images);
        }
        found
    })
}

#[test]
fn a_foreach_runs_on_a_stack_deployed_from_its_template() {
    let aws = Aws::start(&[], &[]);
    let stack = "movie-flow";
    let outputs = deploy_stack(&aws, "foreach", "ec2", stack);
    assert_eq!(outputs["Compute"], "ec2");

    // Every setting from the stack: queue, roles, datastore, and the image
    // `<RepositoryUri>:latest`.
    let created = stack_ok(
        &aws,
        "foreach",
        &["step-functions", "create", "--stack", stack],
    );
    assert!(
        created.trim().ends_with(":stateMachine:MovieFlow"),
        "{created}"
    );
    let run = stack_ok(
        &aws,
        "foreach",
        &[
            "step-functions",
            "trigger",
            "--stack",
            stack,
            "--wait",
            "--count",
            "3",
        ],
    )
    .trim()
    .to_string();
    let status = stack_ok(
        &aws,
        "foreach",
        &["step-functions", "status", "--stack", stack, &run],
    );
    assert!(
        status.contains(&format!("run {run}: SUCCEEDED")),
        "{status}"
    );

    // The jobs ran on the stack's queue, none on the launcher's own, with the stack's image;
    // the run is in the stack's bucket.
    let queue = outputs["JobQueue"].as_str();
    let jobs = jobs_by_queue(&aws, &[queue, aws.emulator.queue_arn.as_str()]);
    let image = format!("{}:latest", outputs["RepositoryUri"]);
    // start, 3 measures, join, end (and the run's bookkeeping jobs, if any).
    assert!(jobs[queue].len() >= 6, "{jobs:?}");
    assert!(jobs[queue].iter().all(|i| *i == image), "{jobs:?}");
    assert!(jobs[aws.emulator.queue_arn.as_str()].is_empty(), "{jobs:?}");
    let bucket = outputs["Datastore"].trim_start_matches("s3://").to_string();
    let clients = aws.clients();
    let listed = runtime().block_on(async {
        clients
            .s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(format!("MovieFlow/runs/{run}/"))
            .send()
            .await
            .expect("ListObjectsV2")
    });
    assert!(!listed.contents().is_empty(), "no run {run} in {bucket}");

    // A flag wins over the stack: printing with another queue shows that queue.
    let bundle = stack_ok(
        &aws,
        "foreach",
        &[
            "step-functions",
            "create",
            "--stack",
            stack,
            "--only-json",
            "--job-definitions",
            "--image",
            "mine:1",
        ],
    );
    let bundle: Value = serde_json::from_str(&bundle).unwrap();
    assert_eq!(
        bundle["job_definitions"][0]["containerProperties"]["image"],
        "mine:1"
    );

    let deleted = stack_cli(
        &aws,
        "foreach",
        &["step-functions", "delete", "--stack", stack],
        &[],
    );
    assert!(deleted.status.success(), "{}", text(&deleted));
    let after = stack_cli(
        &aws,
        "foreach",
        &["step-functions", "trigger", "--stack", stack],
        &[],
    );
    assert!(
        String::from_utf8_lossy(&after.stderr).contains("does not exist"),
        "{}",
        text(&after)
    );

    // A stack that is not there says how to deploy it.
    let missing = stack_cli(
        &aws,
        "foreach",
        &["step-functions", "create", "--stack", "no-such-stack"],
        &[],
    );
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success()
            && stderr.contains("CloudFormation stack `no-such-stack` does not exist")
            && stderr.contains("aws cloudformation deploy --template-file no-such-stack.json"),
        "{}",
        text(&missing)
    );
}

/// The deployer's actions the table gives a flow with `needed`, sorted and deduplicated.
fn deployer_actions(needed: &[Needed]) -> Vec<String> {
    let mut actions: Vec<String> = permissions_of(Principal::Deployer)
        .filter(|p| needed.contains(&p.needed))
        .flat_map(|p| p.actions.iter().map(|a| a.to_string()))
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

fn policy_actions(policy: &Value) -> Vec<String> {
    let mut actions: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(list) => list
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
            other => panic!("Action {other}"),
        })
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

/// The scheduled params example from its Fargate stack: Fargate job definitions with the
/// stack's execution role and log group, the schedule running as the stack's schedule role,
/// and a run that succeeds.
fn fargate_flow_runs_from_its_stack(aws: &Aws, stack: &str, outputs: &BTreeMap<String, String>) {
    assert_eq!(outputs["Compute"], "fargate");
    let state_machine = stack_ok(
        aws,
        "params",
        &["step-functions", "create", "--stack", stack],
    )
    .trim()
    .to_string();
    let clients = aws.clients();
    let (definitions, targets) = runtime().block_on(async {
        let definitions = clients
            .batch
            .describe_job_definitions()
            .status("ACTIVE")
            .send()
            .await
            .expect("DescribeJobDefinitions");
        let targets = clients
            .events
            .list_targets_by_rule()
            .rule("ParamsFlow")
            .send()
            .await
            .expect("ListTargetsByRule");
        (definitions, targets)
    });
    let ours: Vec<_> = definitions
        .job_definitions()
        .iter()
        .filter(|d| {
            d.job_definition_name()
                .unwrap_or_default()
                .starts_with("ParamsFlow-")
        })
        .collect();
    assert!(!ours.is_empty());
    for definition in ours {
        assert_eq!(
            definition
                .platform_capabilities()
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>(),
            ["FARGATE"],
            "{definition:?}"
        );
        let container = definition.container_properties().unwrap();
        assert_eq!(
            container.execution_role_arn(),
            Some(outputs["ExecutionRoleArn"].as_str())
        );
        assert_eq!(
            container
                .network_configuration()
                .and_then(|n| n.assign_public_ip())
                .map(|a| a.as_str()),
            Some("DISABLED")
        );
        let log = container.log_configuration().unwrap();
        assert_eq!(log.options().unwrap()["awslogs-group"], outputs["LogGroup"]);
    }
    assert_eq!(
        targets.targets()[0].role_arn(),
        Some(outputs["ScheduleRoleArn"].as_str())
    );
    let run = stack_ok(
        aws,
        "params",
        &["step-functions", "trigger", "--stack", stack, "--wait"],
    )
    .trim()
    .to_string();
    let status = stack_ok(
        aws,
        "params",
        &["step-functions", "status", "--stack", stack, &run],
    );
    assert!(
        status.contains(&format!("run {run}: SUCCEEDED")),
        "{status}"
    );
    // The schedule's rule starts runs on its schedule only: the triggered run's status
    // changes started no other run (each would start another, without end). The run
    // recorded itself under the name `trigger` gave it, in the stack's bucket.
    let bucket = outputs["Datastore"].trim_start_matches("s3://").to_string();
    let (executions, run_json) = runtime().block_on(async {
        let executions = clients
            .sfn
            .list_executions()
            .state_machine_arn(&state_machine)
            .send()
            .await
            .expect("ListExecutions");
        let run_json = clients
            .s3
            .head_object()
            .bucket(&bucket)
            .key(format!("ParamsFlow/runs/{run}/run.json"))
            .send()
            .await;
        (executions, run_json)
    });
    let names: Vec<&str> = executions.executions().iter().map(|e| e.name()).collect();
    assert_eq!(names, [run.as_str()]);
    assert!(
        run_json.is_ok(),
        "no run.json of {run} in {bucket}: {run_json:?}"
    );
    stack_ok(
        aws,
        "params",
        &["step-functions", "delete", "--stack", stack],
    );
}

#[test]
fn print_policy_is_the_deployers_rows_and_parliament_finds_nothing() {
    let aws = Aws::start(&[], &[]);
    let stack = "params-fargate";
    let outputs = deploy_stack(&aws, "params", "fargate", stack);
    fargate_flow_runs_from_its_stack(&aws, stack, &outputs);
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        "--role-arn",
        "arn:aws:iam::123456789012:role/flowrs-states",
        "--job-queue",
        "flowrs-queue",
        "--datastore",
        "s3://flowrs-datastore/runs",
        "--region",
        "us-east-1",
    ];
    let schedule_role = [
        "--schedule-role",
        "arn:aws:iam::123456789012:role/flowrs-schedule",
    ];
    let fargate = [
        "--compute",
        "fargate",
        "--execution-role",
        "arn:aws:iam::123456789012:role/flowrs-execution",
    ];
    // (example, extra flags, the rows it needs)
    let cases: Vec<(&str, Vec<&str>, Vec<Needed>, &str)> = vec![
        ("linear", vec![], vec![Needed::Always], "linear-ec2"),
        (
            "foreach",
            fargate.to_vec(),
            vec![Needed::Always, Needed::Fargate],
            "foreach-fargate",
        ),
        (
            "params",
            schedule_role.to_vec(),
            vec![Needed::Always, Needed::Scheduled],
            "params-ec2",
        ),
        // Triggers (another flow's success, an S3 upload): the rules start runs as the
        // schedule's role, so the deployer passes it as for a schedule.
        (
            "downstream",
            schedule_role.to_vec(),
            vec![Needed::Always, Needed::Scheduled],
            "downstream-ec2",
        ),
    ];
    for (example, extra, needed, name) in &cases {
        let mut args = vec!["step-functions", "create", "--print-policy"];
        args.extend(settings);
        args.extend(extra);
        let out = stack_ok(&aws, example, &args);
        let policy: Value = serde_json::from_str(&out).unwrap();
        let mut want = deployer_actions(needed);
        // Without --stack nothing reads a stack.
        want.retain(|a| a != "cloudformation:DescribeStacks");
        assert_eq!(policy_actions(&policy), want, "{name}");
        std::fs::write(dir.path().join(format!("{name}.json")), out).unwrap();
    }
    // From the stack: its account, its roles, and reading the stack itself.
    let out = stack_ok(
        &aws,
        "params",
        &[
            "step-functions",
            "create",
            "--print-policy",
            "--stack",
            stack,
        ],
    );
    let policy: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        policy_actions(&policy),
        deployer_actions(&[Needed::Always, Needed::Scheduled, Needed::Fargate]),
        "{out}"
    );
    assert!(out.contains(&format!(":stack/{stack}/*")), "{out}");
    std::fs::write(dir.path().join("params-stack.json"), &out).unwrap();

    let output = Command::new(tool("FLOW_PARLIAMENT"))
        .arg("--directory")
        .arg(dir.path())
        .args(["--include_policy_extension", ".json"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("parliament runs");
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "parliament found problems:\n{}",
        text(&output)
    );

    // A scheduled flow's policy needs the schedule's role.
    let mut args = vec!["step-functions", "create", "--print-policy"];
    args.extend(settings);
    let output = stack_cli(&aws, "params", &args, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("--schedule-role"),
        "{}",
        text(&output)
    );
}

/// Fargate cannot serve a GPU or a vCPU/memory pair it does not offer: `create` refuses
/// before deploying anything, naming the step and the valid values.
#[test]
fn fargate_refuses_what_it_cannot_serve() {
    let dir = tempfile::tempdir().unwrap();
    let fargate = [
        "step-functions",
        "create",
        "--only-json",
        "--job-definitions",
        "--compute",
        "fargate",
        "--execution-role",
        "arn:aws:iam::123456789012:role/exec",
        "--image",
        "img:1",
        "--job-queue",
        "q",
        "--datastore",
        "s3://bucket",
    ];
    let out = run_example("foreach", &fargate, dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    for definition in bundle["job_definitions"].as_array().unwrap() {
        assert_eq!(definition["platformCapabilities"], json!(["FARGATE"]));
        assert_eq!(
            definition["containerProperties"]["executionRoleArn"],
            "arn:aws:iam::123456789012:role/exec"
        );
        assert_eq!(
            definition["containerProperties"]["networkConfiguration"],
            json!({"assignPublicIp": "DISABLED"})
        );
    }
    // The default 4096 MiB does not go with 16 vCPUs.
    let mut args = fargate.to_vec();
    args.extend(["--cpu", "16"]);
    let out = run_example("foreach", &args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("step `start` has `4096 MiB by default (--memory)`")
            && stderr.contains("32768, 40960"),
        "{}",
        text(&out)
    );
    assert!(out.stdout.is_empty());
}
