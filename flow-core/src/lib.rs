//! Flows as plain Rust: a struct whose fields are artifacts, an impl block whose methods
//! are steps, and a static graph checked by the compiler.
//!
//! ```
//! use flow_core::prelude::*;
//!
//! /// Counts to three.
//! #[derive(Debug, Clone, Default, Serialize, Deserialize)]
//! pub struct CountFlow {
//!     pub count: u32,
//! }
//!
//! #[flow]
//! impl CountFlow {
//!     #[step(next = add)]
//!     fn start(&mut self) { self.count = 1; }
//!
//!     #[step(next = end)]
//!     fn add(&mut self) { self.count += 2; }
//!
//!     #[step]
//!     fn end(&mut self) {}
//! }
//!
//! let graph = CountFlow::graph();
//! assert_eq!(graph.steps.len(), 3);
//! assert!(flow_core::graph::validate(graph).is_ok());
//! ```

pub mod artifacts;
pub mod card;
pub mod client;
pub mod context;
pub mod datastore;
pub mod environment;
pub mod flow;
pub mod ids;
pub mod inherited;
pub mod inputs;
pub mod params;
pub mod run_end;
pub mod tags;

/// The graph model and its rules (the `flow-graph` crate).
pub mod graph {
    pub use flow_graph::*;
}

pub use card::{Card, CardError, Cards, Chart};
pub use context::{Ctx, StartedBy};
pub use datastore::Trigger;
pub use flow::{Flow, StepError, StepErrorKind, SwitchChoice};
pub use flow_macros::{flow, step, Params};
pub use ids::{IndexPath, RunId, TaskId};
pub use inputs::{InputState, Inputs, MergeError};
pub use run_end::{RunEnd, RunOutcome};

/// What a backend (the local scheduler, the `step` command a Batch job runs) uses to call
/// steps and hand a join its inputs. Flows never name these; they are grouped here so the
/// crate root holds only what flow authors use.
pub mod backend {
    pub use crate::flow::{StepCall, StepInput, StepOutcome};
    pub use crate::inherited::Inherited;
    pub use crate::inputs::{BlobCache, Input, StoredState};
}
pub use params::{NoParams, ParamError, Params};

/// Everything a flow file needs: `use flow_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        flow, step, Chart, Ctx, Flow, InputState, Inputs, NoParams, Params, RunEnd, RunOutcome,
    };
    pub use serde::{Deserialize, Serialize};
}

/// Support for the code `#[flow]` and `#[derive(Params)]` generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::artifacts::field_span;
    pub use crate::flow::{panic_message, StepReturn, SwitchReturn};
    pub use crate::flow::{StepCall, StepInput, StepOutcome};
    pub use crate::params::{check_value, parse_value, unknown};
    pub use crate::run_end::{HookReturn, RunEnd};
    pub use crate::{
        Ctx, Flow, IndexPath, Inputs, NoParams, ParamError, Params, StepError, StepErrorKind,
        SwitchChoice,
    };
    pub use flow_graph::{validate, Analysis, FlowGraph, ParamSpec};
    pub use serde::{de::DeserializeOwned, Serialize};
    pub use serde_json::Value;
    pub use std::boxed::Box;
    pub use std::format;
    pub use std::option::Option;
    pub use std::result::Result;
    pub use std::string::{String, ToString};
    pub use std::sync::OnceLock;
    pub use std::vec::Vec;

    use std::future::Future;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// The graph a `#[flow]` serialized at compile time, with the params' specs added.
    pub fn graph_from_json<P: Params>(json: &str) -> FlowGraph {
        let mut graph: FlowGraph =
            serde_json::from_str(json).expect("#[flow] embeds a well-formed graph");
        graph.params = P::specs();
        graph
    }

    /// Validates a graph the macro already validated; a failure here is a bug.
    pub fn analyse(graph: &FlowGraph) -> Analysis {
        match validate(graph) {
            Ok(a) => a,
            Err(e) => panic!(
                "graph of `{}` failed validation at run time: {e:?}",
                graph.name
            ),
        }
    }

    /// Prepares a sync step: runs `f` on a blocking thread and turns a panic into an error.
    pub fn call_sync<F: Send + 'static>(
        mut state: F,
        f: impl FnOnce(&mut F) -> Result<Option<usize>, StepError> + Send + 'static,
    ) -> StepCall<F> {
        StepCall::Blocking(Box::new(move || {
            let result = match catch_unwind(AssertUnwindSafe(|| f(&mut state))) {
                Ok(r) => r,
                Err(payload) => Err(StepError::new(
                    StepErrorKind::Panic,
                    panic_message(payload.as_ref()),
                )),
            };
            StepOutcome { state, result }
        }))
    }

    /// Wraps a step's future so that a panic while polling it becomes an error.
    pub async fn catch_async<Fut>(fut: Fut) -> Result<Option<usize>, StepError>
    where
        Fut: Future<Output = Result<Option<usize>, StepError>>,
    {
        CatchUnwind(Box::pin(fut)).await
    }

    struct CatchUnwind<Fut>(Pin<Box<Fut>>);

    impl<Fut: Future<Output = Result<Option<usize>, StepError>>> Future for CatchUnwind<Fut> {
        type Output = Fut::Output;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let inner = self.0.as_mut();
            match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
                Ok(poll) => poll,
                Err(payload) => Poll::Ready(Err(StepError::new(
                    StepErrorKind::Panic,
                    panic_message(payload.as_ref()),
                ))),
            }
        }
    }

    /// The `index`-th item of a foreach field, cloned so the step may borrow `self` mutably.
    pub fn foreach_item<'a, C, T>(field: &'a C, index: usize, step: &str) -> Result<T, StepError>
    where
        &'a C: IntoIterator<Item = &'a T>,
        T: Clone + 'a,
    {
        field.into_iter().nth(index).cloned().ok_or_else(|| {
            StepError::new(
                StepErrorKind::Internal,
                format!("foreach item {index} of step `{step}` does not exist"),
            )
        })
    }

    /// The number of items of a foreach field.
    pub fn foreach_len<'a, C, T>(field: &'a C) -> usize
    where
        &'a C: IntoIterator<Item = &'a T>,
        T: 'a,
    {
        field.into_iter().count()
    }

    /// The error for a call of a step the flow does not have.
    pub fn unknown_step(flow: &str, step: &str) -> StepError {
        StepError::new(
            StepErrorKind::Internal,
            format!("flow `{flow}` has no step `{step}`"),
        )
    }

    /// A default value as JSON, for `ParamSpec::default`.
    pub fn default_json<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
    }

    /// Calls a hook method, turning a panic into an error.
    pub fn call_hook(f: impl FnOnce() -> Result<(), StepError>) -> Result<(), StepError> {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(result) => result,
            Err(payload) => Err(StepError::new(
                StepErrorKind::Panic,
                panic_message(payload.as_ref()),
            )),
        }
    }

    /// The error for a call of a hook the flow does not have.
    pub fn unknown_hook(flow: &str, hook: &str) -> StepError {
        StepError::new(
            StepErrorKind::Internal,
            format!("flow `{flow}` has no hook method `{hook}`"),
        )
    }

    /// The error for a join called without inputs.
    pub fn missing_inputs(step: &str) -> StepError {
        StepError::new(
            StepErrorKind::Internal,
            format!("join `{step}` was called without its inputs"),
        )
    }
}
