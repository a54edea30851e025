//! What can go wrong reading or writing runs, with what the user needs to find the data:
//! which flow, run, task, key and datastore. An underlying failure (I/O, a record that does
//! not parse, an artifact that does not decode) is kept as the error's source, not copied
//! into its message, so a printer of the chain (`{:#}` with anyhow) shows it once.

use super::StoreError;
use crate::artifacts::ArtifactError;

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
    #[error("task `{task}` in run `{run}`")]
    Artifact {
        /// The run.
        run: String,
        /// The task.
        task: String,
        /// Which artifact, and why.
        source: ArtifactError,
    },
    /// A run's params no longer fit the flow's params type (it changed since the run).
    #[error("the params of run `{run}` do not fit the flow's params type")]
    Params {
        /// The run.
        run: String,
        /// Why they do not deserialize.
        source: serde_json::Error,
    },
    /// A record is not valid JSON of the expected shape.
    #[error("record `{key}` in {root} is unreadable")]
    BadRecord {
        /// The key.
        key: String,
        /// The datastore.
        root: String,
        /// Why it does not parse (the error's source).
        #[source]
        message: serde_json::Error,
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

/// An error and its causes on one line, `outer: cause: root cause`, for a record that keeps
/// only text (a run's `error`).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_shows_each_cause_once() {
        let json = serde_json::from_slice::<u32>(b"{").unwrap_err();
        let cause = json.to_string();
        let error = DatastoreError::BadRecord {
            key: "F/runs/r/run.json".into(),
            root: "/data".into(),
            message: json,
        };
        let chain = error_chain(&error);
        assert_eq!(
            chain,
            format!("record `F/runs/r/run.json` in /data is unreadable: {cause}")
        );
        let artifact = DatastoreError::Artifact {
            run: "r".into(),
            task: "start".into(),
            source: ArtifactError::NotAStruct("found a bool".into()),
        };
        let chain = error_chain(&artifact);
        assert!(chain.starts_with("task `start` in run `r`: "), "{chain}");
        assert_eq!(chain.matches("found a bool").count(), 1, "{chain}");
    }
}
