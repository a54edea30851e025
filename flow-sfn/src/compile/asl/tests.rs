use super::*;
use flow_graph::Retry;

fn step_retrying(retry: Option<Retry>) -> StepSpec {
    let mut step = StepSpec::new("work", Transition::Next("end".into()));
    step.options.retry = retry;
    step
}

#[test]
fn throttled_submissions_are_retried_first_then_the_steps_failures() {
    let retriers = task_retriers(&step_retrying(None));
    assert_eq!(
        retriers,
        json!([{
            "ErrorEquals": ["Batch.AWSBatchException", "Batch.ServerException"],
            "IntervalSeconds": 2,
            "MaxAttempts": 10,
            "BackoffRate": 2,
            "MaxDelaySeconds": 300,
            "JitterStrategy": "FULL",
        }])
    );
    let retry = |times, backoff_ms| step_retrying(Some(Retry { times, backoff_ms }));
    let retriers = task_retriers(&retry(3, 2000));
    assert_eq!(retriers[0], task_retriers(&step_retrying(None))[0]);
    assert_eq!(
        retriers[1],
        json!({"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2})
    );
    // `retry(times = 0)` retries nothing.
    assert_eq!(task_retriers(&retry(0, 1000)).as_array().unwrap().len(), 1);
}

#[test]
fn the_backoff_rounds_up_to_whole_seconds() {
    let interval = |backoff_ms| {
        let step = step_retrying(Some(Retry {
            times: 1,
            backoff_ms,
        }));
        let retriers = task_retriers(&step);
        (
            retriers[1]["IntervalSeconds"].as_u64().unwrap(),
            retriers[1]["BackoffRate"].as_u64().unwrap(),
        )
    };
    // Step Functions waits at least a second; no backoff at all does not double.
    assert_eq!(interval(0), (1, 1));
    assert_eq!(interval(100), (1, 2));
    assert_eq!(interval(1000), (1, 2));
    assert_eq!(interval(1001), (2, 2));
    assert_eq!(interval(90_000), (90, 2));
}
