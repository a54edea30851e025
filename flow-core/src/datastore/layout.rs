//! The key layout of a datastore. The Step Functions compiler builds S3 keys from the same
//! functions (for foreach item lists and switch decisions), so the layout is defined once.
//!
//! ```text
//! <flow>/runs/<run>/run.json                                  run record (params, status, origin)
//! <flow>/runs/<run>/steps/<step>/tasks.seg                    the step's task records, one appended frame
//!                                                             each: the commit point (stores that append)
//! <flow>/runs/<run>/steps/<step>/<index>/task.json            task record, written last: the commit point
//!                                                             (stores that cannot append, e.g. S3, and
//!                                                             the `step` command's one process per task)
//! <flow>/runs/<run>/steps/<step>/<index>/foreach.json         JSON array of child index keys (foreach
//!                                                             steps, beside task.json only)
//! <flow>/runs/<run>/steps/<step>/<index>/switch.json          {"next": "<step>"} (switch steps, beside
//!                                                             task.json only)
//! <flow>/runs/<run>/steps/<step>/<index>/attempt-<n>.log      the attempt's log
//! <flow>/runs/<run>/steps/<step>/<index>/cards.json           the cards the step added (if any)
//! <flow>/blobs/<first 2 hex>/<blake3 hex>                     artifact bytes, content-addressed
//! ```

use crate::ids::{RunId, TaskId};

/// Key builder for one flow's part of a datastore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    flow: String,
}

impl Layout {
    /// The layout for the flow named `flow` (its Rust type name).
    pub fn new(flow: impl Into<String>) -> Self {
        Layout { flow: flow.into() }
    }

    /// The flow's name.
    pub fn flow(&self) -> &str {
        &self.flow
    }

    /// The prefix under which all runs are, ending with `/`.
    pub fn runs_prefix(&self) -> String {
        format!("{}/runs/", self.flow)
    }

    /// The prefix of one run, ending with `/`.
    pub fn run_prefix(&self, run: &RunId) -> String {
        format!("{}/runs/{run}/", self.flow)
    }

    /// The run record.
    pub fn run_record(&self, run: &RunId) -> String {
        format!("{}run.json", self.run_prefix(run))
    }

    /// The prefix of a step's tasks in a run, ending with `/`.
    pub fn step_prefix(&self, run: &RunId, step: &str) -> String {
        format!("{}steps/{step}/", self.run_prefix(run))
    }

    /// The segment of a step's task records (`segment.rs`), on stores that can append.
    pub fn step_segment(&self, run: &RunId, step: &str) -> String {
        format!("{}tasks.seg", self.step_prefix(run, step))
    }

    /// The prefix of one task, ending with `/`.
    pub fn task_prefix(&self, run: &RunId, task: &TaskId) -> String {
        format!("{}{}/", self.step_prefix(run, &task.step), task.index.key())
    }

    /// The task record: written last, so its presence means the task finished.
    pub fn task_record(&self, run: &RunId, task: &TaskId) -> String {
        format!("{}task.json", self.task_prefix(run, task))
    }

    /// The JSON array of child index keys a foreach task fans out over.
    pub fn foreach_items(&self, run: &RunId, task: &TaskId) -> String {
        format!("{}foreach.json", self.task_prefix(run, task))
    }

    /// The decision of a switch task: `{"next": "<step>"}`.
    pub fn switch_decision(&self, run: &RunId, task: &TaskId) -> String {
        format!("{}switch.json", self.task_prefix(run, task))
    }

    /// The log of one attempt of a task.
    pub fn attempt_log(&self, run: &RunId, task: &TaskId, attempt: u32) -> String {
        format!("{}attempt-{attempt}.log", self.task_prefix(run, task))
    }

    /// The cards a task added: a JSON array, present only when it added some.
    pub fn task_cards(&self, run: &RunId, task: &TaskId) -> String {
        format!("{}cards.json", self.task_prefix(run, task))
    }

    /// An artifact blob by content hash.
    pub fn blob(&self, hash: &str) -> String {
        format!("{}/blobs/{}/{hash}", self.flow, &hash[..2.min(hash.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::IndexPath;

    #[test]
    fn keys() {
        let l = Layout::new("MovieFlow");
        let run = RunId::new("r1").unwrap();
        let task = TaskId::new("measure", IndexPath(vec![2, 5]));
        assert_eq!(
            l.task_record(&run, &task),
            "MovieFlow/runs/r1/steps/measure/2.5/task.json"
        );
        assert_eq!(
            l.foreach_items(&run, &TaskId::new("start", IndexPath::root())),
            "MovieFlow/runs/r1/steps/start/0/foreach.json"
        );
        assert_eq!(l.blob("abcdef"), "MovieFlow/blobs/ab/abcdef");
        assert_eq!(
            l.step_segment(&run, "measure"),
            "MovieFlow/runs/r1/steps/measure/tasks.seg"
        );
        for key in [
            l.task_record(&run, &task),
            l.step_segment(&run, "measure"),
            l.blob("abcdef"),
            l.run_record(&run),
        ] {
            super::super::check_key(&key).unwrap();
        }
    }
}
