//! Compiles a flow, unchanged, to an AWS Step Functions state machine whose tasks are AWS
//! Batch jobs running the flow's own binary (`<binary> step ...`), and deploys and operates
//! it (`step-functions create`, `trigger`, `status`, `resume`, ...).
//!
//! The compiler is a pure function: no user code runs and no AWS API is called, so the
//! output can be printed (`step-functions create --only-json`), snapshotted and validated
//! offline.
//!
//! ```
//! use flow_graph::{FlowGraph, StepSpec, Transition};
//! use flow_sfn::{compile_graph, DeployConfig, S3Root};
//!
//! let graph = FlowGraph::new("HelloFlow", vec![
//!     StepSpec::new("start", Transition::Next("hello".into())),
//!     StepSpec::new("hello", Transition::Next("end".into())),
//!     StepSpec::new("end", Transition::End),
//! ]);
//! let root = S3Root::parse("s3://my-bucket/flows").unwrap();
//! let config = DeployConfig::new("HelloFlow", root, "my-image:1", "my-queue", "hello-flow");
//! let deployment = compile_graph(&graph, &config).unwrap();
//! // Three steps, each a Batch task entered through a Choice and, in a resumed run, a
//! // look-up of its record; the states that set up a fresh, resumed, triggered or
//! // event-started run (the first step has a task of each start); and the run-level
//! // Parallel state with the failure hook's two tasks and the Fail state that end a failed run.
//! assert_eq!(deployment.report.state_count, 3 * 3 + 3 + 4 + 4);
//! let body = &deployment.definition["States"]["run"]["Branches"][0]["States"];
//! assert_eq!(body["hello"]["Type"], "Task");
//! assert!(deployment.definition_json().contains("batch:submitJob.sync"));
//! ```
//!
//! Module map: [`config`] (settings and their flags), [`compile`](mod@compile) (the compiler:
//! [`compile::asl`], [`compile::job_definition`], [`compile::history_budget`],
//! [`compile::names`], [`compile::intrinsics`], [`compile::execution_input`]), [`aws`]
//! (every AWS call: deploy, operate, the S3 datastore), [`deployment`] (deploying and
//! operating a flow from Rust: [`Deployment`]), [`resume`] (a resumed run prepared
//! in the datastore), [`cli`] (the `step-functions` command) and [`main`] (the flow binary's
//! entry point).

pub mod aws;
pub mod cli;
pub mod compile;
pub mod config;
pub mod deployment;
mod entry;
pub mod infra;
mod json;
pub mod resume;
pub mod secrets;

pub use cli::{run_step_functions_command, step_functions_command, step_functions_command_for};
pub use compile::execution_input::{execution_input, ExecutionInputError};
pub use compile::history_budget::{ExecutionBudget, MAX_HISTORY_EVENTS};
pub use compile::{compile, compile_graph, CompileError, CompileReport};
pub use config::{ConfigError, DeployConfig, S3Root, SfnArgs};
pub use deployment::{Created, DeployedRun, Deployment, DeploymentBuilder, Resumed};
pub use entry::{main, open_s3_store};
pub use json::to_canonical_pretty;
