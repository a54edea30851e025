//! The EventBridge rules that start a flow on an event: one per `trigger_on_finish` upstream
//! flow (Step Functions' own "Step Functions Execution Status Change" event of the upstream
//! state machine, status SUCCEEDED) and one per `trigger(...)` event pattern.
//!
//! Each rule targets the state machine's live alias, as the schedule's role (EventBridge cannot
//! assume the state machine's role), with an input transformer that builds the execution input
//! (`compile::execution_input`): `trigger` = the upstream flow and run id (the upstream
//! execution's name, which is its run id), or the params read from the event (`from_event`
//! paths) and the whole `event`. Names and ownership follow the schedule rule's
//! (`schedule.rs`): a rule is the deployment's only if it carries the owner tag, so `create`
//! replaces or removes only its own rules and `delete` removes only those.

use super::clients::AwsClients;
use super::error::AwsError;
use super::schedule::{self, RuleOwner, OWNER_TAG, SCHEDULE_TARGET_ID};
use crate::compile::names::short_hash;
use crate::config::AwsTag;
use aws_sdk_eventbridge::types::{InputTransformer, RuleState, Target};
use flow_graph::FlowGraph;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// The `detail-type` of Step Functions' execution status-change events (AWS, "Step Functions
/// events in EventBridge").
pub const STATUS_CHANGE_DETAIL_TYPE: &str = "Step Functions Execution Status Change";
/// The input-transformer variable of the upstream execution's name (its run id).
const RUN_VARIABLE: &str = "upstream_run";

/// One rule that starts the flow: its name, pattern and the execution input it builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerRule {
    /// The rule's name (at most 64 characters, deterministic).
    pub name: String,
    /// What starts a run, for the rule's description and for people.
    pub description: String,
    /// The EventBridge event pattern.
    pub pattern: Value,
    /// The input transformer's `InputPathsMap`: variable -> JSONPath into the event.
    pub input_paths: BTreeMap<String, String>,
    /// The input transformer's `InputTemplate`: the execution input.
    pub input_template: String,
}

/// Why a flow's triggers cannot become rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    /// An event pattern is not a JSON object.
    #[error(
        "the event pattern `{pattern}` of flow `{flow}` is not a JSON object: {reason}; fix its \
         #[flow(trigger(...))]"
    )]
    BadPattern {
        /// The flow.
        flow: String,
        /// The pattern as written.
        pattern: String,
        /// What is wrong.
        reason: String,
    },
    /// The state machine ARN has no `:stateMachine:` to derive the upstream ARN from.
    #[error(
        "`{arn}` is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)"
    )]
    NotAStateMachineArn {
        /// The ARN.
        arn: String,
    },
}

/// The start of every trigger rule name of `state_machine` (what `create` lists to find stale
/// ones): `<state machine>-on-`, or, for a long name, its first characters, a hash of it and
/// `-on-`, so that every name fits 64 characters with its 8-character suffix.
pub fn rule_prefix(state_machine: &str) -> String {
    const SUFFIX: usize = "-on-".len() + 8;
    if state_machine.len() + SUFFIX <= schedule::MAX_RULE_NAME_LEN {
        return format!("{state_machine}-on-");
    }
    let keep = schedule::MAX_RULE_NAME_LEN - SUFFIX - 9;
    format!(
        "{}-{}-on-",
        &state_machine[..keep],
        short_hash(state_machine)
    )
}

/// The ARN of the state machine `name` in the account and region of `state_machine_arn`.
fn sibling_arn(state_machine_arn: &str, name: &str) -> Result<String, TriggerError> {
    let (prefix, _) = state_machine_arn
        .split_once(":stateMachine:")
        .ok_or_else(|| TriggerError::NotAStateMachineArn {
            arn: state_machine_arn.to_string(),
        })?;
    Ok(format!("{prefix}:stateMachine:{name}"))
}

/// The rules of `graph`'s triggers for the state machine `state_machine_arn` (upstream flows
/// are found under their default state machine name, the flow's name, in the same account and
/// region).
pub fn trigger_rules(
    graph: &FlowGraph,
    state_machine: &str,
    state_machine_arn: &str,
) -> Result<Vec<TriggerRule>, TriggerError> {
    trigger_rules_in(graph, state_machine, state_machine_arn, None)
}

