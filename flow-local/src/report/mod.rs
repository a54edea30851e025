//! Run reports: one self-contained HTML file per run, to open in a browser, attach to a
//! ticket or publish from CI.
//!
//! The report shows the flow's graph coloured by outcome, a timeline of every task, and per
//! step and task the status, durations, errors, log tails, params, artifacts (type,
//! encoded size, a short preview) and the cards the step attached (Markdown, tables, images,
//! SVG drawings, charts). Large foreach steps are aggregated (counts, percentiles,
//! the slowest and failed tasks) so a 10,000-item run stays a small file. The page fetches
//! nothing: its style, drawings and script are inline, and its Content-Security-Policy
//! forbids any request.
//!
//! It reads the run only through [`RunStore`], so a run in a local directory and one in S3
//! give the same report.
//!
//! ```no_run
//! # async fn demo<F: flow_core::Flow>(store: flow_core::datastore::RunStore) -> Result<(), flow_local::report::ReportError> {
//! // The latest run of flow F, written to report.html.
//! let path = flow_local::report::write_report::<F>(&store, None, "report.html".as_ref()).await?;
//! println!("{}", path.display());
//! # Ok(()) }
//! ```
//!
//! Modules: `collect` reads a run into the [`Report`] model, `layout` places the graph's
//! steps, `svg` and `timeline` draw, `cards` writes a task's cards (`chart` draws chart
//! cards), `html` writes the page, `format` writes values for people.

mod cards;
mod chart;
mod collect;
pub(crate) mod format;
mod html;
mod layout;
mod model;
mod svg;
mod timeline;

pub use html::CONTENT_SECURITY_POLICY;
pub use model::{
    ArtifactSummary, AttemptSpan, DurationStats, ErrorGroup, LogTail, Outcome, Report,
    ShownBecause, StepKind, StepReport, TaskCounts, TaskDetail, TaskTiming,
};

use flow_core::datastore::{DatastoreError, RunStore};
use flow_core::{Flow, RunId};
use std::path::{Path, PathBuf};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The run could not be read.
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
    /// The report file could not be written.
    #[error("cannot write the report to {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Reads run `run` of flow `F` (the latest when `None`) into a report.
pub async fn build<F: Flow>(store: &RunStore, run: Option<&RunId>) -> Result<Report, ReportError> {
    collect::collect::<F>(store, run).await
}

impl Report {
    /// The report as one self-contained HTML page.
    pub fn to_html(&self) -> String {
        html::render(self)
    }
}

/// Writes `report` as HTML to `path`, whole or not at all (a browser reloading the file
/// while it is rewritten sees the old page or the new one); returns the absolute path.
pub fn write_html(report: &Report, path: &Path) -> Result<PathBuf, ReportError> {
    let write_error = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let path = std::path::absolute(path).map_err(write_error)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.html".into());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written =
        std::fs::write(&temp, report.to_html()).and_then(|()| std::fs::rename(&temp, &path));
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(write_error(source));
    }
    Ok(path)
}

/// Reads run `run` of flow `F` (the latest when `None`) and writes its report to `path`;
/// returns the absolute path written.
pub async fn write_report<F: Flow>(
    store: &RunStore,
    run: Option<&RunId>,
    path: &Path,
) -> Result<PathBuf, ReportError> {
    let report = build::<F>(store, run).await?;
    write_html(&report, path)
}
