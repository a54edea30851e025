//! The graph model of a flow and the rules a well-formed graph obeys.
//!
//! This crate is the single home of the graph rules. The `#[flow]` macro builds a
//! [`FlowGraph`] from the user's impl block and runs [`validate()`] at compile time, turning
//! each [`GraphError`] into a compile error at the offending span; the runtime (`check`,
//! graphs loaded from a datastore, the Step Functions compiler) runs the very same
//! [`validate()`]. Two implementations of the rules would drift, so there is one.
//!
//! ```
//! use flow_graph::{FlowGraph, StepSpec, Transition, validate};
//!
//! let graph = FlowGraph::new("HelloFlow", vec![
//!     StepSpec::new("start", Transition::Next("hello".into())),
//!     StepSpec::new("hello", Transition::Next("end".into())),
//!     StepSpec::new("end", Transition::End),
//! ]);
//! let analysis = validate(&graph).expect("a linear flow is valid");
//! assert_eq!(analysis.topological_order.len(), 3);
//! ```

mod duration;
pub mod environment;
pub mod namespace;
mod render;
mod suggest;
mod validate;

pub use duration::{format_duration, parse_duration, DurationError};
pub use render::{render_dot, render_mermaid, render_text};
pub use suggest::closest;
pub use validate::{validate, Analysis, ErrorSite, Frame, FrameKind, GraphError};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The name of the step every flow starts at.
pub const START: &str = "start";
/// The name of the step every flow ends at.
pub const END: &str = "end";

/// The static graph of a flow: its steps, transitions and options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowGraph {
    /// The flow's name (the Rust type name).
    pub name: String,
    /// The flow's doc comment, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub doc: String,
    /// Steps in declaration order.
    pub steps: Vec<StepSpec>,
    /// The flow's parameters (filled from the params type at run time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ParamSpec>,
    /// A cron schedule (EventBridge syntax) for deployed flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Tags attached to deployed resources and runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Flows whose successful runs start a run of this one (`trigger_on_finish`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trigger_on_finish: Vec<String>,
    /// EventBridge event patterns (JSON text) that start a run (`trigger(...)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_triggers: Vec<String>,
    /// Methods run once when a run ends (`on_failure`, `on_success`).
    #[serde(default, skip_serializing_if = "Hooks::is_empty")]
    pub hooks: Hooks,
    /// The whole run's time limit in seconds (`#[flow(timeout = "6h")]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// The project the flow belongs to (`#[flow(project = "recs")]`): its deployments are
    /// named `<project>.<branch>.<flow>`, one per branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// The flow's methods that run once when a run ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hooks {
    /// Runs when the run fails or times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// Runs when the run succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_success: Option<String>,
}

impl Hooks {
    /// True when the flow has no hook.
    pub fn is_empty(&self) -> bool {
        self.on_failure.is_none() && self.on_success.is_none()
    }
}

impl FlowGraph {
    /// A graph with these steps and no params, schedule or tags.
    pub fn new(name: impl Into<String>, steps: Vec<StepSpec>) -> Self {
        FlowGraph {
            name: name.into(),
            doc: String::new(),
            steps,
            params: Vec::new(),
            schedule: None,
            tags: Vec::new(),
            trigger_on_finish: Vec::new(),
            event_triggers: Vec::new(),
            hooks: Hooks::default(),
            timeout_secs: None,
            project: None,
        }
    }

    /// `start -> step_1 -> ... -> step_n -> end`, named `LinearFlow`: the simplest valid
    /// graph of any size, for tests and benchmarks.
    pub fn linear(n: usize) -> Self {
        let name = |i: usize| match i {
            0 => START.to_string(),
            i if i > n => END.to_string(),
            i => format!("step_{i}"),
        };
        let mut steps: Vec<StepSpec> = (0..=n)
            .map(|i| StepSpec::next(name(i), name(i + 1)))
            .collect();
        steps.push(StepSpec::end());
        FlowGraph::new("LinearFlow", steps)
    }

    /// The step with this name.
    pub fn step(&self, name: &str) -> Option<&StepSpec> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The index of the step with this name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name == name)
    }

    /// The graph as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the graph model is plain data")
    }
}

/// One step: a method of the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSpec {
    /// The step's name (the method name).
    pub name: String,
    /// The step's doc comment, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub doc: String,
    /// Where the flow goes after this step.
    pub transition: Transition,
    /// Whether the step takes `Inputs<Self>`, i.e. is a join.
    #[serde(default)]
    pub join: bool,
    /// Whether the step is an `async fn`.
    #[serde(default, rename = "async")]
    pub is_async: bool,
    /// Retry, timeout, catch, resources and batch overrides.
    #[serde(default)]
    pub options: StepOptions,
}

