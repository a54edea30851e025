//! What a report shows about one run, read once from the datastore: plain data, so the HTML
//! (or any other rendering) is a pure function of it.
//!
//! Every task is summarised in a [`TaskTiming`] (a few numbers, so a 10,000-item foreach
//! stays small); only the tasks worth reading in full (all of a small step; the failed,
//! retried and slowest ones of a large one) get a [`TaskDetail`] with attempts, errors, logs
//! and artifact previews, and the cards the step attached to it.

use flow_core::card::Card;
use flow_core::datastore::{AttemptRecord, RunRecord, TaskStatus};
use flow_core::graph::FlowGraph;
use flow_core::{IndexPath, RunId, StepError, TaskId};
use serde::Serialize;
use std::collections::BTreeMap;

/// One run, as a report shows it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// When the report was built (milliseconds since the Unix epoch).
    pub generated_at_ms: u64,
    /// The datastore the run was read from.
    pub datastore: String,
    /// The run record (its graph moved to [`Report::graph`]).
    pub run: RunRecord,
    /// The graph the run ran: the one stored with it, else the flow's current one.
    pub graph: FlowGraph,
    /// Whether [`Report::graph`] is the flow's current graph because the run stored none.
    pub graph_from_code: bool,
    /// Every step, each after its predecessors, branches in declaration order.
    pub steps: Vec<StepReport>,
    /// Task counts over the whole run.
    pub totals: TaskCounts,
    /// The Rust type of each artifact, by field name.
    pub artifact_types: BTreeMap<String, String>,
    /// When set, the page reloads itself this often (for a report rewritten while the run
    /// goes on).
    pub refresh_secs: Option<u32>,
}

impl Report {
    /// The id of the run.
    pub fn run_id(&self) -> &RunId {
        &self.run.run_id
    }

    /// The step with this name.
    pub fn step(&self, name: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// Makes the page reload itself every `secs` seconds (`None`: never).
    pub fn with_refresh(mut self, secs: Option<u32>) -> Self {
        self.refresh_secs = secs;
        self
    }
}

/// How many tasks ended which way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TaskCounts {
    /// Tasks with a record.
    pub total: usize,
    /// Succeeded (run here or cloned).
    pub succeeded: usize,
    /// Failed on their last attempt.
    pub failed: usize,
    /// Failed, and `catch` went on.
    pub caught: usize,
    /// Cloned from the origin run by a resume, not run again.
    pub cloned: usize,
    /// Needed more than one attempt.
    pub retried: usize,
}

impl TaskCounts {
    /// Counts one task.
    pub fn add(&mut self, status: TaskStatus, attempts: usize, cloned: bool) {
        self.total += 1;
        match status {
            TaskStatus::Succeeded => self.succeeded += 1,
            TaskStatus::Failed => self.failed += 1,
            TaskStatus::Caught => self.caught += 1,
        }
        self.cloned += usize::from(cloned);
        self.retried += usize::from(attempts > 1);
    }

    /// Adds another count to this one.
    pub fn merge(&mut self, other: &TaskCounts) {
        self.total += other.total;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.caught += other.caught;
        self.cloned += other.cloned;
        self.retried += other.retried;
    }
}

/// What a step's colour says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every task succeeded in this run.
    Succeeded,
    /// Every task succeeded, all of them cloned from the origin run.
    Cloned,
    /// At least one task failed.
    Failed,
    /// No task failed, at least one failed and was caught.
    Caught,
    /// The run is going on and this step has some of its tasks.
    Running,
    /// The run is going on and this step has no task yet.
    Pending,
    /// A switch chose another branch every time.
    Skipped,
    /// The run ended without reaching this step.
    NotRun,
}

