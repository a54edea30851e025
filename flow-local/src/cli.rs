//! The flow binary's command line. `flow_local::main::<MyFlow>()` serves the local commands;
//! `flow-sfn` builds on [`Cli`] to add `step-functions` and the S3 datastore.

use crate::fs_store::FsStore;
use crate::progress::ProgressMode;
use crate::runner::{default_max_workers, Runner, DEFAULT_DATASTORE, DEFAULT_MAX_NUM_SPLITS};
use crate::step_command::{batch_attempt, run_step, StepRequest};
use anyhow::{bail, Context as _};
use clap::{Arg, ArgAction, ArgMatches, Command};
use flow_core::client::Client;
use flow_core::datastore::{ObjectStore, RunStore};
use flow_core::graph::{render_dot, render_mermaid, render_text, validate};
use flow_core::ids::validate_step_name;
use flow_core::{Flow, IndexPath, RunId};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::marker::PhantomData;
use std::process::ExitCode;
use std::sync::Arc;

/// Opens a datastore root this crate does not know (e.g. `s3://…`); `None` if the root is
/// not for this opener.
pub type StoreOpener = Arc<
    dyn Fn(String) -> BoxFuture<'static, Option<anyhow::Result<Arc<dyn ObjectStore>>>>
        + Send
        + Sync,
>;

type Handler = Box<dyn Fn(&ArgMatches) -> anyhow::Result<ExitCode>>;

/// The command line of a flow binary, extensible with more subcommands and datastores.
pub struct Cli<F: Flow> {
    openers: Vec<StoreOpener>,
    extra: Vec<(Command, Handler)>,
    _flow: PhantomData<fn() -> F>,
}

/// Runs the local command line of flow `F`: `fn main() -> ExitCode { flow_local::main::<F>() }`.
pub fn main<F: Flow>() -> ExitCode {
    Cli::<F>::new().main()
}

fn datastore_arg() -> Arg {
    Arg::new("datastore")
        .long("datastore")
        .env("FLOW_DATASTORE")
        .value_name("DIR")
        .default_value(DEFAULT_DATASTORE)
        .help("Where runs are stored: a directory (or s3://bucket/prefix where supported)")
}

fn workers_args() -> [Arg; 2] {
    [
        Arg::new("max-workers")
            .long("max-workers")
            .value_name("N")
            .value_parser(clap::value_parser!(u32).range(1..))
            .help(format!(
                "Tasks run at once [default: {}, this machine's cores]",
                default_max_workers()
            )),
        Arg::new("max-num-splits")
            .long("max-num-splits")
            .value_name("N")
            .value_parser(clap::value_parser!(usize))
            .default_value(DEFAULT_MAX_NUM_SPLITS.to_string())
            .help("Fail a foreach that fans out over more items than this"),
    ]
}

fn pathspec_arg(help: &'static str) -> Arg {
    Arg::new("pathspec")
        .value_name("RUN[/STEP[/INDEX]]")
        .required(true)
        .help(help)
}

impl<F: Flow> Default for Cli<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Flow> Cli<F> {
    /// The local commands.
    pub fn new() -> Self {
        Cli {
            openers: Vec::new(),
            extra: Vec::new(),
            _flow: PhantomData,
        }
    }

    /// Adds a datastore backend for roots with a scheme (e.g. `s3://`).
    pub fn store_opener(mut self, opener: StoreOpener) -> Self {
        self.openers.push(opener);
        self
    }

    /// Adds a subcommand, handled outside the local commands' async runtime.
    pub fn subcommand(
        mut self,
        command: Command,
        handler: impl Fn(&ArgMatches) -> anyhow::Result<ExitCode> + 'static,
    ) -> Self {
        self.extra.push((command, Box::new(handler)));
        self
    }