impl StepSpec {
    /// A sync, non-join step with default options.
    pub fn new(name: impl Into<String>, transition: Transition) -> Self {
        StepSpec {
            name: name.into(),
            doc: String::new(),
            transition,
            join: false,
            is_async: false,
            options: StepOptions::default(),
        }
    }

    /// A step that goes on to `to`.
    pub fn next(name: impl Into<String>, to: impl Into<String>) -> Self {
        StepSpec::new(name, Transition::Next(to.into()))
    }

    /// A step that splits into every one of `targets`, run in parallel.
    pub fn split(name: impl Into<String>, targets: &[&str]) -> Self {
        StepSpec::new(
            name,
            Transition::Split(targets.iter().map(|t| t.to_string()).collect()),
        )
    }

    /// A step that runs `body` once per item of its artifact field `over`.
    pub fn foreach(
        name: impl Into<String>,
        over: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        StepSpec::new(
            name,
            Transition::Foreach {
                over: over.into(),
                body: body.into(),
            },
        )
    }

    /// A step that picks exactly one of `targets` at run time.
    pub fn switch(name: impl Into<String>, targets: &[&str]) -> Self {
        StepSpec::new(
            name,
            Transition::Switch(targets.iter().map(|t| t.to_string()).collect()),
        )
    }

    /// The `end` step.
    pub fn end() -> Self {
        StepSpec::new(END, Transition::End)
    }

    /// This step, marked as a join (it takes `Inputs<Self>`).
    pub fn join(mut self) -> Self {
        self.join = true;
        self
    }

    /// The names of the steps that may run after this one.
    pub fn successors(&self) -> Vec<&str> {
        match &self.transition {
            Transition::End => Vec::new(),
            Transition::Next(n) => vec![n.as_str()],
            Transition::Split(targets) | Transition::Switch(targets) => {
                targets.iter().map(String::as_str).collect()
            }
            Transition::Foreach { body, .. } => vec![body.as_str()],
        }
    }
}

/// Where the flow goes after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// No successor: only `end` has this.
    End,
    /// One successor.
    Next(String),
    /// A static split: every target runs, in parallel, and a join closes them.
    Split(Vec<String>),
    /// A foreach: `body` runs once per item of the artifact field `over`.
    Foreach {
        /// The artifact field iterated over.
        over: String,
        /// The step that runs once per item.
        body: String,
    },
    /// A conditional switch: the step picks exactly one of the targets at run time.
    Switch(Vec<String>),
}

impl Transition {
    /// The attribute keyword that declares this transition, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            Transition::End => "(none)",
            Transition::Next(_) => "next",
            Transition::Split(_) => "next = [..]",
            Transition::Foreach { .. } => "foreach",
            Transition::Switch(_) => "switch",
        }
    }
}

/// Per-step settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOptions {
    /// Retry a failed task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Cancel an attempt that runs longer than this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Record a final failure as an artifact and continue instead of failing the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub catch: bool,
    /// Compute resources of the task.
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// AWS Batch settings for this step.
    #[serde(default, skip_serializing_if = "BatchOverrides::is_empty")]
    pub batch: BatchOverrides,
    /// At most this many items of this foreach step in flight at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// Environment variables of the step's process, by name (`env(KEY = "value")`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Secrets Manager secrets the step reads, by the variable each is read from
    /// (`secrets(DB = "arn:...")`, or the secret's name upper-cased).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
}

/// How often to retry a failed task, and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retry {
    /// Retries after the first attempt (so `times + 1` attempts at most).
    pub times: u32,
    /// Wait before the first retry, in milliseconds; doubled for each further retry.
    #[serde(default)]
    pub backoff_ms: u64,
}

/// Compute resources a task asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// Virtual CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Memory in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
}

impl Resources {
    /// True when no resource is set.
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory_mb.is_none() && self.gpu.is_none()
    }
}

/// AWS Batch settings that override the deployment's defaults for one step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOverrides {
    /// Container image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Job queue name or ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// IAM role ARN the job runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_role: Option<String>,
}

impl BatchOverrides {
    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.image.is_none() && self.queue.is_none() && self.job_role.is_none()
    }
}

/// A flow parameter, as the CLI and execution input see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Field name; the CLI flag is `--name` with `_` written as `-`.
    pub name: String,
    /// The Rust type, for messages (`usize`, `String`, `Vec<f64>`).
    pub type_name: String,
    /// Help text (the field's doc comment).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// The default value as JSON.
    pub default: String,
    /// Where an event that starts the run holds this param's value: a dotted path into
    /// the event (`detail.object.key`), from `#[param(from_event = "...")]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_event: Option<String>,
}

impl ParamSpec {
    /// The CLI flag for this param, without the leading dashes.
    pub fn flag(&self) -> String {
        self.name.replace('_', "-")
    }
}
