//! The compiler: a pure function from a flow's graph and the deployment settings to the
//! state machine definition, the Batch job definitions and a report. It runs no user code
//! and calls no AWS API, so its output can be printed, snapshotted and validated offline.

pub mod asl;
pub mod execution_input;
pub mod history_budget;
pub mod intrinsics;
pub mod job_definition;
pub mod names;

use crate::config::DeployConfig;
use crate::json::{to_canonical_compact, to_canonical_pretty};
use flow_graph::{validate, Analysis, FlowGraph, GraphError, Transition};
use history_budget::ExecutionBudget;
use serde::Serialize;
use serde_json::{json, Value};

/// Step Functions refuses definitions larger than this many bytes.
pub const MAX_DEFINITION_BYTES: usize = 1024 * 1024;
/// AWS Batch refuses a `SubmitJob` whose container overrides exceed about this many bytes.
pub const MAX_CONTAINER_OVERRIDES_BYTES: usize = 8 * 1024;
/// The part of the container overrides the compiler allows a command without the params to
/// take, so that at least the other half is left for `start`'s params JSON.
pub const MAX_COMMAND_BYTES: usize = MAX_CONTAINER_OVERRIDES_BYTES / 2;

/// Why a flow cannot be compiled for Step Functions, with the step and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The graph breaks a graph rule (only for graphs not checked by `#[flow]`).
    #[error("flow `{flow}` is not a valid graph: {}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidGraph {
        /// The flow's name.
        flow: String,
        /// Every broken rule.
        errors: Vec<GraphError>,
    },
    /// A resource or batch option Batch cannot honour.
    #[error("step `{step}` has `{option}`, which AWS Batch cannot use: {fix}")]
    InvalidStepOption {
        /// The step.
        step: String,
        /// The option as written.
        option: String,
        /// How to fix it.
        fix: String,
    },
    /// An execution could record more history events than Step Functions allows.
    #[error(
        "{execution} of flow `{flow}` could record up to {} history events, over the Step \
         Functions limit of 25,000 per execution: {advice}",
        history_budget::thousands(*.events)
    )]
    HistoryBudgetExceeded {
        /// The flow.
        flow: String,
        /// Which execution (the run's, or a foreach's child executions).
        execution: String,
        /// The step to change.
        step: String,
        /// The worst-case event count.
        events: u64,
        /// Where the events come from, and the fix.
        advice: String,
    },
    /// Two steps would get the same state name.
    #[error(
        "steps `{first}` and `{second}` would both get the state name `{name}`; rename one of them"
    )]
    StateNameCollision {
        /// The state name.
        name: String,
        /// The step that got it first.
        first: String,
        /// The step that wanted it too.
        second: String,
    },
    /// The definition is over the Step Functions size limit.
    #[error(
        "the state machine definition of flow `{flow}` is {bytes} bytes, over the Step Functions \
         limit of 1 MiB; split the flow into smaller flows"
    )]
    DefinitionTooLarge {
        /// The flow.
        flow: String,
        /// The definition's size.
        bytes: usize,
    },
    /// A task's command could not fit Batch's container-overrides limit.
    #[error(
        "the command of step `{step}` could take {bytes} bytes of the {limit} AWS Batch allows for \
         it; shorten the binary name, the datastore prefix or the step name"
    )]
    CommandTooLong {
        /// The step.
        step: String,
        /// The command's worst-case size.
        bytes: usize,
        /// The allowance.
        limit: usize,
    },
    /// A datastore key could not be turned into a run-time template.
    #[error(
        "cannot build the datastore key `{key}` of step `{step}` at run time: the step or flow \
         name contains a reserved placeholder; rename step `{step}`"
    )]
    KeyTemplate {
        /// The step.
        step: String,
        /// The key laid out with placeholders.
        key: String,
    },
}

