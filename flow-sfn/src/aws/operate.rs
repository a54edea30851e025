//! `trigger`, `list-runs`, `status`, `terminate` and `resume` against a deployed flow.

use super::clients::AwsClients;
use super::error::AwsError;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use flow_core::RunId;
use serde_json::Value;

/// One run (execution) of a deployed flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The run id (the execution's name).
    pub run_id: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, ...
    pub status: String,
    /// Start time (RFC 3339).
    pub started: String,
    /// Stop time (RFC 3339), if stopped.
    pub stopped: Option<String>,
    /// The execution's ARN.
    pub execution_arn: String,
}

/// A state of the execution that failed, with what Step Functions and Batch said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFailure {
    /// The state's name (the step's name for task states).
    pub state: String,
    /// The error name, e.g. `States.TaskFailed`.
    pub error: String,
    /// The cause, with the Batch job's status reason and exit code when it was a job.
    pub cause: String,
}

/// The execution ARN of run `run_id` of the state machine `state_machine_arn`.
pub fn execution_arn(state_machine_arn: &str, run_id: &str) -> String {
    format!(
        "{}:{run_id}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

fn time(t: &aws_smithy_types::DateTime) -> String {
    t.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Starts a run named `run_id` with `input` (`{"params": .., "origin_run_id": ..}`).
pub async fn start_run(
    clients: &AwsClients,
    state_machine_arn: &str,
    run_id: &RunId,
    input: &Value,
) -> Result<String, AwsError> {
    let out = clients
        .sfn
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(run_id.as_str())
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| clients.error("StartExecution", e))?;
    Ok(out.execution_arn().to_string())
}

/// Lists runs, newest first, optionally only those with `status`.
pub async fn list_runs(
    clients: &AwsClients,
    state_machine_arn: &str,
    status: Option<&str>,
) -> Result<Vec<RunSummary>, AwsError> {
    let mut request = clients
        .sfn
        .list_executions()
        .state_machine_arn(state_machine_arn);
    if let Some(status) = status {
        request = request.status_filter(ExecutionStatus::from(status));
    }
    let mut pages = request.into_paginator().send();
    let mut runs = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| clients.error("ListExecutions", e))?;
        for e in page.executions() {
            runs.push(RunSummary {
                run_id: e.name().to_string(),
                status: e.status().as_str().to_string(),
                started: time(e.start_date()),
                stopped: e.stop_date().map(time),
                execution_arn: e.execution_arn().to_string(),
            });
        }
    }
    runs.sort_by(|a, b| b.started.cmp(&a.started).then(b.run_id.cmp(&a.run_id)));
    Ok(runs)
}

/// Describes one run; an unknown run id is a clear error.
pub async fn describe_run(
    clients: &AwsClients,
    state_machine_arn: &str,
    run_id: &str,
) -> Result<(RunSummary, Option<String>, Option<String>), AwsError> {
    let arn = execution_arn(state_machine_arn, run_id);
    let out = clients
        .sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_execution_does_not_exist())
            {
                AwsError::UnknownRun {
                    run_id: run_id.to_string(),
                    state_machine: state_machine_arn
                        .rsplit(':')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                }
            } else {
                clients.error("DescribeExecution", e)
            }
        })?;
    let summary = RunSummary {
        run_id: out.name().unwrap_or(run_id).to_string(),
        status: out.status().as_str().to_string(),
        started: time(out.start_date()),
        stopped: out.stop_date().map(time),
        execution_arn: arn,
    };
    Ok((
        summary,
        out.error().map(str::to_string),
        out.cause().map(str::to_string),
    ))
}

/// Every event of an execution's history, oldest first.
async fn history(clients: &AwsClients, execution_arn: &str) -> Result<Vec<HistoryEvent>, AwsError> {
    let mut pages = clients
        .sfn
        .get_execution_history()
        .execution_arn(execution_arn)
        .into_paginator()
        .send();
    let mut events = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| clients.error("GetExecutionHistory", e))?;
        events.extend(page.events().iter().cloned());
    }
    Ok(events)
}

/// The failed states of a run, read from its history; Batch job causes are reduced to the
/// job's status reason and exit code.
pub async fn failures(
    clients: &AwsClients,
    execution_arn: &str,
) -> Result<Vec<StateFailure>, AwsError> {
    let events = history(clients, execution_arn).await?;
    let mut current_state: std::collections::HashMap<i64, String> = Default::default();
    let mut failures = Vec::new();
    for event in &events {
        if let Some(entered) = event.state_entered_event_details() {
            current_state.insert(event.id(), entered.name().to_string());
        }
        let failed = match event.r#type() {
            HistoryEventType::TaskFailed => event
                .task_failed_event_details()
                .map(|d| (d.error().unwrap_or_default(), d.cause().unwrap_or_default())),
            _ => None,
        };
        if let Some((error, cause)) = failed {
            // The state a task event belongs to is the closest StateEntered before it.
            let state = (0..=event.previous_event_id())
                .rev()
                .find_map(|id| current_state.get(&id).cloned())
                .unwrap_or_default();
            failures.push(StateFailure {
                state,
                error: error.to_string(),
                cause: summarize_cause(cause),
            });
        }
    }
    Ok(failures)
}

