//! The runs of one flow on any [`ObjectStore`]: run records (claimed, listed, finished) and
//! task records (committed, listed, cloned by a resume). A task's state is in `blobs.rs`
//! and its logs in `logs.rs`, as more `impl RunStore` blocks.
//!
//! Write order makes a task record the commit point: blobs first, then the record. On a
//! store that can append (the local directory) the record is one frame appended to its
//! step's segment, `tasks.seg` (`segment.rs`), so a 100,000-item foreach leaves one file, not
//! 100,000 directories, and a group commit syncs a handful of files. Elsewhere (S3, and a
//! run store set to [`RunStore::one_file_per_task`]) the record is `task.json` in the task's
//! directory, after `foreach.json` / `switch.json`, the objects the state machine reads. A
//! reader that finds a record finds everything it names; a process killed before that
//! leaves only unreferenced blobs (and, in a segment, a torn frame, read as not committed).
//! Readers read both layouts, so a datastore written before segments is still read.

use super::error::error_chain;
use super::records::timestamp_ms;
use super::segment::{encode_frame, read_frames, read_segment, SEGMENT_HEADER};
use super::{DatastoreError, Layout, ObjectStore, RunRecord, RunStatus, TaskRecord};
use crate::ids::{IndexPath, RunId, TaskId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The runs of one flow in one datastore.
#[derive(Debug, Clone)]
pub struct RunStore {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) layout: Layout,
    /// Blobs known to exist, so a hot loop does not ask the store again.
    pub(super) known_blobs: Arc<Mutex<HashSet<String>>>,
    /// Commit `task.json` per task even where the store can append.
    one_file_per_task: bool,
    /// The segments this store made sure exist (with their header), by key.
    started_segments: Arc<Mutex<HashSet<String>>>,
    /// The segments read most recently, by key: records are appended and each task is
    /// committed once, so what was read stays true, and a later read starts where this one
    /// stopped.
    segments: Arc<Mutex<SegmentCache>>,
}

/// How many segments (one per step of a run) a run store keeps what it read of. A segment
/// read after it was dropped is read again from its start, so a client that reads many runs
/// holds the records of a few dozen steps at most, and a scheduler, which reads the steps
/// of its own run, keeps them all but in the largest flows.
const CACHED_SEGMENTS: usize = 64;

/// What was read of one segment.
#[derive(Debug, Default)]
struct ReadSegment {
    /// Where the next read starts: after the header and the whole frames read so far.
    offset: u64,
    /// The records read, by index.
    records: HashMap<IndexPath, TaskRecord>,
    /// When it was last used, on [`SegmentCache`]'s clock.
    used: u64,
}

/// The segments read, at most [`CACHED_SEGMENTS`] of them: reading one more drops the one
/// used least recently.
#[derive(Debug, Default)]
struct SegmentCache {
    segments: HashMap<String, ReadSegment>,
    /// Counts uses, to tell which segment was used least recently.
    clock: u64,
}

impl SegmentCache {
    /// What was read of segment `key`, marked as used now.
    fn get(&mut self, key: &str) -> Option<&ReadSegment> {
        self.clock += 1;
        let segment = self.segments.get_mut(key)?;
        segment.used = self.clock;
        Some(segment)
    }

    /// Where the next read of `key` starts (its start when it is not cached).
    fn offset(&self, key: &str) -> u64 {
        self.segments.get(key).map_or(0, |s| s.offset)
    }

    /// What was read of segment `key`, marked as used now; an empty read when it is not
    /// cached, which drops the least recently used segment when the cache is full.
    fn entry(&mut self, key: &str) -> &mut ReadSegment {
        self.clock += 1;
        if !self.segments.contains_key(key) && self.segments.len() >= CACHED_SEGMENTS {
            let oldest = self
                .segments
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.segments.remove(&oldest);
            }
        }
        let segment = self.segments.entry(key.to_string()).or_default();
        segment.used = self.clock;
        segment
    }
}

/// What [`RunStore::claim_run`] does when the record's run id is already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunIdTaken {
    /// Generate another id and try again: a new run, whose id only has to be unique.
    TryAnother,
    /// Keep the record already there: the id was given (a Step Functions execution's), and
    /// a job that runs again finds the record its first attempt wrote.
    KeepExisting,
}

