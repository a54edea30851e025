//! The history-event budget: Step Functions fails an execution that records more than
//! 25,000 history events, so the compiler computes, from the generated definition itself,
//! the most events each execution can record and refuses a flow that could exceed it.
//!
//! Events per state (from the Step Functions history event types):
//! * an execution: `ExecutionStarted` + `ExecutionSucceeded` (or `Failed`): 2;
//! * a `.sync` Task: `TaskStateEntered`, `TaskScheduled`, `TaskStarted`, `TaskSubmitted`,
//!   `TaskSucceeded`, `TaskStateExited`: 6; a request-response Task (an S3 read, the look-up
//!   of a task's record in a resumed run) has no `TaskSubmitted`: 5, and as many when it
//!   fails into its `Catch` (`TaskFailed` in place of `TaskSucceeded`); each retry of a Task
//!   adds at most `TaskScheduled`, `TaskStarted` and `TaskFailed` (or `TaskSubmitFailed`):
//!   3, and every retrier of its `Retry` may use all its `MaxAttempts` (a Batch Task retries
//!   up to 10 refused submissions, then the step's own retries). Batch's own retries of a
//!   job whose host failed happen inside Batch and add nothing;
//! * Choice and Pass: entered + exited: 2 (every step is entered through a Choice); Fail:
//!   entered: 1 (`ExecutionFailed` replaces `ExecutionSucceeded`);
//! * Parallel: entered, started, succeeded, exited: 4, plus every state of every branch;
//!   The run-level Parallel state that wraps the flow's body (so that every failure
//!   reaches the run's hook) is one too; its branches' steps count as the run's own;
//! * Wait: entered + exited: 2 (the run's timer, which the body's end stops);
//! * Distributed Map: entered, started, `MapRunStarted`, `MapRunSucceeded`, succeeded,
//!   exited: 6 in the parent; each item is a child execution with its own history, budgeted
//!   separately.
//!
//! A Choice costs its most expensive alternative, and so does a state with a `Catch` (its
//! `Next` or its catcher's). "Worst case" counts every retry and takes the dearest path (in a
//! resumed run, a look-up before each job); "typical" counts no retry.

use super::asl::{
    RUN_OWNER, RUN_STATE, START_SCHEDULED_STATE, START_TRIGGERED_STATE, START_WITH_EVENT_STATE,
};
use super::CompileError;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The most history events one Step Functions execution can record.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

const EXECUTION_EVENTS: u64 = 2;
const SYNC_TASK_EVENTS: u64 = 6;
const REQUEST_RESPONSE_TASK_EVENTS: u64 = 5;
const RETRY_EVENTS: u64 = 3;
const CHOICE_OR_PASS_EVENTS: u64 = 2;
const FAIL_EVENTS: u64 = 1;
const SUCCEED_EVENTS: u64 = 2;
const PARALLEL_EVENTS: u64 = 4;
const DISTRIBUTED_MAP_EVENTS: u64 = 6;

/// The history budget of one kind of execution of the state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionBudget {
    /// Which execution: the run itself, or each child execution of a foreach.
    pub execution: String,
    /// For a foreach's child executions, the foreach step.
    pub foreach_step: Option<String>,
    /// Batch tasks one such execution runs itself (not counting child executions).
    pub batch_tasks: u64,
    /// Events recorded on the dearest path (a resumed run's) when nothing is retried.
    pub typical_events: u64,
    /// Events recorded on the dearest path when every retry is used.
    pub worst_case_events: u64,
    /// The step whose states record the most events in this execution.
    pub heaviest_step: String,
    /// Worst-case events of the heaviest step's states (its branches included).
    pub heaviest_step_events: u64,
    /// Whether the heaviest step is a static split (its branches share this history).
    pub heaviest_is_split: bool,
}

/// The budgets of the run's execution and of each foreach's child executions, outermost
/// first; `state_steps` maps each state name to its step.
pub fn budgets(definition: &Value, state_steps: &BTreeMap<String, String>) -> Vec<ExecutionBudget> {
    let mut out = Vec::new();
    let mut walker = Walker {
        state_steps,
        children: Vec::new(),
    };
    let top = walker.execution(definition);
    out.push(top.into_budget("the run's execution".to_string(), None));
    // Child executions found while walking, breadth first: each is walked on its own.
    let mut queue = std::mem::take(&mut walker.children);
    let mut i = 0;
    while i < queue.len() {
        let (step, processor) = queue[i].clone();
        let summary = walker.execution(&processor);
        queue.append(&mut walker.children);
        out.push(summary.into_budget(
            format!("each child execution of foreach `{step}`"),
            Some(step),
        ));
        i += 1;
    }
    out
}

