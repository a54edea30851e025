//! `step-functions terminate` and `delete`: stop a run, remove the deployed flow.

use super::{run_id_arg, with_settings};
use crate::aws::schedule::ScheduleRemoval;
use crate::config::SfnArgs;
use clap::{ArgMatches, Command};
use flow_core::{Flow, RunId};
use std::process::ExitCode;

/// The `terminate` command.
pub(super) fn terminate_command() -> Command {
    with_settings(
        Command::new("terminate")
            .about("Stop a running run")
            .arg(run_id_arg("The run to stop")),
    )
}

/// The `delete` command.
pub(super) fn delete_command() -> Command {
    with_settings(
        Command::new("delete").about(
            "Delete the state machine, its schedule and trigger rules and its job definitions",
        ),
    )
}

/// Runs `terminate`: stops the run, which must be running.
pub(super) async fn terminate<F: Flow>(
    args: &SfnArgs,
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let run_id = matches
        .get_one::<String>("run-id")
        .cloned()
        .unwrap_or_default();
    crate::Deployment::<F>::settled(args.clone())
        .run(RunId::new(run_id.clone())?)
        .await?
        .terminate()
        .await?;
    eprintln!("stopped run {run_id}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `delete`: removes the state machine, its schedule and its job definitions.
pub(super) async fn delete<F: Flow>(args: &SfnArgs) -> anyhow::Result<ExitCode> {
    let deleted = crate::Deployment::<F>::settled(args.clone())
        .delete()
        .await?;
    eprintln!(
        "deleted state machine {}{}; deregistered {} job definition(s)",
        deleted.state_machine_arn,
        match &deleted.schedule {
            ScheduleRemoval::Removed(rule) => format!(" and its schedule rule {rule}"),
            ScheduleRemoval::Absent | ScheduleRemoval::LeftAlone(_) => String::new(),
        },
        deleted.deregistered_job_definitions
    );
    if !deleted.trigger_rules.is_empty() {
        eprintln!(
            "deleted its trigger rule(s) {}",
            deleted.trigger_rules.join(", ")
        );
    }
    if let ScheduleRemoval::LeftAlone(rule) = &deleted.schedule {
        eprintln!(
            "left the EventBridge rule `{rule}` alone: it has the name of this flow's schedule \
             rule but is not tagged as this deployment's"
        );
    }
    Ok(ExitCode::SUCCESS)
}
