//! `runs`, `dump` and `logs`: reading stored runs back.

use super::args::{
    branch_args, datastore_arg, pathspec_arg, run_store, tag_arg, tag_filter, Pathspec,
};
use super::runs_table::{started_by_cell, tags_cell, Column, RunsTable};
use super::StoreOpener;
use anyhow::{bail, Context as _};
use clap::{Arg, ArgMatches, Command};
use flow_core::client::Client;
use flow_core::datastore::{RunStore, TaskRecord};
use flow_core::{Flow, TaskId};
use serde_json::{json, Value};
use std::process::ExitCode;

/// The `runs` command.
pub(super) fn runs_command() -> Command {
    Command::new("runs")
        .about("List the stored runs, newest first")
        .arg(datastore_arg())
        .args(branch_args())
        .arg(tag_arg(
            "Only runs with this tag (repeatable: a run must have every one)",
        ))
}

/// The `dump` command.
pub(super) fn dump_command() -> Command {
    Command::new("dump")
        .about("Print a run, a step's tasks, or a task's artifacts as JSON")
        .arg(pathspec_arg(
            "What to print: a run, a step of it, or one task",
        ))
        .arg(
            Arg::new("artifact")
                .long("artifact")
                .value_name("NAME")
                .help("Only this artifact (of the task; of `end` for a whole run)"),
        )
        .arg(datastore_arg())
        .args(branch_args())
}

/// The `logs` command.
pub(super) fn logs_command() -> Command {
    Command::new("logs")
        .about("Print the logs of a step's tasks, or of one task")
        .arg(pathspec_arg("RUN/STEP or RUN/STEP/INDEX"))
        .arg(datastore_arg())
        .args(branch_args())
}

/// Runs `runs`: the stored runs of `F` as a table.
pub(super) async fn runs<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let filter = tag_filter(matches)?;
    let store = run_store::<F>(openers, matches).await?;
    let client = Client::<F>::from_run_store(store.clone());
    let runs = client.runs().tagged_all(&filter).await?;
    if runs.is_empty() {
        let tagged = if filter.is_empty() {
            String::new()
        } else {
            let pairs: Vec<String> = filter.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(" tagged {}", pairs.join(", "))
        };
        eprintln!("no runs of {}{tagged} in {}", F::graph().name, store.root());
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = RunsTable::new([
        Column::left("RUN_ID"),
        Column::left("STATUS").min_width(9),
        Column::right("SECONDS").min_width(10),
        Column::left("ORIGIN"),
        Column::left("STARTED_BY"),
        Column::left("TAGS"),
    ]);
    for run in runs.iter().map(|run| run.record()) {
        let seconds = run
            .finished_at_ms
            .map(|finished| {
                let millis = finished.saturating_sub(run.started_at_ms);
                format!("{:.2}", millis as f64 / 1000.0)
            })
            .unwrap_or_else(|| "-".into());
        // The status as stored (`succeeded`), not its Rust name.
        let status = serde_json::to_value(run.status)?;
        table.row([
            run.run_id.to_string(),
            status.as_str().unwrap_or_default().to_string(),
            seconds,
            run.origin_run_id
                .as_ref()
                .map(|origin| origin.to_string())
                .unwrap_or_default(),
            started_by_cell(&run.tags),
            tags_cell(&run.tags),
        ]);
    }
    print!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `dump`: prints what the pathspec names as JSON.
pub(super) async fn dump<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let store = run_store::<F>(openers, matches).await?;
    let spec = Pathspec::from_matches::<F>(matches)?;
    let value = dump_value::<F>(&store, &spec, matches.get_one::<String>("artifact")).await?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(ExitCode::SUCCESS)
}

/// Runs `logs`: prints each attempt's log of a step's tasks, or of one task.
pub(super) async fn logs<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let store = run_store::<F>(openers, matches).await?;
    let spec = Pathspec::from_matches::<F>(matches)?;
    let Some(step) = &spec.step else {
        bail!("name a step: `logs RUN/STEP` or `logs RUN/STEP/INDEX`");
    };
    for task in spec.tasks(&store, step).await? {
        let logs = store.logs(&spec.run, &task).await?;
        if logs.is_empty() {
            println!("== {task} (no log output)");
        }
        for (attempt, text) in logs {
            println!("== {task} attempt {attempt}");
            print!("{text}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `dump` prints: a run's record and tasks, a step's tasks (or its one task's state),
/// or a task's state; with `artifact`, that field of the state alone.
async fn dump_value<F: Flow>(
    store: &RunStore,
    spec: &Pathspec,
    artifact: Option<&String>,
) -> anyhow::Result<Value> {
    let client = Client::<F>::from_run_store(store.clone());
    let run = client.run(&spec.run).await?;
    let task_json = |id: &TaskId, record: &TaskRecord| {
        json!({
            "task": id.to_string(),
            "status": record.status,
            "attempts": record.attempts.len(),
            "cloned_from": record.cloned_from,
            "error": record.error,
        })
    };
    let state_json = |state: &F| -> anyhow::Result<Value> {
        let value = serde_json::to_value(state)?;
        match artifact {
            None => Ok(value),
            Some(name) => value.get(name).cloned().with_context(|| {
                let names: Vec<String> = value
                    .as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                format!(
                    "no artifact `{name}`; the artifacts are {}",
                    names.join(", ")
                )
            }),
        }
    };
    match (&spec.step, &spec.index) {
        (None, _) if artifact.is_some() => state_json(&run.end_state().await?),
        (None, _) => {
            let mut steps = serde_json::Map::new();
            for s in &F::graph().steps {
                let tasks = run.tasks(&s.name).await?;
                let list: Vec<Value> = tasks
                    .iter()
                    .map(|t| task_json(t.id(), t.record()))
                    .collect();
                steps.insert(s.name.clone(), Value::Array(list));
            }
            Ok(json!({"run": run.record(), "steps": steps}))
        }
        (Some(step), None) => {
            let tasks = run.tasks(step).await?;
            match tasks.as_slice() {
                [one] => state_json(&one.state().await?),
                [] => bail!("step `{step}` has no finished tasks in run `{}`", spec.run),
                many => Ok(Value::Array(
                    many.iter().map(|t| task_json(t.id(), t.record())).collect(),
                )),
            }
        }
        (Some(step), Some(index)) => {
            let task = run.task(step, &index.0).await?;
            state_json(&task.state().await?)
        }
    }
}
