//! The log of each attempt of a task, `attempt-<n>.log` beside its record: what the step
//! traced, and on Step Functions what the job's process printed.

use super::{DatastoreError, RunStore};
use crate::ids::{RunId, TaskId};

impl RunStore {
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
