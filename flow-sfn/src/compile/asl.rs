//! The Amazon States Language definition of a flow.
//!
//! Each step is one `batch:submitJob.sync` Task state; the graph's shape maps onto states:
//! a static split onto a Parallel state, a foreach onto a Distributed Map over the item
//! list the foreach task wrote, a switch onto a read of the decision it wrote and a Choice
//! state. A split's or foreach's branches are sub-machines that end where the join takes
//! over; the join then continues in the enclosing machine.
//!
//! Every step is entered through a Choice: in a resumed run it first looks for the task's
//! record in the new run (an S3 `HeadObject`, which `resume` cloned there before starting
//! the execution) and skips the Batch job if it is there, so that only the tasks that must
//! run again cost a job. Any error of that look-up (a 404, or a 403 without
//! `s3:ListBucket`) runs the job, which clones or runs the task itself.
//!
//! The Task retries a submission Batch throttled, then, as the step asks, a job that
//! failed (`States.TaskFailed`): Step Functions waits out the step's backoff between
//! attempts, each attempt a new job. Batch itself only retries a job whose host failed
//! (see `job_definition.rs`).
//!
//! Only control values travel in the state, never artifacts:
//! `{"run_id": "<execution name>", "index": "<foreach index key>", "origin_run_id": "<run or empty>"}`,
//! plus, after a switch, the decision it read (`"switch": {"decision": {"next": "<step>"}}`).
//! Every task keeps its input as its output (`ResultPath: null`), and so do Parallel and
//! Map states, so a join sees the state of the step that opened its split or foreach.
//!
//! Longer than most modules because it is one cohesive thing: the graph-to-states mapping, one builder whose cases (split, foreach, switch, resume look-up) share their naming and scoping.

use super::intrinsics::{
    hook_command, schedule_environment, task_object_key, task_record_key_intrinsic, Outcome,
    StartedBy, TaskCommand, TaskObject, FAILURE_PATH, ORIGIN_RUN_ID_PATH, RUN_ID_PATH,
};
use super::job_definition::StepJob;
use super::names::{job_name, map_label, state_name, StateRole};
use super::CompileError;
use crate::config::DeployConfig;
use flow_core::IndexPath;
use flow_graph::{Analysis, FlowGraph, StepSpec, Transition};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The Task resource that submits a Batch job and waits for it to finish.
pub const BATCH_SUBMIT_JOB_SYNC: &str = "arn:aws:states:::batch:submitJob.sync";
/// The Task resource that reads an S3 object (request-response).
pub const S3_GET_OBJECT: &str = "arn:aws:states:::aws-sdk:s3:getObject";
/// The Task resource that checks that an S3 object exists (request-response).
pub const S3_HEAD_OBJECT: &str = "arn:aws:states:::aws-sdk:s3:headObject";
/// The Distributed Map item reader over an S3 object.
pub const S3_ITEM_READER: &str = "arn:aws:states:::s3:getObject";
/// The Distributed Map result writer to S3.
pub const S3_RESULT_WRITER: &str = "arn:aws:states:::s3:putObject";

/// The errors of a `SubmitJob` that Batch refused for now: throttling (Step Functions names
/// an HTTP 429 `Batch.AWSBatchException`) and Batch's own server errors.
pub const SUBMIT_RETRY_ERRORS: [&str; 2] = ["Batch.AWSBatchException", "Batch.ServerException"];
/// How often a refused `SubmitJob` is retried. Batch allows 50 `SubmitJob` per second per
/// account (AWS Batch, "Service quotas"); a foreach wider than that retries in waves.
pub const SUBMIT_THROTTLE_MAX_ATTEMPTS: u64 = 10;
/// The first wait before retrying a refused `SubmitJob`, doubled per retry.
pub const SUBMIT_THROTTLE_INTERVAL_SECS: u64 = 2;
/// The longest wait between two `SubmitJob` retries: with full jitter, ten retries spread
/// over up to 18 minutes (2 + 4 + ... + 256 + 300 + 300 seconds, each wait drawn from
/// zero to that), far longer than any burst of a foreach at the default concurrency takes
/// to drain at 50 per second.
pub const SUBMIT_THROTTLE_MAX_DELAY_SECS: u64 = 300;
/// The error of a Batch job that failed (the step failed, or timed out in its process).
pub const TASK_FAILED_ERROR: &str = "States.TaskFailed";
/// How often a failed read of a switch decision (S3 throttling) is retried.
pub const S3_READ_MAX_ATTEMPTS: u64 = 3;

