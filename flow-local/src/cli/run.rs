//! `run` and `resume`: a run in this process, and the summary printed when it ends.

use super::args::{
    branch_args, datastore_arg, param_args, param_values, quiet_arg, run_store, tag_arg,
    tag_values, workers_args,
};
use super::StoreOpener;
use crate::progress::ProgressMode;
use crate::runner::{RunHandle, Runner};
use anyhow::{anyhow, bail, Context as _};
use clap::{Arg, ArgMatches, Command};
use flow_core::datastore::ObjectStore;
use flow_core::graph::FlowGraph;
use flow_core::{Flow, RunId};
use serde_json::Value;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// The `run` command, with the flow's params as flags.
pub(super) fn run_command(graph: &FlowGraph) -> Command {
    Command::new("run")
        .about("Run the flow locally, every task in this process, artifacts persisted")
        .arg(datastore_arg())
        .args(branch_args())
        .args(workers_args())
        .arg(quiet_arg())
        .arg(
            Arg::new("triggered-by")
                .long("triggered-by")
                .value_name("FLOW/RUN_ID")
                .help(
                    "Run as if this upstream run's success started it (what trigger_on_finish \
                     does on Step Functions); steps read it with ctx.trigger()",
                ),
        )
        .arg(
            Arg::new("event")
                .long("event")
                .value_name("FILE.json")
                .help(
                    "Run as if this event started it (what a trigger(...) pattern does on Step \
                     Functions): steps read it with ctx.event(), and params with from_event \
                     are read from it (a --param flag wins)",
                ),
        )
        .arg(tag_arg(
            "Tag the run (repeatable); steps read tags with ctx.tags(), `runs --tag` filters by them",
        ))
        .args(secret_args())
        .args(param_args(graph))
}

/// `--secret NAME=VALUE` and `--secrets-file FILE`: the values of the secrets the steps
/// declare, for a local run (on AWS Batch they come from Secrets Manager; a flow binary built
/// on `flow_sfn::main` reads the secrets not given here from Secrets Manager too).
fn secret_args() -> [Arg; 2] {
    [
        Arg::new("secret")
            .long("secret")
            .value_name("NAME=VALUE")
            .action(clap::ArgAction::Append)
            .help(
                "The value of a secret a step declares (secrets(...)), by its variable name \
                 or ARN (repeatable; prefer --secrets-file, which keeps it out of `ps`); \
                 with flow_sfn::main, a secret not given is read from AWS Secrets Manager",
            ),
        Arg::new("secrets-file")
            .long("secrets-file")
            .env("FLOW_SECRETS_FILE")
            .value_name("FILE")
            .help(
                "A file of secret values: a JSON object {\"NAME\": \"VALUE\"} or NAME=VALUE \
                 lines (`#` comments); names are variable names or secret ARNs",
            ),
    ]
}

/// The secret values given by `--secrets-file` and `--secret` (which wins). No error
/// shows a value.
fn secret_values(
    matches: &ArgMatches,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let mut secrets = match matches.get_one::<String>("secrets-file") {
        Some(path) => read_secrets_file(Path::new(path))?,
        None => Default::default(),
    };
    for (i, text) in matches
        .get_many::<String>("secret")
        .into_iter()
        .flatten()
        .enumerate()
    {
        match text.split_once('=') {
            Some((name, value)) if !name.is_empty() => {
                secrets.insert(name.to_string(), value.to_string());
            }
            _ => bail!(
                "--secret number {} is not NAME=VALUE (not shown: it may hold a secret); \
                 write --secret DB_PASSWORD=VALUE",
                i + 1
            ),
        }
    }
    Ok(secrets)
}

/// A secrets file: a JSON object of strings, or `NAME=VALUE` lines.
fn read_secrets_file(path: &Path) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--secrets-file: cannot read `{}`", path.display()))?;
    if text.trim_start().starts_with('{') {
        // Only the position of serde_json's error: its message may quote a value
        // (`invalid type: integer `4711``).
        return serde_json::from_str(&text).map_err(|e| {
            anyhow!(
                "--secrets-file: `{}` is not a JSON object of strings (at line {}, column \
                 {}): write {{\"DB_PASSWORD\": \"...\"}}, or NAME=VALUE lines",
                path.display(),
                e.line(),
                e.column()
            )
        });
    }
    let mut secrets = std::collections::BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        match line.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                let value = value.trim();
                let unquoted = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(value);
                secrets.insert(name.trim().to_string(), unquoted.to_string());
            }
            _ => bail!(
                "--secrets-file: line {} of `{}` is not NAME=VALUE (not shown: it may hold a \
                 secret)",
                number + 1,
                path.display()
            ),
        }
    }
    Ok(secrets)
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
        .args(branch_args())
        .args(workers_args())
        .arg(quiet_arg())
        .args(secret_args())
}