impl RunStore {
    /// The runs of flow `flow` in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, flow: &str) -> Self {
        RunStore {
            store,
            layout: Layout::new(flow),
            known_blobs: Arc::default(),
            one_file_per_task: false,
            started_segments: Arc::default(),
            segments: Arc::default(),
        }
    }

    /// The same store committing each task as its own `task.json` (with `foreach.json` /
    /// `switch.json`), even where the store can append: for processes that each commit one
    /// task of a run (the `step` command), which may write one step's tasks at once.
    pub fn one_file_per_task(mut self) -> Self {
        self.one_file_per_task = true;
        self
    }

    /// Whether task records go to step segments (the store appends, and this store was
    /// not set to one file per task).
    fn writes_segments(&self) -> bool {
        !self.one_file_per_task && self.store.can_append()
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

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, DatastoreError> {
        match self.store.get(key).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|message| {
                DatastoreError::BadRecord {
                    key: key.to_string(),
                    root: self.root(),
                    message,
                }
            }),
        }
    }

    fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
        serde_json::to_vec_pretty(value).expect("records serialize to JSON")
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
            started_at_ms: timestamp_ms(),
            finished_at_ms: None,
            error: None,
            scheduler: scheduler.to_string(),
            graph: None,
            trigger: None,
            event: None,
            tags: Default::default(),
        }
    }

    /// Starts a run by writing its first record, which claims its id: the write succeeds
    /// only where no record exists, so two runs never share an id. Returns the record now
    /// stored under the id (`if_taken` decides which, when the id was taken).
    pub async fn claim_run(
        &self,
        mut record: RunRecord,
        if_taken: RunIdTaken,
    ) -> Result<RunRecord, DatastoreError> {
        loop {
            let key = self.layout.run_record(&record.run_id);
            if self
                .store
                .put_if_absent(&key, Self::to_json(&record))
                .await?
            {
                return Ok(record);
            }
            match if_taken {
                RunIdTaken::TryAnother => record.run_id = RunId::generate(),
                RunIdTaken::KeepExisting => return self.run(&record.run_id).await,
            }
        }
    }

    /// Rewrites a run's record (status, end time).
    pub async fn update_run(&self, record: &RunRecord) -> Result<(), DatastoreError> {
        let key = self.layout.run_record(&record.run_id);
        self.store.put(&key, Self::to_json(record)).await?;
        Ok(())
    }

    /// Records that a run ended: succeeded without `error`, else failed with it (and its
    /// causes) as the record's error. Then makes every write of the run durable, so a
    /// finished record never outlives the tasks it reports on.
    pub async fn finish_run(
        &self,
        record: &mut RunRecord,
        error: Option<&(dyn std::error::Error + 'static)>,
    ) -> Result<(), DatastoreError> {
        match error {
            None => self.end_run(record, RunStatus::Succeeded, None).await,
            Some(error) => {
                let why = error_chain(error);
                self.end_run(record, RunStatus::Failed, Some(why)).await
            }
        }
    }

    /// Records that a run ended with `status` (and `error`, when given), then makes every
    /// write of the run durable, like [`RunStore::finish_run`]; also for a run that timed out.
    pub async fn end_run(
        &self,
        record: &mut RunRecord,
        status: RunStatus,
        error: Option<String>,
    ) -> Result<(), DatastoreError> {
        record.finished_at_ms = Some(timestamp_ms());
        record.status = status;
        if error.is_some() {
            record.error = error;
        }
        self.update_run(record).await?;
        self.store.flush().await?;
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

    /// Commits a finished task: on a store that appends, one frame in its step's segment;
    /// elsewhere its foreach items or switch decision, then its record.
    pub async fn commit_task(
        &self,
        run: &RunId,
        record: &TaskRecord,
    ) -> Result<(), DatastoreError> {
        if self.writes_segments() {
            let key = self.layout.step_segment(run, &record.task.step);
            let started = self
                .started_segments
                .lock()
                .expect("not poisoned")
                .contains(&key);
            if !started {
                // Created with its header whole before any frame is appended; whoever
                // creates it first (another task of the step, another process) wins.
                self.store
                    .put_if_absent(&key, SEGMENT_HEADER.to_vec())
                    .await?;
                self.started_segments
                    .lock()
                    .expect("not poisoned")
                    .insert(key.clone());
            }
            self.store.append(&key, encode_frame(record)).await?;
            return Ok(());
        }
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

    /// Reads what was appended to a step's segment since the last read, then answers `read`
    /// from the records read so far (`None` when the store cannot append, so holds no
    /// segments). `read` sees them under the lock that added the new ones, so a segment
    /// dropped from the cache meanwhile cannot lose them.
    async fn catch_up<R>(
        &self,
        run: &RunId,
        step: &str,
        read: impl FnOnce(&ReadSegment) -> R,
    ) -> Result<Option<R>, DatastoreError> {
        if !self.store.can_append() {
            return Ok(None);
        }
        let key = self.layout.step_segment(run, step);
        let mut offset = self.segments.lock().expect("not poisoned").offset(&key);
        loop {
            let Some(bytes) = self.store.get_from(&key, offset).await? else {
                let mut segments = self.segments.lock().expect("not poisoned");
                return Ok(Some(match segments.get(&key) {
                    Some(cached) => read(cached),
                    None => read(&ReadSegment::default()),
                }));
            };
            let new = if offset == 0 {
                read_segment(&key, &self.root(), &bytes)?
            } else {
                read_frames(&key, &self.root(), &bytes)?
            };
            let mut segments = self.segments.lock().expect("not poisoned");
            let cached_offset = segments.offset(&key);
            if cached_offset < offset {
                // Dropped from the cache meanwhile (and maybe read again from its start, but
                // not as far): what was read starts past what is cached. Read again from
                // where the cache stops.
                offset = cached_offset;
                continue;
            }
            let cached = segments.entry(&key);
            // Another reader may have caught up meanwhile: its read covers this one.
            if cached.offset == offset {
                cached.offset += new.consumed as u64;
                for record in new.records {
                    cached
                        .records
                        .entry(record.task.index.clone())
                        .or_insert(record);
                }
            }
            return Ok(Some(read(cached)));
        }
    }

    /// A task's record from its step's segment, reading what was appended since the last
    /// read only when it is not among the records read already.
    async fn segment_task(
        &self,
        run: &RunId,
        task: &TaskId,
    ) -> Result<Option<TaskRecord>, DatastoreError> {
        if !self.store.can_append() {
            return Ok(None);
        }
        let key = self.layout.step_segment(run, &task.step);
        let known = self
            .segments
            .lock()
            .expect("not poisoned")
            .get(&key)
            .and_then(|s| s.records.get(&task.index).cloned());
        if known.is_some() {
            return Ok(known);
        }
        let read = |s: &ReadSegment| s.records.get(&task.index).cloned();
        Ok(self.catch_up(run, &task.step, read).await?.flatten())
    }

    /// The records in a step's segment only (none on a store that cannot append), in no
    /// particular order; [`RunStore::tasks`] adds those with a `task.json` of their own.
    pub async fn segment_tasks(
        &self,
        run: &RunId,
        step: &str,
    ) -> Result<Vec<TaskRecord>, DatastoreError> {
        let read = |s: &ReadSegment| s.records.values().cloned().collect();
        Ok(self.catch_up(run, step, read).await?.unwrap_or_default())
    }

    /// A task's record, if the task finished: from its step's segment, else its `task.json`.
    pub async fn task(
        &self,
        run: &RunId,
        task: &TaskId,
    ) -> Result<Option<TaskRecord>, DatastoreError> {
        if let Some(record) = self.segment_task(run, task).await? {
            return Ok(Some(record));
        }
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
                // The tasks in the segment and the task directories (which hold a
                // `task.json`, or the logs and cards of a task in the segment).
                let mut keys: BTreeSet<String> = self
                    .segment_tasks(run, &task.step)
                    .await
                    .unwrap_or_default()
                    .iter()
                    .map(|r| r.task.index.key())
                    .collect();
                keys.extend(
                    self.store
                        .list(&self.layout.step_prefix(run, &task.step))
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|k| IndexPath::parse(k, k.split('.').count()).is_ok()),
                );
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

    /// The records of every finished task of a step in a run, in index order: those in its
    /// segment and those in a `task.json` of their own.
    pub async fn tasks(&self, run: &RunId, step: &str) -> Result<Vec<TaskRecord>, DatastoreError> {
        let mut records = self.segment_tasks(run, step).await?;
        let in_segment: HashSet<String> = records.iter().map(|r| r.task.index.key()).collect();
        // A directory name is an index key, which is `0` both for the root and for item 0 of
        // a foreach: read the record in it, which names its task unambiguously.
        let prefix = self.layout.step_prefix(run, step);
        let keys = self.store.list(&prefix).await?;
        let ids: Vec<TaskId> = keys
            .iter()
            .filter(|key| !in_segment.contains(*key))
            .filter_map(|key| IndexPath::parse(key, key.split('.').count()).ok())
            .map(|index| TaskId::new(step, index))
            .collect();
        records.extend(self.task_files(run, ids).await?);
        records.sort_by(|a, b| a.task.index.cmp(&b.task.index));
        Ok(records)
    }

    /// The `task.json` records of `ids` that have one, several read at once (a remote
    /// store answers each read in a round trip).
    async fn task_files(
        &self,
        run: &RunId,
        ids: Vec<TaskId>,
    ) -> Result<Vec<TaskRecord>, DatastoreError> {
        const AT_ONCE: usize = 32;
        let mut records = Vec::new();
        if ids.len() <= 1 || tokio::runtime::Handle::try_current().is_err() {
            for id in ids {
                let key = self.layout.task_record(run, &id);
                records.extend(self.get_json::<TaskRecord>(&key).await?);
            }
            return Ok(records);
        }
        let mut ids = ids.into_iter();
        let mut reads = tokio::task::JoinSet::new();
        loop {
            while reads.len() < AT_ONCE {
                let Some(id) = ids.next() else { break };
                let this = self.clone();
                let key = self.layout.task_record(run, &id);
                reads.spawn(async move { this.get_json::<TaskRecord>(&key).await });
            }
            let Some(read) = reads.join_next().await else {
                return Ok(records);
            };
            match read {
                Ok(record) => records.extend(record?),
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }

    /// Copies a finished task of `origin` into `run`, its cards included (blobs are shared by
    /// content address).
    pub async fn clone_task(
        &self,
        origin: &RunId,
        run: &RunId,
        record: &TaskRecord,
    ) -> Result<TaskRecord, DatastoreError> {
        let mut clone = record.clone();
        clone.cloned_from = Some(record.cloned_from.clone().unwrap_or_else(|| origin.clone()));
        // Its cards before its record, the commit point.
        self.clone_cards(origin, run, &record.task).await?;
        self.commit_task(run, &clone).await?;
        Ok(clone)
    }
}

#[cfg(test)]
mod tests;
