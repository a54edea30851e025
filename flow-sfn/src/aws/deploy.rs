//! `step-functions create` and `delete`: registers the Batch job definitions, creates or
//! updates the state machine, publishes it as a version that the [`LIVE_ALIAS`] alias
//! points at, and keeps the EventBridge schedule in step with the flow. Running `create`
//! twice updates; it never duplicates.
//!
//! Runs start on the alias, never on the unqualified state machine ARN: an execution started
//! right after `UpdateStateMachine` may run the previous definition (Step Functions API
//! reference, "UpdateStateMachine"), while a published version is immutable.
//!
//! Longer than most modules because it is one cohesive thing: the create/delete sequence of AWS calls, kept together so its order (job definitions, state machine, version, alias, schedule) reads top to bottom.

use super::clients::AwsClients;
use super::error::AwsError;
use super::schedule::{self, ScheduleRemoval};
use super::triggers;
use crate::compile::Deployment;
use crate::config::AwsTag;
use aws_sdk_batch::types::{
    AssignPublicIp, ContainerProperties, EvaluateOnExit, FargatePlatformConfiguration,
    JobDefinitionType, JobTimeout, KeyValuePair, LogConfiguration, LogDriver, NetworkConfiguration,
    PlatformCapability, ResourceRequirement, ResourceType, RetryAction, RetryStrategy, Secret,
};
use aws_sdk_sfn::types::{RoutingConfigurationListItem, Tag as SfnTag};
use serde_json::Value;
use std::collections::HashMap;

/// The alias every run starts on; `create` points it at the version it published.
pub const LIVE_ALIAS: &str = "live";
/// Published versions kept besides the live one; older ones are deleted, since Step
/// Functions allows 1,000 per state machine ("PublishStateMachineVersion") and a deleted
/// version's running executions go on.
pub const KEPT_VERSIONS: usize = 10;

/// What `create` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// True when the state machine was created, false when an existing one was updated.
    pub created: bool,
    /// The version this deployment published.
    pub version_arn: String,
    /// The alias runs start on, pointing at that version.
    pub alias_arn: String,
    /// Job definitions newly registered (unchanged ones are reused by name).
    pub registered_job_definitions: Vec<String>,
    /// The EventBridge rule that triggers the flow on its schedule, if it has one.
    pub schedule_rule: Option<String>,
    /// A rule of the schedule's name that is not this deployment's and was left alone.
    pub foreign_rule: Option<String>,
    /// The EventBridge rules that start the flow on its triggers (`aws::triggers`).
    pub trigger_rules: Vec<String>,
}

/// The ARN of the alias runs start on.
pub fn alias_arn(state_machine_arn: &str) -> String {
    format!("{state_machine_arn}:{LIVE_ALIAS}")
}

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

/// The fields of the compiler's job definitions this deployer sends; anything else would
/// be silently dropped, so it is refused instead.
const JOB_DEFINITION_FIELDS: &[&str] = &[
    "jobDefinitionName",
    "type",
    "containerProperties",
    "retryStrategy",
    "timeout",
    "propagateTags",
    "platformCapabilities",
];
const CONTAINER_FIELDS: &[&str] = &[
    "image",
    "command",
    "jobRoleArn",
    "resourceRequirements",
    "environment",
    "secrets",
    "executionRoleArn",
    "networkConfiguration",
    "fargatePlatformConfiguration",
    "logConfiguration",
];
const RETRY_FIELDS: &[&str] = &["attempts", "evaluateOnExit"];

/// The first field of a compiler job definition that [`register_job_definition`] would not
/// send, as a path (`containerProperties.volumes`).
fn unsupported_field(definition: &Value) -> Option<String> {
    let extra = |value: &Value, known: &[&str], at: &str| {
        value.as_object().and_then(|fields| {
            fields
                .keys()
                .find(|k| !known.contains(&k.as_str()))
                .map(|k| format!("{at}{k}"))
        })
    };
    extra(definition, JOB_DEFINITION_FIELDS, "")
        .or_else(|| {
            extra(
                &definition["containerProperties"],
                CONTAINER_FIELDS,
                "containerProperties.",
            )
        })
        .or_else(|| extra(&definition["retryStrategy"], RETRY_FIELDS, "retryStrategy."))
}

