//! The EventBridge rule that starts a flow on its `schedule`.
//!
//! Its name is derived from the state machine's, within EventBridge's 64 characters, so a
//! deployment always finds its own rule again. A rule is the deployment's only if it carries
//! the tag [`OWNER_TAG`] = the state machine's ARN: `create` never replaces a rule of that
//! name that is someone else's, and `delete` leaves it alone.

use super::clients::AwsClients;
use super::error::AwsError;
use crate::compile::names::short_hash;
use crate::config::AwsTag;
use aws_sdk_eventbridge::types::{RuleState, Tag, Target};
use serde_json::json;

/// The tag that marks a rule as a deployment's: its value is the state machine's ARN.
pub const OWNER_TAG: &str = "flowrs:state-machine";
/// The longest EventBridge rule name (EventBridge API reference, "PutRule": 1 to 64
/// characters of `[.-_A-Za-z0-9]`).
pub const MAX_RULE_NAME_LEN: usize = 64;
/// The id of the EventBridge target that starts the state machine.
pub const SCHEDULE_TARGET_ID: &str = "flowrs-state-machine";

/// The schedule rule's name for a state machine: its name when that fits, else its first
/// characters, `-` and a hash of the whole name (deterministic, and distinct for names that
/// share the kept characters).
pub fn rule_name(state_machine: &str) -> String {
    // State machine names are [A-Za-z0-9_-], all legal in a rule name.
    if state_machine.len() <= MAX_RULE_NAME_LEN {
        return state_machine.to_string();
    }
    let hash = short_hash(state_machine);
    let keep = MAX_RULE_NAME_LEN - hash.len() - 1;
    format!("{}-{hash}", &state_machine[..keep])
}

/// Whose a rule of the deployment's rule name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOwner {
    /// No rule of that name.
    Absent,
    /// The deployment's rule (its ARN).
    Ours(String),
    /// Someone else's rule of the same name.
    Other,
}

/// What happened to a deployment's schedule rule when the schedule went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleRemoval {
    /// There was none.
    Absent,
    /// The deployment's rule (this name) was deleted.
    Removed(String),
    /// A rule of this name exists but is not the deployment's; it was left alone.
    LeftAlone(String),
}

/// Whose the rule `rule` is, for the state machine `state_machine_arn`.
pub async fn rule_owner(
    clients: &AwsClients,
    rule: &str,
    state_machine_arn: &str,
) -> Result<RuleOwner, AwsError> {
    let described = match clients.events.describe_rule().name(rule).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(RuleOwner::Absent)
        }
        Err(e) => return Err(clients.error("DescribeRule", e)),
    };
    let arn = described.arn().unwrap_or_default().to_string();
    let tags = clients
        .events
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| clients.error("ListTagsForResource", e))?;
    if tags
        .tags()
        .iter()
        .any(|t| t.key() == OWNER_TAG && t.value() == state_machine_arn)
    {
        return Ok(RuleOwner::Ours(arn));
    }
    // Rules made before rules were tagged: untagged, with our target on our state machine.
    let untagged = !tags.tags().iter().any(|t| t.key() == OWNER_TAG);
    if untagged {
        let targets = clients
            .events
            .list_targets_by_rule()
            .rule(rule)
            .send()
            .await
            .map_err(|e| clients.error("ListTargetsByRule", e))?;
        let ours = targets.targets().iter().any(|t| {
            t.id() == SCHEDULE_TARGET_ID
                && (t.arn() == state_machine_arn
                    || t.arn().starts_with(&format!("{state_machine_arn}:")))
        });
        if ours {
            return Ok(RuleOwner::Ours(arn));
        }
    }
    Ok(RuleOwner::Other)
}

/// Creates or updates the deployment's schedule rule: `expression`, tagged as the
/// deployment's (plus `tags`), starting `target_arn` (the state machine's live alias) as
/// `role_arn`. Returns the rule's name.
pub async fn put_schedule(
    clients: &AwsClients,
    state_machine: &str,
    state_machine_arn: &str,
    target_arn: &str,
    role_arn: &str,
    expression: &str,
    tags: &[AwsTag],
) -> Result<String, AwsError> {
    let rule = rule_name(state_machine);
    if rule_owner(clients, &rule, state_machine_arn).await? == RuleOwner::Other {
        return Err(AwsError::RuleNotOwned {
            rule,
            tag: OWNER_TAG,
            state_machine_arn: state_machine_arn.to_string(),
        });
    }
    let mut event_tags = vec![event_tag(OWNER_TAG, state_machine_arn)?];
    for tag in tags {
        event_tags.push(event_tag(&tag.key, &tag.value)?);
    }
    let put = clients
        .events
        .put_rule()
        .name(&rule)
        .schedule_expression(expression)
        .state(RuleState::Enabled)
        .description(format!(
            "Runs the flow's state machine {state_machine} on its schedule"
        ))
        .set_tags(Some(event_tags.clone()))
        .send()
        .await
        .map_err(|e| clients.error("PutRule", e))?;
    // PutRule tags only a rule it creates; an existing rule gets them here.
    clients
        .events
        .tag_resource()
        .resource_arn(put.rule_arn().unwrap_or_default())
        .set_tags(Some(event_tags))
        .send()
        .await
        .map_err(|e| clients.error("TagResource", e))?;
    let input = schedule_input(expression).to_string();
    let target = Target::builder()
        .id(SCHEDULE_TARGET_ID)
        .arn(target_arn)
        .role_arn(role_arn)
        .input(input)
        .build()
        .map_err(|e| AwsError::InvalidRequest {
            operation: "PutTargets",
            message: e.to_string(),
        })?;
    let out = clients
        .events
        .put_targets()
        .rule(&rule)
        .targets(target)
        .send()
        .await
        .map_err(|e| clients.error("PutTargets", e))?;
    failed_entries(
        "PutTargets",
        out.failed_entry_count(),
        out.failed_entries()
            .iter()
            .map(|e| (e.target_id(), e.error_code(), e.error_message())),
    )?;
    Ok(rule)
}

