//! The cards a task's final attempt added, `cards.json` beside its record: written before
//! the record (so a reader that finds the task finds its cards), only when there are some,
//! and copied with the task when a resume clones it.

use super::{DatastoreError, RunStore};
use crate::card::Card;
use crate::ids::{RunId, TaskId};

impl RunStore {
    /// Stores a task's cards, before its record is committed; writes nothing when there
    /// are none.
    pub async fn put_cards(
        &self,
        run: &RunId,
        task: &TaskId,
        cards: &[Card],
    ) -> Result<(), DatastoreError> {
        if cards.is_empty() {
            return Ok(());
        }
        let key = self.layout.task_cards(run, task);
        let body = serde_json::to_vec(cards).expect("cards serialize to JSON");
        self.store.put(&key, body).await?;
        Ok(())
    }

    /// A task's cards, in the order the step added them (none when it added none).
    pub async fn cards(&self, run: &RunId, task: &TaskId) -> Result<Vec<Card>, DatastoreError> {
        Ok(self
            .get_json(&self.layout.task_cards(run, task))
            .await?
            .unwrap_or_default())
    }

    /// Copies a task's cards from run `origin` to run `run`, as they are stored.
    pub(super) async fn clone_cards(
        &self,
        origin: &RunId,
        run: &RunId,
        task: &TaskId,
    ) -> Result<(), DatastoreError> {
        if let Some(bytes) = self
            .store
            .get(&self.layout.task_cards(origin, task))
            .await?
        {
            self.store
                .put(&self.layout.task_cards(run, task), bytes)
                .await?;
        }
        Ok(())
    }
}