/// A Batch `.sync` failure's cause is the whole job description as JSON; keep what a user
/// needs: the status reason and the container's exit code and reason.
fn summarize_cause(cause: &str) -> String {
    let Ok(job) = serde_json::from_str::<Value>(cause) else {
        return cause.to_string();
    };
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| job.get(*k).filter(|v| !v.is_null()).cloned())
    };
    let mut parts = Vec::new();
    if let Some(reason) = pick(&["StatusReason", "statusReason"]) {
        parts.push(format!(
            "status reason: {}",
            reason.as_str().unwrap_or_default()
        ));
    }
    let container = pick(&["Container", "container"]).unwrap_or(Value::Null);
    for (key, label) in [
        ("ExitCode", "exit code"),
        ("exitCode", "exit code"),
        ("Reason", "reason"),
        ("reason", "reason"),
    ] {
        if let Some(v) = container.get(key).filter(|v| !v.is_null()) {
            parts.push(format!(
                "{label}: {}",
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            ));
        }
    }
    if let Some(attempts) = pick(&["Attempts", "attempts"]).and_then(|a| a.as_array().map(Vec::len))
    {
        parts.push(format!("attempts: {attempts}"));
    }
    if let Some(id) = pick(&["JobId", "jobId"]) {
        parts.push(format!("job {}", id.as_str().unwrap_or_default()));
    }
    if parts.is_empty() {
        cause.to_string()
    } else {
        parts.join(", ")
    }
}

/// Stops a running run.
pub async fn terminate(clients: &AwsClients, execution_arn: &str) -> Result<(), AwsError> {
    clients
        .sfn
        .stop_execution()
        .execution_arn(execution_arn)
        .error("flowrs.Terminated")
        .cause("terminated with `step-functions terminate`")
        .send()
        .await
        .map_err(|e| clients.error("StopExecution", e))?;
    Ok(())
}

/// The params a run was started with (its execution input's `params`).
pub async fn execution_params(
    clients: &AwsClients,
    execution_arn: &str,
) -> Result<Value, AwsError> {
    let out = clients
        .sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| clients.error("DescribeExecution", e))?;
    let input: Value = out
        .input()
        .and_then(|i| serde_json::from_str(i).ok())
        .unwrap_or(Value::Null);
    Ok(input.get("params").cloned().unwrap_or(Value::Null))
}

/// What one state of the top-level execution did.
#[derive(Debug, Clone, PartialEq)]
pub struct StateActivity {
    /// The state's name (the step's name for task states).
    pub state: String,
    /// `succeeded`, `failed` or `running`.
    pub outcome: String,
    /// How many times the state was entered.
    pub entered: usize,
    /// Seconds from first entry to last exit, if it exited.
    pub seconds: Option<f64>,
}

/// The task and map states of a run's execution, in the order they were first entered.
pub async fn state_activity(
    clients: &AwsClients,
    execution_arn: &str,
) -> Result<Vec<StateActivity>, AwsError> {
    let events = history(clients, execution_arn).await?;
    let mut states: Vec<StateActivity> = Vec::new();
    let mut first_entry: std::collections::HashMap<String, f64> = Default::default();
    let mut open: Option<String> = None;
    for event in &events {
        let at = event.timestamp().as_secs_f64();
        let kind = event.r#type();
        let tracked = matches!(
            kind,
            HistoryEventType::TaskStateEntered | HistoryEventType::MapStateEntered
        );
        if let (true, Some(d)) = (tracked, event.state_entered_event_details()) {
            let name = d.name().to_string();
            first_entry.entry(name.clone()).or_insert(at);
            match states.iter_mut().find(|s| s.state == name) {
                Some(s) => {
                    s.entered += 1;
                    s.outcome = "running".into();
                }
                None => states.push(StateActivity {
                    state: name.clone(),
                    outcome: "running".into(),
                    entered: 1,
                    seconds: None,
                }),
            }
            open = Some(name);
        }
        let outcome = match kind {
            HistoryEventType::TaskFailed | HistoryEventType::MapRunFailed => Some("failed"),
            HistoryEventType::TaskSucceeded | HistoryEventType::MapRunSucceeded => {
                Some("succeeded")
            }
            _ => None,
        };
        if let (Some(outcome), Some(name)) = (outcome, &open) {
            if let Some(s) = states.iter_mut().find(|s| &s.state == name) {
                s.outcome = outcome.into();
            }
        }
        if let Some(d) = event.state_exited_event_details() {
            if let Some(s) = states.iter_mut().find(|s| s.state == d.name()) {
                if s.outcome == "running" {
                    s.outcome = "succeeded".into();
                }
                s.seconds = first_entry.get(d.name()).map(|t0| at - t0);
            }
        }
    }
    Ok(states)
}