impl Outcome {
    /// The word shown for it.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Cloned => "cloned",
            Outcome::Failed => "failed",
            Outcome::Caught => "caught",
            Outcome::Running => "running",
            Outcome::Pending => "pending",
            Outcome::Skipped => "skipped",
            Outcome::NotRun => "not run",
        }
    }

    /// The colours it is drawn in: box fill, box border, icon.
    pub fn colours(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Outcome::Succeeded => ("#ebfbee", "#2b8a3e", "#2f9e44"),
            Outcome::Cloned => ("#e3fafc", "#0b7285", "#1098ad"),
            Outcome::Failed => ("#fff5f5", "#c92a2a", "#e03131"),
            Outcome::Caught => ("#fff9db", "#e67700", "#f59f00"),
            Outcome::Running => ("#e7f5ff", "#1864ab", "#1c7ed6"),
            Outcome::Pending => ("#f8f9fa", "#868e96", "#adb5bd"),
            Outcome::Skipped | Outcome::NotRun => ("#ffffff", "#adb5bd", "#ced4da"),
        }
    }
}

/// What kind of step it is, for the label under its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// One successor.
    Linear,
    /// A static split into these branches.
    Split(Vec<String>),
    /// A foreach over this field.
    Foreach {
        /// The field iterated over.
        over: String,
    },
    /// A switch between these targets.
    Switch(Vec<String>),
    /// The `end` step.
    End,
}

/// Duration statistics of a step's tasks, in milliseconds (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DurationStats {
    /// How many tasks the figures are over.
    pub count: usize,
    /// Shortest.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Longest.
    pub max: u64,
    /// Sum over the tasks.
    pub total: u64,
}

impl DurationStats {
    /// The statistics of `durations` (`None` when empty).
    pub fn of(mut durations: Vec<u64>) -> Option<Self> {
        if durations.is_empty() {
            return None;
        }
        durations.sort_unstable();
        let n = durations.len();
        let rank = |p: usize| durations[(n * p).div_ceil(100).clamp(1, n) - 1];
        Some(DurationStats {
            count: n,
            min: durations[0],
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max: durations[n - 1],
            total: durations.iter().sum(),
        })
    }
}

/// One step of the run.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// Its doc comment.
    pub doc: String,
    /// Its kind.
    pub kind: StepKind,
    /// Whether it is a join.
    pub join: bool,
    /// What its colour says.
    pub outcome: Outcome,
    /// Its tasks, by outcome.
    pub counts: TaskCounts,
    /// How long its tasks took, from first start to last end of each (the tasks run in this
    /// run; the cloned ones when all were cloned, see [`StepReport::durations_from_origin`]).
    pub durations: Option<DurationStats>,
    /// Whether [`StepReport::durations`] are the origin run's (every task was cloned).
    pub durations_from_origin: bool,
    /// For a foreach step: the items its tasks fanned out over, in total.
    pub foreach_items: usize,
    /// For a switch step: how often each target was chosen.
    pub switch_choices: BTreeMap<String, usize>,
    /// Distinct final error messages of failed and caught tasks, most frequent first.
    pub errors: Vec<ErrorGroup>,
    /// Every task, in index order.
    pub timings: Vec<TaskTiming>,
    /// The tasks shown in full, in index order.
    pub details: Vec<TaskDetail>,
}

impl StepReport {
    /// The tasks that took longest, longest first, at most `n`.
    pub fn slowest(&self, n: usize) -> Vec<&TaskTiming> {
        let mut by_time: Vec<&TaskTiming> = self
            .timings
            .iter()
            .filter(|t| t.cloned_from.is_none())
            .collect();
        by_time.sort_by(|a, b| b.wall_ms().cmp(&a.wall_ms()).then(a.index.cmp(&b.index)));
        by_time.truncate(n);
        by_time
    }

    /// The detail of the task at `index`, if it is shown in full.
    pub fn detail(&self, index: &IndexPath) -> Option<&TaskDetail> {
        self.details.iter().find(|d| &d.task.index == index)
    }
}

/// Tasks of a step that ended with the same error message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorGroup {
    /// The message.
    pub message: String,
    /// How many tasks.
    pub count: usize,
    /// The first of them, in index order.
    pub first: IndexPath,
}

/// The few numbers kept for every task: enough for counts, percentiles and the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskTiming {
    /// The task's index path.
    pub index: IndexPath,
    /// How it ended.
    pub status: TaskStatus,
    /// Start and duration of each attempt, and whether it failed.
    pub attempts: Vec<AttemptSpan>,
    /// The run it was cloned from, if a resume cloned it.
    pub cloned_from: Option<RunId>,
}

