//! One test per mapping rule, on graphs built directly with flow-graph types.

mod common;

use common::*;
use flow_graph::{FlowGraph, Retry, StepSpec, Transition};
use flow_sfn::{compile_graph, CompileError, MAX_HISTORY_EVENTS};
use serde_json::{json, Value};

/// The states of the flow's body: the branch of the run-level Parallel state.
fn states(d: &flow_sfn::compile::Deployment) -> &serde_json::Map<String, Value> {
    d.definition["States"]["run"]["Branches"][0]["States"]
        .as_object()
        .unwrap()
}

fn command(state: &Value) -> &str {
    state["Parameters"]["ContainerOverrides"]["Command.$"]
        .as_str()
        .unwrap()
}

#[test]
fn every_step_is_a_batch_task_whose_output_is_its_input() {
    let d = compile_ok(&hello());
    for step in ["start", "hello", "end"] {
        let task = &states(&d)[step];
        assert_eq!(task["Type"], "Task");
        assert_eq!(task["Resource"], "arn:aws:states:::batch:submitJob.sync");
        assert_eq!(
            task["ResultPath"],
            Value::Null,
            "{step} must not put the job into the state"
        );
        assert_eq!(task["Parameters"]["JobName"], format!("HelloFlow-{step}"));
        assert_eq!(task["Parameters"]["JobQueue"], "default-queue");
    }
    assert_eq!(states(&d)["start"]["Next"], "hello-if-resumed");
    assert_eq!(states(&d)["hello"]["Next"], "end-if-resumed");
    assert_eq!(states(&d)["end"]["End"], true);
}

#[test]
fn a_resumed_run_skips_the_job_of_a_task_already_in_the_run() {
    let d = compile_ok(&hello());
    // A fresh run (empty origin) goes straight to the job.
    assert_eq!(
        states(&d)["hello-if-resumed"],
        json!({
            "Type": "Choice",
            "Choices": [{"Variable": "$.origin_run_id", "StringEquals": "", "Next": "hello"}],
            "Default": "hello-if-committed"
        })
    );
    // A resumed run looks for the task's record in the new run: there, the job is skipped;
    // any error (missing, or not allowed to tell) runs the job.
    let check = &states(&d)["hello-if-committed"];
    assert_eq!(check["Resource"], "arn:aws:states:::aws-sdk:s3:headObject");
    assert_eq!(
        check["Parameters"],
        json!({
            "Bucket": "flow-bucket",
            "Key.$": "States.Format('team/flows/HelloFlow/runs/{}/steps/hello/{}/task.json', $.run_id, $.index)"
        })
    );
    assert_eq!(check["ResultPath"], Value::Null);
    assert_eq!(
        check["Catch"],
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "hello"}])
    );
    assert_eq!(check["Next"], "end-if-resumed");
    assert_eq!(states(&d)["end-if-committed"]["End"], true);
    // The run setup enters `start` the same way.
    assert_eq!(states(&d)["new-run"]["Next"], "start-if-resumed");
}

#[test]
fn the_task_command_follows_the_step_contract() {
    let d = compile_ok(&hello());
    assert_eq!(
        command(&states(&d)["hello"]),
        "States.Array('flow-bin', 'step', '--datastore', 's3://flow-bucket/team/flows', \
         '--run-id', $.run_id, '--step', 'hello', '--index', $.index, '--origin-run-id', $.origin_run_id)"
    );
    // Only `start` gets the params, straight from the execution input.
    assert!(command(&states(&d)["start"])
        .ends_with("'--params-json', States.JsonToString($$.Execution.Input.params))"));
}