/// Builds and sends `RegisterJobDefinition` from the compiler's JSON request, with `tags`
/// (propagated to the jobs' ECS tasks by `propagateTags`).
async fn register_job_definition(
    clients: &AwsClients,
    definition: &Value,
    tags: &[AwsTag],
) -> Result<(), AwsError> {
    if let Some(field) = unsupported_field(definition) {
        return Err(AwsError::InvalidRequest {
            operation: "RegisterJobDefinition",
            message: format!("the job definition's `{field}` is not sent by this deployer"),
        });
    }
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
    // Fargate jobs (infra::fargate::job_definition_fields).
    if let Some(role) = string(c, "executionRoleArn") {
        container = container.execution_role_arn(role);
    }
    if let Some(assign) = c["networkConfiguration"]["assignPublicIp"].as_str() {
        container = container.network_configuration(
            NetworkConfiguration::builder()
                .assign_public_ip(AssignPublicIp::from(assign))
                .build(),
        );
    }
    if let Some(version) = c["fargatePlatformConfiguration"]["platformVersion"].as_str() {
        container = container.fargate_platform_configuration(
            FargatePlatformConfiguration::builder()
                .platform_version(version)
                .build(),
        );
    }
    let log = &c["logConfiguration"];
    if let Some(driver) = log["logDriver"].as_str() {
        let mut configuration = LogConfiguration::builder().log_driver(LogDriver::from(driver));
        for (key, value) in log["options"].as_object().into_iter().flatten() {
            configuration = configuration.options(key, value.as_str().unwrap_or_default());
        }
        container = container.log_configuration(configuration.build());
    }
    for e in c["environment"].as_array().into_iter().flatten() {
        container = container.environment(
            KeyValuePair::builder()
                .set_name(string(e, "name"))
                .set_value(string(e, "value"))
                .build(),
        );
    }
    for s in c["secrets"].as_array().into_iter().flatten() {
        container = container.secrets(
            Secret::builder()
                .set_name(string(s, "name"))
                .set_value_from(string(s, "valueFrom"))
                .build(),
        );
    }
    let mut request = clients
        .batch
        .register_job_definition()
        .job_definition_name(&name)
        .r#type(JobDefinitionType::Container)
        .container_properties(container.build())
        .propagate_tags(definition["propagateTags"].as_bool().unwrap_or(false))
        .set_platform_capabilities(definition["platformCapabilities"].as_array().map(|kinds| {
            kinds
                .iter()
                .map(|k| PlatformCapability::from(k.as_str().unwrap_or_default()))
                .collect()
        }))
        .set_tags(Some(
            tags.iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect::<HashMap<_, _>>(),
        ));
    let retry = &definition["retryStrategy"];
    if retry.is_object() {
        let mut strategy =
            RetryStrategy::builder().set_attempts(retry["attempts"].as_i64().map(|a| a as i32));
        for condition in retry["evaluateOnExit"].as_array().into_iter().flatten() {
            strategy = strategy.evaluate_on_exit(
                EvaluateOnExit::builder()
                    .set_on_status_reason(string(condition, "onStatusReason"))
                    .set_on_reason(string(condition, "onReason"))
                    .set_on_exit_code(string(condition, "onExitCode"))
                    .action(RetryAction::from(
                        condition["action"]
                            .as_str()
                            .unwrap_or_default()
                            .to_ascii_uppercase()
                            .as_str(),
                    ))
                    .build(),
            );
        }
        request = request.retry_strategy(strategy.build());
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

/// The ARN of the newest ACTIVE revision of a job definition, if there is one.
async fn active_job_definition(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<String>, AwsError> {
    let out = clients
        .batch
        .describe_job_definitions()
        .job_definition_name(name)
        .status("ACTIVE")
        .send()
        .await
        .map_err(|e| clients.error("DescribeJobDefinitions", e))?;
    Ok(out
        .job_definitions()
        .iter()
        .max_by_key(|d| d.revision())
        .and_then(|d| d.job_definition_arn())
        .map(str::to_string))
}

/// A flow's schedule: when it runs, and the role EventBridge starts the runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule<'a> {
    /// The `schedule` expression, `cron(..)` or `rate(..)`.
    pub expression: &'a str,
    /// The schedule's own role, trusted by `events.amazonaws.com` (the state machine's role
    /// is trusted by `states.amazonaws.com` only, so EventBridge could not assume it).
    pub role_arn: &'a str,
}

/// Registers the job definitions, creates or updates the state machine (running as
/// `role_arn`) and publishes it as the live version, and creates, updates or removes its
/// schedule; everything is tagged with `tags`.
pub async fn create(
    clients: &AwsClients,
    deployment: &Deployment,
    role_arn: &str,
    schedule: Option<Schedule<'_>>,
    tags: &[AwsTag],
) -> Result<Deployed, AwsError> {
    let graph = &deployment.graph;
    let triggered = !graph.trigger_on_finish.is_empty() || !graph.event_triggers.is_empty();
    // Checked before anything is deployed, like the schedule's role.
    let events_role = match (&deployment.events_role_arn, triggered) {
        (Some(role), true) => Some(role.as_str()),
        (None, true) => {
            return Err(AwsError::InvalidRequest {
                operation: "PutTargets",
                message: format!(
                    "flow `{}` has triggers, whose EventBridge rules start runs as the schedule's \
                     role: set {} or {} (trusted by events.amazonaws.com, allowed \
                     states:StartExecution on the flow's state machine)",
                    graph.name,
                    crate::config::SCHEDULE_ROLE.flag,
                    crate::config::SCHEDULE_ROLE.env
                ),
            })
        }
        (_, false) => None,
    };
    let mut registered = Vec::new();
    for definition in &deployment.job_definitions {
        let name = string(definition, "jobDefinitionName").unwrap_or_default();
        // Names carry a hash of the content: an ACTIVE one with this name is this definition.
        match active_job_definition(clients, &name).await? {
            Some(arn) => {
                // Tags are not part of the content: a reused definition gets today's.
                clients
                    .batch
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(
                        tags.iter()
                            .map(|t| (t.key.clone(), t.value.clone()))
                            .collect(),
                    ))
                    .send()
                    .await
                    .map_err(|e| clients.error("TagResource", e))?;
            }
            None => {
                register_job_definition(clients, definition, tags).await?;
                registered.push(name);
            }
        }
    }
    let name = &deployment.state_machine_name;
    let (arn, created, version_arn) =
        publish_state_machine(clients, deployment, role_arn, tags).await?;
    let alias_arn = point_alias(clients, &arn, &version_arn).await?;
    prune_versions(clients, &arn, &version_arn).await?;
    let (schedule_rule, foreign_rule) = match schedule {
        Some(Schedule {
            expression,
            role_arn: schedule_role,
        }) => {
            let rule = schedule::put_schedule(
                clients,
                name,
                &arn,
                &alias_arn,
                schedule_role,
                expression,
                tags,
            )
            .await?;
            (Some(rule), None)
        }
        None => match schedule::remove_schedule(clients, name, &arn).await? {
            ScheduleRemoval::LeftAlone(rule) => (None, Some(rule)),
            ScheduleRemoval::Absent | ScheduleRemoval::Removed(_) => (None, None),
        },
    };
    let trigger_rules = match events_role {
        Some(role) => {
            let rules =
                triggers::trigger_rules_in(graph, name, &arn, deployment.namespace.as_ref())
                    .map_err(|e| AwsError::InvalidRequest {
                        operation: "PutRule",
                        message: e.to_string(),
                    })?;
            triggers::put_triggers(clients, name, &arn, &alias_arn, role, &rules, tags).await?
        }
        None => {
            triggers::remove_triggers_except(clients, name, &arn, &[]).await?;
            Vec::new()
        }
    };
    Ok(Deployed {
        state_machine_arn: arn,
        created,
        version_arn,
        alias_arn,
        registered_job_definitions: registered,
        schedule_rule,
        foreign_rule,
        trigger_rules,
    })
}

fn sfn_tags(tags: &[AwsTag]) -> Vec<SfnTag> {
    tags.iter()
        .map(|t| SfnTag::builder().key(&t.key).value(&t.value).build())
        .collect()
}

/// Creates or updates the state machine, publishing a version; returns its ARN, whether it
/// was created, and the version's ARN.
async fn publish_state_machine(
    clients: &AwsClients,
    deployment: &Deployment,
    role_arn: &str,
    tags: &[AwsTag],
) -> Result<(String, bool, String), AwsError> {
    let name = &deployment.state_machine_name;
    let definition = deployment.definition.to_string();
    let missing_version = |operation| AwsError::InvalidRequest {
        operation,
        message: "Step Functions published no version (stateMachineVersionArn is missing)"
            .to_string(),
    };
    match find_state_machine(clients, name).await? {
        Some(arn) => {
            let out = clients
                .sfn
                .update_state_machine()
                .state_machine_arn(&arn)
                .definition(&definition)
                .role_arn(role_arn)
                .publish(true)
                .send()
                .await
                .map_err(|e| clients.error("UpdateStateMachine", e))?;
            let version = out
                .state_machine_version_arn()
                .ok_or_else(|| missing_version("UpdateStateMachine"))?
                .to_string();
            clients
                .sfn
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(sfn_tags(tags)))
                .send()
                .await
                .map_err(|e| clients.error("TagResource", e))?;
            Ok((arn, false, version))
        }
        None => {
            let out = clients
                .sfn
                .create_state_machine()
                .name(name)
                .definition(&definition)
                .role_arn(role_arn)
                .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
                .publish(true)
                .set_tags(Some(sfn_tags(tags)))
                .send()
                .await
                .map_err(|e| clients.error("CreateStateMachine", e))?;
            let version = out
                .state_machine_version_arn()
                .ok_or_else(|| missing_version("CreateStateMachine"))?
                .to_string();
            Ok((out.state_machine_arn().to_string(), true, version))
        }
    }
}

