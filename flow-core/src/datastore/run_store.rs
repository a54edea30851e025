//! Runs and tasks on any [`ObjectStore`]: run records, task records, content-addressed
//! artifact blobs (verified on read), foreach item lists, switch decisions and logs.
//!
//! Write order makes a task record the commit point: blobs first, then `foreach.json` /
//! `switch.json`, then `task.json`. A reader that finds `task.json` finds everything it
//! names; a process killed before that leaves only unreferenced blobs.
//!
//! The records, as stored (JSON; `run.json` pretty-printed, `task.json` compact):
//!
//! ```text
//! run.json   {"flow": "MovieFlow", "run_id": "20261123T101010-0a1b2c3d4e", "status": "running"
//!             | "succeeded" | "failed", "params": {...}, "origin_run_id": "...", "resume_step":
//!             "...", "started_at_ms": 1, "finished_at_ms": 2, "error": "...", "scheduler":
//!             "local" | "step-functions", "graph": {FlowGraph}}
//! task.json  {"task": {"step": "measure", "index": "2.5"}, "status": "succeeded" | "failed"
//!             | "caught", "attempts": [{"attempt": 0, "started_at_ms": 1, "duration_ms": 3,
//!             "error": {"message": "...", "kind": "error" | "panic" | "timeout" | "internal"}}],
//!             "artifacts": {"<field>": {"hash": "<blake3 hex>", "size": 12, "inline": "<hex>"}},
//!             "foreach_count": 4, "switch_next": "<step>", "error": {...}, "cloned_from": "<run>"}
//! foreach.json  ["2.0", "2.1", "2.2", "2.3"]       (the child index keys, as strings)
//! switch.json   {"next": "<step>"}
//! ```
//!
//! The root task's index serializes as `""` (its key in paths is `0`). An artifact of at
//! most [`INLINE_LIMIT`] encoded bytes is inline (hex) in the record; a larger one is the
//! blob `<flow>/blobs/<2 hex>/<blake3 hex>`. A caught failure is the record's `error` with
//! status `caught`; its artifacts are the state as the step left it (or as it started, when
//! the attempt was cancelled by its timeout), and the client reads the error with
//! `Task::caught_error`.

use super::{Layout, ObjectStore, StoreError};
use crate::artifacts::{content_hash, decode_fields, encode_fields, ArtifactError};
use crate::flow::StepError;
use crate::ids::{IndexPath, RunId, TaskId};
use crate::inputs::{BlobCache, StoredState};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

/// Values up to this many encoded bytes live in the task record itself instead of a blob
/// file: a blob per small value would cost more to write than the value is worth.
pub const INLINE_LIMIT: usize = 128;

/// A datastore failure, with what the user needs to find the data.
#[derive(Debug, thiserror::Error)]
pub enum DatastoreError {
    /// The storage underneath failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No run with this id.
    #[error("no run `{run}` of flow `{flow}` in {root}{hint}")]
    UnknownRun {
        /// The flow.
        flow: String,
        /// The run id asked for.
        run: String,
        /// The datastore.
        root: String,
        /// The closest existing run ids.
        hint: String,
    },
    /// The flow has no runs at all.
    #[error("flow `{flow}` has no runs in {root}")]
    NoRuns {
        /// The flow.
        flow: String,
        /// The datastore.
        root: String,
    },
    /// A run id was already taken.
    #[error("run `{run}` of flow `{flow}` already exists in {root}")]
    RunExists {
        /// The flow.
        flow: String,
        /// The run id.
        run: String,
        /// The datastore.
        root: String,
    },
    /// No record of this task.
    #[error("run `{run}` has no task `{task}`{hint}")]
    UnknownTask {
        /// The run.
        run: String,
        /// The task asked for.
        task: String,
        /// The tasks the step does have.
        hint: String,
    },
    /// A blob's bytes do not match its content address.
    #[error(transparent)]
    Corrupted(Box<CorruptedBlob>),
    /// An artifact could not be encoded or decoded.
    #[error("task `{task}` in run `{run}`: {source}")]
    Artifact {
        /// The run.
        run: String,
        /// The task.
        task: String,
        /// What went wrong.
        source: ArtifactError,
    },
    /// A record is not valid JSON of the expected shape.
    #[error("record `{key}` in {root} is unreadable: {message}")]
    BadRecord {
        /// The key.
        key: String,
        /// The datastore.
        root: String,
        /// The parse error.
        message: String,
    },
}