#[test]
fn params_and_origin_come_from_the_execution_input() {
    let d = compile_ok(&hello());
    assert_eq!(d.definition["StartAt"], "run");
    assert_eq!(
        d.definition["States"]["run"]["Branches"][0]["StartAt"],
        "initialize-run"
    );
    let init = &states(&d)["initialize-run"];
    assert_eq!(init["Type"], "Choice");
    let fresh = json!({
        "Or": [
            {"Variable": "$.origin_run_id", "IsPresent": false},
            {"Variable": "$.origin_run_id", "IsNull": true}
        ]
    });
    let started_by = |key: &str, next: &str| {
        let path = format!("$.{key}");
        json!({
            "And": [
                fresh,
                {"Variable": path, "IsPresent": true},
                {"Not": {"Variable": path, "IsNull": true}}
            ],
            "Next": next
        })
    };
    assert_eq!(
        init["Choices"],
        json!([
            started_by("trigger", "new-triggered-run"),
            started_by("event", "new-event-run"),
            {"Or": fresh["Or"], "Next": "new-run"}
        ])
    );
    assert_eq!(init["Default"], "resumed-run");
    assert_eq!(
        states(&d)["new-run"]["Parameters"],
        json!({"run_id.$": "$$.Execution.Name", "index": "0", "origin_run_id": ""})
    );
    assert_eq!(
        states(&d)["resumed-run"]["Parameters"],
        json!({"run_id.$": "$$.Execution.Name", "index": "0", "origin_run_id.$": "$.origin_run_id"})
    );
    for setup in ["new-run", "resumed-run"] {
        assert_eq!(states(&d)[setup]["Next"], "start-if-resumed");
    }
    // A run a trigger or an event started is fresh, and its `start` records what did.
    for (setup, task) in [
        ("new-triggered-run", "start-triggered"),
        ("new-event-run", "start-with-event"),
    ] {
        assert_eq!(
            states(&d)[setup]["Parameters"],
            states(&d)["new-run"]["Parameters"]
        );
        assert_eq!(states(&d)[setup]["Next"], task);
        assert_eq!(states(&d)[task]["Next"], states(&d)["start"]["Next"]);
        assert_eq!(
            states(&d)[task]["Parameters"]["JobDefinition"],
            states(&d)["start"]["Parameters"]["JobDefinition"]
        );
    }
    assert!(command(&states(&d)["start-triggered"]).ends_with(
        "'--triggered-by', States.Format('{}/{}', $$.Execution.Input.trigger.flow, \
         $$.Execution.Input.trigger.run_id))"
    ));
    assert!(command(&states(&d)["start-with-event"])
        .ends_with("'--event-json', States.JsonToString($$.Execution.Input.event))"));
}

#[test]
fn every_failure_reaches_the_failure_hook_then_fails_the_run_with_its_error() {
    let d = compile_ok(&hello());
    let top = d.definition["States"].as_object().unwrap();
    let run = &top["run"];
    assert_eq!(run["Type"], "Parallel");
    assert_eq!(run["Branches"].as_array().unwrap().len(), 1);
    assert_eq!(run["ResultPath"], Value::Null);
    assert_eq!(run["End"], true, "no on_success: nothing after the body");
    assert_eq!(
        run["Catch"],
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "run-failed-hook"}])
    );
    let hook = &top["run-failed-hook"];
    assert_eq!(hook["Resource"], "arn:aws:states:::batch:submitJob.sync");
    assert_eq!(
        command(hook),
        "States.Array('flow-bin', 'hook', '--datastore', 's3://flow-bucket/team/flows', \
         '--run-id', $$.Execution.Name, '--outcome', 'failed', '--error', $.failure.Error, \
         '--cause', $.failure.Cause)"
    );
    assert_eq!(hook["Parameters"]["JobName"], "HelloFlow-run-hook");
    assert_eq!(hook["Retry"], json!([throttle_retrier()]));
    // Batch refusing the command (the cause made it too long): once more without the cause.
    assert_eq!(
        hook["Catch"],
        json!([
            {"ErrorEquals": ["Batch.ClientException"], "ResultPath": null, "Next": "run-failed-hook-without-cause"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "run-failed"}
        ])
    );
    assert_eq!(hook["Next"], "run-failed");
    let short = &top["run-failed-hook-without-cause"];
    assert!(command(short).ends_with("'--error', $.failure.Error)"));
    assert_eq!(short["Next"], "run-failed");
    assert_eq!(
        top["run-failed"],
        json!({
            "Type": "Fail",
            "Comment": "Ends the run FAILED with the error that failed it",
            "ErrorPath": "$.failure.Error",
            "CausePath": "$.failure.Cause"
        })
    );
    assert!(d.definition.get("TimeoutSeconds").is_none());
}