/// The Choice state every execution starts at (it normalises the origin run id).
pub const INITIALIZE_STATE: &str = "initialize-run";
/// The Pass state that sets up the state of a fresh run.
pub const NEW_RUN_STATE: &str = "new-run";
/// The Pass state that sets up the state of a resumed run.
pub const RESUMED_RUN_STATE: &str = "resumed-run";
/// The datastore folder (under the flow's) where Distributed Maps write their run results.
pub const MAP_RESULTS_FOLDER: &str = "sfn-map-results";

/// The Parallel state that runs the flow's body (and the run's timer, with a `timeout`):
/// the one place every failure of the run is caught, so the failure hook always runs.
pub const RUN_STATE: &str = "run";
/// The Batch task that ends a failed run: records its status, runs `on_failure`.
pub const FAILED_HOOK_STATE: &str = "run-failed-hook";
/// The same task without the error's cause, when the cause made the command too long.
pub const FAILED_HOOK_SHORT_STATE: &str = "run-failed-hook-without-cause";
/// The Batch task that ends a run past the flow's timeout.
pub const TIMED_OUT_HOOK_STATE: &str = "run-timed-out-hook";
/// The Batch task that ends a successful run when the flow has `on_success`.
pub const SUCCEEDED_HOOK_STATE: &str = "run-succeeded-hook";
/// The Fail state that ends a failed run with the error that failed it.
pub const FAILED_STATE: &str = "run-failed";
/// The Fail state that ends a run past the flow's timeout.
pub const TIMED_OUT_STATE: &str = "run-timed-out";
/// With a timeout, the body's last state: it fails the Parallel on purpose, so that the
/// timer branch stops (a Parallel state waits for all its branches, or the first failure).
pub const BODY_DONE_STATE: &str = "run-body-done";
/// With a timeout and no `on_success`, where a successful run ends.
pub const SUCCEEDED_STATE: &str = "run-succeeded";
/// The timer branch's Wait state.
pub const TIMER_STATE: &str = "run-timer";
/// The timer branch's Fail state, at the flow's timeout.
pub const TIMER_EXPIRED_STATE: &str = "run-timer-expired";
/// The `start` task of a run a finished upstream run started (`--triggered-by`).
pub const START_TRIGGERED_STATE: &str = "start-triggered";
/// The `start` task of a run an event started (`--event-json`).
pub const START_WITH_EVENT_STATE: &str = "start-with-event";
/// The `start` task of a run the flow's schedule started (its expression in the job's
/// environment, `intrinsics::schedule_environment`); a flow with a `schedule` only.
pub const START_SCHEDULED_STATE: &str = "start-scheduled";
/// The Pass state that sets up a run the flow's schedule started.
pub const NEW_SCHEDULED_RUN_STATE: &str = "new-scheduled-run";
/// The Pass state that sets up a run a finished upstream run started.
pub const NEW_TRIGGERED_RUN_STATE: &str = "new-triggered-run";
/// The Pass state that sets up a run an event started.
pub const NEW_EVENT_RUN_STATE: &str = "new-event-run";
/// The error the body's last state raises when the body succeeded (timeout only).
pub const BODY_SUCCEEDED_ERROR: &str = "flowrs.RunBodySucceeded";
/// The error of a run that went past the flow's timeout.
pub const RUN_TIMED_OUT_ERROR: &str = "flowrs.RunTimedOut";
/// How long the state machine's own `TimeoutSeconds` leaves the hook after the flow's
/// timeout before Step Functions stops the execution as TIMED_OUT.
pub const HOOK_GRACE_SECS: u64 = 3600;
/// The error of a `SubmitJob` Batch refused as invalid (a command over its size limit):
/// the failure hook then runs again without the error's cause.
pub const BATCH_CLIENT_ERROR: &str = "Batch.ClientException";
/// Whose states the run-level states are, in the compile report's per-step accounting.
pub const RUN_OWNER: &str = "(run)";

/// The definition and, for messages, which step each state belongs to.
pub(crate) struct BuiltAsl {
    pub definition: Value,
    pub state_steps: BTreeMap<String, String>,
}

