//! The flow binary's entry point, `flow_sfn::main::<MyFlow>()`.
//!
//! Interim: flow-local's command-line interface (`run`, `resume`, `step`, ...) has no
//! extension point yet, so this entry point serves only `step-functions ...` and says so for
//! every other command. Once flow-local exposes its `clap::Command` and a dispatcher, this
//! adds `step-functions` to them and hands every other command to flow-local.

use crate::cli::{run_step_functions_command, step_functions_command_for};
use clap::Command;
use std::process::ExitCode;

/// Runs the flow's command line: `step-functions ...` (the local commands arrive with flow-local).
pub fn main<F: flow_core::Flow>() -> ExitCode {
    let graph = F::graph();
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| graph.name.clone());
    let mut command = Command::new(binary)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .allow_external_subcommands(true)
        .subcommand(step_functions_command_for(graph));
    if let Some(line) = graph.doc.lines().find(|l| !l.trim().is_empty()) {
        command = command.about(line.trim().to_string());
    }
    let matches = command.get_matches();
    let result = match matches.subcommand() {
        Some(("step-functions", sub)) => run_step_functions_command::<F>(sub),
        Some((other, _)) => Err(anyhow::anyhow!(
            "`{other}` is a local command, served by flow-local, which this binary does not include \
             yet; only `step-functions` is available"
        )),
        None => unreachable!("clap requires a subcommand"),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
