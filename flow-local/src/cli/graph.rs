//! `show` and `check`: the flow's graph, printed or validated, without a datastore.

use clap::{Arg, ArgMatches, Command};
use flow_core::graph::{render_dot, render_mermaid, render_text, validate};
use flow_core::Flow;
use std::process::ExitCode;

/// The `show` command.
pub(super) fn show_command() -> Command {
    Command::new("show").about("Print the flow's graph").arg(
        Arg::new("format")
            .long("format")
            .value_parser(["text", "json", "mermaid", "dot"])
            .default_value("text")
            .help("text, JSON, a Mermaid flowchart or a Graphviz digraph"),
    )
}

/// The `check` command.
pub(super) fn check_command() -> Command {
    Command::new("check").about("Validate the flow's graph (exit 0 when valid)")
}

/// Runs `show`: prints the graph of `F` in the `--format` asked for.
pub(super) fn show<F: Flow>(matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    let graph = F::graph();
    let text = match matches.get_one::<String>("format").map(String::as_str) {
        Some("json") => graph.to_json() + "\n",
        Some("mermaid") => render_mermaid(graph),
        Some("dot") => render_dot(graph),
        _ => render_text(graph),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `check`: every broken graph rule on stderr, and a failure status, or a one-line
/// summary.
pub(super) fn check<F: Flow>() -> anyhow::Result<ExitCode> {
    let graph = F::graph();
    match validate(graph) {
        Ok(_) => {
            println!(
                "flow `{}` is valid: {} steps",
                graph.name,
                graph.steps.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