/// Refuses the first execution whose worst case exceeds the limit.
pub fn check(flow: &str, budgets: &[ExecutionBudget]) -> Result<(), CompileError> {
    for budget in budgets {
        if budget.worst_case_events <= MAX_HISTORY_EVENTS {
            continue;
        }
        let (cause, fix) = if budget.heaviest_is_split {
            (
                format!(
                    "the branches of split `{}` alone could record {} events",
                    budget.heaviest_step,
                    thousands(budget.heaviest_step_events)
                ),
                format!(
                    "turn the branches of `{}` into a foreach over a list (each item then runs as a \
                     child execution with its own history), or split the flow into smaller flows",
                    budget.heaviest_step
                ),
            )
        } else {
            (
                format!(
                    "it runs {} Batch tasks, each recording up to {} events (e.g. step `{}`)",
                    budget.batch_tasks, budget.heaviest_step_events, budget.heaviest_step
                ),
                "move repeated steps into a foreach body (each item then runs as a child execution \
                 with its own history), or split the flow into smaller flows"
                    .to_string(),
            )
        };
        return Err(CompileError::HistoryBudgetExceeded {
            flow: flow.to_string(),
            execution: budget.execution.clone(),
            step: budget
                .foreach_step
                .clone()
                .unwrap_or_else(|| budget.heaviest_step.clone()),
            events: budget.worst_case_events,
            advice: format!("{cause}. Fix: {fix}"),
        });
    }
    Ok(())
}

/// `25000` as `25,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Typical and worst-case events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cost {
    typical: u64,
    worst: u64,
}

impl Cost {
    fn fixed(events: u64) -> Self {
        Cost {
            typical: events,
            worst: events,
        }
    }

    fn plus(self, other: Cost) -> Cost {
        Cost {
            typical: self.typical + other.typical,
            worst: self.worst + other.worst,
        }
    }

    fn max(self, other: Cost) -> Cost {
        Cost {
            typical: self.typical.max(other.typical),
            worst: self.worst.max(other.worst),
        }
    }
}

struct Summary {
    cost: Cost,
    /// The steps (or unowned states) with a Batch task in this execution.
    task_owners: BTreeSet<String>,
    heaviest: Option<(u64, String, bool)>,
}

impl Summary {
    fn into_budget(self, execution: String, foreach_step: Option<String>) -> ExecutionBudget {
        let (heaviest_step_events, heaviest_step, heaviest_is_split) =
            self.heaviest.unwrap_or((0, String::new(), false));
        ExecutionBudget {
            execution,
            foreach_step,
            batch_tasks: self.task_owners.len() as u64,
            typical_events: EXECUTION_EVENTS + self.cost.typical,
            worst_case_events: EXECUTION_EVENTS + self.cost.worst,
            heaviest_step,
            heaviest_step_events,
            heaviest_is_split,
        }
    }
}

struct Walker<'a> {
    state_steps: &'a BTreeMap<String, String>,
    /// Distributed Map bodies met so far: (foreach step, ItemProcessor).
    children: Vec<(String, Value)>,
}

impl Walker<'_> {
    /// The cost of one execution of `machine` (its own states and branches).
    fn execution(&mut self, machine: &Value) -> Summary {
        let mut summary = Summary {
            cost: Cost::default(),
            task_owners: BTreeSet::new(),
            heaviest: None,
        };
        summary.cost = self.machine(machine, &mut summary, true);
        summary
    }

    /// The most expensive path through `machine`; per-step costs are charged to
    /// `summary` when `top` (states of nested branches count towards their split).
    fn machine(&mut self, machine: &Value, summary: &mut Summary, top: bool) -> Cost {
        let empty = Map::new();
        let states = machine["States"].as_object().unwrap_or(&empty);
        let mut own: BTreeMap<&str, Cost> = BTreeMap::new();
        let mut per_step: BTreeMap<String, (u64, bool)> = BTreeMap::new();
        for (name, state) in states {
            // The run-level Parallel state only wraps the flow's body (so that a failure
            // reaches the run's hook): its body's steps are this execution's own.
            let wrapper = top && name == RUN_STATE && state["Type"] == "Parallel";
            let cost = self.state(name, state, summary, wrapper);
            own.insert(name, cost);
            // `start`'s other tasks are alternatives to its task, not more of its events.
            let alternative = [
                START_TRIGGERED_STATE,
                START_WITH_EVENT_STATE,
                START_SCHEDULED_STATE,
            ]
            .contains(&name.as_str());
            if top && !wrapper && !alternative {
                if let Some(step) = self.state_steps.get(name).filter(|s| *s != RUN_OWNER) {
                    let entry = per_step.entry(step.clone()).or_default();
                    entry.0 += cost.worst;
                    entry.1 |= state["Type"] == "Parallel";
                }
            }
        }
        if top {
            for (step, (events, is_split)) in per_step {
                if summary
                    .heaviest
                    .as_ref()
                    .is_none_or(|(max, _, _)| events > *max)
                {
                    summary.heaviest = Some((events, step, is_split));
                }
            }
        }
        let mut memo = BTreeMap::new();
        let start = machine["StartAt"].as_str().unwrap_or_default();
        path_cost(start, states, &own, &mut memo)
    }

    /// The events of one state, its branches included (not its successors).
    fn state(&mut self, name: &str, state: &Value, summary: &mut Summary, wrapper: bool) -> Cost {
        let retries: u64 = state["Retry"].as_array().map_or(0, |r| {
            r.iter().filter_map(|r| r["MaxAttempts"].as_u64()).sum()
        });
        match state["Type"].as_str().unwrap_or_default() {
            "Task" => {
                let sync = state["Resource"]
                    .as_str()
                    .is_some_and(|r| r.ends_with(".sync"));
                if sync {
                    // A step counts once (`start` has one task per way a run can begin);
                    // the run's hooks are not the flow's tasks.
                    let owner = self.state_steps.get(name).map_or(name, String::as_str);
                    if owner != RUN_OWNER {
                        summary.task_owners.insert(owner.to_string());
                    }
                }
                let base = if sync {
                    SYNC_TASK_EVENTS
                } else {
                    REQUEST_RESPONSE_TASK_EVENTS
                };
                Cost {
                    typical: base,
                    worst: base + RETRY_EVENTS * retries,
                }
            }
            "Parallel" => {
                let mut cost = Cost::fixed(PARALLEL_EVENTS);
                for branch in state["Branches"].as_array().into_iter().flatten() {
                    cost = cost.plus(self.machine(branch, summary, wrapper));
                }
                cost
            }
            "Map" => {
                let step = self
                    .state_steps
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| name.to_string());
                self.children.push((step, state["ItemProcessor"].clone()));
                Cost::fixed(DISTRIBUTED_MAP_EVENTS)
            }
            "Fail" => Cost::fixed(FAIL_EVENTS),
            "Succeed" => Cost::fixed(SUCCEED_EVENTS),
            _ => Cost::fixed(CHOICE_OR_PASS_EVENTS),
        }
    }
}

