//! Reading runs back, typed: the same API over a local directory or S3, for programs,
//! notebooks-in-Rust and the flow's own tests.
//!
//! ```no_run
//! # async fn demo<F: flow_core::Flow>(store: std::sync::Arc<dyn flow_core::datastore::ObjectStore>) -> Result<(), flow_core::datastore::DatastoreError> {
//! use flow_core::client::Client;
//! let client = Client::<F>::new(store);
//! let run = client.latest().await?;
//! let end: F = run.end_state().await?;
//! let lengths: Vec<usize> = run.task("join", &[]).await?.artifact("lengths").await?;
//! # Ok(()) }
//! ```

use crate::artifacts::decode_value;
use crate::datastore::{
    DatastoreError, ObjectStore, RunRecord, RunStatus, RunStore, TaskRecord, TaskStatus,
};
use crate::flow::{Flow, StepError};
use crate::ids::{IndexPath, RunId, TaskId};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;

/// The runs of flow `F` in one datastore.
pub struct Client<F> {
    store: RunStore,
    _flow: PhantomData<fn() -> F>,
}

impl<F: Flow> Client<F> {
    /// A client over `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Client {
            store: RunStore::new(store, &F::graph().name),
            _flow: PhantomData,
        }
    }

    /// A client over `store` (the same as [`Client::new`]).
    pub fn open(store: Arc<dyn ObjectStore>) -> Self {
        Self::new(store)
    }

    /// A client over a run store.
    pub fn from_run_store(store: RunStore) -> Self {
        Client {
            store,
            _flow: PhantomData,
        }
    }

    /// The runs, newest first: `client.runs().await?` lists every one;
    /// `client.runs().tagged("team", "recs").await?` only those with that tag (see
    /// [`RunQuery`]).
    pub fn runs(&self) -> RunQuery<F> {
        RunQuery {
            store: self.store.clone(),
            tags: Vec::new(),
            _flow: PhantomData,
        }
    }

    /// The newest run.
    pub async fn latest(&self) -> Result<Run<F>, DatastoreError> {
        Ok(Run::new(self.store.clone(), self.store.latest_run().await?))
    }

    /// The run with this id.
    pub async fn run(&self, id: &RunId) -> Result<Run<F>, DatastoreError> {
        Ok(Run::new(self.store.clone(), self.store.run(id).await?))
    }
}

/// A listing of runs, narrowed by tags; `.await` (or [`RunQuery::list`]) reads it.
pub struct RunQuery<F> {
    store: RunStore,
    tags: Vec<(String, String)>,
    _flow: PhantomData<fn() -> F>,
}

impl<F: Flow> RunQuery<F> {
    /// Only runs tagged `key=value` (each call adds a tag every run listed must have).
    pub fn tagged(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// Only runs with every one of these tags.
    pub fn tagged_all(mut self, tags: &[(String, String)]) -> Self {
        self.tags.extend(tags.iter().cloned());
        self
    }

    /// The runs that match, newest first.
    pub async fn list(self) -> Result<Vec<Run<F>>, DatastoreError> {
        Ok(self
            .store
            .runs()
            .await?
            .into_iter()
            .filter(|record| crate::tags::matches_all(&record.tags, &self.tags))
            .map(|record| Run::new(self.store.clone(), record))
            .collect())
    }
}

impl<F: Flow> std::future::IntoFuture for RunQuery<F> {
    type Output = Result<Vec<Run<F>>, DatastoreError>;
    type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.list())
    }
}

/// One run of flow `F`.
pub struct Run<F> {
    store: RunStore,
    record: RunRecord,
    _flow: PhantomData<fn() -> F>,
}

impl<F: Flow> Run<F> {
    fn new(store: RunStore, record: RunRecord) -> Self {
        Run {
            store,
            record,
            _flow: PhantomData,
        }
    }

    /// The run id.
    pub fn id(&self) -> &RunId {
        &self.record.run_id
    }

    /// The run record (status, params, times, origin of a resume).
    pub fn record(&self) -> &RunRecord {
        &self.record
    }

    /// Status as last recorded.
    pub fn status(&self) -> RunStatus {
        self.record.status
    }

    /// The run's tags, system tags included.
    pub fn tags(&self) -> &crate::tags::Tags {
        &self.record.tags
    }

    /// The params the run was started with.
    pub fn params(&self) -> Result<F::Params, DatastoreError> {
        serde_json::from_value(self.record.params.clone()).map_err(|source| {
            DatastoreError::Params {
                run: self.record.run_id.to_string(),
                source,
            }
        })
    }

    /// The task of `step` at foreach index path `index` (empty outside any foreach).
    pub async fn task(&self, step: &str, index: &[usize]) -> Result<Task<F>, DatastoreError> {
        let id = TaskId::new(step, IndexPath(index.to_vec()));
        let record = self.store.require_task(&self.record.run_id, &id).await?;
        Ok(self.wrap(record))
    }

    /// The finished tasks of `step`, in index order.
    pub async fn tasks(&self, step: &str) -> Result<Vec<Task<F>>, DatastoreError> {
        Ok(self
            .store
            .tasks(&self.record.run_id, step)
            .await?
            .into_iter()
            .map(|r| self.wrap(r))
            .collect())
    }

    /// The state the `end` step left: the flow's result.
    pub async fn end_state(&self) -> Result<F, DatastoreError> {
        self.task(flow_graph::END, &[]).await?.state().await
    }

    fn wrap(&self, record: TaskRecord) -> Task<F> {
        Task {
            store: self.store.clone(),
            run_id: self.record.run_id.clone(),
            record,
            _flow: PhantomData,
        }
    }
}

/// One finished task of a run.
pub struct Task<F> {
    store: RunStore,
    run_id: RunId,
    record: TaskRecord,
    _flow: PhantomData<fn() -> F>,
}

impl<F: Flow> Task<F> {
    /// The task id.
    pub fn id(&self) -> &TaskId {
        &self.record.task
    }

    /// The task record (status, attempts, artifact hashes).
    pub fn record(&self) -> &TaskRecord {
        &self.record
    }

    /// Whether the task was cloned from an earlier run by a resume.
    pub fn was_cloned(&self) -> bool {
        self.record.cloned_from.is_some()
    }

    /// The error `catch` recorded, if the step failed and was caught.
    pub fn caught_error(&self) -> Option<&StepError> {
        (self.record.status == TaskStatus::Caught)
            .then_some(self.record.error.as_ref())
            .flatten()
    }

    /// The whole state the task left.
    pub async fn state(&self) -> Result<F, DatastoreError> {
        self.store.load_state(&self.run_id, &self.record).await
    }

    /// One artifact, typed.
    pub async fn artifact<T: DeserializeOwned>(&self, name: &str) -> Result<T, DatastoreError> {
        let bytes = self
            .store
            .artifact_bytes(&self.run_id, &self.record, name)
            .await?;
        decode_value(&bytes).map_err(|source| DatastoreError::Artifact {
            run: self.run_id.to_string(),
            task: self.record.task.to_string(),
            source,
        })
    }

    /// The logs of each attempt.
    pub async fn logs(&self) -> Result<Vec<(u32, String)>, DatastoreError> {
        self.store.logs(&self.run_id, &self.record.task).await
    }
}
