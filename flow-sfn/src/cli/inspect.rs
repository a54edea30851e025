//! `step-functions list-runs` and `status`: what the deployed flow's runs did, from Step
//! Functions, Batch and the datastore.

use super::{run_id_arg, with_settings, DeployedFlow};
use crate::aws;
use crate::config::SfnArgs;
use aws_sdk_sfn::types::ExecutionStatus;
use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgMatches, Command};
use flow_core::datastore::TaskStatus;
use flow_core::{Flow, RunId};
use flow_local::cli::{tag_arg, tag_filter, tags_cell, Column, RunsTable};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::process::ExitCode;

/// The `list-runs` command.
pub(super) fn list_runs_command() -> Command {
    with_settings(
        Command::new("list-runs")
            .about("List runs of the deployed flow, newest first")
            .arg(
                Arg::new("status")
                    .long("status")
                    .value_name("STATUS")
                    .value_parser(StatusParser)
                    .help("Only runs with this status"),
            )
            .arg(tag_arg(
                "Only runs with this tag (repeatable: runs with all of them; system tags \
                 such as user=alice too); read from the runs' run.json (needs the datastore)",
            )),
    )
}

/// The `status` command.
pub(super) fn status_command() -> Command {
    with_settings(
        Command::new("status")
            .about("Show a run: its status, each step's tasks, and why anything failed")
            .arg(run_id_arg("The run to show")),
    )
}

/// Parses `--status`: a Step Functions execution status, in any case (`succeeded`).
#[derive(Debug, Clone, Copy)]
struct StatusParser;

impl TypedValueParser for StatusParser {
    type Value = ExecutionStatus;

    fn parse_ref(
        &self,
        command: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<ExecutionStatus, clap::Error> {
        let text = value.to_string_lossy();
        let status = ExecutionStatus::from(text.to_uppercase().as_str());
        // `from` keeps names it does not know as `Unknown`; only the known ones are valid.
        if ExecutionStatus::values().contains(&status.as_str()) {
            return Ok(status);
        }
        let mut error = clap::Error::new(ErrorKind::InvalidValue).with_cmd(command);
        if let Some(arg) = arg {
            error.insert(
                ContextKind::InvalidArg,
                ContextValue::String(arg.to_string()),
            );
        }
        error.insert(
            ContextKind::InvalidValue,
            ContextValue::String(text.into_owned()),
        );
        error.insert(
            ContextKind::ValidValue,
            ContextValue::Strings(
                ExecutionStatus::values()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
        );
        Err(error)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            ExecutionStatus::values()
                .iter()
                .copied()
                .map(PossibleValue::new),
        ))
    }
}