/// An artifact whose stored bytes do not match their content hash.
#[derive(Debug, thiserror::Error)]
#[error(
    "artifact `{artifact}` of task `{task}` in run `{run}` is corrupted: blob {blob} in {root} \
     does not match its content hash ({why}); the run's other artifacts are unaffected"
)]
pub struct CorruptedBlob {
    /// The run.
    pub run: String,
    /// The task (step/index).
    pub task: String,
    /// The artifact.
    pub artifact: String,
    /// The blob key.
    pub blob: String,
    /// The datastore.
    pub root: String,
    /// What is wrong.
    pub why: String,
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
    /// The bytes, hex-encoded, when at most [`INLINE_LIMIT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
}

/// `task.json`: written last, so its presence means the task finished.
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

/// The runs of one flow in one datastore.
#[derive(Debug, Clone)]
pub struct RunStore {
    store: Arc<dyn ObjectStore>,
    layout: Layout,
    /// Blobs known to exist, so a hot loop does not ask the store again.
    known_blobs: Arc<Mutex<HashSet<String>>>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Milliseconds since the Unix epoch, as records store times.
pub fn timestamp_ms() -> u64 {
    now_ms()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl RunStore {
    /// The runs of flow `flow` in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, flow: &str) -> Self {
        RunStore {
            store,
            layout: Layout::new(flow),
            known_blobs: Arc::default(),
        }
    }

    /// The underlying store.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The key layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The datastore's root, for messages.
    pub fn root(&self) -> String {
        self.store.root()
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DatastoreError> {
        match self.store.get(key).await? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| DatastoreError::BadRecord {
                        key: key.to_string(),
                        root: self.root(),
                        message: e.to_string(),
                    })
            }
        }
    }

    fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
        serde_json::to_vec_pretty(value).expect("records serialize to JSON")
    }

    /// Claims a new run id by writing its record; fails if the id is taken.
    pub async fn create_run(&self, record: &RunRecord) -> Result<(), DatastoreError> {
        let key = self.layout.run_record(&record.run_id);
        if self
            .store
            .put_if_absent(&key, Self::to_json(record))
            .await?
        {
            Ok(())
        } else {
            Err(DatastoreError::RunExists {
                flow: self.layout.flow().to_string(),
                run: record.run_id.to_string(),
                root: self.root(),
            })
        }
    }

    /// A new run record (status running, started now).
    pub fn new_run_record(&self, run_id: RunId, params: Value, scheduler: &str) -> RunRecord {
        RunRecord {
            flow: self.layout.flow().to_string(),
            run_id,
            status: RunStatus::Running,
            params,
            origin_run_id: None,
            resume_step: None,
            started_at_ms: now_ms(),
            finished_at_ms: None,
            error: None,
            scheduler: scheduler.to_string(),
            graph: None,
        }
    }

    /// Rewrites a run's record (status, end time).
    pub async fn update_run(&self, record: &RunRecord) -> Result<(), DatastoreError> {
        let key = self.layout.run_record(&record.run_id);
        self.store.put(&key, Self::to_json(record)).await?;
        Ok(())
    }

    /// The ids of every run, sorted (ids start with their UTC start time).
    pub async fn run_ids(&self) -> Result<Vec<RunId>, DatastoreError> {
        let names = self.store.list(&self.layout.runs_prefix()).await?;
        Ok(names
            .into_iter()
            .filter_map(|n| RunId::new(n).ok())
            .collect())
    }

    /// A run's record; an unknown id is an error that lists close ids.
    pub async fn run(&self, run_id: &RunId) -> Result<RunRecord, DatastoreError> {
        match self.get_json(&self.layout.run_record(run_id)).await? {
            Some(r) => Ok(r),
            None => {
                let ids = self.run_ids().await.unwrap_or_default();
                let names: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                let hint =
                    match flow_graph::closest(run_id.as_str(), names.iter().map(String::as_str)) {
                        Some(near) => format!("; did you mean `{near}`?"),
                        None if names.is_empty() => "; this flow has no runs there yet".to_string(),
                        None => format!(
                            "; the latest is `{}` (`runs` lists them all)",
                            names[names.len() - 1]
                        ),
                    };
                Err(DatastoreError::UnknownRun {
                    flow: self.layout.flow().to_string(),
                    run: run_id.to_string(),
                    root: self.root(),
                    hint,
                })
            }
        }
    }

    /// Every run's record, newest first.
    pub async fn runs(&self) -> Result<Vec<RunRecord>, DatastoreError> {
        let mut runs = Vec::new();
        for id in self.run_ids().await? {
            if let Some(r) = self
                .get_json::<RunRecord>(&self.layout.run_record(&id))
                .await?
            {
                runs.push(r);
            }
        }
        runs.sort_by(|a, b| {
            b.started_at_ms
                .cmp(&a.started_at_ms)
                .then_with(|| b.run_id.cmp(&a.run_id))
        });
        Ok(runs)
    }

    /// The newest run.
    pub async fn latest_run(&self) -> Result<RunRecord, DatastoreError> {
        self.runs()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| DatastoreError::NoRuns {
                flow: self.layout.flow().to_string(),
                root: self.root(),
            })
    }

    /// Encodes a state's fields and writes the blobs that are not stored yet.
    pub async fn save_state<F: Serialize>(
        &self,
        run: &RunId,
        task: &TaskId,
        state: &F,
    ) -> Result<BTreeMap<String, ArtifactRef>, DatastoreError> {
        let fields = encode_fields(state).map_err(|source| DatastoreError::Artifact {
            run: run.to_string(),
            task: task.to_string(),
            source,
        })?;
        let mut refs = BTreeMap::new();
        for (name, bytes) in fields {
            let hash = content_hash(&bytes);
            let size = bytes.len() as u64;
            let inline = if bytes.len() <= INLINE_LIMIT {
                Some(hex(&bytes))
            } else {
                let known = self.known_blobs.lock().expect("blob cache").contains(&hash);
                if !known {
                    let key = self.layout.blob(&hash);
                    // put_if_absent: a blob with this name already has these bytes.
                    self.store.put_if_absent(&key, bytes).await?;
                    self.known_blobs
                        .lock()
                        .expect("blob cache")
                        .insert(hash.clone());
                }
                None
            };
            refs.insert(name, ArtifactRef { hash, size, inline });
        }
        Ok(refs)
    }

    /// Commits a finished task: its foreach items or switch decision, then its record.
    pub async fn commit_task(
        &self,
        run: &RunId,
        record: &TaskRecord,
    ) -> Result<(), DatastoreError> {
        if let Some(count) = record.foreach_count {
            let children: Vec<String> = (0..count)
                .map(|i| record.task.index.child(i).key())
                .collect();
            let key = self.layout.foreach_items(run, &record.task);
            self.store
                .put(&key, serde_json::to_vec(&children).expect("strings"))
                .await?;
        }
        if let Some(next) = &record.switch_next {
            let key = self.layout.switch_decision(run, &record.task);
            let body = serde_json::to_vec(&serde_json::json!({ "next": next })).expect("json");
            self.store.put(&key, body).await?;
        }
        let key = self.layout.task_record(run, &record.task);
        // Compact: a task record is written once per task, on the hot path of a large
        // foreach; `dump` is the way to read it.
        let body = serde_json::to_vec(record).expect("records serialize to JSON");
        self.store.put(&key, body).await?;
        Ok(())
    }

    /// A task's record, if the task finished.
    pub async fn task(
        &self,
        run: &RunId,
        task: &TaskId,
    ) -> Result<Option<TaskRecord>, DatastoreError> {
        self.get_json(&self.layout.task_record(run, task)).await
    }

    /// A task's record, or an error listing the step's tasks.
    pub async fn require_task(
        &self,
        run: &RunId,
        task: &TaskId,
    ) -> Result<TaskRecord, DatastoreError> {
        match self.task(run, task).await? {
            Some(r) => Ok(r),
            None => {
                let keys = self
                    .store
                    .list(&self.layout.step_prefix(run, &task.step))
                    .await
                    .unwrap_or_default();
                let hint = if keys.is_empty() {
                    format!("; step `{}` has no tasks in this run", task.step)
                } else {
                    let shown: Vec<&str> = keys.iter().take(10).map(String::as_str).collect();
                    format!(
                        "; step `{}` has task(s) {}{}",
                        task.step,
                        shown.join(", "),
                        if keys.len() > 10 { ", ..." } else { "" }
                    )
                };
                Err(DatastoreError::UnknownTask {
                    run: run.to_string(),
                    task: task.to_string(),
                    hint,
                })
            }
        }
    }

    /// The records of every finished task of a step in a run, in index order.
    pub async fn tasks(&self, run: &RunId, step: &str) -> Result<Vec<TaskRecord>, DatastoreError> {
        // A directory name is an index key, which is `0` both for the root and for item 0 of
        // a foreach: read the record in it, which names its task unambiguously.
        let prefix = self.layout.step_prefix(run, step);
        let keys = self.store.list(&prefix).await?;
        let mut records = Vec::new();
        for key in keys {
            let Ok(index) = IndexPath::parse(&key, key.split('.').count()) else {
                continue;
            };
            let record_key = self.layout.task_record(run, &TaskId::new(step, index));
            if let Some(r) = self.get_json::<TaskRecord>(&record_key).await? {
                records.push(r);
            }
        }
        records.sort_by(|a, b| a.task.index.cmp(&b.task.index));
        Ok(records)
    }

    /// The encoded bytes of one artifact, verified against its content hash.
    pub async fn artifact_bytes(
        &self,
        run: &RunId,
        record: &TaskRecord,
        name: &str,
    ) -> Result<Vec<u8>, DatastoreError> {
        let artifact = record
            .artifacts
            .get(name)
            .ok_or_else(|| DatastoreError::Artifact {
                run: run.to_string(),
                task: record.task.to_string(),
                source: ArtifactError::Field {
                    field: name.to_string(),
                    message: format!(
                        "no such artifact; the task has {}",
                        record
                            .artifacts
                            .keys()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
            })?;
        let blob = self.layout.blob(&artifact.hash);
        let corrupted = |why: String| {
            DatastoreError::Corrupted(Box::new(CorruptedBlob {
                run: run.to_string(),
                task: record.task.to_string(),
                artifact: name.to_string(),
                blob: blob.clone(),
                root: self.root(),
                why,
            }))
        };
        let bytes = match &artifact.inline {
            Some(h) => unhex(h).ok_or_else(|| corrupted("inline value is not hex".into()))?,
            None => self
                .store
                .get(&blob)
                .await?
                .ok_or_else(|| corrupted("the blob is missing".into()))?,
        };
        let actual = content_hash(&bytes);
        if actual != artifact.hash {
            return Err(corrupted(format!("its bytes hash to {actual}")));
        }
        Ok(bytes)
    }

    /// Rebuilds the state a task left, verifying every blob.
    pub async fn load_state<F: DeserializeOwned>(
        &self,
        run: &RunId,
        record: &TaskRecord,
    ) -> Result<F, DatastoreError> {
        let mut fields = Vec::with_capacity(record.artifacts.len());
        for name in record.artifacts.keys() {
            fields.push((name.clone(), self.artifact_bytes(run, record, name).await?));
        }
        decode_fields(&fields).map_err(|source| DatastoreError::Artifact {
            run: run.to_string(),
            task: record.task.to_string(),
            source,
        })
    }

    /// The state a task left, encoded as stored, for a join input that is decoded when read.
    /// Blobs already in `cache` are not read again, so inputs with equal fields share one
    /// buffer; every blob read is verified.
    pub async fn load_stored(
        &self,
        run: &RunId,
        record: &TaskRecord,
        cache: &mut BlobCache,
    ) -> Result<StoredState, DatastoreError> {
        let mut fields = Vec::with_capacity(record.artifacts.len());
        for (name, artifact) in &record.artifacts {
            let bytes = match cache.get(&artifact.hash) {
                Some(bytes) => bytes.clone(),
                None => {
                    let bytes: Arc<[u8]> = self.artifact_bytes(run, record, name).await?.into();
                    cache.insert(artifact.hash.clone(), bytes.clone());
                    bytes
                }
            };
            fields.push((name.clone(), bytes));
        }
        Ok(StoredState::new(fields))
    }

    /// Copies a finished task of `origin` into `run` (blobs are shared by content address).
    pub async fn clone_task(
        &self,
        origin: &RunId,
        run: &RunId,
        record: &TaskRecord,
    ) -> Result<TaskRecord, DatastoreError> {
        let mut clone = record.clone();
        clone.cloned_from = Some(record.cloned_from.clone().unwrap_or_else(|| origin.clone()));
        self.commit_task(run, &clone).await?;
        Ok(clone)
    }

    /// Stores the log of one attempt.
    pub async fn put_log(
        &self,
        run: &RunId,
        task: &TaskId,
        attempt: u32,
        text: Vec<u8>,
    ) -> Result<(), DatastoreError> {
        let key = self.layout.attempt_log(run, task, attempt);
        self.store.put(&key, text).await?;
        Ok(())
    }

    /// Appends to the log of one attempt (e.g. the output of the process that ran it).
    pub async fn append_log(
        &self,
        run: &RunId,
        task: &TaskId,
        attempt: u32,
        text: &[u8],
    ) -> Result<(), DatastoreError> {
        let key = self.layout.attempt_log(run, task, attempt);
        let mut log = self.store.get(&key).await?.unwrap_or_default();
        log.extend_from_slice(text);
        self.store.put(&key, log).await?;
        Ok(())
    }

    /// The logs of a task, one entry per attempt that left one.
    pub async fn logs(
        &self,
        run: &RunId,
        task: &TaskId,
    ) -> Result<Vec<(u32, String)>, DatastoreError> {
        let names = self.store.list(&self.layout.task_prefix(run, task)).await?;
        let mut logs = Vec::new();
        for name in names {
            let Some(n) = name
                .strip_prefix("attempt-")
                .and_then(|n| n.strip_suffix(".log"))
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(bytes) = self
                .store
                .get(&self.layout.attempt_log(run, task, n))
                .await?
            {
                logs.push((n, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
        logs.sort_by_key(|(n, _)| *n);
        Ok(logs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes = vec![0u8, 1, 127, 128, 255];
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }
}
