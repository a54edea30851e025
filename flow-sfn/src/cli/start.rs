//! `step-functions trigger` and `resume`: start a run of the deployed flow, and with
//! `--wait` follow it until it ends.

use super::{run_id_arg, with_settings};
use crate::aws::{self, operate::StartedRun};
use crate::config::SfnArgs;
use crate::deployment::DeployedRun;
use aws_sdk_sfn::types::ExecutionStatus;
use clap::{Arg, ArgAction, ArgMatches, Command};
use flow_core::graph::FlowGraph;
use flow_core::{Flow, RunId};
use flow_local::cli::{param_args, param_values, tag_arg, tag_values};
use std::process::ExitCode;
use std::time::Instant;

/// `--wait`: follow the run until it ends.
fn wait_arg() -> Arg {
    Arg::new("wait")
        .long("wait")
        .action(ArgAction::SetTrue)
        .help("Wait until the run finishes; exit 0 only if it succeeded")
}

/// The `trigger` command, with the flow's params as flags.
pub(super) fn trigger_command(graph: &FlowGraph) -> Command {
    with_settings(
        Command::new("trigger")
            .about("Start a run of the deployed flow; prints its run id")
            .arg(
                Arg::new("new-run-id")
                    .long("run-id")
                    .value_name("RUN_ID")
                    .help("Name the run (default: a fresh time-ordered id)"),
            )
            .arg(tag_arg(
                "Tag the run (repeatable): stored with the system tags in its execution input \
                 and its run.json (needs the datastore); steps read them with ctx.tags(), \
                 `list-runs --tag` filters by them",
            ))
            .arg(wait_arg()),
    )
    .args(param_args(graph))
}

/// The `resume` command.
pub(super) fn resume_command() -> Command {
    with_settings(
        Command::new("resume")
            .about(
                "Start a new run that clones every task that finished in RUN_ID and runs the \
                 rest (reads RUN_ID from the datastore)",
            )
            .arg(run_id_arg("The run to resume (usually a failed one)"))
            .arg(
                Arg::new("step")
                    .long("step")
                    .value_name("STEP")
                    .help("Run this step and every step after it again, even where they finished"),
            )
            .arg(
                Arg::new("new-run-id")
                    .long("run-id")
                    .value_name("NEW_RUN_ID")
                    .help("Name the new run (default: a fresh time-ordered id)"),
            )
            .arg(wait_arg()),
    )
}

/// Runs `trigger`: starts a run of `F` with the params given as flags; prints its id.
pub(super) async fn trigger<F: Flow>(
    args: &SfnArgs,
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let graph = F::graph();
    // Params are checked before any AWS call.
    let typed: F::Params = flow_core::params::params_from_args(param_values(graph, matches))?;
    let given = tag_values(matches)?;
    let run = crate::Deployment::<F>::settled(args.clone())
        .trigger_with(typed, Some(new_run_id(matches)?), given)
        .await?;
    if let Some(started) = run.started() {
        note_if_not_on_alias(run.state_machine(), started);
    }
    println!("{}", run.id());
    finish(&run, matches.get_flag("wait")).await
}

/// Runs `resume`: prepares a new run in the datastore (its record, and a clone of every task
/// of the origin it keeps; see [`crate::resume`]), then starts its execution; prints its id.
pub(super) async fn resume<F: Flow>(
    args: &SfnArgs,
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let origin = RunId::new(
        matches
            .get_one::<String>("run-id")
            .cloned()
            .unwrap_or_default(),
    )?;
    let step = matches.get_one::<String>("step").map(String::as_str);
    let resumed = crate::Deployment::<F>::settled(args.clone())
        .resume(origin.clone(), step, Some(new_run_id(matches)?))
        .await?;
    if let Some(started) = resumed.run.started() {
        note_if_not_on_alias(resumed.run.state_machine(), started);
    }
    eprintln!(
        "resuming {origin} as a new run: {} finished task(s) cloned{}",
        resumed.cloned,
        resumed
            .resume_step
            .as_deref()
            .map(|step| format!(", `{step}` and every step after it run again"))
            .unwrap_or_default()
    );
    println!("{}", resumed.run.id());
    finish(&resumed.run, matches.get_flag("wait")).await
}

/// Says so when a run started on the state machine's latest definition rather than on the
/// version `create` published (a deployment made before versions were).
fn note_if_not_on_alias(state_machine: &str, started: &StartedRun) {
    if !started.on_alias {
        eprintln!(
            "note: state machine {} has no `{}` alias, so the run started on its latest \
             definition (which Step Functions may not have applied yet): run \
             `step-functions create` to publish a version",
            state_machine,
            aws::deploy::LIVE_ALIAS
        );
    }
}

/// The `--run-id` given, or a fresh one.
fn new_run_id(matches: &ArgMatches) -> anyhow::Result<RunId> {
    match matches.get_one::<String>("new-run-id") {
        Some(id) => Ok(RunId::new(id.clone())?),
        None => Ok(RunId::generate()),
    }
}

/// With `--wait`, polls the run until it stops and reports how it ended.
async fn finish<F: Flow>(run: &DeployedRun<F>, wait: bool) -> anyhow::Result<ExitCode> {
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let aws::operate::RunDescription {
        summary,
        error,
        cause,
    } = run.wait().await?;
    let run_id = run.id();
    let status = summary.status;
    eprintln!(
        "run {run_id} {} after {:.1} s",
        status.as_str().to_lowercase(),
        started.elapsed().as_secs_f64()
    );
    if status == ExecutionStatus::Succeeded {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(error) = error {
        eprintln!("error: {error}: {}", cause.unwrap_or_default());
    }
    eprintln!("see `step-functions status {run_id}` for which step failed and why");
    Ok(ExitCode::FAILURE)
}
