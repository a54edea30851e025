//! The internal `hook` command: what the state machine runs (as a Batch job) once a run has
//! ended. It records the run's final status in `run.json` (a Batch job that died left it
//! running), builds the run's summary from the datastore and calls the flow's `on_failure`
//! or `on_success` hook method.

use super::args::open_store;
use super::StoreOpener;
use crate::runner::run_hook;
use anyhow::Context as _;
use clap::{Arg, ArgMatches, Command};
use flow_core::datastore::{timestamp_ms, RunRecord, RunStatus, RunStore, TaskStatus};
use flow_core::{Flow, RunEnd, RunId, RunOutcome};
use std::process::ExitCode;
use std::time::Duration;

/// The longest `--cause` kept in the summary: Step Functions passes a failed Batch job's
/// whole description.
const MAX_CAUSE_CHARS: usize = 2000;

/// The `hook` command, hidden from help like `step`.
pub(super) fn command() -> Command {
    Command::new("hook")
        .about(
            "Record how a run ended and run the flow's hook for it (what the state machine runs)",
        )
        .hide(true)
        .arg(
            Arg::new("datastore")
                .long("datastore")
                .required(true)
                .value_name("ROOT"),
        )
        .arg(
            Arg::new("run-id")
                .long("run-id")
                .required(true)
                .value_name("RUN_ID"),
        )
        .arg(
            Arg::new("outcome")
                .long("outcome")
                .required(true)
                .value_parser(["succeeded", "failed", "timed-out"])
                .value_name("OUTCOME"),
        )
        .arg(
            Arg::new("error")
                .long("error")
                .value_name("NAME")
                .help("The error name Step Functions caught, when no task record says why"),
        )
        .arg(
            Arg::new("cause")
                .long("cause")
                .value_name("TEXT")
                .help("The cause Step Functions caught, when no task record says why"),
        )
}

/// Runs `hook`: exit 0 when the hook ran (or the flow has none for this outcome), 1 when
/// the hook failed.
pub(super) async fn run<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let root = matches.get_one::<String>("datastore").expect("required");
    let run_id = RunId::new(
        matches
            .get_one::<String>("run-id")
            .expect("required")
            .clone(),
    )?;
    let outcome = match matches
        .get_one::<String>("outcome")
        .expect("required")
        .as_str()
    {
        "succeeded" => RunOutcome::Succeeded,
        "failed" => RunOutcome::Failed,
        _ => RunOutcome::TimedOut,
    };
    let given = given_error(
        matches.get_one::<String>("error").map(String::as_str),
        matches.get_one::<String>("cause").map(String::as_str),
    );
    crate::logs::install();
    let store = RunStore::new(open_store(openers, root).await?, &F::graph().name);
    let mut record = store
        .run(&run_id)
        .await
        .with_context(|| format!("the hook cannot read run `{run_id}`"))?;
    let end = summary::<F>(&store, &record, outcome, given).await?;
    if record.status == RunStatus::Running {
        store
            .end_run(&mut record, outcome.status(), end.error.clone())
            .await?;
    }
    eprintln!("{end}");
    match run_hook::<F>(&end).await {
        None => Ok(ExitCode::SUCCESS),
        Some(hook) => match hook.result {
            Ok(()) => {
                eprintln!("hook `{}` ran", hook.name);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: hook `{}` of run {run_id} failed: {e}", hook.name);
                Ok(ExitCode::FAILURE)
            }
        },
    }
}

/// `--error` and `--cause` as one text: `NAME: CAUSE`, either alone, or neither.
fn given_error(error: Option<&str>, cause: Option<&str>) -> Option<String> {
    let error = error.map(str::trim).filter(|e| !e.is_empty());
    let cause = cause.map(str::trim).filter(|c| !c.is_empty()).map(|c| {
        if c.chars().count() > MAX_CAUSE_CHARS {
            let cut: String = c.chars().take(MAX_CAUSE_CHARS).collect();
            format!("{cut}...")
        } else {
            c.to_string()
        }
    });
    match (error, cause) {
        (Some(e), Some(c)) => Some(format!("{e}: {c}")),
        (Some(e), None) => Some(e.to_string()),
        (None, Some(c)) => Some(c),
        (None, None) => None,
    }
}

/// The run's summary: the failed step and its error from the first failed task (in the
/// graph's order), else the run record's error, else what the state machine caught.
async fn summary<F: Flow>(
    store: &RunStore,
    record: &RunRecord,
    outcome: RunOutcome,
    given: Option<String>,
) -> anyhow::Result<RunEnd> {
    let graph = F::graph();
    let mut failed_step = None;
    let mut error = None;
    if outcome != RunOutcome::Succeeded {
        for &step in &F::analysis().topological_order {
            let name = &graph.steps[step].name;
            let tasks = store.tasks(&record.run_id, name).await?;
            if let Some(failed) = tasks.iter().find(|t| t.status == TaskStatus::Failed) {
                failed_step = Some(name.clone());
                let last_attempt = failed.attempts.iter().rev().find_map(|a| a.error.as_ref());
                error = failed
                    .error
                    .as_ref()
                    .or(last_attempt)
                    .map(|e| format!("task {}: {e}", failed.task));
                break;
            }
        }
        error = error.or_else(|| record.error.clone()).or(given);
    }
    let duration = Duration::from_millis(timestamp_ms().saturating_sub(record.started_at_ms));
    Ok(RunEnd {
        flow: graph.name.clone(),
        run_id: record.run_id.clone(),
        outcome,
        failed_step,
        error,
        duration,
        trigger: record.trigger.clone(),
    })
}

#[cfg(test)]
mod tests;
