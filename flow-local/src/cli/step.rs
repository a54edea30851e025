//! The internal `step` command: one task of a stored run, what each AWS Batch job runs
//! (the work itself is in [`crate::step_command`]).

use super::args::open_store;
use super::StoreOpener;
use crate::step_command::{batch_attempt, run_step, StepRequest};
use anyhow::bail;
use clap::{Arg, ArgMatches, Command};
use flow_core::{Flow, RunId, Trigger};
use std::process::ExitCode;

/// The `step` command, hidden from help: the state machine calls it, people do not.
pub(super) fn command() -> Command {
    Command::new("step")
        .about("Run one task against a datastore (what each AWS Batch job runs)")
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
            Arg::new("step")
                .long("step")
                .required(true)
                .value_name("STEP"),
        )
        .arg(
            Arg::new("index")
                .long("index")
                .default_value("0")
                .value_name("INDEX"),
        )
        .arg(
            Arg::new("origin-run-id")
                .long("origin-run-id")
                .value_name("RUN_ID")
                .help("Clone tasks that finished in this run; empty for none"),
        )
        .arg(
            Arg::new("params-json")
                .long("params-json")
                .value_name("JSON"),
        )
        .arg(
            Arg::new("triggered-by")
                .long("triggered-by")
                .value_name("FLOW/RUN_ID")
                .help(
                    "The upstream run that started this run (with --params-json); empty for none",
                ),
        )
        .arg(
            Arg::new("event-json")
                .long("event-json")
                .value_name("JSON")
                .help("The event that started this run (with --params-json); empty for none"),
        )
}

/// `--triggered-by FLOW/RUN_ID` (`run` and `step`): `None` when absent or empty.
pub(super) fn triggered_by(matches: &ArgMatches) -> anyhow::Result<Option<Trigger>> {
    matches
        .get_one::<String>("triggered-by")
        .filter(|t| !t.is_empty())
        .map(|t| Trigger::parse(t).map_err(|e| anyhow::anyhow!("--triggered-by: {e}")))
        .transpose()
}

/// `--event-json JSON`: `None` when absent or empty; else a JSON object.
fn event_json(matches: &ArgMatches) -> anyhow::Result<Option<serde_json::Value>> {
    let Some(text) = matches
        .get_one::<String>("event-json")
        .filter(|t| !t.trim().is_empty())
    else {
        return Ok(None);
    };
    let event: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!("--event-json is not JSON ({e}): pass the event as a JSON object")
    })?;
    if !event.is_object() {
        bail!("--event-json is not a JSON object: pass the event as a JSON object, `{{\"detail\": ...}}`");
    }
    Ok(Some(event))
}

/// Runs `step`: the task its arguments name, with its log captured into the datastore.
pub(super) async fn run<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let root = matches.get_one::<String>("datastore").expect("required");
    let store = open_store(openers, root).await?;
    // The state machine passes an empty origin for a fresh run.
    let origin = matches
        .get_one::<String>("origin-run-id")
        .filter(|o| !o.is_empty())
        .map(|o| RunId::new(o.clone()))
        .transpose()?;
    let request = StepRequest {
        run_id: RunId::new(
            matches
                .get_one::<String>("run-id")
                .expect("required")
                .clone(),
        )?,
        step: matches.get_one::<String>("step").expect("required").clone(),
        index: matches.get_one::<String>("index").expect("default").clone(),
        origin_run_id: origin,
        params_json: matches.get_one::<String>("params-json").cloned(),
        trigger: triggered_by(matches)?,
        event: event_json(matches)?,
        attempt: batch_attempt(),
        capture_output: true,
    };
    crate::logs::install();
    run_step::<F>(store, request).await
}