/// [`trigger_rules`] of a deployment in a project's `namespace`: upstream flows are found
/// under their name in the same namespace (the same project and branch).
pub fn trigger_rules_in(
    graph: &FlowGraph,
    state_machine: &str,
    state_machine_arn: &str,
    namespace: Option<&flow_graph::namespace::Namespace>,
) -> Result<Vec<TriggerRule>, TriggerError> {
    let prefix = rule_prefix(state_machine);
    let mut rules = Vec::new();
    for upstream in &graph.trigger_on_finish {
        let upstream_machine = match namespace {
            Some(ns) => crate::compile::names::namespaced_state_machine_name(&ns.qualify(upstream)),
            None => upstream.clone(),
        };
        let upstream_arn = sibling_arn(state_machine_arn, &upstream_machine)?;
        let pattern = json!({
            "source": ["aws.states"],
            "detail-type": [STATUS_CHANGE_DETAIL_TYPE],
            "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [upstream_arn]},
        });
        let flow = serde_json::to_string(upstream).expect("a string serializes");
        rules.push(TriggerRule {
            name: format!("{prefix}{}", short_hash(&format!("finish:{upstream}"))),
            description: format!("Runs {state_machine} when a run of {upstream} succeeds"),
            pattern,
            input_paths: BTreeMap::from([(RUN_VARIABLE.to_string(), "$.detail.name".to_string())]),
            input_template: format!(
                r#"{{"params": {{}}, "origin_run_id": null, "trigger": {{"flow": {flow}, "run_id": <{RUN_VARIABLE}>}}}}"#
            ),
        });
    }
    for text in &graph.event_triggers {
        let pattern: Value = serde_json::from_str(text)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| TriggerError::BadPattern {
                flow: graph.name.clone(),
                pattern: text.clone(),
                reason: "EventBridge patterns are JSON objects".to_string(),
            })?;
        let mut input_paths = BTreeMap::new();
        let mut params = Vec::new();
        for param in &graph.params {
            if let Some(path) = &param.from_event {
                let variable = format!("param_{}", param.name);
                let name = serde_json::to_string(&param.name).expect("a string serializes");
                params.push(format!("{name}: <{variable}>"));
                input_paths.insert(variable, format!("$.{path}"));
            }
        }
        let canonical = crate::json::to_canonical_compact(&pattern);
        rules.push(TriggerRule {
            name: format!("{prefix}{}", short_hash(&format!("event:{canonical}"))),
            description: format!("Runs {state_machine} on events matching its pattern"),
            pattern,
            input_paths,
            input_template: format!(
                // `aws.events.event` would leave out the event's `detail`; `.json` is all of it
                // (EventBridge User Guide, "Amazon EventBridge input transformation",
                // "Predefined variables").
                r#"{{"params": {{{}}}, "origin_run_id": null, "event": <aws.events.event.json>}}"#,
                params.join(", ")
            ),
        });
    }
    Ok(rules)
}