/// What the compiler learned about the state machine, for the user and the deploy commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompileReport {
    /// States in the definition, nested ones included.
    pub state_count: usize,
    /// Distinct Batch job definitions.
    pub job_definition_count: usize,
    /// Size of the definition as deployed (compact JSON).
    pub definition_bytes: usize,
    /// History budgets: the run's execution first, then each foreach's child executions.
    pub executions: Vec<ExecutionBudget>,
    /// The largest params JSON (measured as a JSON-escaped string) the `start` task's
    /// command can carry: what Batch's container-overrides limit leaves after the rest of it.
    pub max_params_json_bytes: usize,
    /// Triggers, hooks and limits, one line each ([`run_options`]).
    pub run_options: Vec<String>,
}

impl CompileReport {
    /// The report as lines of text for a terminal.
    pub fn to_text(&self) -> String {
        use history_budget::thousands;
        let mut out = format!(
            "{} states, {} job definition(s), definition {} bytes, params JSON up to {} bytes\n",
            self.state_count,
            self.job_definition_count,
            thousands(self.definition_bytes as u64),
            thousands(self.max_params_json_bytes as u64),
        );
        for line in &self.run_options {
            out.push_str(line);
            out.push('\n');
        }
        for e in &self.executions {
            out.push_str(&format!(
                "{}: {} Batch task(s), history events typical {}, worst case {} of {}\n",
                e.execution,
                e.batch_tasks,
                thousands(e.typical_events),
                thousands(e.worst_case_events),
                thousands(history_budget::MAX_HISTORY_EVENTS),
            ));
        }
        out
    }
}

/// A compiled flow: everything needed to deploy it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// The state machine's name.
    pub state_machine_name: String,
    /// The Amazon States Language definition.
    pub definition: Value,
    /// `RegisterJobDefinition` requests, in order of first use.
    pub job_definitions: Vec<Value>,
    /// Counts and budgets.
    pub report: CompileReport,
    /// The flow's graph: its triggers become EventBridge rules when deployed
    /// (`aws::triggers`), which needs the state machine's ARN.
    pub graph: FlowGraph,
    /// The role EventBridge starts runs as (the schedule's role), for the trigger rules.
    pub events_role_arn: Option<String>,
    /// The project branch deployed (`config::branch`): upstream flows of its triggers are
    /// found in the same one.
    pub namespace: Option<flow_graph::namespace::Namespace>,
}

impl Deployment {
    /// The definition as pretty JSON with sorted keys (byte-identical for the same input).
    pub fn definition_json(&self) -> String {
        to_canonical_pretty(&self.definition)
    }

    /// The job definitions as a pretty JSON array with sorted keys.
    pub fn job_definitions_json(&self) -> String {
        to_canonical_pretty(&Value::Array(self.job_definitions.clone()))
    }

    /// Name, definition and job definitions in one pretty JSON object.
    pub fn bundle_json(&self) -> String {
        to_canonical_pretty(&json!({
            "state_machine_name": self.state_machine_name,
            "definition": self.definition,
            "job_definitions": self.job_definitions,
        }))
    }
}

/// Validates `graph` and compiles it; for graphs not already checked by `#[flow]`.
pub fn compile_graph(graph: &FlowGraph, config: &DeployConfig) -> Result<Deployment, CompileError> {
    let analysis = validate(graph).map_err(|errors| CompileError::InvalidGraph {
        flow: graph.name.clone(),
        errors,
    })?;
    compile(graph, &analysis, config)
}

