//! The `step-functions` command: `create` compiles the flow and deploys it (or, with
//! `--only-json`, prints it); `trigger`, `list-runs`, `status`, `terminate`, `delete` and
//! `resume` operate the deployed flow through the AWS APIs.

use crate::aws::{self, AwsClients};
use crate::compile::{compile, Deployment};
use crate::config::SfnArgs;
use crate::execution_input;
use anyhow::{bail, Context};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use flow_core::datastore::{RunStore, TaskStatus};
use flow_core::graph::{Analysis, FlowGraph};
use flow_core::{Flow, RunId};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Run statuses `list-runs --status` accepts (Step Functions execution statuses).
const STATUSES: [&str; 6] = [
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
    "PENDING_REDRIVE",
];

/// The largest params JSON that fits the `start` task's container overrides when the
/// deployment settings are not at hand to compute it exactly (the compiler's report gives
/// about 7,800 bytes for typical settings).
const DEFAULT_MAX_PARAMS_JSON_BYTES: usize = 7_000;

fn with_settings(command: Command) -> Command {
    // augment_args would replace the command's own about text with the settings' doc.
    let about = command.get_about().cloned();
    let command = SfnArgs::augment_args(command);
    match about {
        Some(about) => command.about(about),
        None => command,
    }
}

fn wait_arg() -> Arg {
    Arg::new("wait")
        .long("wait")
        .action(ArgAction::SetTrue)
        .help("Wait until the run finishes; exit 0 only if it succeeded")
}

fn run_id_arg(help: &'static str) -> Arg {
    Arg::new("run-id")
        .value_name("RUN_ID")
        .required(true)
        .help(help)
}

/// The `step-functions` subcommand and its own subcommands, with `trigger` taking no
/// params; see [`step_functions_command_for`].
pub fn step_functions_command() -> Command {
    step_functions_command_for(&FlowGraph::new("Flow", Vec::new()))
}