/// Points the live alias at `version_arn` (creating the alias the first time); returns the
/// alias's ARN.
async fn point_alias(
    clients: &AwsClients,
    state_machine_arn: &str,
    version_arn: &str,
) -> Result<String, AwsError> {
    let route = RoutingConfigurationListItem::builder()
        .state_machine_version_arn(version_arn)
        .weight(100)
        .build()
        .map_err(|e| AwsError::InvalidRequest {
            operation: "UpdateStateMachineAlias",
            message: e.to_string(),
        })?;
    let alias = alias_arn(state_machine_arn);
    let updated = clients
        .sfn
        .update_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .routing_configuration(route.clone())
        .send()
        .await;
    match updated {
        Ok(_) => Ok(alias),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found()) =>
        {
            let out = clients
                .sfn
                .create_state_machine_alias()
                .name(LIVE_ALIAS)
                .description("The version flowrs runs; `step-functions create` moves it")
                .routing_configuration(route)
                .send()
                .await
                .map_err(|e| clients.error("CreateStateMachineAlias", e))?;
            Ok(out.state_machine_alias_arn().to_string())
        }
        Err(e) => Err(clients.error("UpdateStateMachineAlias", e)),
    }
}

/// Deletes published versions past the newest [`KEPT_VERSIONS`], except `live` (the one the
/// alias points at) and any that another alias still points at.
async fn prune_versions(
    clients: &AwsClients,
    state_machine_arn: &str,
    live: &str,
) -> Result<(), AwsError> {
    let mut versions = Vec::new();
    let mut next_token = None;
    loop {
        let page = clients
            .sfn
            .list_state_machine_versions()
            .state_machine_arn(state_machine_arn)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| clients.error("ListStateMachineVersions", e))?;
        versions.extend(
            page.state_machine_versions()
                .iter()
                .map(|v| v.state_machine_version_arn().to_string()),
        );
        next_token = page.next_token().map(str::to_string);
        if next_token.is_none() {
            break;
        }
    }
    // Listed newest first.
    for version in versions.iter().skip(KEPT_VERSIONS).filter(|v| *v != live) {
        let deleted = clients
            .sfn
            .delete_state_machine_version()
            .state_machine_version_arn(version)
            .send()
            .await;
        match deleted {
            Ok(_) => {}
            // Another alias (the user's) still points at it: it stays.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_validation_exception() || s.is_conflict_exception()) => {}
            Err(e) => return Err(clients.error("DeleteStateMachineVersion", e)),
        }
    }
    Ok(())
}

