//! The event-driven example pair, run in-process through the Rust API: a run of `upstream`
//! starts a run of `downstream` (as `trigger_on_finish` does on Step Functions), which reads
//! the upstream run's artifacts; a failing run started with an event records the event and
//! runs its `on_failure` hook; and `show` lists the triggers, hooks and limits.

#[path = "../examples/downstream.rs"]
mod downstream;

use downstream::{DownstreamFlow, DownstreamParams, UpstreamFlow};
use flow_core::datastore::RunStatus;
use flow_core::{Flow, RunOutcome, Trigger};
use flow_local::Runner;
use flow_test_support::example_binary;

#[tokio::test]
async fn an_upstream_run_starts_the_downstream_flow_which_reads_its_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let up = Runner::<UpstreamFlow>::new()
        .datastore(dir.path())
        .params(downstream::UpstreamParams { count: 5 })
        .run()
        .await
        .unwrap();
    assert!(up.succeeded(), "{:?}", up.error());
    assert_eq!(up.hook().map(|h| h.name.as_str()), Some("announce"));
    let trigger = Trigger {
        flow: "UpstreamFlow".into(),
        run_id: up.id().clone(),
    };
    let down = Runner::<DownstreamFlow>::new()
        .datastore(dir.path())
        .triggered_by(trigger.clone())
        .run()
        .await
        .unwrap();
    assert!(down.succeeded(), "{:?}", down.error());
    let end = down.end_state().await.unwrap();
    assert_eq!(end.upstream, format!("UpstreamFlow/{}", up.id()));
    assert_eq!(end.numbers, vec![1, 2, 3, 4, 5]);
    assert_eq!(end.results, vec![2, 4, 6, 8, 10]);
    assert_eq!(down.record().trigger, Some(trigger));
    // No success hook: nothing ran.
    assert!(down.hook().is_none());
}

#[tokio::test]
async fn a_failing_downstream_run_runs_its_failure_hook() {
    let dir = tempfile::tempdir().unwrap();
    let down = Runner::<DownstreamFlow>::new()
        .datastore(dir.path())
        .params(DownstreamParams {
            key: "incoming/x.csv".into(),
            fail_on: 2,
        })
        .event(serde_json::json!({"source": "aws.s3"}))
        .run()
        .await
        .unwrap();
    assert_eq!(down.status(), RunStatus::Failed);
    assert_eq!(down.end().outcome, RunOutcome::Failed);
    assert_eq!(down.end().failed_step.as_deref(), Some("double"));
    let hook = down.hook().expect("the failure hook ran");
    assert_eq!((hook.name.as_str(), &hook.result), ("alert", &Ok(())));
    assert_eq!(down.record().event.as_ref().unwrap()["source"], "aws.s3");
}

#[test]
fn the_graph_carries_and_show_prints_the_triggers_hooks_and_limits() {
    let graph = DownstreamFlow::graph();
    assert_eq!(graph.trigger_on_finish, vec!["UpstreamFlow"]);
    let pattern: serde_json::Value = serde_json::from_str(&graph.event_triggers[0]).unwrap();
    assert_eq!(
        pattern,
        serde_json::json!({
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": ["flowrs-inbox"]}, "object": {"key": [{"prefix": "incoming/"}]}}
        })
    );
    assert_eq!(graph.timeout_secs, Some(3600));
    assert_eq!(
        graph.step("start").unwrap().options.max_concurrency,
        Some(2)
    );
    let out = std::process::Command::new(example_binary("downstream"))
        .arg("show")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "(async, max concurrency 2)",
        "--key <String>  default \"\"  from event detail.object.key",
        "timeout 1h",
        "triggered by UpstreamFlow succeeding",
        "triggered by event {\"detail\":",
        "on failure alert",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
}
