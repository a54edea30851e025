//! `step-functions create` and `delete`: registers the Batch job definitions, creates or
//! updates the state machine, and keeps the EventBridge schedule in step with the flow.
//! Running `create` twice updates; it never duplicates.

use super::clients::AwsClients;
use super::error::AwsError;
use crate::compile::Deployment;
use aws_sdk_batch::types::{
    ContainerProperties, JobDefinitionType, JobTimeout, ResourceRequirement, ResourceType,
    RetryStrategy,
};
use aws_sdk_eventbridge::types::{RuleState, Target};
use serde_json::{json, Value};

/// What `create` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// True when the state machine was created, false when an existing one was updated.
    pub created: bool,
    /// Job definitions newly registered (unchanged ones are reused by name).
    pub registered_job_definitions: Vec<String>,
    /// The EventBridge rule that triggers the flow on its schedule, if it has one.
    pub schedule_rule: Option<String>,
}

/// The id of the EventBridge target that starts the state machine.
const SCHEDULE_TARGET_ID: &str = "flowrs-state-machine";

/// Finds a state machine by name.
pub async fn find_state_machine(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<String>, AwsError> {
    let mut pages = clients.sfn.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| clients.error("ListStateMachines", e))?;
        if let Some(sm) = page.state_machines().iter().find(|sm| sm.name() == name) {
            return Ok(Some(sm.state_machine_arn().to_string()));
        }
    }
    Ok(None)
}

/// The ARN of a deployed flow's state machine, or an error saying to create it first.
pub async fn require_state_machine(clients: &AwsClients, name: &str) -> Result<String, AwsError> {
    find_state_machine(clients, name)
        .await?
        .ok_or_else(|| AwsError::NotDeployed {
            state_machine: name.to_string(),
        })
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Builds `RegisterJobDefinition` from the compiler's JSON request.
async fn register_job_definition(clients: &AwsClients, definition: &Value) -> Result<(), AwsError> {
    let name = string(definition, "jobDefinitionName").unwrap_or_default();
    let c = &definition["containerProperties"];
    let mut container = ContainerProperties::builder();
    if let Some(image) = string(c, "image") {
        container = container.image(image);
    }
    for arg in c["command"].as_array().into_iter().flatten() {
        container = container.command(arg.as_str().unwrap_or_default());
    }
    if let Some(role) = string(c, "jobRoleArn") {
        container = container.job_role_arn(role);
    }
    for r in c["resourceRequirements"].as_array().into_iter().flatten() {
        container = container.resource_requirements(
            ResourceRequirement::builder()
                .r#type(ResourceType::from(r["type"].as_str().unwrap_or_default()))
                .value(r["value"].as_str().unwrap_or_default())
                .build(),
        );
    }
    let mut request = clients
        .batch
        .register_job_definition()
        .job_definition_name(&name)
        .r#type(JobDefinitionType::Container)
        .container_properties(container.build())
        .propagate_tags(definition["propagateTags"].as_bool().unwrap_or(false));
    if let Some(attempts) = definition["retryStrategy"]["attempts"].as_i64() {
        request =
            request.retry_strategy(RetryStrategy::builder().attempts(attempts as i32).build());
    }
    if let Some(secs) = definition["timeout"]["attemptDurationSeconds"].as_i64() {
        request = request.timeout(
            JobTimeout::builder()
                .attempt_duration_seconds(secs as i32)
                .build(),
        );
    }
    request
        .send()
        .await
        .map_err(|e| clients.error("RegisterJobDefinition", e))?;
    Ok(())
}

async fn job_definition_exists(clients: &AwsClients, name: &str) -> Result<bool, AwsError> {
    let out = clients
        .batch
        .describe_job_definitions()
        .job_definition_name(name)
        .status("ACTIVE")
        .send()
        .await
        .map_err(|e| clients.error("DescribeJobDefinitions", e))?;
    Ok(!out.job_definitions().is_empty())
}

/// Registers the job definitions, creates or updates the state machine, and creates,
/// updates or removes its schedule.
pub async fn create(
    clients: &AwsClients,
    deployment: &Deployment,
    role_arn: &str,
    schedule: Option<&str>,
) -> Result<Deployed, AwsError> {
    let mut registered = Vec::new();
    for definition in &deployment.job_definitions {
        let name = string(definition, "jobDefinitionName").unwrap_or_default();
        // Names carry a hash of the content: an ACTIVE one with this name is this definition.
        if !job_definition_exists(clients, &name).await? {
            register_job_definition(clients, definition).await?;
            registered.push(name);
        }
    }
    let name = &deployment.state_machine_name;
    let definition = deployment.definition.to_string();
    let (arn, created) = match find_state_machine(clients, name).await? {
        Some(arn) => {
            clients
                .sfn
                .update_state_machine()
                .state_machine_arn(&arn)
                .definition(&definition)
                .role_arn(role_arn)
                .send()
                .await
                .map_err(|e| clients.error("UpdateStateMachine", e))?;
            (arn, false)
        }
        None => {
            let out = clients
                .sfn
                .create_state_machine()
                .name(name)
                .definition(&definition)
                .role_arn(role_arn)
                .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
                .send()
                .await
                .map_err(|e| clients.error("CreateStateMachine", e))?;
            (out.state_machine_arn().to_string(), true)
        }
    };
    let schedule_rule = match schedule {
        Some(expression) => Some(put_schedule(clients, name, &arn, role_arn, expression).await?),
        None => {
            remove_schedule(clients, name).await?;
            None
        }
    };
    Ok(Deployed {
        state_machine_arn: arn,
        created,
        registered_job_definitions: registered,
        schedule_rule,
    })
}

async fn put_schedule(
    clients: &AwsClients,
    rule: &str,
    state_machine_arn: &str,
    role_arn: &str,
    expression: &str,
) -> Result<String, AwsError> {
    clients
        .events
        .put_rule()
        .name(rule)
        .schedule_expression(expression)
        .state(RuleState::Enabled)
        .description(format!("Runs the flow {rule} on its schedule"))
        .send()
        .await
        .map_err(|e| clients.error("PutRule", e))?;
    // Scheduled runs take the params' defaults.
    let input = json!({"params": {}, "origin_run_id": null}).to_string();
    let target = Target::builder()
        .id(SCHEDULE_TARGET_ID)
        .arn(state_machine_arn)
        .role_arn(role_arn)
        .input(input)
        .build()
        .map_err(|e| AwsError::InvalidRequest {
            operation: "PutTargets",
            message: e.to_string(),
        })?;
    clients
        .events
        .put_targets()
        .rule(rule)
        .targets(target)
        .send()
        .await
        .map_err(|e| clients.error("PutTargets", e))?;
    Ok(rule.to_string())
}

/// Removes the schedule rule if there is one; returns whether there was.
async fn remove_schedule(clients: &AwsClients, rule: &str) -> Result<bool, AwsError> {
    let exists = clients
        .events
        .list_rules()
        .name_prefix(rule)
        .send()
        .await
        .map_err(|e| clients.error("ListRules", e))?
        .rules()
        .iter()
        .any(|r| r.name() == Some(rule));
    if !exists {
        return Ok(false);
    }
    clients
        .events
        .remove_targets()
        .rule(rule)
        .ids(SCHEDULE_TARGET_ID)
        .send()
        .await
        .map_err(|e| clients.error("RemoveTargets", e))?;
    clients
        .events
        .delete_rule()
        .name(rule)
        .send()
        .await
        .map_err(|e| clients.error("DeleteRule", e))?;
    Ok(true)
}

/// What `delete` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// Whether a schedule was removed.
    pub schedule_removed: bool,
    /// Job definition revisions deregistered.
    pub deregistered_job_definitions: usize,
}