impl TaskTiming {
    /// When the first attempt started.
    pub fn started_at_ms(&self) -> Option<u64> {
        self.attempts.first().map(|a| a.started_at_ms)
    }

    /// When the last attempt ended.
    pub fn ended_at_ms(&self) -> Option<u64> {
        self.attempts
            .last()
            .map(|a| a.started_at_ms + a.duration_ms)
    }

    /// From the first attempt's start to the last one's end (backoff included).
    pub fn wall_ms(&self) -> u64 {
        match (self.started_at_ms(), self.ended_at_ms()) {
            (Some(s), Some(e)) => e.saturating_sub(s),
            _ => 0,
        }
    }
}

/// One attempt on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AttemptSpan {
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// How long it ran.
    pub duration_ms: u64,
    /// Whether it failed.
    pub failed: bool,
}

/// Why a task of a large step is shown in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShownBecause {
    /// The step has few tasks: all are shown.
    Every,
    /// It failed (or failed and was caught).
    Failed,
    /// It needed more than one attempt.
    Retried,
    /// It is among the slowest.
    Slowest,
}

/// One task in full.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TaskDetail {
    /// The task.
    pub task: TaskId,
    /// Why it is shown.
    pub shown_because: ShownBecause,
    /// How it ended.
    pub status: TaskStatus,
    /// Every attempt, with its error.
    pub attempts: Vec<AttemptRecord>,
    /// The final error (failed or caught).
    pub error: Option<StepError>,
    /// The run it was cloned from.
    pub cloned_from: Option<RunId>,
    /// For a foreach task: how many items it fanned out over.
    pub foreach_count: Option<usize>,
    /// For a switch task: the step it chose.
    pub switch_next: Option<String>,
    /// The state the task left, field by field.
    pub artifacts: Vec<ArtifactSummary>,
    /// Why artifacts have no preview, when they have none.
    pub preview_note: Option<String>,
    /// The end of each attempt's log.
    pub logs: Vec<LogTail>,
    /// The cards the step attached to the task, in the order it added them.
    pub cards: Vec<Card>,
    /// Why the task's cards are not shown, when they could not be read.
    pub cards_note: Option<String>,
}

/// One artifact of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactSummary {
    /// The field's name.
    pub name: String,
    /// Its Rust type, shortened (`Vec<String>`), when known.
    pub type_name: Option<String>,
    /// Encoded size in bytes.
    pub size: u64,
    /// The content hash.
    pub hash: String,
    /// The start of its JSON form.
    pub preview: Option<String>,
    /// Whether the preview was cut short.
    pub truncated: bool,
}

/// The end of one attempt's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogTail {
    /// The attempt (0 first).
    pub attempt: u32,
    /// The last lines.
    pub text: String,
    /// How many earlier lines were left out.
    pub omitted_lines: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let stats = DurationStats::of((1..=100).rev().collect()).unwrap();
        assert_eq!(
            (stats.min, stats.p50, stats.p90, stats.p99, stats.max),
            (1, 50, 90, 99, 100)
        );
        assert_eq!(stats.total, 5050);
        let one = DurationStats::of(vec![7]).unwrap();
        assert_eq!((one.p50, one.p99, one.count), (7, 7, 1));
        assert_eq!(DurationStats::of(Vec::new()), None);
    }

    #[test]
    fn counts_add_up() {
        let mut counts = TaskCounts::default();
        counts.add(TaskStatus::Succeeded, 1, true);
        counts.add(TaskStatus::Failed, 3, false);
        counts.add(TaskStatus::Caught, 2, false);
        let mut total = TaskCounts::default();
        total.merge(&counts);
        total.merge(&counts);
        assert_eq!(
            total,
            TaskCounts {
                total: 6,
                succeeded: 2,
                failed: 2,
                caught: 2,
                cloned: 2,
                retried: 4
            }
        );
    }
}