fn with_run_options(mut graph: FlowGraph, timeout: Option<u64>, on_success: bool) -> FlowGraph {
    graph.timeout_secs = timeout;
    graph.hooks.on_failure = Some("alert".into());
    if on_success {
        graph.hooks.on_success = Some("celebrate".into());
    }
    graph
}

#[test]
fn on_success_runs_a_hook_task_after_the_body() {
    let d = compile_ok(&with_run_options(hello(), None, true));
    let top = d.definition["States"].as_object().unwrap();
    assert_eq!(top["run"]["Next"], "run-succeeded-hook");
    let hook = &top["run-succeeded-hook"];
    assert!(command(hook).ends_with("'--outcome', 'succeeded')"));
    // A failed success hook leaves the run succeeded (as locally), so that the execution
    // ends SUCCEEDED and a `trigger_on_finish` downstream still starts.
    assert_eq!(hook["Next"], "run-succeeded");
    assert_eq!(
        hook["Catch"],
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "run-succeeded"}])
    );
    assert_eq!(top["run-succeeded"]["Type"], "Succeed");
    assert_eq!(
        hook["Comment"],
        "Records the run as succeeded and runs its hook `celebrate`"
    );
    assert_eq!(
        top["run-failed-hook"]["Comment"],
        "Records the run as failed and runs its hook `alert`"
    );
}

#[test]
fn a_run_timeout_races_the_body_against_a_timer_whose_expiry_reaches_the_hook() {
    for on_success in [false, true] {
        let d = compile_ok(&with_run_options(hello(), Some(90), on_success));
        // The state machine's own limit is a backstop that leaves the hook an hour.
        assert_eq!(d.definition["TimeoutSeconds"], 90 + 3600);
        let top = d.definition["States"].as_object().unwrap();
        let run = &top["run"];
        let branches = run["Branches"].as_array().unwrap();
        assert_eq!(branches.len(), 2);
        assert_eq!(
            branches[1],
            json!({
                "StartAt": "run-timer",
                "States": {
                    "run-timer": {"Type": "Wait", "Seconds": 90, "Next": "run-timer-expired"},
                    "run-timer-expired": {
                        "Type": "Fail",
                        "Error": "flowrs.RunTimedOut",
                        "Cause": "the run went past the flow's timeout of 90 seconds (#[flow(timeout = ...)])"
                    }
                }
            })
        );
        // The body's end stops the timer by failing the Parallel state on purpose.
        assert_eq!(states(&d)["end"]["Next"], "run-body-done");
        assert!(states(&d)["end"].get("End").is_none());
        assert_eq!(
            states(&d)["run-body-done"]["Error"],
            "flowrs.RunBodySucceeded"
        );
        let succeeded = if on_success {
            "run-succeeded-hook"
        } else {
            "run-succeeded"
        };
        assert_eq!(
            run["Catch"],
            json!([
                {"ErrorEquals": ["flowrs.RunBodySucceeded"], "ResultPath": null, "Next": succeeded},
                {"ErrorEquals": ["flowrs.RunTimedOut"], "ResultPath": "$.failure", "Next": "run-timed-out-hook"},
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "run-failed-hook"}
            ])
        );
        assert_eq!(run["End"], true);
        if !on_success {
            assert_eq!(top["run-succeeded"]["Type"], "Succeed");
        }
        let hook = &top["run-timed-out-hook"];
        assert!(command(hook).ends_with("'--outcome', 'timed-out', '--error', $.failure.Error)"));
        assert_eq!(hook["Next"], "run-timed-out");
        assert_eq!(top["run-timed-out"]["Type"], "Fail");
        assert_eq!(top["run-timed-out"]["Error"], "flowrs.RunTimedOut");
    }
}

#[test]
fn max_concurrency_bounds_the_foreach_map() {
    let d = compile_ok(&movie());
    let map = &d.definition["States"]["run"]["Branches"][0]["States"]["start-foreach"];
    assert_eq!(map["MaxConcurrency"], 500, "the deployment's default");
    let mut graph = movie();
    graph.steps[0].options.max_concurrency = Some(20);
    let d = compile_ok(&graph);
    let map = &d.definition["States"]["run"]["Branches"][0]["States"]["start-foreach"];
    assert_eq!(map["MaxConcurrency"], 20);
}