/// Creates or updates the deployment's trigger `rules` (each tagged as the deployment's, plus
/// `tags`), each starting `target_arn` (the live alias) as `role_arn`, and removes the
/// deployment's trigger rules that are no longer wanted. Returns the rules' names.
pub async fn put_triggers(
    clients: &AwsClients,
    state_machine: &str,
    state_machine_arn: &str,
    target_arn: &str,
    role_arn: &str,
    rules: &[TriggerRule],
    tags: &[AwsTag],
) -> Result<Vec<String>, AwsError> {
    for rule in rules {
        if schedule::rule_owner(clients, &rule.name, state_machine_arn).await? == RuleOwner::Other {
            return Err(AwsError::RuleNotOwned {
                rule: rule.name.clone(),
                tag: OWNER_TAG,
                state_machine_arn: state_machine_arn.to_string(),
            });
        }
    }
    let wanted: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    remove_triggers_except(clients, state_machine, state_machine_arn, &wanted).await?;
    let mut event_tags = vec![schedule::event_tag(OWNER_TAG, state_machine_arn)?];
    for tag in tags {
        event_tags.push(schedule::event_tag(&tag.key, &tag.value)?);
    }
    for rule in rules {
        let put = clients
            .events
            .put_rule()
            .name(&rule.name)
            .event_pattern(crate::json::to_canonical_compact(&rule.pattern))
            .state(RuleState::Enabled)
            .description(&rule.description)
            .set_tags(Some(event_tags.clone()))
            .send()
            .await
            .map_err(|e| clients.error("PutRule", e))?;
        clients
            .events
            .tag_resource()
            .resource_arn(put.rule_arn().unwrap_or_default())
            .set_tags(Some(event_tags.clone()))
            .send()
            .await
            .map_err(|e| clients.error("TagResource", e))?;
        let invalid = |e: aws_sdk_eventbridge::error::BuildError| AwsError::InvalidRequest {
            operation: "PutTargets",
            message: e.to_string(),
        };
        let transformer = InputTransformer::builder()
            .set_input_paths_map(Some(
                rule.input_paths
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<HashMap<_, _>>(),
            ))
            .input_template(&rule.input_template)
            .build()
            .map_err(invalid)?;
        let target = Target::builder()
            .id(SCHEDULE_TARGET_ID)
            .arn(target_arn)
            .role_arn(role_arn)
            .input_transformer(transformer)
            .build()
            .map_err(invalid)?;
        let out = clients
            .events
            .put_targets()
            .rule(&rule.name)
            .targets(target)
            .send()
            .await
            .map_err(|e| clients.error("PutTargets", e))?;
        schedule::failed_entries(
            "PutTargets",
            out.failed_entry_count(),
            out.failed_entries()
                .iter()
                .map(|e| (e.target_id(), e.error_code(), e.error_message())),
        )?;
    }
    Ok(wanted.into_iter().map(str::to_string).collect())
}

