//! Step Functions intrinsic-function text: the container command of each task and the S3
//! keys of the objects a task leaves for the state machine to read (its record, a
//! foreach's item list, a switch's decision).
//!
//! Both are built at run time from the state (`$.run_id`, `$.index`, `$.origin_run_id`);
//! everything else in them is fixed when the flow is compiled.

use super::CompileError;
use crate::config::S3Root;
use flow_core::datastore::Layout;
use flow_core::{IndexPath, RunId, TaskId};

/// Where the run id travels in the state.
pub const RUN_ID_PATH: &str = "$.run_id";
/// Where the task's foreach index key travels in the state.
pub const INDEX_PATH: &str = "$.index";
/// Where the origin run id (empty string for a fresh run) travels in the state.
pub const ORIGIN_RUN_ID_PATH: &str = "$.origin_run_id";
/// The flow params in the execution input, readable from any state of the top execution.
pub const PARAMS_PATH: &str = "$$.Execution.Input.params";

/// The upstream run that started this run, in the execution input (`{"flow", "run_id"}`).
pub const TRIGGER_PATH: &str = "$$.Execution.Input.trigger";
/// The event that started this run, in the execution input.
pub const EVENT_PATH: &str = "$$.Execution.Input.event";
/// Where a caught error travels into the run's hook (`{"Error", "Cause"}`).
pub const FAILURE_PATH: &str = "$.failure";
/// The run id in the run-level states, outside the flow's body (the execution's name).
pub const EXECUTION_NAME_PATH: &str = "$$.Execution.Name";

/// The longest flow name a trigger's `--triggered-by` value is budgeted for.
const MAX_FLOW_NAME_BYTES: usize = 256;
/// The longest run id (an execution name).
const MAX_RUN_ID_BYTES: usize = flow_core::ids::MAX_RUN_ID_LEN;
/// The longest item index of one foreach level in an index key (`usize::MAX` and a `.`).
const MAX_INDEX_LEVEL_BYTES: usize = 21;

/// Quotes `text` as an intrinsic-function string literal: `'`, `{`, `}` and `\` are
/// escaped with `\`, as the Amazon States Language requires.
pub fn literal(text: &str) -> String {
    format!("'{}'", escape(text))
}

/// Escapes the inside of an intrinsic-function string literal.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\'' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One element of a task's argv: fixed text, or a value from the state.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Literal(String),
    /// A JsonPath or nested intrinsic, and the most bytes its value can take.
    Dynamic(String, usize),
}

/// The argv of a step's Batch job:
/// `<binary> step --datastore <ROOT> --run-id <RUN> --step <STEP> --index <INDEX>
/// --origin-run-id <RUN or ""> [--params-json <JSON>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCommand {
    args: Vec<Arg>,
}

impl TaskCommand {
    /// The command of `step`, `foreach_depth` foreaches deep; only `start` gets the params.
    pub fn new(binary: &str, root: &S3Root, step: &str, foreach_depth: usize) -> Self {
        let fixed = |s: &str| Arg::Literal(s.to_string());
        let index_bytes = MAX_INDEX_LEVEL_BYTES * foreach_depth.max(1);
        let mut args = vec![
            fixed(binary),
            fixed("step"),
            fixed("--datastore"),
            Arg::Literal(root.to_string()),
            fixed("--run-id"),
            Arg::Dynamic(RUN_ID_PATH.into(), MAX_RUN_ID_BYTES),
            fixed("--step"),
            fixed(step),
            fixed("--index"),
            Arg::Dynamic(INDEX_PATH.into(), index_bytes),
            // Always passed, so that the argv has one shape: an empty value means "not a
            // resumed run" (a JsonPath cannot drop an array element conditionally).
            fixed("--origin-run-id"),
            Arg::Dynamic(ORIGIN_RUN_ID_PATH.into(), MAX_RUN_ID_BYTES),
        ];
        if step == flow_graph::START {
            args.push(fixed("--params-json"));
            // Size unknown at compile time: accounted for by `max_params_json_bytes`.
            args.push(Arg::Dynamic(
                format!("States.JsonToString({PARAMS_PATH})"),
                0,
            ));
        }
        TaskCommand { args }
    }