/// Whether `job_definition` is one `create` registered for `state_machine`: the state
/// machine's name, `-`, and 8 hex digits of content hash.
fn is_ours(job_definition: &str, state_machine: &str) -> bool {
    job_definition
        .strip_prefix(state_machine)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hash| hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Deletes the state machine, its schedule and every job definition registered for it
/// (found by name, so definitions of earlier settings go too).
pub async fn delete(clients: &AwsClients, state_machine: &str) -> Result<Deleted, AwsError> {
    let arn = require_state_machine(clients, state_machine).await?;
    let schedule_removed = remove_schedule(clients, state_machine).await?;
    clients
        .sfn
        .delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .map_err(|e| clients.error("DeleteStateMachine", e))?;
    let mut ours = Vec::new();
    let mut pages = clients
        .batch
        .describe_job_definitions()
        .status("ACTIVE")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| clients.error("DescribeJobDefinitions", e))?;
        for jd in page.job_definitions() {
            if is_ours(jd.job_definition_name().unwrap_or_default(), state_machine) {
                ours.push(jd.job_definition_arn().unwrap_or_default().to_string());
            }
        }
    }
    for arn in &ours {
        clients
            .batch
            .deregister_job_definition()
            .job_definition(arn)
            .send()
            .await
            .map_err(|e| clients.error("DeregisterJobDefinition", e))?;
    }
    Ok(Deleted {
        state_machine_arn: arn,
        schedule_removed,
        deregistered_job_definitions: ours.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::is_ours;

    #[test]
    fn job_definitions_are_recognised_by_name() {
        assert!(is_ours("MovieFlow-0a1b2c3d", "MovieFlow"));
        assert!(!is_ours("MovieFlow-0a1b2c3", "MovieFlow"));
        assert!(!is_ours("MovieFlowX-0a1b2c3d", "MovieFlow"));
        assert!(!is_ours("Other-0a1b2c3d", "MovieFlow"));
    }
}