/// What `delete` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// What happened to the schedule rule.
    pub schedule: ScheduleRemoval,
    /// The trigger rules removed (only the deployment's own).
    pub trigger_rules: Vec<String>,
    /// Job definition revisions deregistered.
    pub deregistered_job_definitions: usize,
}

/// Whether `job_definition` is one `create` registered for `state_machine`: the state
/// machine's name (as a Batch name: `.` becomes `_`), `-`, and 8 hex digits of content hash.
fn is_ours(job_definition: &str, state_machine: &str) -> bool {
    job_definition
        .strip_prefix(&crate::compile::names::job_definition_prefix(state_machine))
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hash| hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Deletes the state machine (its versions and alias go with it), its schedule rule if it is
/// the deployment's, and every job definition registered for it (found by name, so
/// definitions of earlier settings go too).
pub async fn delete(clients: &AwsClients, state_machine: &str) -> Result<Deleted, AwsError> {
    let arn = require_state_machine(clients, state_machine).await?;
    let schedule = schedule::remove_schedule(clients, state_machine, &arn).await?;
    let trigger_rules = triggers::remove_triggers_except(clients, state_machine, &arn, &[]).await?;
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
        schedule,
        trigger_rules,
        deregistered_job_definitions: ours.len(),
    })
}

#[cfg(test)]
mod tests;
