//! Where runs live: an object store (a local directory, or S3) and the key layout on it.
//!
//! Both backends implement [`ObjectStore`]; everything above it is written once, in terms of
//! keys from [`Layout`], so a run stored locally and one stored in S3 look the same to the
//! client API. [`RunStore`] reads and writes the runs of one flow; its parts:
//!
//! * `object_store.rs`: the [`ObjectStore`] trait and its [`StoreError`]
//! * `layout.rs`: the keys, defined once for every backend and the Step Functions compiler
//! * `records.rs`: `run.json` and `task.json`, as stored
//! * `segment.rs`: `tasks.seg`, a step's task records appended one frame each (local stores)
//! * `run_store.rs`: runs (claimed, listed, finished) and task records (committed, listed)
//! * `blobs.rs`: a task's state as content-addressed artifacts, verified on read
//! * `logs.rs`: the log of each attempt
//! * `cards.rs`: the cards a step attached to its task
//! * `error.rs`: [`DatastoreError`], naming the run, task, key and store

mod blobs;
mod cards;
mod error;
mod layout;
mod logs;
mod object_store;
mod records;
mod run_store;
mod segment;

pub use blobs::INLINE_LIMIT;
pub use error::error_chain;
pub use error::{CorruptedBlob, DatastoreError};
pub use layout::Layout;
pub use object_store::{check_key, ObjectStore, StoreError};
pub use records::{
    timestamp_ms, ArtifactRef, AttemptRecord, RunRecord, RunStatus, TaskRecord, TaskStatus, Trigger,
};
pub use run_store::{RunIdTaken, RunStore};
pub use segment::{encode_frame, read_frames, read_segment, SegmentRead, SEGMENT_HEADER};