pub(crate) fn build(
    graph: &FlowGraph,
    analysis: &Analysis,
    config: &DeployConfig,
    jobs: &[StepJob],
) -> Result<BuiltAsl, CompileError> {
    let mut builder = Builder {
        graph,
        analysis,
        config,
        jobs,
        index: graph
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect(),
        owners: BTreeMap::new(),
    };
    let start = builder.index[flow_graph::START];
    let body = builder.scope(start, None)?;
    let mut body_states = match body {
        Value::Object(mut scope) => match scope.remove("States") {
            Some(Value::Object(states)) => states,
            _ => unreachable!("a scope always has States"),
        },
        _ => unreachable!("a scope is an object"),
    };
    let start_state = state_name(flow_graph::START, StateRole::IfResumed);
    for (name, state) in builder.initial_states(&start_state) {
        builder.claim(&name, "(run setup)")?;
        body_states.insert(name, state);
    }
    builder.insert_started_by_tasks(&mut body_states)?;
    let states = builder.run_states(body_states)?;
    let mut definition = json!({
        "Comment": format!(
            "Flow `{}`, compiled by flow-sfn: each Task runs one step of the flow's own binary in AWS Batch",
            graph.name
        ),
        "StartAt": RUN_STATE,
        "States": states,
    });
    if let Some(timeout) = graph.timeout_secs {
        // A backstop only: the run's own timer (see `run_states`) fails the run at
        // `timeout` and runs the hook; this one stops an execution whose hook hangs.
        definition["TimeoutSeconds"] = json!(timeout.saturating_add(HOOK_GRACE_SECS));
    }
    Ok(BuiltAsl {
        definition,
        state_steps: builder.owners,
    })
}

struct Builder<'a> {
    graph: &'a FlowGraph,
    analysis: &'a Analysis,
    config: &'a DeployConfig,
    jobs: &'a [StepJob],
    index: BTreeMap<&'a str, usize>,
    /// Every state name emitted so far, and the step it belongs to.
    owners: BTreeMap<String, String>,
}