    /// The command of `start` in a run something started: `--triggered-by FLOW/RUN_ID`
    /// from the execution input's `trigger`, or `--event-json` with its `event`.
    pub fn started_by(mut self, started: StartedBy) -> Self {
        let fixed = |s: &str| Arg::Literal(s.to_string());
        match started {
            StartedBy::Trigger => {
                self.args.push(fixed("--triggered-by"));
                self.args.push(Arg::Dynamic(
                    format!(
                        "States.Format('{{}}/{{}}', {TRIGGER_PATH}.flow, {TRIGGER_PATH}.run_id)"
                    ),
                    MAX_FLOW_NAME_BYTES + 1 + MAX_RUN_ID_BYTES,
                ));
            }
            StartedBy::Event => {
                self.args.push(fixed("--event-json"));
                // Shares what the params leave (`max_params_json_bytes`) with them.
                self.args.push(Arg::Dynamic(
                    format!("States.JsonToString({EVENT_PATH})"),
                    0,
                ));
            }
        }
        self
    }

    /// The `Command.$` value: a `States.Array(..)` of the argv.
    pub fn intrinsic(&self) -> String {
        let parts: Vec<String> = self
            .args
            .iter()
            .map(|arg| match arg {
                Arg::Literal(text) => literal(text),
                Arg::Dynamic(path, _) => path.clone(),
            })
            .collect();
        format!("States.Array({})", parts.join(", "))
    }

    /// The most bytes the argv takes in the SubmitJob request's ContainerOverrides (as a
    /// JSON array of strings), not counting the params JSON of `start`.
    pub fn max_override_bytes(&self) -> usize {
        let elements: usize = self
            .args
            .iter()
            .map(|arg| {
                let len = match arg {
                    // JSON-escaping never shrinks text; escapes are counted by serializing.
                    Arg::Literal(text) => serde_json::to_string(text).map_or(0, |s| s.len()),
                    Arg::Dynamic(_, max) => max + 2,
                };
                len + 1 // the separating comma
            })
            .sum();
        elements + r#"{"Command":[]}"#.len()
    }
}

/// What started a run, for the command of its `start` task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartedBy {
    /// A finished run of an upstream flow (`trigger_on_finish`).
    Trigger,
    /// An EventBridge event (`trigger(...)`).
    Event,
}

/// The container overrides' `Environment` of the `start` task of a run the flow's schedule
/// started: [`STARTED_BY_SCHEDULE_VAR`](flow_core::tags::STARTED_BY_SCHEDULE_VAR) = the
/// flow's schedule expression, which the task records as `started_by=schedule:EXPRESSION`.
/// The compiled expression rather than the input's value, so that its size is known.
pub fn schedule_environment(expression: &str) -> serde_json::Value {
    serde_json::json!([{
        "Name": flow_core::tags::STARTED_BY_SCHEDULE_VAR,
        "Value": expression,
    }])
}

/// The bytes [`schedule_environment`] adds to the SubmitJob request's container overrides
/// (as `,"Environment":[..]` beside the command).
pub fn schedule_environment_bytes(expression: &str) -> usize {
    let environment = serde_json::json!([{
        "name": flow_core::tags::STARTED_BY_SCHEDULE_VAR,
        "value": expression,
    }]);
    r#","environment":"#.len() + environment.to_string().len()
}

/// How a run ended, as the `hook` command's `--outcome` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The flow's body succeeded.
    Succeeded,
    /// A step (or the state machine around it) failed.
    Failed,
    /// The run went past the flow's `timeout`.
    TimedOut,
}

impl Outcome {
    /// The `--outcome` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed-out",
        }
    }
}

/// The argv of the Batch job that ends a run:
/// `<binary> hook --datastore <ROOT> --run-id <RUN> --outcome <OUTCOME> [--error <E>]
/// [--cause <C>]`; it records the run's final status and calls the flow's hook method.
/// The error and cause come from the state's [`FAILURE_PATH`] (what a `Catch` caught).
pub fn hook_command(
    binary: &str,
    root: &S3Root,
    outcome: Outcome,
    with_error: bool,
    with_cause: bool,
) -> String {
    let mut args = vec![
        literal(binary),
        literal("hook"),
        literal("--datastore"),
        literal(&root.to_string()),
        literal("--run-id"),
        EXECUTION_NAME_PATH.to_string(),
        literal("--outcome"),
        literal(outcome.as_str()),
    ];
    if with_error {
        args.push(literal("--error"));
        args.push(format!("{FAILURE_PATH}.Error"));
    }
    if with_cause {
        args.push(literal("--cause"));
        args.push(format!("{FAILURE_PATH}.Cause"));
    }
    format!("States.Array({})", args.join(", "))
}

/// Which per-task object of the datastore layout a key points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskObject {
    /// The task's record, written last: its presence means the task finished.
    Record,
    /// The JSON array of child index keys a foreach task wrote.
    ForeachItems,
    /// The `{"next": "<step>"}` a switch task wrote.
    SwitchDecision,
}

