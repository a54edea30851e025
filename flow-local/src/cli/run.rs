//! `run` and `resume`: a run in this process, and the summary printed when it ends.

use super::args::{datastore_arg, param_args, param_values, quiet_arg, run_store, workers_args};
use super::StoreOpener;
use crate::progress::ProgressMode;
use crate::runner::{RunHandle, Runner};
use clap::{Arg, ArgMatches, Command};
use flow_core::datastore::ObjectStore;
use flow_core::graph::FlowGraph;
use flow_core::{Flow, RunId};
use std::process::ExitCode;
use std::sync::Arc;

/// The `run` command, with the flow's params as flags.
pub(super) fn run_command(graph: &FlowGraph) -> Command {
    Command::new("run")
        .about("Run the flow locally, every task in this process, artifacts persisted")
        .arg(datastore_arg())
        .args(workers_args())
        .arg(quiet_arg())
        .args(param_args(graph))
}

/// The `resume` command.
pub(super) fn resume_command() -> Command {
    Command::new("resume")
        .about(
            "Re-run a run from its first failed step (or --step), cloning every task that \
             succeeded before it",
        )
        .arg(
            Arg::new("run-id")
                .value_name("RUN_ID")
                .help("The run to resume [default: the latest]"),
        )
        .arg(
            Arg::new("step")
                .long("step")
                .value_name("STEP")
                .help("Re-run from this step (it and every step after it run again)"),
        )
        .arg(datastore_arg())
        .args(workers_args())
        .arg(quiet_arg())
}

/// Runs `run`: a fresh run of `F` with the params given as flags.
pub(super) async fn run<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    // Params are checked before anything is stored or run.
    let params: F::Params = flow_core::params::params_from_args(param_values(F::graph(), matches))?;
    let store = run_store::<F>(openers, matches).await?;
    let handle = runner::<F>(matches, store.object_store().clone())
        .params(params)
        .run()
        .await?;
    summary(&handle)
}

/// Runs `resume`: a new run that clones what succeeded in the origin run.
pub(super) async fn resume<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let origin = matches
        .get_one::<String>("run-id")
        .map(|id| RunId::new(id.clone()))
        .transpose()?;
    let store = run_store::<F>(openers, matches).await?;
    let handle = runner::<F>(matches, store.object_store().clone())
        .resume(origin, matches.get_one::<String>("step").cloned())
        .await?;
    summary(&handle)
}

/// A runner configured by the worker and progress flags.
fn runner<F: Flow>(matches: &ArgMatches, store: Arc<dyn ObjectStore>) -> Runner<F> {
    let mut runner = Runner::<F>::new()
        .store(store)
        .max_num_splits(*matches.get_one::<usize>("max-num-splits").expect("default"))
        .progress(if matches.get_flag("quiet") {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        });
    if let Some(n) = matches.get_one::<u32>("max-workers") {
        runner = runner.max_workers(*n as usize);
    }
    runner
}

/// Prints the run id (stdout, for scripts) and how the run ended (stderr); the exit status
/// says whether it succeeded.
fn summary<F: Flow>(handle: &RunHandle<F>) -> anyhow::Result<ExitCode> {
    let (tasks, cloned) = handle.task_counts();
    let cloned = if cloned > 0 {
        format!(", {cloned} cloned")
    } else {
        String::new()
    };
    let secs = handle.duration().as_secs_f64();
    println!("{}", handle.id());
    if handle.succeeded() {
        eprintln!(
            "run {} succeeded in {secs:.2} s ({tasks} tasks{cloned})",
            handle.id()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let why = handle
            .error()
            .map(|e| flow_core::datastore::error_chain(e))
            .unwrap_or_default();
        eprintln!("run {} FAILED after {secs:.2} s: {why}", handle.id());
        eprintln!(
            "fix the cause, then `resume {}` re-runs from the failed step",
            handle.id()
        );
        Ok(ExitCode::FAILURE)
    }
}
