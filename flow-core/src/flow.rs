//! The `Flow` trait that `#[flow]` implements, and how a scheduler calls a step.

use crate::context::Ctx;
use crate::graph::{Analysis, FlowGraph};
use crate::inputs::Inputs;
use crate::params::Params;
use crate::run_end::RunEnd;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A flow: a struct whose fields are artifacts, and whose steps `#[flow]` wires into a
/// static graph. Implemented by `#[flow]`; schedulers use it to run steps.
pub trait Flow: Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The typed parameters (`NoParams` when the flow declares none).
    type Params: Params;

    /// The flow's static graph, checked at compile time, with the params' specs.
    fn graph() -> &'static FlowGraph;

    /// What validating the graph learned (joins, frames, topological order).
    fn analysis() -> &'static Analysis;

    /// The number of items a foreach step fans out over, read from the state it left.
    /// `None` when `step` is not a foreach step.
    fn foreach_len(&self, step: &str) -> Option<usize>;

    /// Prepares one task of `step` on this state. The call returns the state with the
    /// step's result; sync steps run on a blocking thread, async steps as a future.
    fn call_step(self, step: &str, input: StepInput<Self>) -> StepCall<Self>;

    /// Where in this state lie the fields that step `step`'s body names (`self.<field>`):
    /// (address, size) of each, as [`crate::artifacts::field_span`] gives them. `None` when
    /// the body may reach any field (it uses `self` whole, or calls a method on it). A task
    /// reuses its parent's stored artifact for every field outside these spans instead of
    /// encoding and hashing it again. The default, `None`, is always sound.
    fn step_field_spans(&self, step: &str) -> Option<Vec<(usize, usize)>> {
        let _ = step;
        None
    }

    /// Calls the hook method named `hook` (from `#[flow(on_failure = ..., on_success = ...)]`)
    /// with the run's summary, on the current thread; a panic in it is an error.
    fn call_hook(hook: &str, run: &RunEnd) -> Result<(), StepError> {
        let _ = run;
        Err(StepError::new(
            StepErrorKind::Internal,
            format!("flow `{}` has no hook method `{hook}`", Self::graph().name),
        ))
    }
}

/// What a task gets besides `self`.
pub struct StepInput<F: Flow> {
    /// Params, ids, attempt.
    pub ctx: Ctx<F::Params>,
    /// For a join: the states of the branches it closes.
    pub inputs: Option<Inputs<F>>,
    /// For a foreach body whose state starts without the fields it inherits: the state the
    /// foreach left, which its item is read from.
    pub fanned_from: Option<std::sync::Arc<F>>,
}

/// A prepared call of one step.
pub enum StepCall<F> {
    /// A sync step: run it on a blocking thread.
    Blocking(Box<dyn FnOnce() -> StepOutcome<F> + Send>),
    /// An async step: poll it as a task.
    Async(Pin<Box<dyn Future<Output = StepOutcome<F>> + Send>>),
}

impl<F: Send + 'static> StepCall<F> {
    /// Runs the call on the current thread (blocking on async steps); for tests and tools.
    pub fn run_here(self) -> StepOutcome<F> {
        match self {
            StepCall::Blocking(f) => f(),
            StepCall::Async(fut) => block_on_current_thread(fut),
        }
    }
}

fn block_on_current_thread<T>(fut: Pin<Box<dyn Future<Output = T> + Send>>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime starts")
        .block_on(fut)
}

/// The state a step left, and whether it succeeded.
pub struct StepOutcome<F> {
    /// The state after the step (also after a failure: artifacts set before it are kept).
    pub state: F,
    /// `Ok(None)` for a plain step, `Ok(Some(i))` for a switch that chose target `i`.
    pub result: Result<Option<usize>, StepError>,
}

/// A step's failure, as the scheduler records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepError {
    /// The error's message (its `Display`), or the panic message.
    pub message: String,
    /// What kind of failure.
    pub kind: StepErrorKind,
}

/// How a step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepErrorKind {
    /// The step returned `Err`.
    Error,
    /// The step panicked.
    Panic,
    /// The attempt ran past the step's timeout and was cancelled.
    Timeout,
    /// The scheduler could not run the step (bad input, missing artifact, ...).
    Internal,
}

impl StepError {
    /// A failure of this kind with this message.
    pub fn new(kind: StepErrorKind, message: impl Into<String>) -> Self {
        StepError {
            message: message.into(),
            kind,
        }
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StepErrorKind::Error | StepErrorKind::Internal => f.write_str(&self.message),
            StepErrorKind::Panic => write!(f, "panicked: {}", self.message),
            StepErrorKind::Timeout => write!(f, "timed out: {}", self.message),
        }
    }
}

impl std::error::Error for StepError {}

/// What a plain step may return: `()` or `Result<(), E: Display>`.
#[diagnostic::on_unimplemented(
    message = "a step must return `()` or `Result<(), E>` with `E: Display`, not `{Self}`",
    label = "this step's return type",
    note = "a switch step (`switch = [...]`) returns the enum `#[flow]` generates for it, e.g. `DecideNext`"
)]
pub trait StepReturn {
    /// Converts the return value into the scheduler's result.
    fn into_result(self) -> Result<Option<usize>, StepError>;
}

impl StepReturn for () {
    fn into_result(self) -> Result<Option<usize>, StepError> {
        Ok(None)
    }
}

impl<E: fmt::Display> StepReturn for Result<(), E> {
    fn into_result(self) -> Result<Option<usize>, StepError> {
        self.map(|()| None)
            .map_err(|e| StepError::new(StepErrorKind::Error, format!("{e:#}")))
    }
}

/// The enum `#[flow]` generates for a switch step: one variant per declared target.
pub trait SwitchChoice {
    /// The index of the chosen target in the step's `switch = [...]` list.
    fn index(&self) -> usize;
}

/// What a switch step may return: its generated enum, or `Result` of it.
#[diagnostic::on_unimplemented(
    message = "a switch step must return `{N}` (generated by `#[flow]` from its `switch = [...]`) or `Result<{N}, E>`, not `{Self}`",
    label = "this switch step's return type"
)]
pub trait SwitchReturn<N> {
    /// Converts the return value into the scheduler's result.
    fn into_result(self) -> Result<Option<usize>, StepError>;
}

impl<N: SwitchChoice> SwitchReturn<N> for N {
    fn into_result(self) -> Result<Option<usize>, StepError> {
        Ok(Some(self.index()))
    }
}

impl<N: SwitchChoice, E: fmt::Display> SwitchReturn<N> for Result<N, E> {
    fn into_result(self) -> Result<Option<usize>, StepError> {
        self.map(|n| Some(n.index()))
            .map_err(|e| StepError::new(StepErrorKind::Error, format!("{e:#}")))
    }
}

/// The message of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}