/// `States.Format(..)` building the S3 key of `object` for the task of `step` at the
/// state's run id and index, from the datastore's own [`Layout`] (so the layout stays
/// defined in one place): the key is laid out with placeholder ids, which are then turned
/// into `{}` arguments.
pub fn task_object_key(
    root: &S3Root,
    flow: &str,
    step: &str,
    object: TaskObject,
) -> Result<String, CompileError> {
    const RUN_PLACEHOLDER: &str = "flowsfn-run-placeholder";
    const INDEX_PLACEHOLDER: usize = 4_398_046_511_093;
    let layout = Layout::new(flow);
    let run = RunId::new(RUN_PLACEHOLDER).expect("the placeholder is a valid run id");
    let task = TaskId::new(step, IndexPath(vec![INDEX_PLACEHOLDER]));
    let key = root.key(&match object {
        TaskObject::Record => layout.task_record(&run, &task),
        TaskObject::ForeachItems => layout.foreach_items(&run, &task),
        TaskObject::SwitchDecision => layout.switch_decision(&run, &task),
    });
    let index_placeholder = INDEX_PLACEHOLDER.to_string();
    let placeholders = [
        (RUN_PLACEHOLDER, RUN_ID_PATH),
        (index_placeholder.as_str(), INDEX_PATH),
    ];
    // Each placeholder must occur exactly once, or the template would be ambiguous.
    let mut found: Vec<(usize, &str, &str)> = Vec::new();
    for (placeholder, path) in placeholders {
        let hits: Vec<usize> = key.match_indices(placeholder).map(|(at, _)| at).collect();
        match hits.as_slice() {
            [at] => found.push((*at, placeholder, path)),
            _ => {
                return Err(CompileError::KeyTemplate {
                    step: step.to_string(),
                    key,
                })
            }
        }
    }
    found.sort();
    let mut template = String::new();
    let mut rest = key.as_str();
    let mut consumed = 0;
    for (at, placeholder, _) in &found {
        let local = at - consumed;
        template.push_str(&escape(&rest[..local]));
        template.push_str("{}");
        rest = &rest[local + placeholder.len()..];
        consumed = at + placeholder.len();
    }
    template.push_str(&escape(rest));
    let args: Vec<&str> = found.iter().map(|(_, _, path)| *path).collect();
    Ok(format!("States.Format('{template}', {})", args.join(", ")))
}