/// The execution input the schedule rule starts a run with: the params' defaults, and the
/// schedule's expression, which sends the run to the `start` task that records
/// `started_by=schedule:EXPRESSION` (`compile::asl`, `NEW_SCHEDULED_RUN_STATE`); a
/// `StartExecution` call without it records `started_by=start_execution`.
pub fn schedule_input(expression: &str) -> serde_json::Value {
    json!({"params": {}, "origin_run_id": null, "schedule": expression})
}

/// Removes the deployment's schedule rule, if it has one; a rule of that name that is not
/// the deployment's is left alone.
pub async fn remove_schedule(
    clients: &AwsClients,
    state_machine: &str,
    state_machine_arn: &str,
) -> Result<ScheduleRemoval, AwsError> {
    let rule = rule_name(state_machine);
    match rule_owner(clients, &rule, state_machine_arn).await? {
        RuleOwner::Absent => return Ok(ScheduleRemoval::Absent),
        RuleOwner::Other => return Ok(ScheduleRemoval::LeftAlone(rule)),
        RuleOwner::Ours(_) => {}
    }
    let out = clients
        .events
        .remove_targets()
        .rule(&rule)
        .ids(SCHEDULE_TARGET_ID)
        .send()
        .await
        .map_err(|e| clients.error("RemoveTargets", e))?;
    failed_entries(
        "RemoveTargets",
        out.failed_entry_count(),
        out.failed_entries()
            .iter()
            .map(|e| (e.target_id(), e.error_code(), e.error_message())),
    )?;
    clients
        .events
        .delete_rule()
        .name(&rule)
        .send()
        .await
        .map_err(|e| clients.error("DeleteRule", e))?;
    Ok(ScheduleRemoval::Removed(rule))
}

pub(crate) fn event_tag(key: &str, value: &str) -> Result<Tag, AwsError> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| AwsError::InvalidRequest {
            operation: "PutRule",
            message: e.to_string(),
        })
}

/// An error when a batch call reports failed entries (it answers 200 all the same).
pub(crate) fn failed_entries<'a>(
    operation: &'static str,
    failed: i32,
    entries: impl Iterator<Item = (Option<&'a str>, Option<&'a str>, Option<&'a str>)>,
) -> Result<(), AwsError> {
    if failed == 0 {
        return Ok(());
    }
    let entries = entries
        .map(|(id, code, message)| {
            format!(
                "target `{}`: {}: {}",
                id.unwrap_or("?"),
                code.unwrap_or("(no code)"),
                message.unwrap_or("(no message)")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(AwsError::PartialFailure {
        operation,
        failed,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_fit_eventbridge() {
        assert_eq!(rule_name("MovieFlow"), "MovieFlow");
        let exact = "m".repeat(64);
        assert_eq!(rule_name(&exact), exact);
        let long = format!("Movie_{}", "x".repeat(74));
        let name = rule_name(&long);
        assert_eq!(name.len(), 64);
        assert!(name.starts_with("Movie_xxx"), "{name}");
        assert_eq!(name, rule_name(&long), "deterministic");
        let other = format!("Movie_{}y", "x".repeat(73));
        assert_ne!(
            rule_name(&other),
            name,
            "names sharing a prefix stay distinct"
        );
        assert!(name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
    }

    #[test]
    fn failed_entries_are_an_error_naming_each() {
        assert!(failed_entries("PutTargets", 0, std::iter::empty()).is_ok());
        let error = failed_entries(
            "PutTargets",
            1,
            [(
                Some("flowrs-state-machine"),
                Some("ConcurrentModificationException"),
                Some("try again"),
            )]
            .into_iter(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "PutTargets: 1 of its entries failed: target `flowrs-state-machine`: \
             ConcurrentModificationException: try again"
        );
    }
}