/// The `step-functions` command for a flow: `trigger` takes the flow's params as flags.
pub fn step_functions_command_for(graph: &FlowGraph) -> Command {
    let create = with_settings(
        Command::new("create")
            .about("Compile the flow and deploy it: Batch job definitions, the state machine, its schedule")
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
    let mut trigger = with_settings(
        Command::new("trigger")
            .about("Start a run of the deployed flow; prints its run id")
            .arg(
                Arg::new("new-run-id")
                    .long("run-id")
                    .value_name("RUN_ID")
                    .help("Name the run (default: a fresh time-ordered id)"),
            )
            .arg(wait_arg()),
    );
    for param in &graph.params {
        let mut help = param.help.clone();
        help.push_str(&format!(" [default: {}]", param.default));
        trigger = trigger.arg(
            Arg::new(format!("param:{}", param.name))
                .long(param.flag())
                .value_name(param.type_name.clone())
                .help(help)
                .help_heading("Flow parameters"),
        );
    }
    let list_runs = with_settings(
        Command::new("list-runs")
            .about("List runs of the deployed flow, newest first")
            .arg(
                Arg::new("status")
                    .long("status")
                    .value_parser(STATUSES)
                    .ignore_case(true)
                    .help("Only runs with this status"),
            ),
    );
    let status = with_settings(
        Command::new("status")
            .about("Show a run: its status, each step's tasks, and why anything failed")
            .arg(run_id_arg("The run to show")),
    );
    let terminate = with_settings(
        Command::new("terminate")
            .about("Stop a running run")
            .arg(run_id_arg("The run to stop")),
    );
    let delete = with_settings(
        Command::new("delete")
            .about("Delete the state machine, its schedule and its job definitions"),
    );
    let resume = with_settings(
        Command::new("resume")
            .about(
                "Start a new run that clones every task that succeeded in RUN_ID and re-runs the rest",
            )
            .arg(run_id_arg("The run to resume (usually a failed one)"))
            .arg(
                Arg::new("new-run-id")
                    .long("run-id")
                    .value_name("NEW_RUN_ID")
                    .help("Name the new run (default: a fresh time-ordered id)"),
            )
            .arg(wait_arg()),
    );
    Command::new("step-functions")
        .about("Run the flow on AWS Step Functions and AWS Batch")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommands([
            create, trigger, list_runs, status, terminate, delete, resume,
        ])
}

/// Runs `step-functions` for flow `F`, given the matches of [`step_functions_command_for`].
pub fn run_step_functions_command<F: Flow>(matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    if let Some(("create", create)) = matches.subcommand() {
        if create.get_flag("only-json") {
            return run_for_graph(
                F::graph(),
                F::analysis(),
                matches,
                &mut stdout.lock(),
                &mut stderr.lock(),
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(operate::<F>(matches))
}

/// The state machine name and region from the settings, without requiring the settings
/// that only `create` needs.
fn target(args: &SfnArgs, flow: &str) -> (String, Option<String>) {
    (
        args.state_machine
            .clone()
            .unwrap_or_else(|| flow.to_string()),
        args.region.clone(),
    )
}

async fn clients(region: Option<&str>) -> anyhow::Result<AwsClients> {
    Ok(aws::load(region).await?)
}

fn params_of(sub: &ArgMatches, graph: &FlowGraph) -> Vec<(String, String)> {
    graph
        .params
        .iter()
        .filter_map(|p| {
            sub.get_one::<String>(&format!("param:{}", p.name))
                .map(|v| (p.name.clone(), v.clone()))
        })
        .collect()
}

fn new_run_id(sub: &ArgMatches) -> anyhow::Result<RunId> {
    match sub.get_one::<String>("new-run-id") {
        Some(id) => Ok(RunId::new(id.clone())?),
        None => Ok(RunId::generate()),
    }
}

/// The params JSON limit for these settings, exactly when `create` settings are present.
fn params_limit(args: &SfnArgs, graph: &FlowGraph, analysis: &Analysis) -> usize {
    args.resolve(&graph.name)
        .ok()
        .and_then(|config| compile(graph, analysis, &config).ok())
        .map_or(DEFAULT_MAX_PARAMS_JSON_BYTES, |d| {
            d.report.max_params_json_bytes
        })
}

async fn operate<F: Flow>(matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    let graph = F::graph();
    let (name, sub) = matches
        .subcommand()
        .context("missing subcommand: run `step-functions --help`")?;
    let args = SfnArgs::from_arg_matches(sub)?;
    let (state_machine, region) = target(&args, &graph.name);
    match name {
        "create" => {
            let config = args.resolve(&graph.name)?;
            let role = config.require_role_arn()?.to_string();
            let deployment: Deployment =
                compile(graph, F::analysis(), &config).with_context(|| {
                    format!("cannot compile flow `{}` for Step Functions", graph.name)
                })?;
            let clients = clients(config.region.as_deref()).await?;
            check_bucket(&clients, &config.datastore).await?;
            let deployed =
                aws::deploy::create(&clients, &deployment, &role, graph.schedule.as_deref())
                    .await?;
            eprint!("{}", deployment.report.to_text());
            eprintln!(
                "{} state machine {}; {} new job definition(s){}",
                if deployed.created {
                    "created"
                } else {
                    "updated"
                },
                deployment.state_machine_name,
                deployed.registered_job_definitions.len(),
                match (&deployed.schedule_rule, &graph.schedule) {
                    (Some(rule), Some(expr)) =>
                        format!("; scheduled {expr} by EventBridge rule {rule}"),
                    _ => String::new(),
                }
            );
            println!("{}", deployed.state_machine_arn);
            Ok(ExitCode::SUCCESS)
        }
        "trigger" => {
            // Params are checked before any AWS call.
            let typed: F::Params = flow_core::params::params_from_args(params_of(sub, graph))?;
            let params = serde_json::to_value(&typed)?;
            let limit = params_limit(&args, graph, F::analysis());
            let input = execution_input::<F::Params>(&params, None, limit)?;
            let run_id = new_run_id(sub)?;
            let clients = clients(region.as_deref()).await?;
            let arn = aws::deploy::require_state_machine(&clients, &state_machine).await?;
            aws::operate::start_run(&clients, &arn, &run_id, &input).await?;
            println!("{run_id}");
            finish(&clients, &arn, &run_id, sub.get_flag("wait")).await
        }
        "resume" => {
            let origin = RunId::new(sub.get_one::<String>("run-id").cloned().unwrap_or_default())?;
            let clients = clients(region.as_deref()).await?;
            let arn = aws::deploy::require_state_machine(&clients, &state_machine).await?;
            let (summary, _, _) =
                aws::operate::describe_run(&clients, &arn, origin.as_str()).await?;
            if summary.status == "RUNNING" {
                bail!(
                    "run `{origin}` is still running: wait for it to finish, or stop it with                      `step-functions terminate {origin}`, before resuming it"
                );
            }
            // The new run re-runs `start` only if it failed; it needs the same params then.
            let params = aws::operate::execution_params(&clients, &summary.execution_arn).await?;
            let limit = params_limit(&args, graph, F::analysis());
            let input = execution_input::<F::Params>(&params, Some(&origin), limit)?;
            let run_id = new_run_id(sub)?;
            aws::operate::start_run(&clients, &arn, &run_id, &input).await?;
            eprintln!("resuming {origin} ({}) as a new run", summary.status);
            println!("{run_id}");
            finish(&clients, &arn, &run_id, sub.get_flag("wait")).await
        }
        "list-runs" => {
            let clients = clients(region.as_deref()).await?;
            let arn = aws::deploy::require_state_machine(&clients, &state_machine).await?;
            let status = sub.get_one::<String>("status").map(|s| s.to_uppercase());
            let runs = aws::operate::list_runs(&clients, &arn, status.as_deref()).await?;
            if runs.is_empty() {
                eprintln!("no runs of {state_machine}");
            }
            let width = runs
                .iter()
                .map(|r| r.run_id.len())
                .max()
                .unwrap_or(6)
                .max(6);
            println!(
                "{:width$}  {:9}  {:24}  STOPPED",
                "RUN_ID", "STATUS", "STARTED"
            );
            for r in runs {
                println!(
                    "{:width$}  {:9}  {:24}  {}",
                    r.run_id,
                    r.status,
                    r.started,
                    r.stopped.unwrap_or_else(|| "-".into())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        "status" => {
            let run_id = sub.get_one::<String>("run-id").cloned().unwrap_or_default();
            let clients = clients(region.as_deref()).await?;
            let arn = aws::deploy::require_state_machine(&clients, &state_machine).await?;
            let report =
                status_report::<F>(&clients, &arn, &run_id, args.datastore.as_deref()).await?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        "terminate" => {
            let run_id = sub.get_one::<String>("run-id").cloned().unwrap_or_default();
            let clients = clients(region.as_deref()).await?;
            let arn = aws::deploy::require_state_machine(&clients, &state_machine).await?;
            let (summary, _, _) = aws::operate::describe_run(&clients, &arn, &run_id).await?;
            if summary.status != "RUNNING" {
                bail!(
                    "run `{run_id}` is not running (it is {}): nothing to stop",
                    summary.status
                );
            }
            aws::operate::terminate(&clients, &summary.execution_arn).await?;
            eprintln!("stopped run {run_id}");
            Ok(ExitCode::SUCCESS)
        }
        "delete" => {
            let clients = clients(region.as_deref()).await?;
            let deleted = aws::deploy::delete(&clients, &state_machine).await?;
            eprintln!(
                "deleted state machine {}{}; deregistered {} job definition(s)",
                deleted.state_machine_arn,
                if deleted.schedule_removed {
                    " and its schedule"
                } else {
                    ""
                },
                deleted.deregistered_job_definitions
            );
            Ok(ExitCode::SUCCESS)
        }
        other => bail!("unknown subcommand `step-functions {other}`: run `step-functions --help`"),
    }
}

async fn check_bucket(clients: &AwsClients, root: &crate::config::S3Root) -> anyhow::Result<()> {
    match clients.s3.head_bucket().bucket(root.bucket()).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => bail!(
            "the datastore bucket `{}` does not exist in {}: create it, or point --datastore /              FLOW_SFN_DATASTORE at an existing bucket",
            root.bucket(),
            clients.region
        ),
        Err(e) => Err(clients.error("HeadBucket", e).into()),
    }
}

/// With `--wait`, polls the run until it stops and reports how it ended.
async fn finish(
    clients: &AwsClients,
    arn: &str,
    run_id: &RunId,
    wait: bool,
) -> anyhow::Result<ExitCode> {
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        let (summary, error, cause) =
            aws::operate::describe_run(clients, arn, run_id.as_str()).await?;
        if summary.status != "RUNNING" && summary.status != "PENDING_REDRIVE" {
            eprintln!(
                "run {run_id} {} after {:.1} s",
                summary.status.to_lowercase(),
                started.elapsed().as_secs_f64()
            );
            if summary.status == "SUCCEEDED" {
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(error) = error {
                eprintln!("error: {error}: {}", cause.unwrap_or_default());
            }
            eprintln!("see `step-functions status {run_id}` for which step failed and why");
            return Ok(ExitCode::FAILURE);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// The text of `status RUN`: the run, each state's activity, the failures with their
/// causes (Batch's status reason and exit code), and, when the datastore is configured, each
/// step's stored tasks with their attempts and errors.
async fn status_report<F: Flow>(
    clients: &AwsClients,
    arn: &str,
    run_id: &str,
    datastore: Option<&str>,
) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let (summary, error, cause) = aws::operate::describe_run(clients, arn, run_id).await?;
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
    if let (true, Some(error)) = (failures.is_empty(), error) {
        writeln!(out, "failed: {error}: {}", cause.unwrap_or_default())?;
    }
    let Some(root) = datastore else {
        writeln!(
            out,
            "(set --datastore / FLOW_SFN_DATASTORE to see each step's tasks)"
        )?;
        return Ok(out);
    };
    let store = RunStore::new(crate::open_s3_store(root).await?, &F::graph().name);
    let run = RunId::new(run_id.to_string())?;
    if store.run(&run).await.is_err() {
        writeln!(out, "no tasks of this run in {root} yet")?;
        return Ok(out);
    }
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
            let args = SfnArgs::from_arg_matches(create)?;
            let config = args.resolve(&graph.name)?;
            let deployment: Deployment = compile(graph, analysis, &config).with_context(|| {
                format!("cannot compile flow `{}` for Step Functions", graph.name)
            })?;
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
}
