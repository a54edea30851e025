//! The runs of one flow on any [`ObjectStore`]: run records (claimed, listed, finished) and
//! task records (committed, listed, cloned by a resume). A task's state is in `blobs.rs`
//! and its logs in `logs.rs`, as more `impl RunStore` blocks.
//!
//! Write order makes a task record the commit point: blobs first, then `foreach.json` /
//! `switch.json`, then `task.json`. A reader that finds `task.json` finds everything it
//! names; a process killed before that leaves only unreferenced blobs.

use super::error::error_chain;
use super::records::timestamp_ms;
use super::{DatastoreError, Layout, ObjectStore, RunRecord, RunStatus, TaskRecord};
use crate::ids::{IndexPath, RunId, TaskId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The runs of one flow in one datastore.
#[derive(Debug, Clone)]
pub struct RunStore {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) layout: Layout,
    /// Blobs known to exist, so a hot loop does not ask the store again.
    pub(super) known_blobs: Arc<Mutex<HashSet<String>>>,
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