/// The most expensive path from `name` to the end of its machine (the graph is acyclic).
/// Walked with an explicit stack: a chain of a thousand steps is three thousand states deep.
fn path_cost<'a>(
    name: &'a str,
    states: &'a Map<String, Value>,
    own: &BTreeMap<&str, Cost>,
    memo: &mut BTreeMap<&'a str, Cost>,
) -> Cost {
    // (state, whether its successors have been pushed already)
    let mut stack: Vec<(&'a str, bool)> = vec![(name, false)];
    while let Some((current, expanded)) = stack.pop() {
        if memo.contains_key(current) {
            continue;
        }
        let Some(state) = states.get(current) else {
            memo.insert(current, Cost::default());
            continue;
        };
        let next = successors(state);
        if !expanded {
            stack.push((current, true));
            stack.extend(
                next.into_iter()
                    .filter(|n| !memo.contains_key(n))
                    .map(|n| (n, false)),
            );
            continue;
        }
        let rest = next
            .into_iter()
            .map(|n| memo.get(n).copied().unwrap_or_default())
            .fold(Cost::default(), Cost::max);
        let cost = own.get(current).copied().unwrap_or_default().plus(rest);
        memo.insert(current, cost);
    }
    memo.get(name).copied().unwrap_or_default()
}

/// The states `state` may go on to: its `Next`, a Choice's alternatives, a catcher's `Next`.
fn successors(state: &Value) -> Vec<&str> {
    let mut next: Vec<&str> = Vec::new();
    if let Some(n) = state["Next"].as_str() {
        next.push(n);
    }
    if let Some(d) = state["Default"].as_str() {
        next.push(d);
    }
    for choice in state["Choices"]
        .as_array()
        .into_iter()
        .chain(state["Catch"].as_array())
        .flatten()
    {
        if let Some(n) = choice["Next"].as_str() {
            next.push(n);
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catch_is_a_path_and_costs_its_dearest_alternative() {
        // check -> (Next) done, or (Catch) job -> done: the dearest path goes through job.
        let machine = serde_json::json!({
            "StartAt": "check",
            "States": {
                "check": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:s3:headObject",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "job"}],
                    "Next": "done",
                },
                "job": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::batch:submitJob.sync",
                    "Retry": [{"ErrorEquals": ["A"], "MaxAttempts": 2}, {"ErrorEquals": ["B"], "MaxAttempts": 3}],
                    "Next": "done",
                },
                "done": {"Type": "Pass", "End": true},
            }
        });
        let steps = BTreeMap::new();
        let run = &budgets(&machine, &steps)[0];
        assert_eq!(run.batch_tasks, 1);
        assert_eq!(run.typical_events, 2 + 5 + 6 + 2);
        // Every retrier may use all its attempts.
        assert_eq!(run.worst_case_events, 2 + 5 + 6 + 3 * (2 + 3) + 2);
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let mut states = serde_json::Map::new();
        for i in 0..100_000 {
            states.insert(
                format!("s{i}"),
                serde_json::json!({"Type": "Pass", "Next": format!("s{}", i + 1)}),
            );
        }
        states.insert(
            "s100000".into(),
            serde_json::json!({"Type": "Pass", "End": true}),
        );
        let machine = serde_json::json!({"StartAt": "s0", "States": states});
        let run = &budgets(&machine, &BTreeMap::new())[0];
        assert_eq!(run.typical_events, 2 + 2 * 100_001);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(25_000), "25,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
