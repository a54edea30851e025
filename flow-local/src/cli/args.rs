//! Arguments several commands share: the datastore, the worker limits, `--quiet`, a
//! `RUN[/STEP[/INDEX]]` pathspec, and the flow's params as flags (also used by
//! `flow-sfn`'s `step-functions trigger`).

use super::StoreOpener;
use crate::fs_store::FsStore;
use crate::runner::{default_max_workers, DEFAULT_DATASTORE, DEFAULT_MAX_NUM_SPLITS};
use anyhow::{bail, Context as _};
use clap::{Arg, ArgAction, ArgMatches};
use flow_core::datastore::{ObjectStore, RunStore};
use flow_core::graph::{FlowGraph, ParamSpec};
use flow_core::ids::validate_step_name;
use flow_core::{Flow, IndexPath, RunId, TaskId};
use std::sync::Arc;

/// `--datastore`: where runs are stored.
pub(super) fn datastore_arg() -> Arg {
    Arg::new("datastore")
        .long("datastore")
        .env("FLOW_DATASTORE")
        .value_name("DIR")
        .default_value(DEFAULT_DATASTORE)
        .help("Where runs are stored: a directory (or s3://bucket/prefix where supported)")
}

/// `--branch NAME` and `--production`: which branch of the flow's project the runs belong
/// to (`flow_graph::namespace`), stored apart under `<datastore>/<project>.test.NAME` and
/// `<datastore>/<project>.prod`; without either, runs are stored under the datastore itself.
pub(super) fn branch_args() -> [Arg; 2] {
    [
        Arg::new("branch")
            .long("branch")
            .value_name("NAME")
            .conflicts_with("production")
            .help(
                "The test branch of the flow's project the runs belong to, kept apart from \
                 other branches' (needs #[flow(project = \"...\")])",
            ),
        Arg::new("production")
            .long("production")
            .action(clap::ArgAction::SetTrue)
            .help("The production branch of the flow's project the runs belong to"),
    ]
}

/// The datastore root of the branch `--branch` / `--production` pick for flow `F`: the
/// namespace's folder under `root`, or `root` itself without either flag.
pub(super) fn branch_root<F: Flow>(root: &str, matches: &ArgMatches) -> anyhow::Result<String> {
    let branch = matches.get_one::<String>("branch").map(String::as_str);
    let production = matches.get_flag("production");
    if branch.is_none() && !production {
        return Ok(root.to_string());
    }
    let graph = F::graph();
    let namespace = flow_graph::namespace::Namespace::choose(
        &graph.name,
        graph.project.as_deref(),
        branch,
        production,
        || None,
    )
    .map_err(anyhow::Error::msg)?
    .expect("a branch flag was given");
    Ok(format!("{}/{namespace}", root.trim_end_matches('/')))
}

/// `--max-workers` and `--max-num-splits`: how much of the machine a run may use.
pub(super) fn workers_args() -> [Arg; 2] {
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
            .help("Fail a foreach that fans out over more items than this (a guard against a foreach over the wrong field)"),
    ]
}

/// `--quiet`: no progress output.
pub(super) fn quiet_arg() -> Arg {
    Arg::new("quiet")
        .long("quiet")
        .short('q')
        .action(ArgAction::SetTrue)
        .help("No progress output")
}

/// `--tag KEY=VALUE` (repeatable): the tags a run is started with, or (`runs`) the tags
/// every listed run must have.
pub fn tag_arg(help: &'static str) -> Arg {
    Arg::new("tag")
        .long("tag")
        .value_name("KEY=VALUE")
        .action(ArgAction::Append)
        .help(help)
}

/// The `--tag` values given, validated as run tags (no system tag key).
pub fn tag_values(matches: &ArgMatches) -> anyhow::Result<flow_core::tags::Tags> {
    let given = matches
        .get_many::<String>("tag")
        .into_iter()
        .flatten()
        .map(String::as_str);
    flow_core::tags::user_tags(given).map_err(|e| anyhow::anyhow!("--tag: {e}"))
}

/// The `--tag` values given as a filter: `(key, value)` pairs, system tags allowed.
pub fn tag_filter(matches: &ArgMatches) -> anyhow::Result<Vec<(String, String)>> {
    matches
        .get_many::<String>("tag")
        .into_iter()
        .flatten()
        .map(|text| flow_core::tags::parse_tag(text).map_err(|e| anyhow::anyhow!("--tag: {e}")))
        .collect()
}