/// Runs `list-runs`: the deployed flow's runs as a table, newest first.
pub(super) async fn list_runs<F: Flow>(
    args: &SfnArgs,
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let flow = crate::Deployment::<F>::settled(args.clone()).find().await?;
    let status = matches.get_one::<ExecutionStatus>("status").cloned();
    let filter = tag_filter(matches)?;
    // Tags live in the runs' records: without the datastore there are none to show.
    let store = match flow.run_store()? {
        None if !filter.is_empty() => anyhow::bail!(
            "--tag needs the datastore, where the runs' tags are stored: set --datastore / \
             FLOW_SFN_DATASTORE (or --stack)"
        ),
        store => store,
    };
    let runs = aws::operate::list_runs(&flow.clients, &flow.arn, status).await?;
    // A run whose `start` has not written its record yet (or that a schedule started before
    // it did) has no tags. The records are read side by side, not one GET after another.
    let mut reads = tokio::task::JoinSet::new();
    for (i, run) in runs.iter().enumerate() {
        if let (Some(store), Ok(id)) = (&store, RunId::new(run.run_id.clone())) {
            let store = store.clone();
            reads.spawn(async move { (i, store.run(&id).await.map(|r| r.tags)) });
        }
    }
    let mut run_tags = vec![Default::default(); runs.len()];
    while let Some(read) = reads.join_next().await {
        if let (i, Ok(tags)) = read? {
            run_tags[i] = tags;
        }
    }
    let mut table = RunsTable::new([
        Column::left("RUN_ID"),
        Column::left("STATUS").min_width(9),
        Column::left("STARTED").min_width(24),
        Column::left("STOPPED"),
        Column::left("TAGS"),
    ]);
    let mut listed = 0;
    for (run, tags) in runs.into_iter().zip(run_tags) {
        if !filter.iter().all(|(k, v)| tags.get(k) == Some(v)) {
            continue;
        }
        listed += 1;
        table.row([
            run.run_id,
            run.status.as_str().to_string(),
            run.started,
            run.stopped.unwrap_or_else(|| "-".into()),
            tags_cell(&tags),
        ]);
    }
    if listed == 0 {
        eprintln!("no runs of {}", flow.name);
    }
    print!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `status`: prints [`status_report`] for the run.
pub(super) async fn status<F: Flow>(
    args: &SfnArgs,
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let run_id = matches
        .get_one::<String>("run-id")
        .cloned()
        .unwrap_or_default();
    let flow = crate::Deployment::<F>::settled(args.clone()).find().await?;
    let report = status_report::<F>(&flow, &run_id, args.datastore.as_deref()).await?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// The text of `status RUN`: the run, each state's activity, the failures with their
/// causes (Batch's status reason and exit code), and, when the datastore is configured, each
/// step's stored tasks with their attempts and errors.
async fn status_report<F: Flow>(
    flow: &DeployedFlow<F>,
    run_id: &str,
    datastore: Option<&str>,
) -> anyhow::Result<String> {
    let clients = &flow.clients;
    let aws::operate::RunDescription {
        summary,
        error,
        cause,
    } = aws::operate::describe_run(clients, &flow.arn, run_id, aws::operate::LOOKUP).await?;
    let mut out = String::new();
    writeln!(out, "run {}: {}", summary.run_id, summary.status)?;
    writeln!(
        out,
        "started {}{}",
        summary.started,
        summary
            .stopped
            .as_deref()
            .map(|s| format!(", stopped {s}"))
            .unwrap_or_default()
    )?;
    let states = aws::operate::state_activity(clients, &summary.execution_arn).await?;
    if !states.is_empty() {
        writeln!(out, "states (foreach bodies run in child executions):")?;
        for s in &states {
            writeln!(
                out,
                "  {:28} {:9} entered {}x{}",
                s.state,
                s.outcome,
                s.entered,
                s.seconds.map(|d| format!(", {d:.1} s")).unwrap_or_default()
            )?;
        }
    }
    let failures = aws::operate::failures(clients, &summary.execution_arn).await?;
    for f in &failures {
        writeln!(out, "failed: step `{}`: {}: {}", f.state, f.error, f.cause)?;
    }
    // The run's own error only when no state says more.
    if let (true, Some(error)) = (failures.is_empty(), error) {
        writeln!(out, "failed: {error}: {}", cause.unwrap_or_default())?;
    }
    // The deployment's own clients and (namespaced) datastore: no second AWS config load.
    let (Some(root), Some(store)) = (datastore.filter(|d| !d.is_empty()), flow.run_store()?) else {
        writeln!(
            out,
            "(set --datastore / FLOW_SFN_DATASTORE to see each step's tasks)"
        )?;
        return Ok(out);
    };
    let run = RunId::new(run_id.to_string())?;
    let Ok(record) = store.run(&run).await else {
        writeln!(out, "no tasks of this run in {root} yet")?;
        return Ok(out);
    };
    let tags: Vec<String> = record
        .tags
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    writeln!(out, "tags: {}", tags.join(", "))?;
    writeln!(out, "tasks (from {root}):")?;
    for step in &F::graph().steps {
        let tasks = store.tasks(&run, &step.name).await?;
        if tasks.is_empty() {
            continue;
        }
        let count = |status: TaskStatus| tasks.iter().filter(|t| t.status == status).count();
        let cloned = tasks.iter().filter(|t| t.cloned_from.is_some()).count();
        let millis: u64 = tasks
            .iter()
            .flat_map(|t| t.attempts.iter().map(|a| a.duration_ms))
            .sum();
        writeln!(
            out,
            "  {:28} {} task(s): {} succeeded, {} failed, {} caught, {} cloned; {:.2} s in steps",
            step.name,
            tasks.len(),
            count(TaskStatus::Succeeded),
            count(TaskStatus::Failed),
            count(TaskStatus::Caught),
            cloned,
            millis as f64 / 1000.0
        )?;
        for t in tasks.iter().filter(|t| t.status != TaskStatus::Succeeded) {
            if let Some(e) = &t.error {
                writeln!(out, "    {} {:?}: {e}", t.task, t.status)?;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: &str) -> Result<ExecutionStatus, clap::Error> {
        list_runs_command()
            .try_get_matches_from(["list-runs", "--status", status])
            .map(|m| {
                m.get_one::<ExecutionStatus>("status")
                    .expect("given")
                    .clone()
            })
    }

    #[test]
    fn status_names_parse_in_any_case() {
        assert_eq!(parse("succeeded").unwrap(), ExecutionStatus::Succeeded);
        assert_eq!(parse("TIMED_OUT").unwrap(), ExecutionStatus::TimedOut);
        assert_eq!(
            parse("Pending_Redrive").unwrap(),
            ExecutionStatus::PendingRedrive
        );
    }

    #[test]
    fn an_unknown_status_is_rejected_with_the_valid_ones() {
        let error = parse("finished").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidValue);
        let text = error.to_string();
        assert!(text.contains("'finished'"), "{text}");
        for valid in ExecutionStatus::values() {
            assert!(text.contains(valid), "{valid} missing: {text}");
        }
    }

    #[test]
    fn help_lists_the_statuses() {
        let help = list_runs_command().render_help().to_string();
        let listed = format!(
            "[possible values: {}]",
            ExecutionStatus::values().join(", ")
        );
        assert!(help.contains(&listed), "{help}");
    }
}