fn throttle_retrier() -> Value {
    json!({
        "ErrorEquals": ["Batch.AWSBatchException", "Batch.ServerException"],
        "IntervalSeconds": 2,
        "MaxAttempts": 10,
        "BackoffRate": 2,
        "MaxDelaySeconds": 300,
        "JitterStrategy": "FULL"
    })
}

#[test]
fn submit_throttling_is_retried_with_full_jitter() {
    let d = compile_ok(&hello());
    assert_eq!(states(&d)["hello"]["Retry"], json!([throttle_retrier()]));
}

#[test]
fn step_retries_are_step_functions_retries_after_the_throttle_retries() {
    let d = compile_ok(&options_flow());
    // retry(times = 9) without backoff: every second, as a local run retries at once.
    assert_eq!(
        states(&d)["train"]["Retry"],
        json!([
            throttle_retrier(),
            {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 9, "BackoffRate": 1}
        ])
    );
    // retry(times = 3, backoff = "2s"): 2 s, 4 s, 8 s, as locally.
    let d = compile_ok(&movie());
    let measure = &states(&d)["start-foreach"]["ItemProcessor"]["States"]["measure"];
    assert_eq!(
        measure["Retry"][1],
        json!({"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2})
    );
    // The job is told nothing of its attempt: it reads it from the datastore.
    assert!(!command(measure).contains("RetryCount"));
}

#[test]
fn retry_timeout_resources_and_overrides_reach_the_job_definitions() {
    let d = compile_ok(&options_flow());
    assert_eq!(
        d.job_definitions.len(),
        2,
        "start, prepare (whose retries are not Batch's) and end share the default definition"
    );
    let by_step = |step: &str| {
        let name = states(&d)[step]["Parameters"]["JobDefinition"].clone();
        d.job_definitions
            .iter()
            .find(|j| j["jobDefinitionName"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_step("start"), by_step("end"));
    assert_eq!(by_step("start"), by_step("prepare"));
    let host_retry = json!({
        "attempts": 5,
        "evaluateOnExit": [
            {"onStatusReason": "Host EC2*", "action": "RETRY"},
            {"onReason": "*", "action": "EXIT"}
        ]
    });
    assert_eq!(by_step("prepare")["retryStrategy"], host_retry);
    let train = by_step("train");
    assert_eq!(train["retryStrategy"], host_retry);
    // Batch's timeout is a backstop past the step's (3600 s): the step's fires first.
    assert_eq!(train["timeout"], json!({"attemptDurationSeconds": 3900}));
    assert_eq!(
        train["containerProperties"]["resourceRequirements"],
        json!([
            {"type": "VCPU", "value": "8"},
            {"type": "MEMORY", "value": "61440"},
            {"type": "GPU", "value": "1"}
        ])
    );
    assert_eq!(
        train["containerProperties"]["jobRoleArn"],
        "arn:aws:iam::123456789012:role/trainer"
    );
    assert!(train["containerProperties"]["image"]
        .as_str()
        .unwrap()
        .ends_with("flows-gpu:1"));
    assert_eq!(states(&d)["train"]["Parameters"]["JobQueue"], "gpu-queue");
    assert_eq!(
        states(&d)["prepare"]["Parameters"]["JobQueue"],
        "default-queue"
    );
}

#[test]
fn retries_and_timeouts_are_not_bounded_by_batch() {
    // Neither Batch's 10 attempts nor its 60 s minimum attempt duration applies: Step
    // Functions retries, and the step's own timeout stops the attempt.
    let mut graph = hello();
    graph.steps[1].options.retry = Some(Retry {
        times: 12,
        backoff_ms: 0,
    });
    graph.steps[1].options.timeout_secs = Some(30);
    let d = compile_ok(&graph);
    assert_eq!(states(&d)["hello"]["Retry"][1]["MaxAttempts"], 12);
    assert_eq!(
        d.job_definitions[1]["timeout"],
        json!({"attemptDurationSeconds": 330})
    );
}

#[test]
fn option_errors_name_the_step() {
    let mut graph = hello();
    graph.steps[1].options.resources.cpu = Some(0);
    let err = compile_graph(&graph, &config()).unwrap_err();
    assert!(
        matches!(err, CompileError::InvalidStepOption { ref step, .. } if step == "hello"),
        "{err}"
    );
}

#[test]
fn a_split_is_a_parallel_state_whose_branches_end_at_the_join() {
    let d = compile_ok(&wide_split(3));
    assert_eq!(states(&d)["start"]["Next"], "start-split");
    let parallel = &states(&d)["start-split"];
    assert_eq!(parallel["Type"], "Parallel");
    assert_eq!(
        parallel["ResultPath"],
        Value::Null,
        "branch outputs must not reach the join"
    );
    assert_eq!(parallel["Next"], "join-if-resumed");
    let branches = parallel["Branches"].as_array().unwrap();
    assert_eq!(branches.len(), 3);
    for (i, branch) in branches.iter().enumerate() {
        let name = format!("b_{i}");
        assert_eq!(branch["StartAt"], format!("{name}-if-resumed"));
        assert_eq!(branch["States"][&name]["End"], true);
        assert_eq!(
            branch["States"][format!("{name}-if-committed")]["End"],
            true
        );
        assert_eq!(branch["States"].as_object().unwrap().len(), 3);
    }
    // The join runs at the index of the split task: the state is the split's.
    assert!(command(&states(&d)["join"]).contains("'--step', 'join', '--index', $.index"));
    assert_eq!(states(&d)["join"]["Next"], "end-if-resumed");
}

#[test]
fn a_foreach_is_a_distributed_map_over_the_items_the_step_wrote() {
    let d = compile_ok(&movie());
    assert_eq!(states(&d)["start"]["Next"], "start-foreach");
    let map = &states(&d)["start-foreach"];
    assert_eq!(map["Type"], "Map");
    assert_eq!(
        map["ItemReader"],
        json!({
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {
                "Bucket": "flow-bucket",
                "Key.$": "States.Format('team/flows/MovieFlow/runs/{}/steps/start/{}/foreach.json', $.run_id, $.index)"
            }
        })
    );
    assert_eq!(
        map["ItemSelector"],
        json!({"run_id.$": "$.run_id", "index.$": "$$.Map.Item.Value", "origin_run_id.$": "$.origin_run_id"})
    );
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"],
        json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
    );
    assert_eq!(map["MaxConcurrency"], 500);
    assert_eq!(map["ResultPath"], Value::Null);
    assert_eq!(
        map["ResultWriter"]["Parameters"]["Prefix"],
        "team/flows/MovieFlow/sfn-map-results"
    );
    assert_eq!(map["Next"], "join-if-resumed");
    assert_eq!(map["ItemProcessor"]["StartAt"], "measure-if-resumed");
    let body = &map["ItemProcessor"]["States"]["measure"];
    assert_eq!(body["End"], true);
    assert_eq!(body["Comment"], "Measures one title.");
}

#[test]
fn nested_foreaches_nest_distributed_maps() {
    let d = compile_ok(&nested_foreach(3));
    let level_1 = &states(&d)["start-foreach"]["ItemProcessor"]["States"];
    assert_eq!(level_1["level_1"]["Next"], "level_1-foreach");
    let level_2 = &level_1["level_1-foreach"]["ItemProcessor"]["States"];
    let inner = &level_2["level_2-foreach"];
    assert_eq!(inner["ItemProcessor"]["StartAt"], "body-if-resumed");
    assert!(inner["ItemReader"]["Parameters"]["Key.$"]
        .as_str()
        .unwrap()
        .contains("/steps/level_2/{}/foreach.json"));
    assert_eq!(inner["Next"], "join_2-if-resumed");
    assert_eq!(level_2["join_2"]["End"], true);
    assert_eq!(level_1["join_1"]["End"], true);
    assert_eq!(states(&d)["join_0"]["Next"], "end-if-resumed");
    let executions: Vec<&str> = d
        .report
        .executions
        .iter()
        .map(|e| e.execution.as_str())
        .collect();
    assert_eq!(
        executions,
        [
            "the run's execution",
            "each child execution of foreach `start`",
            "each child execution of foreach `level_1`",
            "each child execution of foreach `level_2`",
        ]
    );
}

#[test]
fn a_split_inside_a_foreach_is_a_parallel_inside_the_map_body() {
    let d = compile_ok(&split_in_foreach());
    let body = &states(&d)["start-foreach"]["ItemProcessor"];
    assert_eq!(body["StartAt"], "fan-if-resumed");
    assert_eq!(body["States"]["fan-split"]["Type"], "Parallel");
    assert_eq!(
        body["States"]["fan-split"]["Next"],
        "join_branches-if-resumed"
    );
    assert_eq!(body["States"]["join_branches"]["End"], true);
    assert_eq!(states(&d)["start-foreach"]["Next"], "join_items-if-resumed");
}

#[test]
fn a_foreach_inside_a_split_is_a_map_inside_a_branch() {
    let d = compile_ok(&foreach_in_split());
    let branches = states(&d)["start-split"]["Branches"].as_array().unwrap();
    let per_item = &branches[0];
    assert_eq!(per_item["StartAt"], "per_item-if-resumed");
    assert_eq!(per_item["States"]["per_item-foreach"]["Type"], "Map");
    assert_eq!(
        per_item["States"]["per_item-foreach"]["Next"],
        "join_items-if-resumed"
    );
    assert_eq!(per_item["States"]["join_items"]["End"], true);
    assert_eq!(branches[1]["States"]["once"]["End"], true);
}

#[test]
fn a_switch_reads_the_decision_and_chooses() {
    let d = compile_ok(&switch_flow());
    assert_eq!(states(&d)["start"]["Next"], "start-read-decision");
    let read = &states(&d)["start-read-decision"];
    assert_eq!(read["Resource"], "arn:aws:states:::aws-sdk:s3:getObject");
    assert_eq!(
        read["Parameters"],
        json!({
            "Bucket": "flow-bucket",
            "Key.$": "States.Format('team/flows/SwitchFlow/runs/{}/steps/start/{}/switch.json', $.run_id, $.index)"
        })
    );
    assert_eq!(
        read["ResultSelector"],
        json!({"decision.$": "States.StringToJson($.Body)"})
    );
    assert_eq!(read["ResultPath"], "$.switch");
    assert_eq!(read["Next"], "start-choose");
    let choose = &states(&d)["start-choose"];
    assert_eq!(
        choose["Choices"],
        json!([
            {"Variable": "$.switch.decision.next", "StringEquals": "high", "Next": "high-if-resumed"},
            {"Variable": "$.switch.decision.next", "StringEquals": "low", "Next": "low-if-resumed"}
        ])
    );
    assert_eq!(choose["Default"], "start-unknown-decision");
    assert_eq!(states(&d)["start-unknown-decision"]["Type"], "Fail");
    assert_eq!(states(&d)["high"]["Next"], "report-if-resumed");
    assert_eq!(states(&d)["low"]["Next"], "report-if-resumed");
    // A skipped switch task goes on to read the decision `resume` cloned with it.
    assert_eq!(
        states(&d)["start-if-committed"]["Next"],
        "start-read-decision"
    );
}

#[test]
fn a_switch_to_the_join_ends_the_branch_through_a_pass() {
    let d = compile_ok(&switch_to_join());
    let branch = &states(&d)["start-split"]["Branches"][0]["States"];
    let choices = branch["decide-choose"]["Choices"].as_array().unwrap();
    assert_eq!(choices[0]["Next"], "extra-if-resumed");
    assert_eq!(choices[1]["Next"], "decide-branch-end");
    assert_eq!(
        branch["decide-branch-end"],
        json!({"Type": "Pass", "End": true})
    );
    assert_eq!(branch["extra"]["End"], true);
}

#[test]
fn long_step_names_get_short_unique_state_names() {
    let long_a = format!("{}_a", "very_long_step_name".repeat(5));
    let long_b = format!("{}_b", "very_long_step_name".repeat(5));
    let graph = FlowGraph::new(
        "LongNames",
        vec![
            StepSpec::switch("start", &[&long_a, &long_b]),
            StepSpec::next(&long_a, "end"),
            StepSpec::next(&long_b, "end"),
            StepSpec::end(),
        ],
    );
    let d = compile_ok(&graph);
    let mut names: Vec<String> = states(&d).keys().cloned().collect();
    for name in &names {
        assert!(name.len() <= 80, "{name} is {} characters", name.len());
    }
    let total = names.len();
    names.dedup();
    assert_eq!(names.len(), total);
    let choices = states(&d)["start-choose"]["Choices"].as_array().unwrap();
    // The Choice still compares the real step names, and jumps to the shortened states.
    assert_eq!(choices[0]["StringEquals"], long_a.as_str());
    let target = choices[0]["Next"].as_str().unwrap();
    assert!(target.len() <= 80 && target != long_a && states(&d).contains_key(target));
    assert_ne!(choices[0]["Next"], choices[1]["Next"]);
    // Batch job names allow 128 characters: they keep the whole name.
    let task = states(&d)[target]["Choices"][0]["Next"].as_str().unwrap();
    assert!(task.len() <= 80 && task != long_a);
    assert_eq!(
        states(&d)[task]["Parameters"]["JobName"],
        format!("LongNames-{long_a}")
    );
}

#[test]
fn colliding_state_names_are_an_error_naming_both_steps() {
    // Step names with `-` cannot come from `#[flow]`, but a graph loaded from elsewhere may.
    let graph = FlowGraph::new(
        "Collide",
        vec![
            StepSpec::switch("start", &["x", "start-choose"]),
            StepSpec::next("x", "end"),
            StepSpec::next("start-choose", "end"),
            StepSpec::end(),
        ],
    );
    let message = compile_graph(&graph, &config()).unwrap_err().to_string();
    assert!(
        message.contains("`start`") && message.contains("`start-choose`"),
        "{message}"
    );
}

#[test]
fn the_output_is_byte_identical_across_compilations() {
    for (name, graph) in shapes() {
        let a = compile_ok(&graph);
        let b = compile_ok(&graph);
        assert_eq!(a.definition_json(), b.definition_json(), "{name}");
        assert_eq!(a.job_definitions_json(), b.job_definitions_json(), "{name}");
    }
}

#[test]
fn large_flows_compile() {
    let linear = compile_ok(&FlowGraph::linear(500));
    // Three states per step (entry Choice, resume look-up, Batch task), the run setup
    // (5), `start`'s tasks for a triggered run and an event (2), and the run-level states:
    // the Parallel state, two failure-hook tasks and the Fail state.
    assert_eq!(linear.report.state_count, 502 * 3 + 5 + 2 + 4);
    assert_eq!(linear.job_definitions.len(), 1);
    let split = compile_ok(&wide_split(100));
    assert_eq!(
        split.definition["States"]["run"]["Branches"][0]["States"]["start-split"]["Branches"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    let nested = compile_ok(&nested_foreach(3));
    assert_eq!(nested.report.executions.len(), 4);
    for d in [&linear, &split, &nested] {
        for e in &d.report.executions {
            assert!(e.worst_case_events <= MAX_HISTORY_EVENTS);
        }
    }
}

#[test]
fn history_budget_counts_every_state() {
    // Each step: its entry Choice (2), the resume look-up of its record (5, on the dearest
    // path: a resumed run) and its Batch task (6); each task may retry 10 throttled
    // submissions, 3 events each, and as many failed jobs as the step retries.
    const STEP: u64 = 2 + 5 + 6;
    const THROTTLED: u64 = 10 * 3;
    // The run-level Parallel state (4) and, on the dearest path, the failure hook (a Batch
    // task), its second try without the cause (another) and the Fail state (1).
    const RUN: u64 = 4 + 6 + 6 + 1;
    const RUN_THROTTLED: u64 = 2 * THROTTLED;
    // 2 (execution) + 2 (initialize-run) + 2 (new-run) + 3 steps.
    let d = compile_ok(&hello());
    let run = &d.report.executions[0];
    assert_eq!(run.batch_tasks, 3, "the flow's steps, not the run's hooks");
    assert_eq!(run.typical_events, 6 + RUN + 3 * STEP);
    assert_eq!(
        run.worst_case_events,
        6 + RUN + RUN_THROTTLED + 3 * (STEP + THROTTLED)
    );
    // The foreach's items each get their own execution: 2 + one step, retried 3 times.
    let d = compile_ok(&movie());
    assert_eq!(d.report.executions[1].typical_events, 2 + STEP);
    assert_eq!(
        d.report.executions[1].worst_case_events,
        2 + STEP + THROTTLED + 3 * 3
    );
    // A switch costs its dearest branch, not the sum of them: start, its read (5) and
    // Choice (2), one of high or low, report, end.
    let d = compile_ok(&switch_flow());
    assert_eq!(
        d.report.executions[0].typical_events,
        2 + 2 + 2 + RUN + STEP + 5 + 2 + STEP + STEP + STEP
    );
    // A timeout adds the timer branch (Wait 2, Fail 1) and the body's end (Fail 1); the
    // dearest path is still the failure hook's.
    let mut timed = hello();
    timed.timeout_secs = Some(60);
    let d = compile_ok(&timed);
    assert_eq!(
        d.report.executions[0].typical_events,
        6 + RUN + 3 * STEP + 3 + 1
    );
}

#[test]
fn a_split_too_wide_for_one_history_is_refused() {
    let err = compile_graph(&wide_split(2000), &config()).unwrap_err();
    let CompileError::HistoryBudgetExceeded { step, .. } = &err else {
        panic!("unexpected error {err}");
    };
    assert_eq!(step, "start");
    assert_eq!(
        err.to_string(),
        "the run's execution of flow `Split2000Flow` could record up to 86,216 history events, \
         over the Step Functions limit of 25,000 per execution: the branches of split `start` \
         alone could record 86,047 events. Fix: turn the branches of `start` into a foreach over \
         a list (each item then runs as a child execution with its own history), or split the \
         flow into smaller flows"
    );
}

#[test]
fn a_chain_too_long_for_one_history_is_refused() {
    // 6 + 582 steps x 43 events (2 + 5 + 6, and 10 throttled submissions x 3) + 77 (the
    // run's Parallel state, 4, and its failure path: two hook tasks of 36 and the Fail state).
    let message = compile_graph(&FlowGraph::linear(580), &config())
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with(
            "the run's execution of flow `LinearFlow` could record up to 25,109 history events, \
             over the Step Functions limit of 25,000 per execution: it runs 582 Batch tasks, each \
             recording up to 43 events"
        ),
        "{message}"
    );
    assert!(
        message.contains("Fix: move repeated steps into a foreach body"),
        "{message}"
    );
}

#[test]
fn a_foreach_body_too_long_for_a_child_history_is_refused_naming_the_foreach() {
    let mut steps = vec![StepSpec::foreach("start", "items", "s_0")];
    for i in 0..1200 {
        let to = if i == 1199 {
            "join".to_string()
        } else {
            format!("s_{}", i + 1)
        };
        steps.push(StepSpec::next(format!("s_{i}"), &to));
    }
    steps.push(StepSpec::next("join", "end").join());
    steps.push(StepSpec::end());
    let err = compile_graph(&FlowGraph::new("DeepBody", steps), &config()).unwrap_err();
    let CompileError::HistoryBudgetExceeded {
        step, execution, ..
    } = &err
    else {
        panic!("unexpected error {err}");
    };
    assert_eq!(step, "start");
    assert_eq!(execution, "each child execution of foreach `start`");
}

#[test]
fn a_definition_over_one_mebibyte_is_refused() {
    // Two foreach bodies of 500 steps: each child history fits, the definition does not.
    let mut steps = vec![StepSpec::foreach("start", "items", "a_0")];
    for i in 0..500 {
        let to = if i == 499 {
            "join_a".to_string()
        } else {
            format!("a_{}", i + 1)
        };
        steps.push(StepSpec::next(format!("a_{i}"), &to));
    }
    steps.push(
        StepSpec::new(
            "join_a",
            Transition::Foreach {
                over: "more".into(),
                body: "b_0".into(),
            },
        )
        .join(),
    );
    for i in 0..500 {
        let to = if i == 499 {
            "join_b".to_string()
        } else {
            format!("b_{}", i + 1)
        };
        steps.push(StepSpec::next(format!("b_{i}"), &to));
    }
    steps.push(StepSpec::next("join_b", "end").join());
    steps.push(StepSpec::end());
    match compile_graph(&FlowGraph::new("Huge", steps), &config()) {
        Err(CompileError::DefinitionTooLarge { flow, bytes }) => {
            assert_eq!(flow, "Huge");
            assert!(bytes > 1024 * 1024);
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(d) => panic!("compiled to {} bytes", d.report.definition_bytes),
    }
}