/// The positional `RUN[/STEP[/INDEX]]` of `dump` and `logs`.
pub(super) fn pathspec_arg(help: &'static str) -> Arg {
    Arg::new("pathspec")
        .value_name("RUN[/STEP[/INDEX]]")
        .required(true)
        .help(help)
}

/// The argument id of a param's flag: prefixed, so a param cannot clash with a built-in
/// argument of the same name.
fn param_id(param: &ParamSpec) -> String {
    format!("param:{}", param.name)
}

/// The flow's params as flags (`--name VALUE`), listed under "Flow parameters" in help.
pub fn param_args(graph: &FlowGraph) -> Vec<Arg> {
    graph
        .params
        .iter()
        .map(|param| {
            Arg::new(param_id(param))
                .long(param.flag())
                .value_name(param.type_name.clone())
                .help(format!("{} [default: {}]", param.help, param.default))
                .help_heading("Flow parameters")
        })
        .collect()
}

/// The params given as flags (see [`param_args`]), as `(name, value)` pairs for
/// [`flow_core::params::params_from_args`]; params not given are left out.
pub fn param_values(graph: &FlowGraph, matches: &ArgMatches) -> Vec<(String, String)> {
    graph
        .params
        .iter()
        .filter_map(|param| {
            matches
                .get_one::<String>(&param_id(param))
                .map(|value| (param.name.clone(), value.clone()))
        })
        .collect()
}

/// Opens a datastore root: a directory, or a root with a scheme that one of `openers` serves.
pub(super) async fn open_store(
    openers: &[StoreOpener],
    root: &str,
) -> anyhow::Result<Arc<dyn ObjectStore>> {
    if root.contains("://") {
        for opener in openers {
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

/// The runs of flow `F` in the `--datastore` of `matches`.
pub(super) async fn run_store<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<RunStore> {
    let root = matches
        .get_one::<String>("datastore")
        .expect("has a default");
    let root = branch_root::<F>(root, matches)?;
    Ok(RunStore::new(
        open_store(openers, &root).await?,
        &F::graph().name,
    ))
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

    /// The pathspec argument of `matches`, parsed for flow `F`.
    pub(super) fn from_matches<F: Flow>(matches: &ArgMatches) -> anyhow::Result<Self> {
        Self::parse::<F>(matches.get_one::<String>("pathspec").expect("required"))
    }

    /// The finished tasks of `step` this pathspec names: its one task, or every task of the
    /// step. An unknown run, task or a step without finished tasks is an error.
    pub(super) async fn tasks(&self, store: &RunStore, step: &str) -> anyhow::Result<Vec<TaskId>> {
        // An unknown run is its own error, not "no finished tasks".
        store.run(&self.run).await?;
        let tasks = match &self.index {
            Some(index) => {
                let task = TaskId::new(step.to_string(), index.clone());
                vec![store.require_task(&self.run, &task).await?.task]
            }
            None => store
                .tasks(&self.run, step)
                .await?
                .into_iter()
                .map(|record| record.task)
                .collect(),
        };
        if tasks.is_empty() {
            bail!("step `{step}` has no finished tasks in run `{}`", self.run);
        }
        Ok(tasks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Command;

    fn graph() -> FlowGraph {
        let mut graph = FlowGraph::new("ArgsFlow", Vec::new());
        graph.params = vec![
            ParamSpec {
                name: "max_count".into(),
                type_name: "usize".into(),
                help: "How many.".into(),
                default: "3".into(),
                from_event: None,
            },
            ParamSpec {
                name: "name".into(),
                type_name: "String".into(),
                help: "Who.".into(),
                default: "\"world\"".into(),
                from_event: None,
            },
        ];
        graph
    }

    #[test]
    fn param_flags_read_back_as_name_value_pairs() {
        let graph = graph();
        let command = Command::new("run").args(param_args(&graph));
        let matches = command
            .try_get_matches_from(["run", "--max-count", "7"])
            .unwrap();
        assert_eq!(
            param_values(&graph, &matches),
            vec![("max_count".to_string(), "7".to_string())]
        );
    }

    #[test]
    fn param_flags_show_their_type_and_default_under_their_heading() {
        let mut command = Command::new("run").args(param_args(&graph()));
        let help = command.render_help().to_string();
        assert!(help.contains("Flow parameters:"), "{help}");
        assert!(help.contains("--max-count <usize>"), "{help}");
        assert!(help.contains("How many. [default: 3]"), "{help}");
        assert!(help.contains("Who. [default: \"world\"]"), "{help}");
    }
}