/// Removes every trigger rule of the deployment except `keep` (rules of its names that are
/// not the deployment's are left alone). Returns the removed rules' names.
pub async fn remove_triggers_except(
    clients: &AwsClients,
    state_machine: &str,
    state_machine_arn: &str,
    keep: &[&str],
) -> Result<Vec<String>, AwsError> {
    let prefix = rule_prefix(state_machine);
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = clients
            .events
            .list_rules()
            .name_prefix(&prefix)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| clients.error("ListRules", e))?;
        names.extend(
            page.rules()
                .iter()
                .filter_map(|r| r.name().map(str::to_string)),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut removed = Vec::new();
    for name in names {
        if keep.contains(&name.as_str())
            || !matches!(
                schedule::rule_owner(clients, &name, state_machine_arn).await?,
                RuleOwner::Ours(_)
            )
        {
            continue;
        }
        let out = clients
            .events
            .remove_targets()
            .rule(&name)
            .ids(SCHEDULE_TARGET_ID)
            .send()
            .await
            .map_err(|e| clients.error("RemoveTargets", e))?;
        schedule::failed_entries(
            "RemoveTargets",
            out.failed_entry_count(),
            out.failed_entries()
                .iter()
                .map(|e| (e.target_id(), e.error_code(), e.error_message())),
        )?;
        clients
            .events
            .delete_rule()
            .name(&name)
            .send()
            .await
            .map_err(|e| clients.error("DeleteRule", e))?;
        removed.push(name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_graph::{ParamSpec, StepSpec};

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:DownstreamFlow";

    fn graph() -> FlowGraph {
        let mut graph = FlowGraph::new(
            "DownstreamFlow",
            vec![StepSpec::next("start", "end"), StepSpec::end()],
        );
        graph.trigger_on_finish = vec!["UpstreamFlow".into()];
        graph.event_triggers =
            vec![r#"{"source":["aws.s3"],"detail":{"bucket":{"name":["b"]}}}"#.into()];
        graph.params = vec![
            ParamSpec {
                name: "key".into(),
                type_name: "String".into(),
                help: String::new(),
                default: "\"\"".into(),
                from_event: Some("detail.object.key".into()),
            },
            ParamSpec {
                name: "fail_on".into(),
                type_name: "u32".into(),
                help: String::new(),
                default: "0".into(),
                from_event: None,
            },
        ];
        graph
    }

    #[test]
    fn a_branch_is_triggered_by_its_own_branch_of_the_upstream_flow() {
        use flow_graph::namespace::{Branch, Namespace};
        let ns = Namespace {
            project: "recs".into(),
            branch: Branch::Test("b1".into()),
        };
        let rules =
            trigger_rules_in(&graph(), "recs.test.b1.DownstreamFlow", ARN, Some(&ns)).unwrap();
        assert_eq!(
            rules[0].pattern["detail"]["stateMachineArn"],
            json!(["arn:aws:states:us-east-1:123456789012:stateMachine:recs.test.b1.UpstreamFlow"])
        );
        // The run reads the upstream's artifacts under its flow name in the branch's folder.
        assert!(rules[0]
            .input_template
            .contains(r#""flow": "UpstreamFlow""#));
    }

    #[test]
    fn an_upstream_success_starts_the_run_with_the_upstream_run() {
        let rules = trigger_rules(&graph(), "DownstreamFlow", ARN).unwrap();
        let on_finish = &rules[0];
        assert!(
            on_finish.name.starts_with("DownstreamFlow-on-"),
            "{}",
            on_finish.name
        );
        assert_eq!(
            on_finish.pattern,
            json!({
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "status": ["SUCCEEDED"],
                    "stateMachineArn": ["arn:aws:states:us-east-1:123456789012:stateMachine:UpstreamFlow"]
                }
            })
        );
        assert_eq!(on_finish.input_paths["upstream_run"], "$.detail.name");
        // The template is JSON once the run id (a JSON string) is in place.
        let input: Value = serde_json::from_str(
            &on_finish
                .input_template
                .replace("<upstream_run>", "\"r-1\""),
        )
        .unwrap();
        assert_eq!(
            input,
            json!({"params": {}, "origin_run_id": null, "trigger": {"flow": "UpstreamFlow", "run_id": "r-1"}})
        );
    }

    #[test]
    fn an_event_fills_the_params_from_their_paths_and_travels_whole() {
        let rules = trigger_rules(&graph(), "DownstreamFlow", ARN).unwrap();
        let on_event = &rules[1];
        assert_eq!(on_event.pattern["detail"]["bucket"]["name"], json!(["b"]));
        assert_eq!(
            on_event.input_paths,
            BTreeMap::from([("param_key".to_string(), "$.detail.object.key".to_string())])
        );
        let input: Value = serde_json::from_str(
            &on_event
                .input_template
                .replace("<param_key>", "\"in/a.csv\"")
                .replace("<aws.events.event.json>", "{\"id\": \"e\"}"),
        )
        .unwrap();
        assert_eq!(
            input,
            json!({"params": {"key": "in/a.csv"}, "origin_run_id": null, "event": {"id": "e"}})
        );
        assert_ne!(rules[0].name, on_event.name);
    }

    #[test]
    fn rule_names_fit_eventbridge_and_share_a_prefix() {
        let long = "F".repeat(80);
        let prefix = rule_prefix(&long);
        assert!(prefix.ends_with("-on-"), "{prefix}");
        assert_eq!(prefix.len() + 8, 64);
        assert_ne!(rule_prefix(&format!("{}G", "F".repeat(79))), prefix);
        assert_eq!(rule_prefix("Short"), "Short-on-");
    }

    #[test]
    fn a_pattern_that_is_not_an_object_is_refused_naming_it() {
        let mut graph = graph();
        graph.event_triggers = vec!["[1]".into()];
        let err = trigger_rules(&graph, "DownstreamFlow", ARN).unwrap_err();
        assert!(err.to_string().contains("`[1]`"), "{err}");
        let err = trigger_rules(&graph, "DownstreamFlow", "not-an-arn").unwrap_err();
        assert!(err.to_string().contains("not-an-arn"), "{err}");
    }
}