/// Compiles a validated graph (with its [`Analysis`]) to a [`Deployment`].
pub fn compile(
    graph: &FlowGraph,
    analysis: &Analysis,
    config: &DeployConfig,
) -> Result<Deployment, CompileError> {
    let jobs = graph
        .steps
        .iter()
        .map(|step| job_definition::step_job(step, config))
        .collect::<Result<Vec<_>, _>>()?;

    let mut start_command = 0;
    for (i, step) in graph.steps.iter().enumerate() {
        let command = intrinsics::TaskCommand::new(
            &config.binary_name,
            &config.datastore,
            &step.name,
            analysis.foreach_depth(i),
        );
        // `start` of a triggered run also carries the upstream run, of a scheduled run the
        // schedule's expression in its environment: its largest form counts.
        let bytes = if step.name == flow_graph::START {
            let triggered = command
                .clone()
                .started_by(intrinsics::StartedBy::Trigger)
                .max_override_bytes();
            let scheduled = graph.schedule.as_deref().map_or(0, |expression| {
                command.max_override_bytes() + intrinsics::schedule_environment_bytes(expression)
            });
            triggered.max(scheduled)
        } else {
            command.max_override_bytes()
        };
        if bytes > MAX_COMMAND_BYTES {
            return Err(CompileError::CommandTooLong {
                step: step.name.clone(),
                bytes,
                limit: MAX_COMMAND_BYTES,
            });
        }
        if step.name == flow_graph::START {
            start_command = bytes;
        }
    }

    let built = asl::build(graph, analysis, config, &jobs)?;
    let executions = history_budget::budgets(&built.definition, &built.state_steps);
    history_budget::check(&graph.name, &executions)?;

    let definition_bytes = to_canonical_compact(&built.definition).len();
    if definition_bytes > MAX_DEFINITION_BYTES {
        return Err(CompileError::DefinitionTooLarge {
            flow: graph.name.clone(),
            bytes: definition_bytes,
        });
    }

    // Steps in topological order, so the first job definition is `start`'s.
    let mut job_definitions: Vec<Value> = Vec::new();
    for &i in &analysis.topological_order {
        let definition = &jobs[i].definition;
        if !job_definitions.contains(definition) {
            job_definitions.push(definition.clone());
        }
    }

    let report = CompileReport {
        state_count: asl::count_states(&built.definition),
        job_definition_count: job_definitions.len(),
        definition_bytes,
        executions,
        // The start command's size counts `--params-json` and the value's quotes already.
        max_params_json_bytes: MAX_CONTAINER_OVERRIDES_BYTES - start_command,
        run_options: run_options(graph, config),
    };
    Ok(Deployment {
        state_machine_name: config.state_machine_name.clone(),
        definition: built.definition,
        job_definitions,
        report,
        graph: graph.clone(),
        events_role_arn: config.schedule_role_arn.clone(),
        namespace: config.namespace.clone(),
    })
}

/// What starts, ends and limits a run, one line each, for `create` and `show`: the trigger
/// rules, the hooks (the failure hook task always runs: it records the run's final status),
/// the run's timeout and each foreach's concurrency.
pub fn run_options(graph: &FlowGraph, config: &DeployConfig) -> Vec<String> {
    let mut lines = Vec::new();
    for upstream in &graph.trigger_on_finish {
        lines.push(format!(
            "trigger: an EventBridge rule starts a run when a run of state machine `{upstream}` SUCCEEDS"
        ));
    }
    for pattern in &graph.event_triggers {
        lines.push(format!(
            "trigger: an EventBridge rule starts a run on events matching {pattern}"
        ));
    }
    let hook = |method: &Option<String>| match method {
        Some(method) => format!("then `{method}`"),
        None => "no hook method".to_string(),
    };
    lines.push(format!(
        "on failure: a Batch task records the run's status, {}; the run then ends FAILED",
        hook(&graph.hooks.on_failure)
    ));
    if let Some(method) = &graph.hooks.on_success {
        lines.push(format!(
            "on success: a Batch task records the run's status, then `{method}`"
        ));
    }
    if let Some(seconds) = graph.timeout_secs {
        lines.push(format!(
            "timeout: {seconds} s for the run (then the failure hook; the state machine's \
             TimeoutSeconds is {})",
            seconds.saturating_add(asl::HOOK_GRACE_SECS)
        ));
    }
    for step in &graph.steps {
        if let Transition::Foreach { .. } = step.transition {
            let limit = step
                .options
                .max_concurrency
                .unwrap_or(config.max_foreach_concurrency);
            lines.push(format!(
                "foreach `{}`: at most {limit} items at once (Map MaxConcurrency)",
                step.name
            ));
        }
    }
    lines
}
