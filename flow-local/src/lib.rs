//! Runs flows in-process on tokio, persisting every task's artifacts to a datastore so runs
//! can be inspected, resumed after a failure, and used as the flow's own unit tests; and the
//! command line of a flow binary (`run`, `resume`, `runs`, `dump`, `logs`, `report`, `cards`,
//! `show`, `check`, and the internal `step` that Step Functions jobs run).
//!
//! ```
//! use flow_core::prelude::*;
//!
//! #[derive(Debug, Clone, Default, Serialize, Deserialize)]
//! pub struct Hello { pub greeting: String }
//!
//! #[flow]
//! impl Hello {
//!     #[step(next = end)]
//!     fn start(&mut self) { self.greeting = "hello".into(); }
//!     #[step]
//!     fn end(&mut self) {}
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let run = flow_local::Runner::<Hello>::new().datastore(dir.path()).run().await.unwrap();
//! assert!(run.succeeded());
//! assert_eq!(run.end_state().await.unwrap().greeting, "hello");
//! # });
//! ```

pub mod cli;
pub mod fs_store;
pub(crate) mod logs;
pub(crate) mod progress;
pub mod report;
pub mod runner;
pub(crate) mod scheduler;
pub(crate) mod step_command;
pub(crate) mod task;

pub use cli::{main, Cli};
pub use fs_store::{Durability, FsStore};
pub use progress::ProgressMode;
pub use runner::{RunHandle, Runner, RunnerError, SecretSource, DEFAULT_JOIN_MEMORY};
pub use scheduler::RunError;
pub use task::TaskError;
