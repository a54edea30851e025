//! `step-functions create`: compile the flow and deploy it, or with `--only-json` print
//! what would be deployed.

use super::with_settings;
use crate::aws::{self, bucket::require_bucket};
use crate::compile::{compile, Deployment};
use crate::config::{DeployConfig, SfnArgs};
use anyhow::{bail, Context};
use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};
use flow_core::graph::{Analysis, FlowGraph};
use flow_core::Flow;
use std::io::Write;
use std::process::ExitCode;

/// The `create` command.
pub(super) fn command() -> Command {
    with_settings(
        Command::new("create")
            .about(
                "Compile the flow and deploy it: Batch job definitions, the state machine, its \
                 schedule",
            )
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
                        "With --only-json: print {state_machine_name, definition, \
                         job_definitions} instead of the definition alone",
                    ),
            ),
    )
}

/// Compiles a flow for these settings, naming the flow when it cannot.
fn compile_flow(
    graph: &FlowGraph,
    analysis: &Analysis,
    config: &DeployConfig,
) -> anyhow::Result<Deployment> {
    compile(graph, analysis, config)
        .with_context(|| format!("cannot compile flow `{}` for Step Functions", graph.name))
}

/// Runs `create`: deploys flow `F` (job definitions, state machine, schedule) and prints the
/// state machine's ARN.
pub(super) async fn create<F: Flow>(args: &SfnArgs) -> anyhow::Result<ExitCode> {
    let graph = F::graph();
    let config = args.resolve(&graph.name)?;
    let role = config.require_role_arn()?.to_string();
    // The schedule rule's owner tag is one more on top of these.
    let tags = config.resource_tags(graph, 1)?;
    let deployment = compile_flow(graph, F::analysis(), &config)?;
    let clients = aws::load(config.region.as_deref()).await?;
    require_bucket(&clients, &config.datastore).await?;
    let deployed = aws::deploy::create(
        &clients,
        &deployment,
        &role,
        graph.schedule.as_deref(),
        &tags,
    )
    .await?;
    eprint!("{}", deployment.report.to_text());
    let schedule = match (&deployed.schedule_rule, &graph.schedule) {
        (Some(rule), Some(expression)) => {
            format!("; scheduled {expression} by EventBridge rule {rule}")
        }
        _ => String::new(),
    };
    eprintln!(
        "{} state machine {} and published version {} as alias `{}`; {} new job definition(s){schedule}",
        if deployed.created {
            "created"
        } else {
            "updated"
        },
        deployment.state_machine_name,
        deployed
            .version_arn
            .rsplit(':')
            .next()
            .unwrap_or_default(),
        aws::deploy::LIVE_ALIAS,
        deployed.registered_job_definitions.len(),
    );
    if let Some(rule) = &deployed.foreign_rule {
        eprintln!(
            "note: left the EventBridge rule `{rule}` alone: it has the name of this flow's \
             schedule rule but is not this deployment's"
        );
    }
    println!("{}", deployed.state_machine_arn);
    Ok(ExitCode::SUCCESS)
}

/// Runs `step-functions create --only-json` for a graph, writing JSON to `out` and the
/// report to `log`.
pub fn run_for_graph(
    graph: &FlowGraph,
    analysis: &Analysis,
    matches: &ArgMatches,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    match matches.subcommand() {
        Some(("create", create)) if create.get_flag("only-json") => {
            let config = SfnArgs::from_arg_matches(create)?.resolve(&graph.name)?;
            let deployment = compile_flow(graph, analysis, &config)?;
            let json = if create.get_flag("job-definitions") {
                deployment.bundle_json()
            } else {
                deployment.definition_json()
            };
            writeln!(out, "{json}")?;
            write!(log, "{}", deployment.report.to_text())?;
            Ok(ExitCode::SUCCESS)
        }
        Some((name, _)) => {
            bail!("`step-functions {name}` needs AWS: use `run_step_functions_command`")
        }
        None => bail!("missing subcommand: run `step-functions --help`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::step_functions_command;
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
    fn other_subcommands_are_refused_without_aws() {
        let (result, out, _) = run(&["flow", "step-functions", "delete"]);
        let error = result.unwrap_err().to_string();
        assert!(
            error.contains("`step-functions delete` needs AWS"),
            "{error}"
        );
        assert!(out.is_empty(), "{out}");
    }
}
