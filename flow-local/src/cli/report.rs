//! `report`: a run's report as one self-contained HTML file, written once or, with `--watch`,
//! rewritten until the run ends (the open page reloads itself meanwhile).

use super::args::{branch_args, datastore_arg, run_store};
use super::StoreOpener;
use crate::report;
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};
use flow_core::datastore::RunStatus;
use flow_core::{Flow, RunId};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Where the report goes unless `-o` says otherwise.
pub const DEFAULT_OUTPUT: &str = "report.html";

/// The `report` command.
pub(super) fn command() -> Command {
    Command::new("report")
        .about("Write a run's report: one self-contained HTML file (graph, timeline, tasks, cards)")
        .arg(
            Arg::new("run")
                .value_name("RUN_ID")
                .help("The run [default: the latest]"),
        )
        .arg(
            Arg::new("output")
                .short('o')
                .long("output")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .default_value(DEFAULT_OUTPUT)
                .help("Where to write the report; its absolute path is printed"),
        )
        .arg(datastore_arg())
        .args(branch_args())
        .arg(
            Arg::new("watch")
                .long("watch")
                .action(ArgAction::SetTrue)
                .help(
                    "Rewrite the report as tasks finish, until the run ends; the open page \
                     reloads itself meanwhile",
                ),
        )
        .arg(
            Arg::new("interval")
                .long("interval")
                .value_name("SECS")
                .value_parser(value_parser!(u32).range(1..=3600))
                .default_value("2")
                .requires("watch")
                .help("With --watch: seconds between rewrites (and page reloads)"),
        )
}

/// Runs `report`.
pub(super) async fn run<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let store = run_store::<F>(openers, matches).await?;
    let run = matches
        .get_one::<String>("run")
        .map(|id| RunId::new(id.clone()))
        .transpose()?;
    let output = matches.get_one::<PathBuf>("output").expect("has a default");
    if !matches.get_flag("watch") {
        let path = report::write_report::<F>(&store, run.as_ref(), output).await?;
        println!("{}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let interval = *matches.get_one::<u32>("interval").expect("has a default");
    // The run is fixed once: a run started later does not take over the file.
    let run = match run {
        Some(id) => id,
        None => store.latest_run().await?.run_id,
    };
    let mut announced = false;
    loop {
        let report = report::build::<F>(&store, Some(&run)).await?;
        let status = report.run.status;
        let going = status == RunStatus::Running;
        let path = report::write_html(&report.with_refresh(going.then_some(interval)), output)?;
        if !announced {
            // The path first, so the page can be opened while the run goes on.
            println!("{}", path.display());
            if going {
                eprintln!(
                    "run {run} is going: rewriting the report every {interval} s until it ends \
                     (Ctrl-C stops watching)"
                );
            }
            announced = true;
        }
        if !going {
            let status = serde_json::to_value(status)?;
            eprintln!(
                "run {run} {}: report written to {}",
                status.as_str().unwrap_or_default(),
                path.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_secs(u64::from(interval))).await;
    }
}
