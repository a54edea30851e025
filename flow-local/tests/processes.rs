//! Real flow processes: one killed with SIGKILL mid-run and then resumed, and two running
//! at once on one datastore.

mod common;

#[path = "../examples/slow_foreach.rs"]
mod slow_foreach;

use common::{slow_foreach, text};
use flow_core::client::Client;
use flow_core::datastore::{read_segment, RunStatus, TaskRecord};
use flow_core::RunId;
use flow_local::FsStore;
use slow_foreach::SlowFlow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ITEMS: usize = 40;

/// How often each task id appears in the trace file.
fn trace_counts(trace: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(trace).unwrap_or_default().lines() {
        *counts.entry(line.to_string()).or_default() += 1;
    }
    counts
}

/// The records committed to step `step` of `run`: the frames of its segment, read as the
/// datastore reads them (a torn last frame is not committed).
fn records(store: &Path, run: &str, step: &str) -> Vec<TaskRecord> {
    let key = format!("SlowFlow/runs/{run}/steps/{step}/tasks.seg");
    match std::fs::read(store.join(&key)) {
        Ok(bytes) => {
            read_segment(&key, &store.display().to_string(), &bytes)
                .unwrap_or_else(|e| panic!("{key}: {e}"))
                .records
        }
        Err(_) => Vec::new(),
    }
}

/// The `work` items of `run` that have a task record.
fn committed_items(store: &Path, run: &str) -> BTreeSet<usize> {
    records(store, run, "work")
        .iter()
        .map(|r| r.task.index.0[0])
        .collect()
}

fn record(store: &Path, run: &str, step: &str, index: usize) -> TaskRecord {
    records(store, run, step)
        .into_iter()
        .find(|r| r.task.index.0 == [index])
        .unwrap_or_else(|| panic!("{run} has no committed {step}/{index}"))
}

#[tokio::test]
async fn a_run_killed_with_sigkill_resumes_without_rerunning_committed_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let trace = dir.path().join("trace");
    let mut child = slow_foreach(
        &store,
        Some(&trace),
        &[
            "run",
            "--count",
            &ITEMS.to_string(),
            "--sleep-ms",
            "80",
            "--max-workers",
            "2",
            "-q",
        ],
    )
    .spawn()
    .unwrap();

    // Wait until some (not all) items have committed, then kill the process outright.
    let deadline = Instant::now() + Duration::from_secs(60);
    let origin = loop {
        assert!(Instant::now() < deadline, "no work task committed in time");
        if let Some(run) = common::run_ids(&store, "SlowFlow").first() {
            if committed_items(&store, run).len() >= 6 {
                break run.clone();
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success());

    let committed = committed_items(&store, &origin);
    assert!(
        committed.len() >= 6 && committed.len() < ITEMS,
        "{} items committed before the kill",
        committed.len()
    );
    // Every record the killed process left is whole and names its own task.
    for &i in &committed {
        let r = record(&store, &origin, "work", i);
        assert_eq!(r.task.index.0, vec![i]);
    }
    let run_json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join(format!("SlowFlow/runs/{origin}/run.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        run_json["status"], "running",
        "the killed run never finished"
    );
    let before = trace_counts(&trace);
    for &i in &committed {
        assert_eq!(before.get(&format!("work/{i}")), Some(&1));
    }

    // Resume the latest run.
    let out = slow_foreach(&store, Some(&trace), &["resume", "-q"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let resumed = stdout.trim().to_string();
    assert_ne!(resumed, origin);
    assert!(
        stderr.contains(&format!("{} cloned", committed.len() + 1)),
        "start and the committed items are cloned: {stderr}"
    );

    // Nothing that had committed ran again; everything else ran (once more at most: an
    // item killed after its work but before its commit ran in both processes).
    let after = trace_counts(&trace);
    assert_eq!(after.get("start/0"), Some(&1));
    for i in 0..ITEMS {
        let key = format!("work/{i}");
        let runs = after.get(&key).copied().unwrap_or(0);
        if committed.contains(&i) {
            assert_eq!(runs, 1, "{key} ran again");
            let clone = record(&store, &resumed, "work", i);
            let original = record(&store, &origin, "work", i);
            assert_eq!(
                clone.cloned_from.as_ref().map(RunId::as_str),
                Some(origin.as_str())
            );
            assert_eq!(
                clone.artifacts, original.artifacts,
                "{key} kept its artifacts"
            );
        } else {
            let before = before.get(&key).copied().unwrap_or(0);
            assert_eq!(runs, before + 1, "{key}");
            assert!(record(&store, &resumed, "work", i).cloned_from.is_none());
        }
    }
    assert_eq!(after.get("join/0"), Some(&1));
    assert_eq!(after.get("end/0"), Some(&1));

    // The resumed run's result is right, read back through the client.
    let client = Client::<SlowFlow>::new(Arc::new(FsStore::new(&store)));
    let run = client.run(&resumed.parse().unwrap()).await.unwrap();
    assert_eq!(run.status(), RunStatus::Succeeded);
    let end = run.end_state().await.unwrap();
    let squares: Vec<u64> = (0..ITEMS as u64).map(|i| i * i).collect();
    assert_eq!(end.squares, squares);
    assert_eq!(end.total, squares.iter().sum::<u64>());
    for &i in &committed {
        let task = client
            .run(&origin.parse().unwrap())
            .await
            .unwrap()
            .task("work", &[i])
            .await
            .unwrap();
        assert_eq!(
            task.artifact::<u64>("square").await.unwrap(),
            (i * i) as u64
        );
    }
}

#[test]
fn two_processes_on_one_datastore_both_succeed_with_distinct_ids() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["run", "--count", "12", "--sleep-ms", "5", "-q"];
    let children: Vec<_> = (0..2)
        .map(|_| {
            slow_foreach(dir.path(), None, &args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        ids.push(stdout.trim().to_string());
    }
    assert_ne!(ids[0], ids[1]);
    let mut stored = common::run_ids(dir.path(), "SlowFlow");
    ids.sort();
    stored.sort();
    assert_eq!(stored, ids);
    for id in &ids {
        let run_json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("SlowFlow/runs/{id}/run.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(run_json["status"], "succeeded");
        assert_eq!(run_json["params"]["count"], 12);
    }
}