/// Runs `run`: a fresh run of `F` with the params given as flags.
pub(super) async fn run<F: Flow>(
    openers: &[StoreOpener],
    secret_source: Option<Arc<dyn crate::SecretSource>>,
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    // Params and what started the run are checked before anything is stored or run.
    let trigger = super::step::triggered_by(matches)?;
    let event = match matches.get_one::<String>("event") {
        Some(path) => Some(read_event(Path::new(path))?),
        None => None,
    };
    let mut values = match &event {
        Some(event) => event_param_values(F::graph(), event)?,
        None => Vec::new(),
    };
    // Given after the event's values, a flag wins.
    values.extend(param_values(F::graph(), matches));
    let params: F::Params = flow_core::params::params_from_args(values)?;
    let tags = tag_values(matches)?;
    let secrets = secret_values(matches)?;
    let store = run_store::<F>(openers, matches).await?;
    let mut runner = runner::<F>(matches, store.object_store().clone()).params(params);
    for (name, value) in secrets {
        runner = runner.secret(name, value);
    }
    if let Some(source) = secret_source {
        runner = runner.secret_source(source);
    }
    for (key, value) in &tags {
        runner = runner.tag(key, value)?;
    }
    if let Some(trigger) = trigger {
        runner = runner.triggered_by(trigger);
    }
    if let Some(event) = event {
        runner = runner.event(event);
    }
    let handle = runner.run().await?;
    summary(&handle)
}

/// The event in `path`: a JSON object.
fn read_event(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--event: cannot read `{}`", path.display()))?;
    let event: Value = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "--event: `{}` is not JSON ({e}); it holds the event as a JSON object, e.g. an \
             EventBridge event `{{\"source\": \"aws.s3\", \"detail\": {{...}}}}`",
            path.display()
        )
    })?;
    if !event.is_object() {
        bail!(
            "--event: `{}` holds JSON that is not an object; an event is a JSON object, e.g. \
             `{{\"source\": \"aws.s3\", \"detail\": {{...}}}}`",
            path.display()
        );
    }
    Ok(event)
}

/// The value at a dotted path (`detail.object.key`) of an event.
pub(crate) fn event_field<'e>(event: &'e Value, path: &str) -> Option<&'e Value> {
    path.split('.').try_fold(event, |value, key| value.get(key))
}

/// The params that name a field of the event (`#[param(from_event = "...")]`), as
/// `(name, value)` pairs: a string as it is, anything else as JSON text. A path the event
/// does not have is an error naming the param and the path.
fn event_param_values(graph: &FlowGraph, event: &Value) -> anyhow::Result<Vec<(String, String)>> {
    let mut values = Vec::new();
    for param in &graph.params {
        let Some(path) = &param.from_event else {
            continue;
        };
        let Some(value) = event_field(event, path) else {
            bail!(
                "--event: the event has no `{path}`, which param `--{}` is read from \
                 (#[param(from_event = \"{path}\")]); check the event file, or give the param \
                 as --{} VALUE",
                param.flag(),
                param.flag()
            );
        };
        let raw = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        values.push((param.name.clone(), raw));
    }
    Ok(values)
}

/// Runs `resume`: a new run that clones what succeeded in the origin run.
pub(super) async fn resume<F: Flow>(
    openers: &[StoreOpener],
    secret_source: Option<Arc<dyn crate::SecretSource>>,
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let origin = matches
        .get_one::<String>("run-id")
        .map(|id| RunId::new(id.clone()))
        .transpose()?;
    let secrets = secret_values(matches)?;
    let store = run_store::<F>(openers, matches).await?;
    let mut runner = runner::<F>(matches, store.object_store().clone());
    for (name, value) in secrets {
        runner = runner.secret(name, value);
    }
    if let Some(source) = secret_source {
        runner = runner.secret_source(source);
    }
    let handle = runner
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
    if let Some(hook) = handle.hook() {
        match &hook.result {
            Ok(()) => eprintln!("hook `{}` ran", hook.name),
            Err(e) => eprintln!("error: hook `{}` failed: {e}", hook.name),
        }
    }
    if handle.timed_out() {
        let why = handle.end().error.clone().unwrap_or_default();
        eprintln!("run {} TIMED OUT after {secs:.2} s: {why}", handle.id());
        // A sync step that ran past the timeout cannot be interrupted, and the async runtime
        // would wait for its thread on shutdown: end the process now, everything stored.
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        std::process::exit(1);
    }
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