impl Builder<'_> {
    fn step_name(&self, step: usize) -> &str {
        &self.graph.steps[step].name
    }

    /// The name of `step`'s state in `role`, registered as taken.
    fn name(&mut self, step: usize, role: StateRole) -> Result<String, CompileError> {
        let step_name = self.step_name(step).to_string();
        let name = state_name(&step_name, role);
        self.claim(&name, &step_name)?;
        Ok(name)
    }

    /// The name of the state a step is entered through, without registering it (for
    /// `Next` and `StartAt` fields).
    fn entry_name(&self, step: usize) -> String {
        state_name(self.step_name(step), StateRole::IfResumed)
    }

    /// Inserts `step`'s Batch Task (`task`, going on to `next`, or ending the machine) and
    /// the states it is entered through: in a resumed run, a look-up of the task's record
    /// in the new run that skips the job when the task is already there.
    fn insert_task(
        &mut self,
        states: &mut Map<String, Value>,
        step: usize,
        task: Value,
        next: Option<String>,
    ) -> Result<(), CompileError> {
        let task_name = self.name(step, StateRole::Task)?;
        let entry_name = self.name(step, StateRole::IfResumed)?;
        let check_name = self.name(step, StateRole::IfCommitted)?;
        let step_name = self.step_name(step).to_string();
        let record_key =
            task_record_key_intrinsic(&self.config.datastore, &self.graph.name, &step_name)?;
        let entry = json!({
            "Type": "Choice",
            "Choices": [{
                "Variable": ORIGIN_RUN_ID_PATH,
                "StringEquals": "",
                "Next": task_name,
            }],
            "Default": check_name,
        });
        let check = json!({
            "Type": "Task",
            "Comment": format!(
                "Resumed run: skips the job of step `{step_name}` if the task is in the run already"
            ),
            "Resource": S3_HEAD_OBJECT,
            "Parameters": {
                "Bucket": self.config.datastore.bucket(),
                "Key.$": record_key,
            },
            "ResultPath": null,
            // Not there (404), or not allowed to tell (403): the job clones or runs the task.
            "Catch": [{
                "ErrorEquals": ["States.ALL"],
                "ResultPath": null,
                "Next": task_name,
            }],
        });
        states.insert(entry_name, entry);
        states.insert(check_name, then(check, next.clone()));
        states.insert(task_name, then(task, next));
        Ok(())
    }

    /// The two other `start` tasks (same job, same successor): one passes the upstream
    /// run that triggered this run, one the event that started it.
    fn insert_started_by_tasks(
        &mut self,
        states: &mut Map<String, Value>,
    ) -> Result<(), CompileError> {
        let start = self.index[flow_graph::START];
        let plain = states[&state_name(flow_graph::START, StateRole::Task)].clone();
        for (name, started) in [
            (START_TRIGGERED_STATE, StartedBy::Trigger),
            (START_WITH_EVENT_STATE, StartedBy::Event),
        ] {
            self.claim(name, flow_graph::START)?;
            let command = TaskCommand::new(
                &self.config.binary_name,
                &self.config.datastore,
                flow_graph::START,
                self.analysis.foreach_depth(start),
            )
            .started_by(started);
            let mut task = plain.clone();
            task["Parameters"]["ContainerOverrides"]["Command.$"] = json!(command.intrinsic());
            states.insert(name.to_string(), task);
        }
        // A scheduled run: the plain command, and the schedule in the job's environment.
        if let Some(expression) = self.graph.schedule.as_deref() {
            self.claim(START_SCHEDULED_STATE, flow_graph::START)?;
            let mut task = plain;
            task["Parameters"]["ContainerOverrides"]["Environment"] =
                schedule_environment(expression);
            states.insert(START_SCHEDULED_STATE.to_string(), task);
        }
        Ok(())
    }

    /// The run-level states around the flow's body (`body_states`): a Parallel state
    /// runs it, so that any failure is caught and reaches the failure hook (a Batch task
    /// of the `hook` command, which records the run's final status and calls
    /// `on_failure`), after which a Fail state ends the execution FAILED with the
    /// original error. With a `timeout`, a second branch waits that long and fails the
    /// Parallel state (a state machine's own `TimeoutSeconds` cannot be caught, and a
    /// Parallel state has none), and the body's end fails it on purpose with
    /// [`BODY_SUCCEEDED_ERROR`] to stop the timer. With `on_success`, a hook task runs
    /// after the body succeeded.
    fn run_states(
        &mut self,
        mut body_states: Map<String, Value>,
    ) -> Result<Map<String, Value>, CompileError> {
        let timeout = self.graph.timeout_secs;
        let mut branches = Vec::new();
        let mut catches = Vec::new();
        let mut states = Map::new();
        for name in [
            RUN_STATE,
            FAILED_HOOK_STATE,
            FAILED_HOOK_SHORT_STATE,
            FAILED_STATE,
        ] {
            self.claim(name, RUN_OWNER)?;
        }
        let succeeded_next = if self.graph.hooks.on_success.is_some() {
            self.claim(SUCCEEDED_HOOK_STATE, RUN_OWNER)?;
            self.claim(SUCCEEDED_STATE, RUN_OWNER)?;
            // A success hook's failure leaves the run succeeded, as a local run does: the
            // execution ends SUCCEEDED, so a `trigger_on_finish` downstream still starts.
            let hook = self.hook_task(Outcome::Succeeded, false, false);
            states.insert(
                SUCCEEDED_HOOK_STATE.to_string(),
                self.ending_hook(hook, SUCCEEDED_STATE, None),
            );
            states.insert(
                SUCCEEDED_STATE.to_string(),
                json!({"Type": "Succeed", "Comment": "The flow's body succeeded"}),
            );
            Some(SUCCEEDED_HOOK_STATE.to_string())
        } else {
            None
        };
        if let Some(seconds) = timeout {
            for name in [
                BODY_DONE_STATE,
                TIMER_STATE,
                TIMER_EXPIRED_STATE,
                TIMED_OUT_HOOK_STATE,
                TIMED_OUT_STATE,
            ] {
                self.claim(name, RUN_OWNER)?;
            }
            for state in body_states.values_mut() {
                if state["End"] == json!(true) {
                    if let Some(fields) = state.as_object_mut() {
                        fields.remove("End");
                    }
                    state["Next"] = json!(BODY_DONE_STATE);
                }
            }
            body_states.insert(
                BODY_DONE_STATE.to_string(),
                json!({
                    "Type": "Fail",
                    "Comment": "The body succeeded: stops the run's timer (caught by the run's Parallel state)",
                    "Error": BODY_SUCCEEDED_ERROR,
                    "Cause": "the flow's body succeeded",
                }),
            );
            catches.push(json!({
                "ErrorEquals": [BODY_SUCCEEDED_ERROR],
                "ResultPath": null,
                "Next": succeeded_next.clone().unwrap_or_else(|| SUCCEEDED_STATE.to_string()),
            }));
            let cause = format!(
                "the run went past the flow's timeout of {seconds} seconds (#[flow(timeout = ...)])"
            );
            branches.push(json!({
                "StartAt": TIMER_STATE,
                "States": {
                    TIMER_STATE: {"Type": "Wait", "Seconds": seconds, "Next": TIMER_EXPIRED_STATE},
                    TIMER_EXPIRED_STATE: {"Type": "Fail", "Error": RUN_TIMED_OUT_ERROR, "Cause": cause},
                },
            }));
            catches.push(json!({
                "ErrorEquals": [RUN_TIMED_OUT_ERROR],
                "ResultPath": FAILURE_PATH,
                "Next": TIMED_OUT_HOOK_STATE,
            }));
            let hook = self.hook_task(Outcome::TimedOut, true, false);
            states.insert(
                TIMED_OUT_HOOK_STATE.to_string(),
                self.ending_hook(hook, TIMED_OUT_STATE, None),
            );
            states.insert(
                TIMED_OUT_STATE.to_string(),
                json!({"Type": "Fail", "Error": RUN_TIMED_OUT_ERROR, "Cause": cause}),
            );
        }
        branches.insert(
            0,
            json!({
                "StartAt": INITIALIZE_STATE,
                "States": body_states,
            }),
        );
        catches.push(json!({
            "ErrorEquals": ["States.ALL"],
            "ResultPath": FAILURE_PATH,
            "Next": FAILED_HOOK_STATE,
        }));
        let mut run = json!({
            "Type": "Parallel",
            "Comment": "Runs the flow; any failure is caught so that the run's failure hook runs",
            "Branches": branches,
            "ResultPath": null,
            "Catch": catches,
        });
        if timeout.is_some() {
            // The body never ends the Parallel state successfully: it fails it on purpose
            // when done, so the state's own success has nowhere to go but the end.
            run["End"] = json!(true);
            if succeeded_next.is_none() {
                self.claim(SUCCEEDED_STATE, RUN_OWNER)?;
                states.insert(
                    SUCCEEDED_STATE.to_string(),
                    json!({"Type": "Succeed", "Comment": "The flow's body succeeded"}),
                );
            }
        } else {
            run = then(run, succeeded_next);
        }
        states.insert(RUN_STATE.to_string(), run);
        let full = self.hook_task(Outcome::Failed, true, true);
        states.insert(
            FAILED_HOOK_STATE.to_string(),
            self.ending_hook(full, FAILED_STATE, Some(FAILED_HOOK_SHORT_STATE)),
        );
        let short = self.hook_task(Outcome::Failed, true, false);
        states.insert(
            FAILED_HOOK_SHORT_STATE.to_string(),
            self.ending_hook(short, FAILED_STATE, None),
        );
        states.insert(
            FAILED_STATE.to_string(),
            json!({
                "Type": "Fail",
                "Comment": "Ends the run FAILED with the error that failed it",
                "ErrorPath": format!("{FAILURE_PATH}.Error"),
                "CausePath": format!("{FAILURE_PATH}.Cause"),
            }),
        );
        Ok(states)
    }

    /// A failure or timeout hook task going on to the Fail state `fail` whatever it does
    /// (the run failed either way); a refused submission goes to `without_cause`, when
    /// given (the cause is the only unbounded part of the command).
    fn ending_hook(&self, mut hook: Value, fail: &str, without_cause: Option<&str>) -> Value {
        let mut catches = Vec::new();
        if let Some(short) = without_cause {
            catches.push(json!({
                "ErrorEquals": [BATCH_CLIENT_ERROR],
                "ResultPath": null,
                "Next": short,
            }));
        }
        catches.push(json!({
            "ErrorEquals": ["States.ALL"],
            "ResultPath": null,
            "Next": fail,
        }));
        hook["Catch"] = Value::Array(catches);
        then(hook, Some(fail.to_string()))
    }

    /// A Batch task running the flow's `hook` command for `outcome`, on `start`'s job
    /// definition and queue.
    fn hook_task(&self, outcome: Outcome, with_error: bool, with_cause: bool) -> Value {
        let job = &self.jobs[self.index[flow_graph::START]];
        let command = hook_command(
            &self.config.binary_name,
            &self.config.datastore,
            outcome,
            with_error,
            with_cause,
        );
        let method = match outcome {
            Outcome::Succeeded => self.graph.hooks.on_success.as_deref(),
            Outcome::Failed | Outcome::TimedOut => self.graph.hooks.on_failure.as_deref(),
        };
        let comment = match method {
            Some(method) => format!(
                "Records the run as {} and runs its hook `{method}`",
                outcome.as_str()
            ),
            None => format!("Records the run as {}", outcome.as_str()),
        };
        json!({
            "Type": "Task",
            "Comment": comment,
            "Resource": BATCH_SUBMIT_JOB_SYNC,
            "Parameters": {
                "JobName": job_name(&self.graph.name, "run-hook"),
                "JobDefinition": job.definition_name,
                "JobQueue": job.queue,
                "ContainerOverrides": {"Command.$": command},
            },
            "ResultPath": null,
            "Retry": [{
                "ErrorEquals": SUBMIT_RETRY_ERRORS,
                "IntervalSeconds": SUBMIT_THROTTLE_INTERVAL_SECS,
                "MaxAttempts": SUBMIT_THROTTLE_MAX_ATTEMPTS,
                "BackoffRate": 2,
                "MaxDelaySeconds": SUBMIT_THROTTLE_MAX_DELAY_SECS,
                "JitterStrategy": "FULL",
            }],
        })
    }

    fn claim(&mut self, name: &str, step: &str) -> Result<(), CompileError> {
        match self.owners.insert(name.to_string(), step.to_string()) {
            Some(first) => Err(CompileError::StateNameCollision {
                name: name.to_string(),
                first,
                second: step.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// The sub-machine that runs from `entry` until `terminator` (the join closing the
    /// enclosing split or foreach; `None` for the whole flow).
    fn scope(&mut self, entry: usize, terminator: Option<usize>) -> Result<Value, CompileError> {
        let mut states = Map::new();
        let mut pending = vec![entry];
        let mut done = BTreeSet::new();
        while let Some(step) = pending.pop() {
            if done.insert(step) {
                self.emit_step(step, terminator, &mut states, &mut pending)?;
            }
        }
        Ok(json!({"StartAt": self.entry_name(entry), "States": states}))
    }

    fn emit_step(
        &mut self,
        step: usize,
        terminator: Option<usize>,
        states: &mut Map<String, Value>,
        pending: &mut Vec<usize>,
    ) -> Result<(), CompileError> {
        let spec = &self.graph.steps[step];
        let task = self.task_state(step);
        match &spec.transition {
            Transition::End => {
                self.insert_task(states, step, task, None)?;
            }
            Transition::Next(target) => {
                let target = self.index[target.as_str()];
                let next = if Some(target) == terminator {
                    None
                } else {
                    pending.push(target);
                    Some(self.entry_name(target))
                };
                self.insert_task(states, step, task, next)?;
            }
            Transition::Split(targets) => {
                let join = self.join_of(step);
                let split_name = self.name(step, StateRole::Split)?;
                let branches = targets
                    .iter()
                    .map(|t| self.scope(self.index[t.as_str()], Some(join)))
                    .collect::<Result<Vec<_>, _>>()?;
                let parallel = json!({
                    "Type": "Parallel",
                    "Branches": branches,
                    "ResultPath": null,
                });
                self.insert_task(states, step, task, Some(split_name.clone()))?;
                states.insert(split_name, then(parallel, Some(self.entry_name(join))));
                pending.push(join);
            }
            Transition::Foreach { body, .. } => {
                let join = self.join_of(step);
                let map_name = self.name(step, StateRole::Foreach)?;
                let body = self.scope(self.index[body.as_str()], Some(join))?;
                let map = self.foreach_map(step, body)?;
                self.insert_task(states, step, task, Some(map_name.clone()))?;
                states.insert(map_name, then(map, Some(self.entry_name(join))));
                pending.push(join);
            }
            Transition::Switch(targets) => {
                let read_name = self.name(step, StateRole::ReadDecision)?;
                let choose_name = self.name(step, StateRole::Choose)?;
                let unknown_name = self.name(step, StateRole::UnknownDecision)?;
                let mut choices = Vec::new();
                for target in targets {
                    let t = self.index[target.as_str()];
                    let next = if Some(t) == terminator {
                        // A Choice cannot end a branch itself: hand over to a Pass that does.
                        let end_name = self.name(step, StateRole::BranchEnd)?;
                        states.insert(end_name.clone(), json!({"Type": "Pass", "End": true}));
                        end_name
                    } else {
                        pending.push(t);
                        self.entry_name(t)
                    };
                    choices.push(json!({
                        "Variable": "$.switch.decision.next",
                        "StringEquals": target,
                        "Next": next,
                    }));
                }
                let key = task_object_key(
                    &self.config.datastore,
                    &self.graph.name,
                    &spec.name,
                    TaskObject::SwitchDecision,
                )?;
                let read = json!({
                    "Type": "Task",
                    "Comment": format!("Reads the successor that step `{}` chose", spec.name),
                    "Resource": S3_GET_OBJECT,
                    "Parameters": {
                        "Bucket": self.config.datastore.bucket(),
                        "Key.$": key,
                    },
                    "ResultSelector": {"decision.$": "States.StringToJson($.Body)"},
                    "ResultPath": "$.switch",
                    "Retry": [{
                        "ErrorEquals": ["S3.S3Exception"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": S3_READ_MAX_ATTEMPTS,
                        "BackoffRate": 2,
                        "JitterStrategy": "FULL",
                    }],
                });
                let choose = json!({
                    "Type": "Choice",
                    "Choices": choices,
                    "Default": unknown_name,
                });
                let target_list = targets
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let unknown = json!({
                    "Type": "Fail",
                    "Error": "flowrs.UnknownSwitchDecision",
                    "Cause": format!(
                        "step `{}` chose a successor that is none of its declared targets {target_list}; \
                         the flow's binary in the image is probably not the one this state machine was compiled from",
                        spec.name
                    ),
                });
                self.insert_task(states, step, task, Some(read_name.clone()))?;
                states.insert(read_name, then(read, Some(choose_name.clone())));
                states.insert(choose_name, choose);
                states.insert(unknown_name, unknown);
            }
        }
        Ok(())
    }

    fn join_of(&self, step: usize) -> usize {
        *self
            .analysis
            .join_of
            .get(&step)
            .expect("validation pairs every split and foreach with its join")
    }

    /// The Batch Task of `step`: its job keeps the state unchanged (`ResultPath: null`).
    fn task_state(&self, step: usize) -> Value {
        let spec = &self.graph.steps[step];
        let job = &self.jobs[step];
        let command = TaskCommand::new(
            &self.config.binary_name,
            &self.config.datastore,
            &spec.name,
            self.analysis.foreach_depth(step),
        );
        let mut task = json!({
            "Type": "Task",
            "Resource": BATCH_SUBMIT_JOB_SYNC,
            "Parameters": {
                "JobName": job_name(&self.graph.name, &spec.name),
                "JobDefinition": job.definition_name,
                "JobQueue": job.queue,
                "ContainerOverrides": {"Command.$": command.intrinsic()},
            },
            "ResultPath": null,
            "Retry": task_retriers(spec),
        });
        if let Some(line) = spec.doc.lines().map(str::trim).find(|l| !l.is_empty()) {
            task["Comment"] = json!(line);
        }
        task
    }

    /// The Distributed Map of a foreach: one STANDARD child execution per item of the
    /// list the foreach task wrote, each with its own history. The fan-out is only known
    /// at run time, so an inline Map (whose iterations all land in this execution's
    /// history, 40 at a time) could not be proven to fit the history budget.
    fn foreach_map(&self, step: usize, body: Value) -> Result<Value, CompileError> {
        let spec = &self.graph.steps[step];
        let root = &self.config.datastore;
        let items_key =
            task_object_key(root, &self.graph.name, &spec.name, TaskObject::ForeachItems)?;
        let mut processor = body;
        processor["ProcessorConfig"] = json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"});
        Ok(json!({
            "Type": "Map",
            "Label": map_label(&spec.name),
            "ItemReader": {
                "Resource": S3_ITEM_READER,
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket": root.bucket(), "Key.$": items_key},
            },
            "ItemSelector": {
                "run_id.$": RUN_ID_PATH,
                "index.$": "$$.Map.Item.Value",
                "origin_run_id.$": ORIGIN_RUN_ID_PATH,
            },
            "ItemProcessor": processor,
            "MaxConcurrency": spec
                .options
                .max_concurrency
                .unwrap_or(self.config.max_foreach_concurrency),
            // Without a writer the children's outputs come back as one array, which fails
            // the state past 256 KiB (a few thousand items); written to S3 it never does.
            "ResultWriter": {
                "Resource": S3_RESULT_WRITER,
                "Parameters": {
                    "Bucket": root.bucket(),
                    "Prefix": root.key(&format!("{}/{MAP_RESULTS_FOLDER}", self.graph.name)),
                },
            },
            "ResultPath": null,
        }))
    }

    /// The states that turn the execution input `{"params", "origin_run_id", "trigger"?,
    /// "event"?, "schedule"?}` into the state every task reads; the origin run id becomes
    /// `""` for a fresh run so that the task command always has the same shape. A fresh run
    /// that a trigger, an event or (for a flow with a `schedule`) the schedule rule started
    /// goes straight to the `start` task that records it.
    fn initial_states(&self, start_state: &str) -> Vec<(String, Value)> {
        let root_index = IndexPath::root().key();
        let fresh = json!({
            "Or": [
                {"Variable": ORIGIN_RUN_ID_PATH, "IsPresent": false},
                {"Variable": ORIGIN_RUN_ID_PATH, "IsNull": true},
            ],
        });
        // And/Or stop at the first deciding rule, so IsNull never sees a missing key.
        let given = |path: &str| {
            json!([
                {"Variable": path, "IsPresent": true},
                {"Not": {"Variable": path, "IsNull": true}},
            ])
        };
        let started_by = |path: &str, next: &str| {
            let mut rules = vec![fresh.clone()];
            rules.extend(given(path).as_array().cloned().unwrap_or_default());
            json!({"And": rules, "Next": next})
        };
        let scheduled = self.graph.schedule.is_some();
        let mut choices = vec![
            started_by("$.trigger", NEW_TRIGGERED_RUN_STATE),
            started_by("$.event", NEW_EVENT_RUN_STATE),
        ];
        if scheduled {
            choices.push(started_by("$.schedule", NEW_SCHEDULED_RUN_STATE));
        }
        choices.push(json!({"Or": fresh["Or"].clone(), "Next": NEW_RUN_STATE}));
        let initialize = json!({
            "Type": "Choice",
            "Choices": choices,
            "Default": RESUMED_RUN_STATE,
        });
        let fresh_state = |next: &str| {
            json!({
                "Type": "Pass",
                "Parameters": {
                    "run_id.$": "$$.Execution.Name",
                    "index": root_index,
                    "origin_run_id": "",
                },
                "Next": next,
            })
        };
        let new_run = json!({
            "Type": "Pass",
            "Parameters": {
                "run_id.$": "$$.Execution.Name",
                "index": root_index,
                "origin_run_id": "",
            },
            "Next": start_state,
        });
        let resumed_run = json!({
            "Type": "Pass",
            "Parameters": {
                "run_id.$": "$$.Execution.Name",
                "index": root_index,
                "origin_run_id.$": ORIGIN_RUN_ID_PATH,
            },
            "Next": start_state,
        });
        let mut states = vec![
            (INITIALIZE_STATE.to_string(), initialize),
            (NEW_RUN_STATE.to_string(), new_run),
            (
                NEW_TRIGGERED_RUN_STATE.to_string(),
                fresh_state(START_TRIGGERED_STATE),
            ),
            (
                NEW_EVENT_RUN_STATE.to_string(),
                fresh_state(START_WITH_EVENT_STATE),
            ),
            (RESUMED_RUN_STATE.to_string(), resumed_run),
        ];
        if scheduled {
            states.push((
                NEW_SCHEDULED_RUN_STATE.to_string(),
                fresh_state(START_SCHEDULED_STATE),
            ));
        }
        states
    }
}

/// The `Retry` of a step's Batch Task. Retriers are tried in order and each counts its own
/// attempts: first a submission Batch refused, retried with full jitter so that a wide
/// foreach does not retry in lockstep; then, if the step retries, a failed job, after the
/// step's backoff (whole seconds, at least 1), doubled per retry as in a local run.
pub fn task_retriers(step: &StepSpec) -> Value {
    let mut retriers = vec![json!({
        "ErrorEquals": SUBMIT_RETRY_ERRORS,
        "IntervalSeconds": SUBMIT_THROTTLE_INTERVAL_SECS,
        "MaxAttempts": SUBMIT_THROTTLE_MAX_ATTEMPTS,
        "BackoffRate": 2,
        "MaxDelaySeconds": SUBMIT_THROTTLE_MAX_DELAY_SECS,
        "JitterStrategy": "FULL",
    })];
    if let Some(retry) = step.options.retry.filter(|r| r.times > 0) {
        let interval = retry.backoff_ms.div_ceil(1000).max(1);
        // No backoff locally means retrying at once: here, every second.
        let rate = if retry.backoff_ms == 0 { 1 } else { 2 };
        retriers.push(json!({
            "ErrorEquals": [TASK_FAILED_ERROR],
            "IntervalSeconds": interval,
            "MaxAttempts": retry.times,
            "BackoffRate": rate,
        }));
    }
    Value::Array(retriers)
}

/// `state` with `Next: next`, or `End: true` when `next` is `None`.
fn then(mut state: Value, next: Option<String>) -> Value {
    match next {
        Some(next) => state["Next"] = json!(next),
        None => state["End"] = json!(true),
    }
    state
}

/// The number of states in a definition, those inside branches and map bodies included.
pub fn count_states(machine: &Value) -> usize {
    machine["States"].as_object().map_or(0, |states| {
        states
            .values()
            .map(|state| {
                let nested: usize = state["Branches"]
                    .as_array()
                    .map_or(0, |b| b.iter().map(count_states).sum());
                1 + nested + count_states(&state["ItemProcessor"])
            })
            .sum()
    })
}

#[cfg(test)]
mod tests;
