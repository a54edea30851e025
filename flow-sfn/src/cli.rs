//! The `step-functions` command: `create` compiles the flow (and, with `--only-json`,
//! prints it); `trigger`, `list-runs`, `status`, `terminate`, `delete` and `resume` are
//! placeholders until the AWS client lands, and say so.

use crate::compile::{compile, Deployment};
use crate::config::SfnArgs;
use anyhow::{bail, Context};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use flow_graph::{Analysis, FlowGraph};
use std::io::Write;
use std::process::ExitCode;

/// Subcommands that are declared but not implemented yet, with what they will do.
const PLACEHOLDERS: [(&str, &str); 6] = [
    (
        "trigger",
        "Start a run of the deployed flow (not implemented yet)",
    ),
    (
        "list-runs",
        "List runs of the deployed flow (not implemented yet)",
    ),
    ("status", "Show the status of a run (not implemented yet)"),
    ("terminate", "Stop a running run (not implemented yet)"),
    (
        "delete",
        "Delete the state machine and its job definitions (not implemented yet)",
    ),
    (
        "resume",
        "Resume a failed run, cloning what succeeded (not implemented yet)",
    ),
];

/// The `step-functions` subcommand and its own subcommands.
pub fn step_functions_command() -> Command {
    let create = SfnArgs::augment_args(
        Command::new("create")
            .about("Compile the flow to a Step Functions state machine of AWS Batch jobs")
            .arg(
                Arg::new("only-json")
                    .long("only-json")
                    .action(ArgAction::SetTrue)
                    .help("Print the state machine definition instead of deploying it"),
            )
            .arg(
                Arg::new("job-definitions")
                    .long("job-definitions")
                    .action(ArgAction::SetTrue)
                    .requires("only-json")
                    .help(
                        "With --only-json: print {state_machine_name, definition, job_definitions} \
                         instead of the definition alone",
                    ),
            ),
    );
    let mut command = Command::new("step-functions")
        .about("Run the flow on AWS Step Functions and AWS Batch")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(create);
    for (name, about) in PLACEHOLDERS {
        command = command.subcommand(
            Command::new(name).about(about).arg(
                Arg::new("args")
                    .num_args(0..)
                    .trailing_var_arg(true)
                    .allow_hyphen_values(true)
                    .hide(true),
            ),
        );
    }
    command
}

/// Runs `step-functions` for flow `F`, given the matches of [`step_functions_command`].
pub fn run_step_functions_command<F: flow_core::Flow>(
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run_for_graph(
        F::graph(),
        F::analysis(),
        matches,
        &mut stdout.lock(),
        &mut stderr.lock(),
    )
}

/// Runs `step-functions` for a graph, writing JSON to `out` and the report to `log`.
pub fn run_for_graph(
    graph: &FlowGraph,
    analysis: &Analysis,
    matches: &ArgMatches,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    match matches.subcommand() {
        Some(("create", create)) => {
            let args = SfnArgs::from_arg_matches(create)?;
            let config = args.resolve(&graph.name)?;
            let deployment: Deployment = compile(graph, analysis, &config).with_context(|| {
                format!("cannot compile flow `{}` for Step Functions", graph.name)
            })?;
            if !create.get_flag("only-json") {
                bail!(
                    "deploying with `step-functions create` is not implemented yet (it needs the AWS \
                     client); use `step-functions create --only-json` to print the definition"
                );
            }
            let json = if create.get_flag("job-definitions") {
                deployment.bundle_json()
            } else {
                deployment.definition_json()
            };
            writeln!(out, "{json}")?;
            write!(log, "{}", deployment.report.to_text())?;
            Ok(ExitCode::SUCCESS)
        }
        Some((name, _)) => bail!(
            "`step-functions {name}` is not implemented yet: it arrives with the AWS client; \
             for now only `step-functions create --only-json` works"
        ),
        None => bail!("missing subcommand: run `step-functions --help`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_graph::{validate, StepSpec, Transition};

    fn graph() -> FlowGraph {
        FlowGraph::new(
            "CliFlow",
            vec![
                StepSpec::new("start", Transition::Next("end".into())),
                StepSpec::new("end", Transition::End),
            ],
        )
    }

    fn run(argv: &[&str]) -> (anyhow::Result<ExitCode>, String, String) {
        let matches = Command::new("flow")
            .subcommand(step_functions_command())
            .try_get_matches_from(argv)
            .expect("arguments parse");
        let (_, sfn) = matches.subcommand().expect("a subcommand");
        let graph = graph();
        let analysis = validate(&graph).unwrap();
        let (mut out, mut log) = (Vec::new(), Vec::new());
        let result = run_for_graph(&graph, &analysis, sfn, &mut out, &mut log);
        (
            result,
            String::from_utf8(out).unwrap(),
            String::from_utf8(log).unwrap(),
        )
    }

    const SETTINGS: [&str; 8] = [
        "--image",
        "img:1",
        "--job-queue",
        "q",
        "--datastore",
        "s3://bucket/p",
        "--binary-name",
        "cli-flow",
    ];

    #[test]
    fn create_only_json_prints_the_definition_deterministically() {
        let argv: Vec<&str> = ["flow", "step-functions", "create", "--only-json"]
            .into_iter()
            .chain(SETTINGS)
            .collect();
        let (result, out, log) = run(&argv);
        assert_eq!(result.unwrap(), ExitCode::SUCCESS);
        let definition: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(definition["StartAt"], "initialize-run");
        assert!(log.contains("the run's execution"), "{log}");
        assert_eq!(run(&argv).1, out, "two runs printed different bytes");
    }

    #[test]
    fn job_definitions_flag_prints_the_bundle() {
        let argv: Vec<&str> = [
            "flow",
            "step-functions",
            "create",
            "--only-json",
            "--job-definitions",
        ]
        .into_iter()
        .chain(SETTINGS)
        .collect();
        let (result, out, _) = run(&argv);
        result.unwrap();
        let bundle: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(bundle["state_machine_name"], "CliFlow");
        assert_eq!(bundle["job_definitions"].as_array().unwrap().len(), 1);
        assert_eq!(bundle["definition"]["StartAt"], "initialize-run");
    }

    #[test]
    fn deploying_and_placeholders_say_not_implemented() {
        let argv: Vec<&str> = ["flow", "step-functions", "create"]
            .into_iter()
            .chain(SETTINGS)
            .collect();
        let message = run(&argv).0.unwrap_err().to_string();
        assert!(
            message.contains("not implemented yet") && message.contains("--only-json"),
            "{message}"
        );
        for (name, _) in PLACEHOLDERS {
            let message = run(&["flow", "step-functions", name, "--some", "arg"])
                .0
                .unwrap_err()
                .to_string();
            assert!(
                message.contains("not implemented yet") && message.contains(name),
                "{message}"
            );
        }
    }
}