    /// The whole `clap` command.
    pub fn command(&self) -> Command {
        let graph = F::graph();
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| graph.name.clone());
        let about = graph
            .doc
            .lines()
            .find(|l| !l.trim().is_empty())
            .map_or_else(
                || format!("The flow `{}`", graph.name),
                |l| l.trim().to_string(),
            );
        let mut run = Command::new("run")
            .about("Run the flow locally, every task in this process, artifacts persisted")
            .arg(datastore_arg())
            .args(workers_args())
            .arg(
                Arg::new("quiet")
                    .long("quiet")
                    .short('q')
                    .action(ArgAction::SetTrue)
                    .help("No progress output"),
            );
        for p in &graph.params {
            let mut help = p.help.clone();
            help.push_str(&format!(" [default: {}]", p.default));
            run = run.arg(
                Arg::new(format!("param:{}", p.name))
                    .long(p.flag())
                    .value_name(p.type_name.clone())
                    .help(help)
                    .help_heading("Flow parameters"),
            );
        }
        let resume = Command::new("resume")
            .about("Re-run a run from its first failed step (or --step), cloning every task that succeeded before it")
            .arg(Arg::new("run-id").value_name("RUN_ID").help("The run to resume [default: the latest]"))
            .arg(
                Arg::new("step")
                    .long("step")
                    .value_name("STEP")
                    .help("Re-run from this step (it and every step after it run again)"),
            )
            .arg(datastore_arg())
            .args(workers_args())
            .arg(Arg::new("quiet").long("quiet").short('q').action(ArgAction::SetTrue).help("No progress output"));
        let mut command = Command::new(binary)
            .about(about)
            .subcommand_required(true)
            .arg_required_else_help(true)
            .subcommand(run)
            .subcommand(resume)
            .subcommand(
                Command::new("runs")
                    .about("List the stored runs, newest first")
                    .arg(datastore_arg()),
            )
            .subcommand(
                Command::new("dump")
                    .about("Print a run, a step's tasks, or a task's artifacts as JSON")
                    .arg(pathspec_arg(
                        "What to print: a run, a step of it, or one task",
                    ))
                    .arg(
                        Arg::new("artifact")
                            .long("artifact")
                            .value_name("NAME")
                            .help("Only this artifact (of the task; of `end` for a whole run)"),
                    )
                    .arg(datastore_arg()),
            )
            .subcommand(
                Command::new("logs")
                    .about("Print the logs of a step's tasks, or of one task")
                    .arg(pathspec_arg("RUN/STEP or RUN/STEP/INDEX"))
                    .arg(datastore_arg()),
            )
            .subcommand(
                Command::new("show").about("Print the flow's graph").arg(
                    Arg::new("format")
                        .long("format")
                        .value_parser(["text", "json", "mermaid", "dot"])
                        .default_value("text")
                        .help("text, JSON, a Mermaid flowchart or a Graphviz digraph"),
                ),
            )
            .subcommand(
                Command::new("check").about("Validate the flow's graph (exit 0 when valid)"),
            )
            .subcommand(
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
                    ),
            );
        for (extra, _) in &self.extra {
            command = command.subcommand(extra.clone());
        }
        command
    }

    /// Parses the process's arguments and runs the command; prints errors; exit status.
    pub fn main(self) -> ExitCode {
        let matches = self.command().get_matches();
        self.run_matches(&matches)
    }

    /// Runs the command `matches` selected.
    pub fn run_matches(&self, matches: &ArgMatches) -> ExitCode {
        let Some((name, sub)) = matches.subcommand() else {
            return ExitCode::from(2);
        };
        let result = match self.extra.iter().find(|(c, _)| c.get_name() == name) {
            Some((_, handler)) => handler(sub),
            None => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")
                .and_then(|rt| rt.block_on(self.local(name, sub))),
        };
        match result {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        }
    }

    async fn open(&self, root: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
        if root.contains("://") {
            for opener in &self.openers {
                if let Some(store) = opener(root.to_string()).await {
                    return store;
                }
            }
            bail!(
                "no datastore backend for `{root}` in this binary: local commands read directories; \
                 build the flow with `flow_sfn::main` to read s3:// datastores"
            );
        }
        Ok(Arc::new(FsStore::new(root)))
    }

    async fn run_store(&self, sub: &ArgMatches) -> anyhow::Result<RunStore> {
        let root = sub.get_one::<String>("datastore").expect("has a default");
        Ok(RunStore::new(self.open(root).await?, &F::graph().name))
    }

    fn runner(&self, sub: &ArgMatches, store: Arc<dyn ObjectStore>) -> Runner<F> {
        let mut runner = Runner::<F>::new()
            .store(store)
            .max_num_splits(*sub.get_one::<usize>("max-num-splits").expect("default"))
            .progress(if sub.get_flag("quiet") {
                ProgressMode::Quiet
            } else {
                ProgressMode::Auto
            });
        if let Some(n) = sub.get_one::<u32>("max-workers") {
            runner = runner.max_workers(*n as usize);
        }
        runner
    }

    async fn local(&self, name: &str, sub: &ArgMatches) -> anyhow::Result<ExitCode> {
        let graph = F::graph();
        match name {
            "run" => {
                // Params are checked before anything is stored or run.
                let pairs = graph.params.iter().filter_map(|p| {
                    sub.get_one::<String>(&format!("param:{}", p.name))
                        .map(|v| (p.name.clone(), v.clone()))
                });
                let params: F::Params = flow_core::params::params_from_args(pairs)?;
                let store = self.run_store(sub).await?;
                let handle = self
                    .runner(sub, store.object_store().clone())
                    .params(params)
                    .run()
                    .await?;
                report(&handle)
            }
            "resume" => {
                let origin = sub
                    .get_one::<String>("run-id")
                    .map(|id| RunId::new(id.clone()))
                    .transpose()?;
                let store = self.run_store(sub).await?;
                let handle = self
                    .runner(sub, store.object_store().clone())
                    .resume(origin, sub.get_one::<String>("step").cloned())
                    .await?;
                report(&handle)
            }
            "runs" => {
                let store = self.run_store(sub).await?;
                let runs = store.runs().await?;
                if runs.is_empty() {
                    eprintln!("no runs of {} in {}", graph.name, store.root());
                    return Ok(ExitCode::SUCCESS);
                }
                let width = runs
                    .iter()
                    .map(|r| r.run_id.as_str().len())
                    .max()
                    .unwrap_or(6);
                println!(
                    "{:width$}  {:9}  {:>10}  ORIGIN",
                    "RUN_ID", "STATUS", "SECONDS"
                );
                for r in runs {
                    let secs = r
                        .finished_at_ms
                        .map(|f| {
                            format!("{:.2}", f.saturating_sub(r.started_at_ms) as f64 / 1000.0)
                        })
                        .unwrap_or_else(|| "-".into());
                    let status = serde_json::to_value(r.status)?;
                    println!(
                        "{:width$}  {:9}  {:>10}  {}",
                        r.run_id,
                        status.as_str().unwrap_or_default(),
                        secs,
                        r.origin_run_id.map(|o| o.to_string()).unwrap_or_default()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            "dump" => {
                let store = self.run_store(sub).await?;
                let spec =
                    Pathspec::parse::<F>(sub.get_one::<String>("pathspec").expect("required"))?;
                let value = dump::<F>(&store, &spec, sub.get_one::<String>("artifact")).await?;
                println!("{}", serde_json::to_string_pretty(&value)?);
                Ok(ExitCode::SUCCESS)
            }
            "logs" => {
                let store = self.run_store(sub).await?;
                let spec =
                    Pathspec::parse::<F>(sub.get_one::<String>("pathspec").expect("required"))?;
                let Some(step) = &spec.step else {
                    bail!("name a step: `logs RUN/STEP` or `logs RUN/STEP/INDEX`");
                };
                store.run(&spec.run).await?;
                let tasks = match &spec.index {
                    Some(index) => vec![
                        store
                            .require_task(
                                &spec.run,
                                &flow_core::TaskId::new(step.clone(), index.clone()),
                            )
                            .await?,
                    ],
                    None => store.tasks(&spec.run, step).await?,
                };
                if tasks.is_empty() {
                    bail!("step `{step}` has no finished tasks in run `{}`", spec.run);
                }
                for t in tasks {
                    let logs = store.logs(&spec.run, &t.task).await?;
                    if logs.is_empty() {
                        println!("== {} (no log output)", t.task);
                    }
                    for (attempt, text) in logs {
                        println!("== {} attempt {attempt}", t.task);
                        print!("{text}");
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            "show" => {
                let text = match sub.get_one::<String>("format").map(String::as_str) {
                    Some("json") => graph.to_json() + "\n",
                    Some("mermaid") => render_mermaid(graph),
                    Some("dot") => render_dot(graph),
                    _ => render_text(graph),
                };
                print!("{text}");
                Ok(ExitCode::SUCCESS)
            }
            "check" => match validate(graph) {
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
            },
            "step" => {
                let root = sub.get_one::<String>("datastore").expect("required");
                let store = self.open(root).await?;
                let origin = sub
                    .get_one::<String>("origin-run-id")
                    .filter(|o| !o.is_empty())
                    .map(|o| RunId::new(o.clone()))
                    .transpose()?;
                let request = StepRequest {
                    run_id: RunId::new(sub.get_one::<String>("run-id").expect("required").clone())?,
                    step: sub.get_one::<String>("step").expect("required").clone(),
                    index: sub.get_one::<String>("index").expect("default").clone(),
                    origin_run_id: origin,
                    params_json: sub.get_one::<String>("params-json").cloned(),
                    attempt: batch_attempt(),
                    capture_output: true,
                };
                crate::logs::install();
                run_step::<F>(store, request).await
            }
            other => bail!("unknown command `{other}`"),
        }
    }
}

fn report<F: Flow>(handle: &crate::RunHandle<F>) -> anyhow::Result<ExitCode> {
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
        let why = handle.error().map(|e| e.to_string()).unwrap_or_default();
        eprintln!("run {} FAILED after {secs:.2} s: {why}", handle.id());
        eprintln!(
            "fix the cause, then `resume {}` re-runs from the failed step",
            handle.id()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// `RUN[/STEP[/INDEX]]`, validated against the flow.
pub struct Pathspec {
    /// The run.
    pub run: RunId,
    /// The step, if given.
    pub step: Option<String>,
    /// The task index, if given.
    pub index: Option<IndexPath>,
}

impl Pathspec {
    /// Parses and validates a pathspec for flow `F`.
    pub fn parse<F: Flow>(text: &str) -> anyhow::Result<Self> {
        let mut parts = text.splitn(3, '/');
        let run = RunId::new(parts.next().unwrap_or_default().to_string())?;
        let step = parts.next().map(str::to_string);
        let index = parts.next();
        let graph = F::graph();
        let index = match (&step, index) {
            (Some(step), index) => {
                validate_step_name(step)?;
                let i = graph.index_of(step).with_context(|| {
                    let names: Vec<&str> = graph.steps.iter().map(|s| s.name.as_str()).collect();
                    format!(
                        "flow `{}` has no step `{step}`; its steps are {}",
                        graph.name,
                        names.join(", ")
                    )
                })?;
                index
                    .map(|k| IndexPath::parse(k, F::analysis().foreach_depth(i)))
                    .transpose()?
            }
            (None, _) => None,
        };
        Ok(Pathspec { run, step, index })
    }
}

async fn dump<F: Flow>(
    store: &RunStore,
    spec: &Pathspec,
    artifact: Option<&String>,
) -> anyhow::Result<Value> {
    let client = Client::<F>::from_run_store(store.clone());
    let run = client.run(&spec.run).await?;
    let task_json = |id: &flow_core::TaskId, record: &flow_core::datastore::TaskRecord| {
        json!({
            "task": id.to_string(),
            "status": record.status,
            "attempts": record.attempts.len(),
            "cloned_from": record.cloned_from,
            "error": record.error,
        })
    };
    let state_json = |state: &F| -> anyhow::Result<Value> {
        let value = serde_json::to_value(state)?;
        match artifact {
            None => Ok(value),
            Some(name) => value.get(name).cloned().with_context(|| {
                let names: Vec<String> = value
                    .as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                format!(
                    "no artifact `{name}`; the artifacts are {}",
                    names.join(", ")
                )
            }),
        }
    };
    match (&spec.step, &spec.index) {
        (None, _) if artifact.is_some() => state_json(&run.end_state().await?),
        (None, _) => {
            let mut steps = serde_json::Map::new();
            for s in &F::graph().steps {
                let tasks = run.tasks(&s.name).await?;
                let list: Vec<Value> = tasks
                    .iter()
                    .map(|t| task_json(t.id(), t.record()))
                    .collect();
                steps.insert(s.name.clone(), Value::Array(list));
            }
            Ok(json!({"run": run.record(), "steps": steps}))
        }
        (Some(step), None) => {
            let tasks = run.tasks(step).await?;
            match tasks.as_slice() {
                [one] => state_json(&one.state().await?),
                [] => bail!("step `{step}` has no finished tasks in run `{}`", spec.run),
                many => Ok(Value::Array(
                    many.iter().map(|t| task_json(t.id(), t.record())).collect(),
                )),
            }
        }
        (Some(step), Some(index)) => {
            let task = run.task(step, &index.0).await?;
            state_json(&task.state().await?)
        }
    }
}
