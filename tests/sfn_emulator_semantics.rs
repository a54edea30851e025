//! The emulator's Step Functions behave like AWS's where the generated state machines
//! depend on it. A branch of a Parallel state, or an iteration of an inline Map, that fails
//! with a `States.*` error (a Batch job that failed, `States.TaskFailed`; a timeout,
//! `States.Timeout`) fails the Parallel or Map with that same error, so a Catch or Retry on
//! it matches (AWS: "Parallel workflow state", "If any branch fails ... the entire Parallel
//! state fails"). Plain moto re-raised such errors as custom error names, which may not start
//! with `States.`, and failed the whole execution with an invalid `States.Runtime` instead:
//! the project's emulator copy (tests/support/aws-emulator/moto_sfn_server.py, patch 8)
//! keeps the name.

#[path = "common/emulator.rs"]
mod emulator;

use aws_sdk_batch::types::ResourceType;
use aws_sdk_batch::types::{ContainerProperties, JobDefinitionType, ResourceRequirement};
use emulator::{runtime, Aws};
use serde_json::json;
use std::time::{Duration, Instant};

/// A Batch task whose job exits 3: Step Functions fails it with `States.TaskFailed`.
fn failing_task(queue: &str, job_definition: &str) -> serde_json::Value {
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {"JobName": "fails", "JobQueue": queue, "JobDefinition": job_definition},
        "End": true
    })
}

/// `inner` wrapped in a Parallel state (one branch) or an inline Map (one item), with or
/// without a Catch of `States.TaskFailed` that goes to a Succeed state.
fn wrapped(kind: &str, inner: serde_json::Value, catch: bool) -> serde_json::Value {
    let body = json!({"StartAt": "Inner", "States": {"Inner": inner}});
    let mut state = match kind {
        "Parallel" => json!({"Type": "Parallel", "Branches": [body], "End": true}),
        _ => json!({
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Inner",
                              "States": body["States"].clone()},
            "End": true
        }),
    };
    if catch {
        state["Catch"] = json!([{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]);
    }
    json!({"StartAt": "Outer", "States": {"Outer": state, "Caught": {"Type": "Succeed"}}})
}

#[test]
fn a_branch_or_iteration_error_keeps_its_states_name_and_is_caught_by_it() {
    let aws = Aws::start(&[], &[]);
    let clients = aws.clients();
    let queue = aws.emulator.queue.clone();
    let role = aws.emulator.role_arn.clone();
    runtime().block_on(async {
        let container = ContainerProperties::builder()
            .image("local")
            .set_command(Some(vec!["sh".into(), "-c".into(), "exit 3".into()]))
            .resource_requirements(
                ResourceRequirement::builder()
                    .r#type(ResourceType::Vcpu)
                    .value("1")
                    .build(),
            )
            .resource_requirements(
                ResourceRequirement::builder()
                    .r#type(ResourceType::Memory)
                    .value("512")
                    .build(),
            )
            .build();
        let job_definition = clients
            .batch
            .register_job_definition()
            .job_definition_name("exits-3")
            .r#type(JobDefinitionType::Container)
            .container_properties(container)
            .send()
            .await
            .expect("job definition")
            .job_definition_arn
            .expect("the job definition's ARN");

        let mut cases = Vec::new();
        for kind in ["Parallel", "Map"] {
            for catch in [false, true] {
                let definition = wrapped(kind, failing_task(&queue, &job_definition), catch);
                let name = format!("{kind}-{}", if catch { "caught" } else { "uncaught" });
                let machine = clients
                    .sfn
                    .create_state_machine()
                    .name(&name)
                    .definition(definition.to_string())
                    .role_arn(&role)
                    .send()
                    .await
                    .expect("state machine")
                    .state_machine_arn;
                let execution = clients
                    .sfn
                    .start_execution()
                    .state_machine_arn(machine)
                    .input(json!({"items": [1]}).to_string())
                    .send()
                    .await
                    .expect("execution")
                    .execution_arn;
                cases.push((name, catch, execution));
            }
        }
        for (name, catch, execution) in cases {
            let deadline = Instant::now() + Duration::from_secs(120);
            let described = loop {
                let described = clients
                    .sfn
                    .describe_execution()
                    .execution_arn(&execution)
                    .send()
                    .await
                    .expect("describe");
                if described.status.as_str() != "RUNNING" || Instant::now() > deadline {
                    break described;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            let status = described.status.as_str().to_string();
            let error = described.error.clone().unwrap_or_default();
            let cause = described.cause.clone().unwrap_or_default();
            if catch {
                assert_eq!(status, "SUCCEEDED", "{name}: {error}: {cause}");
            } else {
                assert_eq!(
                    (status.as_str(), error.as_str()),
                    ("FAILED", "States.TaskFailed"),
                    "{name}: {cause}"
                );
            }
        }
    });
}