/// `States.Format(..)` building the S3 key of the record of `step`'s task at the state's
/// run id and index: where a resumed run looks for a task `resume` cloned before the
/// execution started, so both sides must build the key from here (and so from [`Layout`]).
pub fn task_record_key_intrinsic(
    root: &S3Root,
    flow: &str,
    step: &str,
) -> Result<String, CompileError> {
    task_object_key(root, flow, step, TaskObject::Record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_the_four_special_characters() {
        assert_eq!(literal("plain"), "'plain'");
        assert_eq!(literal(r"it's {x} \ y"), r"'it\'s \{x\} \\ y'");
    }

    #[test]
    fn the_command_of_start_carries_the_params() {
        let root = S3Root::parse("s3://bucket/prefix").unwrap();
        let start = TaskCommand::new("movie", &root, "start", 0).intrinsic();
        assert_eq!(
            start,
            "States.Array('movie', 'step', '--datastore', 's3://bucket/prefix', '--run-id', $.run_id, \
             '--step', 'start', '--index', $.index, '--origin-run-id', $.origin_run_id, \
             '--params-json', States.JsonToString($$.Execution.Input.params))"
        );
        let other = TaskCommand::new("movie", &root, "measure", 1).intrinsic();
        assert!(!other.contains("params"), "{other}");
        assert!(
            other.ends_with("'--origin-run-id', $.origin_run_id)"),
            "{other}"
        );
    }

    #[test]
    fn a_started_run_passes_its_trigger_or_event_to_start() {
        let root = S3Root::parse("s3://bucket").unwrap();
        let plain = TaskCommand::new("b", &root, "start", 0);
        let triggered = plain.clone().started_by(StartedBy::Trigger);
        assert!(triggered.intrinsic().ends_with(
            "'--triggered-by', States.Format('{}/{}', $$.Execution.Input.trigger.flow, \
             $$.Execution.Input.trigger.run_id))"
        ));
        assert_eq!(
            triggered.max_override_bytes() - plain.max_override_bytes(),
            "\"--triggered-by\",".len() + MAX_FLOW_NAME_BYTES + 1 + MAX_RUN_ID_BYTES + 3
        );
        let event = plain.started_by(StartedBy::Event).intrinsic();
        assert!(
            event.ends_with("'--event-json', States.JsonToString($$.Execution.Input.event))"),
            "{event}"
        );
    }

    #[test]
    fn a_scheduled_start_gets_its_schedule_in_the_environment_and_it_is_counted() {
        assert_eq!(
            schedule_environment("rate(1 day)"),
            serde_json::json!([{"Name": "FLOW_STARTED_BY_SCHEDULE", "Value": "rate(1 day)"}])
        );
        // As Batch's SubmitJob request carries it beside the command.
        assert_eq!(
            schedule_environment_bytes("rate(1 day)"),
            r#","environment":[{"name":"FLOW_STARTED_BY_SCHEDULE","value":"rate(1 day)"}]"#.len()
        );
        // The longest expression EventBridge takes (256 characters) costs less than the
        // upstream run a triggered start carries, so the params budget stays the same.
        let root = S3Root::parse("s3://bucket").unwrap();
        let plain = TaskCommand::new("b", &root, "start", 0);
        let triggered = plain.clone().started_by(StartedBy::Trigger);
        assert!(
            plain.max_override_bytes() + schedule_environment_bytes(&"x".repeat(256))
                < triggered.max_override_bytes()
        );
    }

    #[test]
    fn the_hook_command_carries_the_caught_error_when_asked() {
        let root = S3Root::parse("s3://bucket/p").unwrap();
        assert_eq!(
            hook_command("b", &root, Outcome::Failed, true, true),
            "States.Array('b', 'hook', '--datastore', 's3://bucket/p', '--run-id', $$.Execution.Name, \
             '--outcome', 'failed', '--error', $.failure.Error, '--cause', $.failure.Cause)"
        );
        let succeeded = hook_command("b", &root, Outcome::Succeeded, false, false);
        assert!(
            succeeded.ends_with("'--outcome', 'succeeded')"),
            "{succeeded}"
        );
        assert!(hook_command("b", &root, Outcome::TimedOut, true, false).contains("'timed-out'"));
    }

    #[test]
    fn override_size_grows_with_foreach_depth() {
        let root = S3Root::parse("s3://bucket").unwrap();
        let shallow = TaskCommand::new("b", &root, "s", 1).max_override_bytes();
        let deep = TaskCommand::new("b", &root, "s", 3).max_override_bytes();
        assert_eq!(deep - shallow, 2 * MAX_INDEX_LEVEL_BYTES);
        assert!(shallow < 400, "{shallow}");
    }

    #[test]
    fn keys_follow_the_datastore_layout() {
        let root = S3Root::parse("s3://bucket/some/prefix").unwrap();
        let key = task_object_key(&root, "MovieFlow", "start", TaskObject::ForeachItems).unwrap();
        assert_eq!(
            key,
            "States.Format('some/prefix/MovieFlow/runs/{}/steps/start/{}/foreach.json', $.run_id, $.index)"
        );
        // Same layout as flow-core writes, with real ids in place of the arguments.
        let layout = Layout::new("MovieFlow");
        let run = RunId::new("r1").unwrap();
        let written =
            root.key(&layout.switch_decision(&run, &TaskId::new("pick", IndexPath(vec![2, 5]))));
        let template =
            task_object_key(&root, "MovieFlow", "pick", TaskObject::SwitchDecision).unwrap();
        let filled = template
            .trim_start_matches("States.Format('")
            .split("', ")
            .next()
            .unwrap()
            .replacen("{}", "r1", 1)
            .replacen("{}", "2.5", 1);
        assert_eq!(filled, written);
    }

    #[test]
    fn the_record_key_is_the_one_the_datastore_commits() {
        let root = S3Root::parse("s3://bucket/p").unwrap();
        let template = task_record_key_intrinsic(&root, "F", "train").unwrap();
        assert_eq!(
            template,
            "States.Format('p/F/runs/{}/steps/train/{}/task.json', $.run_id, $.index)"
        );
        let run = RunId::new("r9").unwrap();
        let task = TaskId::new("train", IndexPath(vec![0, 3]));
        let written = root.key(&Layout::new("F").task_record(&run, &task));
        let filled = template
            .trim_start_matches("States.Format('")
            .split("', ")
            .next()
            .unwrap()
            .replacen("{}", "r9", 1)
            .replacen("{}", "0.3", 1);
        assert_eq!(filled, written);
    }

    #[test]
    fn a_step_name_containing_a_placeholder_is_refused_not_miscompiled() {
        let root = S3Root::parse("s3://bucket").unwrap();
        let err =
            task_object_key(&root, "F", "x4398046511093", TaskObject::ForeachItems).unwrap_err();
        assert!(err.to_string().contains("x4398046511093"), "{err}");
    }
}
