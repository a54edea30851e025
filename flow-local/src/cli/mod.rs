//! The flow binary's command line. `flow_local::main::<MyFlow>()` serves the local commands;
//! `flow-sfn` builds on [`Cli`] to add `step-functions` and the S3 datastore.
//!
//! This module is the command tree and its dispatch; each command lives in its own module:
//! `run` and `resume` in `run`, `runs`, `dump` and `logs` in `inspect`, `report` and `cards`
//! in theirs, `show` and `check` in `graph`, the internal `step` and `hook` in theirs, and the
//! arguments they share in `args`.

mod args;
mod cards;
mod graph;
mod hook;
mod inspect;
mod report;
mod run;
mod runs_table;
mod step;

pub use args::{param_args, param_values, tag_arg, tag_filter, tag_values, Pathspec};
pub use runs_table::{started_by_cell, tags_cell, Column, RunsTable};

use anyhow::{bail, Context as _};
use clap::{ArgMatches, Command};
use flow_core::datastore::ObjectStore;
use flow_core::Flow;
use futures::future::BoxFuture;
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
    secret_source: Option<Arc<dyn crate::SecretSource>>,
    extra: Vec<(Command, Handler)>,
    _flow: PhantomData<fn() -> F>,
}

/// Runs the local command line of flow `F`: `fn main() -> ExitCode { flow_local::main::<F>() }`.
pub fn main<F: Flow>() -> ExitCode {
    Cli::<F>::new().main()
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
            secret_source: None,
            extra: Vec::new(),
            _flow: PhantomData,
        }
    }

    /// Adds a datastore backend for roots with a scheme (e.g. `s3://`).
    pub fn store_opener(mut self, opener: StoreOpener) -> Self {
        self.openers.push(opener);
        self
    }

    /// Gets the secrets `run` and `resume` were not given by `--secret`/`--secrets-file` from
    /// `source` (see [`crate::SecretSource`]).
    pub fn secret_source(mut self, source: Arc<dyn crate::SecretSource>) -> Self {
        self.secret_source = Some(source);
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
        Command::new(binary)
            .about(about)
            .subcommand_required(true)
            .arg_required_else_help(true)
            .subcommands([
                run::run_command(graph),
                run::resume_command(),
                inspect::runs_command(),
                inspect::dump_command(),
                inspect::logs_command(),
                report::command(),
                cards::command(),
                graph::show_command(),
                graph::check_command(),
                step::command(),
                hook::command(),
            ])
            .subcommands(self.extra.iter().map(|(extra, _)| extra.clone()))
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

    /// Runs one of the local commands.
    async fn local(&self, name: &str, sub: &ArgMatches) -> anyhow::Result<ExitCode> {
        let openers = self.openers.as_slice();
        match name {
            "run" => run::run::<F>(openers, self.secret_source.clone(), sub).await,
            "resume" => run::resume::<F>(openers, self.secret_source.clone(), sub).await,
            "runs" => inspect::runs::<F>(openers, sub).await,
            "dump" => inspect::dump::<F>(openers, sub).await,
            "logs" => inspect::logs::<F>(openers, sub).await,
            "report" => report::run::<F>(openers, sub).await,
            "cards" => cards::run::<F>(openers, sub).await,
            "show" => graph::show::<F>(sub),
            "check" => graph::check::<F>(),
            "step" => step::run::<F>(openers, sub).await,
            "hook" => hook::run::<F>(openers, sub).await,
            other => bail!("unknown command `{other}`"),
        }
    }
}
