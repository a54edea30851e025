//! The records a run leaves, as stored (JSON; `run.json` pretty-printed, a task record
//! compact, as a frame of its step's `tasks.seg` on a store that appends (`segment.rs`), or
//! as its own `task.json` with `foreach.json` / `switch.json` elsewhere):
//!
//! ```text
//! run.json   {"flow": "MovieFlow", "run_id": "20261123T101010-0a1b2c3d4e", "status": "running"
//!             | "succeeded" | "failed" | "timed_out", "params": {...}, "origin_run_id": "...",
//!             "resume_step": "...", "started_at_ms": 1, "finished_at_ms": 2, "error": "...",
//!             "scheduler": "local" | "step-functions", "graph": {FlowGraph},
//!             "trigger": {"flow": "Upstream", "run_id": "..."}, "event": {...},
//!             "tags": {"team": "recs", "user": "alice", ...}}
//! task.json  {"task": {"step": "measure", "index": "2.5"}, "status": "succeeded" | "failed"
//!             | "caught", "attempts": [{"attempt": 0, "started_at_ms": 1, "duration_ms": 3,
//!             "error": {"message": "...", "kind": "error" | "panic" | "timeout" | "internal"}}],
//!             "artifacts": {"<field>": {"hash": "<blake3 hex>", "size": 12, "inline": "<hex>"}},
//!             "foreach_count": 4, "switch_next": "<step>", "error": {...}, "cloned_from": "<run>"}
//! foreach.json  ["2.0", "2.1", "2.2", "2.3"]       (the child index keys, as strings; beside
//!               task.json only, for the state machine: a segment's record has foreach_count)
//! switch.json   {"next": "<step>"}                 (beside task.json only; else switch_next)
//! ```
//!
//! The root task's index serializes as `""` (its key in paths is `0`). An artifact of at
//! most [`INLINE_LIMIT`](super::INLINE_LIMIT) encoded bytes is inline (hex) in the record; a larger one is the
//! blob `<flow>/blobs/<2 hex>/<blake3 hex>`. A caught failure is the record's `error` with
//! status `caught`; its artifacts are the state as the step left it (or as it started, when
//! the attempt was cancelled by its timeout), and the client reads the error with
//! `Task::caught_error`.

use crate::flow::StepError;
use crate::ids::{RunId, TaskId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Milliseconds since the Unix epoch, as records store times.
pub fn timestamp_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How a run ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still running (or killed while running).
    Running,
    /// Every task succeeded.
    Succeeded,
    /// A task failed.
    Failed,
    /// The run ran past its flow's `timeout` and was cancelled.
    TimedOut,
}

/// The finished run of another flow that started this one (`trigger_on_finish`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Trigger {
    /// The upstream flow's name.
    pub flow: String,
    /// Its run that finished.
    pub run_id: RunId,
}

impl Trigger {
    /// Parses `FLOW/RUN_ID`, as `run --triggered-by` and `step --triggered-by` take it.
    pub fn parse(text: &str) -> Result<Trigger, String> {
        let form = "write it as FLOW/RUN_ID, e.g. `UpstreamFlow/20261123T101010-0a1b2c3d4e`";
        let Some((flow, run)) = text.split_once('/') else {
            return Err(format!("`{text}` names no run: {form}"));
        };
        if flow.is_empty() || !flow.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "`{flow}` in `{text}` is not a flow name (letters, digits and `_`): {form}"
            ));
        }
        let run_id = RunId::new(run.to_string())
            .map_err(|e| format!("the run id in `{text}` is not valid ({e}): {form}"))?;
        Ok(Trigger {
            flow: flow.to_string(),
            run_id,
        })
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.flow, self.run_id)
    }
}

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The flow's name.
    pub flow: String,
    /// The run id.
    pub run_id: RunId,
    /// Status as last written.
    pub status: RunStatus,
    /// The params, as JSON.
    pub params: Value,
    /// The run this one resumes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_run_id: Option<RunId>,
    /// The step a resume re-ran from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_step: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// When the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Which scheduler ran it: `local` or `step-functions`.
    pub scheduler: String,
    /// The flow's graph as it was when the run started (`FlowGraph` as JSON), so a run can
    /// be read and drawn after the flow's code has changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<Value>,
    /// The upstream run whose success started this one (`trigger_on_finish`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// The event that started this run (an EventBridge event, or `run --event`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
    /// The run's tags: the ones it was started with (`run --tag k=v`) and the system tags
    /// saying who and what started it (see [`crate::tags`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// The step returned Ok.
    Succeeded,
    /// The step failed on its last attempt.
    Failed,
    /// The step failed on its last attempt, and `catch` recorded the error and went on.
    Caught,
}

/// One attempt of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// 0 for the first try.
    pub attempt: u32,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// How long it ran.
    pub duration_ms: u64,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StepError>,
}

/// Where an artifact's bytes are: inline (small values) or in a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// BLAKE3 of the encoded bytes.
    pub hash: String,
    /// Encoded size in bytes.
    pub size: u64,
    /// The bytes, hex-encoded, when at most [`INLINE_LIMIT`](super::INLINE_LIMIT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
}

/// A task record (a frame of `tasks.seg`, or `task.json`): written last, so its presence
/// means the task finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task.
    pub task: TaskId,
    /// How it ended.
    pub status: TaskStatus,
    /// Every attempt, in order.
    pub attempts: Vec<AttemptRecord>,
    /// The state's fields after the task, by name.
    pub artifacts: BTreeMap<String, ArtifactRef>,
    /// For a foreach step: how many items it fanned out over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach_count: Option<usize>,
    /// For a switch step: the step it chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_next: Option<String>,
    /// The final error (failed or caught task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StepError>,
    /// The run this task was cloned from by a resume (not re-executed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloned_from: Option<RunId>,
}

impl TaskRecord {
    /// True when successors may run after it (succeeded, or failed and caught).
    pub fn is_done(&self) -> bool {
        matches!(self.status, TaskStatus::Succeeded | TaskStatus::Caught)
    }
}
