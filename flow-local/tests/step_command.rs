//! The internal `step` command, driven task by task the way the Step Functions state machine
//! drives it (one process per task), against a local datastore: the run it stores reads the
//! same as a local run, a re-run of a finished task does nothing, a final failed attempt
//! leaves a failed record, what the process prints lands in the task's log, and bad
//! arguments change nothing.

mod common;

#[path = "../examples/slow_foreach.rs"]
mod slow_foreach;

use common::{assert_unchanged, snapshot, text};
use flow_core::client::Client;
use flow_core::datastore::{RunStatus, TaskStatus};
use flow_core::RunId;
use flow_local::{FsStore, Runner};
use flow_test_support::example_binary;
use slow_foreach::{SlowFlow, SlowParams};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

/// `slow_foreach step --datastore STORE --run-id RUN --step STEP --index INDEX EXTRA...`.
fn step(
    store: &Path,
    run: &str,
    step: &str,
    index: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    Command::new(example_binary("slow_foreach"))
        .args(["step", "--datastore"])
        .arg(store)
        .args(["--run-id", run, "--step", step, "--index", index])
        .args(extra)
        .env_remove("FLOW_DATASTORE")
        .env_remove("SLOW_FOREACH_TRACE")
        .env_remove("SLOW_FOREACH_FAIL")
        .env_remove("AWS_BATCH_JOB_ATTEMPT")
        .envs(env.iter().copied())
        .output()
        .expect("slow_foreach runs")
}

fn ok(output: &Output, what: &str) {
    assert!(output.status.success(), "{what}: {:?}", text(output));
}

const PARAMS: &str = r#"{"count": 4, "sleep_ms": 0}"#;

#[tokio::test]
async fn a_run_driven_task_by_task_reads_like_a_local_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let run = "sfn-run-1";
    ok(
        &step(
            store,
            run,
            "start",
            "0",
            &["--origin-run-id", "", "--params-json", PARAMS],
            &[],
        ),
        "start",
    );
    // The Distributed Map's item list: child index keys, as strings.
    let items: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join(format!("SlowFlow/runs/{run}/steps/start/0/foreach.json")))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(items, serde_json::json!(["0", "1", "2", "3"]));
    for i in 0..4 {
        let index = i.to_string();
        ok(
            &step(
                store,
                run,
                "work",
                &index,
                &[],
                &[("SLOW_FOREACH_SAY", "1")],
            ),
            "work",
        );
    }
    ok(&step(store, run, "join", "0", &[], &[]), "join");
    ok(&step(store, run, "end", "0", &[], &[]), "end");

    // A job that runs again after its task committed changes nothing.
    let before = snapshot(store);
    let again = step(store, run, "work", "1", &[], &[]);
    ok(&again, "work again");
    assert!(
        text(&again).1.contains("already finished"),
        "{:?}",
        text(&again)
    );
    assert_unchanged(&before, &snapshot(store), &[], "a repeated job");

    let client = Client::<SlowFlow>::new(Arc::new(FsStore::new(store)));
    let stored = client.run(&RunId::new(run).unwrap()).await.unwrap();
    assert_eq!(stored.status(), RunStatus::Succeeded);
    assert_eq!(stored.record().scheduler, "step-functions");
    assert!(stored.record().graph.is_some(), "run.json keeps the graph");
    let end = stored.end_state().await.unwrap();
    assert_eq!(end.squares, vec![0, 1, 4, 9]);

    // The same flow run locally leaves the same end state.
    let local = Runner::<SlowFlow>::new()
        .datastore(store)
        .params(SlowParams {
            count: 4,
            sleep_ms: 0,
        })
        .run()
        .await
        .unwrap();
    assert!(local.succeeded());
    assert_eq!(
        serde_json::to_value(local.end_state().await.unwrap()).unwrap(),
        serde_json::to_value(&end).unwrap()
    );

    // What the step printed with println! is in the task's log.
    let logs = stored
        .task("work", &[2])
        .await
        .unwrap()
        .logs()
        .await
        .unwrap();
    let all: String = logs.iter().map(|(_, t)| t.as_str()).collect();
    assert!(all.contains("squaring 2"), "{logs:?}");
    let shown = Command::new(example_binary("slow_foreach"))
        .args(["logs", &format!("{run}/work/2"), "--datastore"])
        .arg(store)
        .output()
        .unwrap();
    ok(&shown, "logs");
    assert!(text(&shown).0.contains("squaring 2"), "{:?}", text(&shown));
}

#[test]
fn a_final_failed_attempt_leaves_a_failed_record_and_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let run = "sfn-run-2";
    ok(
        &step(store, run, "start", "0", &["--params-json", PARAMS], &[]),
        "start",
    );
    // `work` has no retries: Batch's first attempt is the last.
    let failed = step(
        store,
        run,
        "work",
        "1",
        &[],
        &[("SLOW_FOREACH_FAIL", "1"), ("AWS_BATCH_JOB_ATTEMPT", "1")],
    );
    assert!(!failed.status.success());
    assert!(
        text(&failed).1.contains("item 1 was told to fail"),
        "{:?}",
        text(&failed)
    );
    let record: flow_core::datastore::TaskRecord = serde_json::from_slice(
        &std::fs::read(store.join(format!("SlowFlow/runs/{run}/steps/work/1/task.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(record.status, TaskStatus::Failed);
    assert_eq!(record.attempts.len(), 1);
    let run_record: flow_core::datastore::RunRecord = serde_json::from_slice(
        &std::fs::read(store.join(format!("SlowFlow/runs/{run}/run.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(run_record.status, RunStatus::Failed);
    assert!(run_record.error.unwrap().contains("told to fail"));
}

#[test]
fn bad_step_arguments_fail_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let run = "sfn-run-3";
    ok(
        &step(store, run, "start", "0", &["--params-json", PARAMS], &[]),
        "start",
    );
    let before = snapshot(store);
    let cases: [(&str, &str, &str, &[&str], &str); 6] = [
        (run, "nope", "0", &[], "has no step `nope`"),
        (run, "../work", "0", &[], "invalid step name"),
        (run, "work", "../0", &[], "invalid task index"),
        ("../x", "work", "0", &[], "invalid run id"),
        ("unknown-run", "work", "0", &[], "no run `unknown-run`"),
        (
            "new-run",
            "start",
            "0",
            &["--params-json", r#"{"count": "many"}"#],
            "--count",
        ),
    ];
    for (run_id, step_name, index, extra, expected) in cases {
        let out = step(store, run_id, step_name, index, extra, &[]);
        assert!(!out.status.success(), "{step_name} {index} succeeded");
        assert!(
            text(&out).1.contains(expected),
            "{run_id} {step_name} {index}: expected {expected:?} in {:?}",
            text(&out).1
        );
        assert_unchanged(&before, &snapshot(store), &[], step_name);
    }
}
