//! The `step-functions` command: `create` compiles the flow and deploys it (or, with
//! `--only-json`, prints it); `trigger`, `list-runs`, `status`, `terminate`, `delete` and
//! `resume` operate the deployed flow through the AWS APIs.
//!
//! This module is the command tree and its dispatch; the commands live in `create`,
//! `start` (`trigger`, `resume`, waiting for a run), `inspect` (`list-runs`, `status`) and
//! `manage` (`terminate`, `delete`).

mod create;
mod infra;
mod inspect;
mod manage;
mod start;

pub use create::run_for_graph;

use crate::aws;
use crate::config::SfnArgs;
use anyhow::Context;
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use flow_core::graph::FlowGraph;
use flow_core::Flow;
use std::process::ExitCode;

/// The `step-functions` subcommand and its own subcommands, with `trigger` taking no
/// params; see [`step_functions_command_for`].
pub fn step_functions_command() -> Command {
    step_functions_command_for(&FlowGraph::new("Flow", Vec::new()))
}

/// The `step-functions` command for a flow: `trigger` takes the flow's params as flags.
pub fn step_functions_command_for(graph: &FlowGraph) -> Command {
    Command::new("step-functions")
        .about("Run the flow on AWS Step Functions and AWS Batch")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommands([
            create::command(),
            start::trigger_command(graph),
            inspect::list_runs_command(),
            inspect::status_command(),
            manage::terminate_command(),
            manage::delete_command(),
            start::resume_command(),
            infra::command(),
        ])
}

/// Runs `step-functions` for flow `F`, given the matches of [`step_functions_command_for`].
pub fn run_step_functions_command<F: Flow>(matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    if let Some(("infra", infra)) = matches.subcommand() {
        return infra::run(F::graph(), infra, &mut std::io::stdout().lock());
    }
    if let Some(("create", create)) = matches.subcommand() {
        if create::prints_only(create) && create.get_one::<String>("stack").is_none() {
            // Printing the definition or the policy needs neither AWS nor an async runtime
            // (unless the settings come from a stack).
            return run_for_graph(
                F::graph(),
                F::analysis(),
                matches,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch::<F>(matches))
}

/// Runs the subcommand `matches` selected, against AWS.
async fn dispatch<F: Flow>(matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    let (name, sub) = matches
        .subcommand()
        .context("missing subcommand: run `step-functions --help`")?;
    let args = with_stack(SfnArgs::from_arg_matches(sub)?).await?;
    // `create` places the deployment in its project's namespace itself (`resolve_flow`);
    // the other commands act on that namespace's state machine and datastore folder.
    let args = match name {
        "create" => args,
        _ => args.for_deployment(F::graph())?,
    };
    match name {
        "create" => create::create::<F>(&args, sub).await,
        "trigger" => start::trigger::<F>(&args, sub).await,
        "resume" => start::resume::<F>(&args, sub).await,
        "list-runs" => inspect::list_runs::<F>(&args, sub).await,
        "status" => inspect::status::<F>(&args, sub).await,
        "terminate" => manage::terminate::<F>(&args, sub).await,
        "delete" => manage::delete::<F>(&args).await,
        other => anyhow::bail!(
            "unknown subcommand `step-functions {other}`: run `step-functions --help`"
        ),
    }
}

/// The settings with the outputs of the `--stack` stack filling what no flag or variable
/// gives (see `config::stack`); unchanged without `--stack`.
pub(crate) async fn with_stack(args: SfnArgs) -> anyhow::Result<SfnArgs> {
    let Some(stack) = args.stack.clone().filter(|s| !s.is_empty()) else {
        return Ok(args);
    };
    let clients = aws::load(args.region.as_deref()).await?;
    let outputs = aws::stack::describe_stack(&clients, &stack).await?;
    let mut filled = outputs.settings()?.fill(&args);
    // The stack's resources are in the region it was read from.
    filled.region = Some(clients.region);
    Ok(filled)
}

/// Adds the deployment settings' flags to a command, keeping the command's own about text.
fn with_settings(command: Command) -> Command {
    // augment_args would replace the command's own about text with the settings' doc.
    let about = command.get_about().cloned();
    let command = SfnArgs::augment_args(command);
    match about {
        Some(about) => command.about(about),
        None => command,
    }
}

/// The positional `RUN_ID` of the commands that act on one run.
fn run_id_arg(help: &'static str) -> Arg {
    Arg::new("run-id")
        .value_name("RUN_ID")
        .required(true)
        .help(help)
}

/// The deployed flow a command operates on.
type DeployedFlow<F> = crate::deployment::Deployed<F>;
