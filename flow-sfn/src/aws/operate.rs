//! `trigger`, `list-runs`, `status`, `terminate` and `resume` against a deployed flow.
//!
//! Runs start on the deployment's live alias (see [`super::deploy`]). DescribeExecution is
//! eventually consistent: right after StartExecution it may say the execution does not
//! exist, so a run is looked up with some patience ([`JUST_STARTED`] for a run this process
//! started, [`LOOKUP`] for a run id from the user, short enough that a typo fails fast).

use super::clients::AwsClients;
use super::deploy::alias_arn;
use super::error::AwsError;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use flow_core::RunId;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a run this process just started may stay unknown to DescribeExecution.
pub const JUST_STARTED: Duration = Duration::from_secs(60);
/// How long a run id given by the user may stay unknown before it is an unknown run.
pub const LOOKUP: Duration = Duration::from_secs(3);

/// One run (execution) of a deployed flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The run id (the execution's name).
    pub run_id: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, ...
    pub status: ExecutionStatus,
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

/// A run that was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedRun {
    /// The execution's ARN.
    pub execution_arn: String,
    /// False when the state machine has no live alias (deployed before aliases were) and the
    /// run started on its latest definition instead.
    pub on_alias: bool,
}

/// Starts a run named `run_id` with `input` (`{"params": .., "origin_run_id": ..}`) on the
/// live alias of `state_machine_arn`.
pub async fn start_run(
    clients: &AwsClients,
    state_machine_arn: &str,
    run_id: &RunId,
    input: &Value,
) -> Result<StartedRun, AwsError> {
    let start = |arn: String| {
        clients
            .sfn
            .start_execution()
            .state_machine_arn(arn)
            .name(run_id.as_str())
            .input(input.to_string())
            .send()
    };
    match start(alias_arn(state_machine_arn)).await {
        Ok(out) => Ok(StartedRun {
            execution_arn: out.execution_arn().to_string(),
            on_alias: true,
        }),
        // No alias (the state machine itself was found before): a deployment made before
        // aliases were.
        Err(e)
            if matches!(
                e.code(),
                Some("StateMachineDoesNotExist" | "ResourceNotFound")
            ) =>
        {
            let out = start(state_machine_arn.to_string())
                .await
                .map_err(|e| clients.error("StartExecution", e))?;
            Ok(StartedRun {
                execution_arn: out.execution_arn().to_string(),
                on_alias: false,
            })
        }
        Err(e) => Err(clients.error("StartExecution", e)),
    }
}

/// Lists runs, newest first, optionally only those with `status`. Runs started on a
/// version or alias are the state machine's runs, listed here too.
pub async fn list_runs(
    clients: &AwsClients,
    state_machine_arn: &str,
    status: Option<ExecutionStatus>,
) -> Result<Vec<RunSummary>, AwsError> {
    let mut request = clients
        .sfn
        .list_executions()
        .state_machine_arn(state_machine_arn);
    if let Some(status) = status {
        request = request.status_filter(status);
    }
    let mut pages = request.into_paginator().send();
    let mut runs = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| clients.error("ListExecutions", e))?;
        for e in page.executions() {
            runs.push(RunSummary {
                run_id: e.name().to_string(),
                status: e.status().clone(),
                started: time(e.start_date()),
                stopped: e.stop_date().map(time),
                execution_arn: e.execution_arn().to_string(),
            });
        }
    }
    runs.sort_by(|a, b| b.started.cmp(&a.started).then(b.run_id.cmp(&a.run_id)));
    Ok(runs)
}

/// What DescribeExecution says about a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDescription {
    /// Its id, status and times.
    pub summary: RunSummary,
    /// The error it failed with, if it failed.
    pub error: Option<String>,
    /// The cause of that error.
    pub cause: Option<String>,
}

/// Describes one run; a run DescribeExecution does not know is asked for again until
/// `patience` has passed (it may have only just started), then it is an unknown run.
pub async fn describe_run(
    clients: &AwsClients,
    state_machine_arn: &str,
    run_id: &str,
    patience: Duration,
) -> Result<RunDescription, AwsError> {
    let arn = execution_arn(state_machine_arn, run_id);
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    let out = loop {
        match clients
            .sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
        {
            Ok(out) => break out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_does_not_exist()) =>
            {
                if started.elapsed() + delay > patience {
                    return Err(AwsError::UnknownRun {
                        run_id: run_id.to_string(),
                        state_machine: state_machine_arn
                            .rsplit(':')
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    });
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(clients.error("DescribeExecution", e)),
        }
    };
    let summary = RunSummary {
        run_id: out.name().unwrap_or(run_id).to_string(),
        status: out.status().clone(),
        started: time(out.start_date()),
        stopped: out.stop_date().map(time),
        execution_arn: arn,
    };
    Ok(RunDescription {
        summary,
        error: out.error().map(str::to_string),
        cause: out.cause().map(str::to_string),
    })
}

/// A run's execution, or `None` when DescribeExecution still does not know it after
/// `patience` (never started, or deleted by Step Functions 90 days after it ended).
pub async fn run_exists(
    clients: &AwsClients,
    state_machine_arn: &str,
    run_id: &str,
    patience: Duration,
) -> Result<Option<RunSummary>, AwsError> {
    match describe_run(clients, state_machine_arn, run_id, patience).await {
        Ok(description) => Ok(Some(description.summary)),
        Err(AwsError::UnknownRun { .. }) => Ok(None),
        Err(e) => Err(e),
    }
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
