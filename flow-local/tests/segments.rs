//! A local run keeps each step's task records in one segment, `tasks.seg`: read back by the
//! client and `dump`, still readable in the one-file-per-task layout of older datastores, a
//! torn frame re-run by resume, and a file count that does not grow with the tasks.

mod common;

#[path = "../examples/slow_foreach.rs"]
mod slow_foreach;

use common::{cli, slow_foreach, text};
use flow_core::client::Client;
use flow_core::datastore::{
    encode_frame, read_segment, RunStatus, RunStore, TaskRecord, TaskStatus, SEGMENT_HEADER,
};
use flow_core::RunId;
use flow_local::FsStore;
use slow_foreach::SlowFlow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FLOW: &str = "SlowFlow";

/// Runs `slow_foreach run` over `count` items; returns the run id and whether it succeeded.
fn run(store: &Path, trace: Option<&Path>, count: usize, fail: Option<usize>) -> (String, bool) {
    let mut command = slow_foreach(
        store,
        trace,
        &[
            "run",
            "--count",
            &count.to_string(),
            "--sleep-ms",
            "0",
            "-q",
        ],
    );
    if let Some(item) = fail {
        command.env("SLOW_FOREACH_FAIL", item.to_string());
    }
    let out = command.output().unwrap();
    let ids = common::run_ids(store, FLOW);
    assert!(!ids.is_empty(), "no run: {:?}", text(&out));
    (ids.last().unwrap().clone(), out.status.success())
}

fn run_dir(store: &Path, run: &str) -> PathBuf {
    store.join(format!("{FLOW}/runs/{run}"))
}

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    common::snapshot(dir).into_keys().collect()
}

/// The records in `step`'s segment of `run`.
fn segment(store: &Path, run: &str, step: &str) -> Vec<TaskRecord> {
    let key = format!("{FLOW}/runs/{run}/steps/{step}/tasks.seg");
    let bytes = std::fs::read(store.join(&key)).unwrap();
    let read = read_segment(&key, "store", &bytes).unwrap();
    assert_eq!(read.ignored, 0, "{key} has a torn tail");
    read.records
}

fn dump(store: &Path, what: &str) -> serde_json::Value {
    let out = cli(store, &["dump", what]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "dump {what}: {stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// What the client and `dump` read of a finished 5-item run.
async fn check_read_back(store: &Path, id: &str) {
    let client = Client::<SlowFlow>::new(Arc::new(FsStore::new(store)));
    let run = client.run(&id.parse().unwrap()).await.unwrap();
    assert_eq!(run.status(), RunStatus::Succeeded);
    assert_eq!(run.end_state().await.unwrap().squares, [0, 1, 4, 9, 16]);
    let work = run.tasks("work").await.unwrap();
    let indexes: Vec<Vec<usize>> = work.iter().map(|t| t.id().index.0.clone()).collect();
    assert_eq!(indexes, [[0], [1], [2], [3], [4]]);
    assert_eq!(
        run.task("work", &[3])
            .await
            .unwrap()
            .artifact::<u64>("square")
            .await
            .unwrap(),
        9
    );
    let whole = dump(store, id);
    assert_eq!(whole["steps"]["work"].as_array().unwrap().len(), 5);
    assert_eq!(whole["steps"]["end"][0]["status"], "succeeded");
    assert_eq!(dump(store, &format!("{id}/work/4"))["square"], 16);
    assert_eq!(dump(store, &format!("{id}/end"))["total"], 30);
}

#[tokio::test]
async fn a_run_is_stored_in_step_segments_and_read_back_by_the_client_and_dump() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let (id, ok) = run(store, None, 5, None);
    assert!(ok);
    let stored = files(&run_dir(store, &id));
    let names: Vec<String> = stored.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(
        names,
        [
            "run.json",
            "steps/end/tasks.seg",
            "steps/join/tasks.seg",
            "steps/start/tasks.seg",
            "steps/work/tasks.seg",
        ],
        "one segment per step, no task files"
    );
    assert_eq!(segment(store, &id, "work").len(), 5);
    assert_eq!(segment(store, &id, "start")[0].foreach_count, Some(5));
    check_read_back(store, &id).await;
}

/// A datastore written before segments (one `task.json` per task, with `foreach.json`) is
/// read the same way.
#[tokio::test]
async fn a_run_in_one_file_per_task_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let (id, ok) = run(store, None, 5, None);
    assert!(ok);
    // Rewrite the run the old way: each record in its own file, no segments.
    let run_id = RunId::new(id.clone()).unwrap();
    let fs = Arc::new(FsStore::new(store));
    let old = RunStore::new(fs.clone(), FLOW).one_file_per_task();
    for step in ["start", "work", "join", "end"] {
        for record in segment(store, &id, step) {
            old.commit_task(&run_id, &record).await.unwrap();
        }
        std::fs::remove_file(run_dir(store, &id).join(format!("steps/{step}/tasks.seg"))).unwrap();
    }
    let stored = files(&run_dir(store, &id));
    assert!(stored.contains(&PathBuf::from("steps/work/3/task.json")));
    assert!(stored.contains(&PathBuf::from("steps/start/0/foreach.json")));
    assert!(!stored.iter().any(|p| p.ends_with("tasks.seg")));
    let reader = RunStore::new(fs, FLOW);
    assert_eq!(reader.tasks(&run_id, "work").await.unwrap().len(), 5);
    check_read_back(store, &id).await;
}

/// A frame torn by a power loss (only part of it reached the disk) is not committed:
/// resume runs that task again and clones every other finished one.
#[tokio::test]
async fn resume_reruns_a_task_whose_frame_is_torn() {
    const ITEMS: usize = 8;
    const FAILING: usize = ITEMS - 1;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let trace = dir.path().join("trace");
    let (origin, ok) = run(&store, Some(&trace), ITEMS, Some(FAILING));
    assert!(!ok, "item {FAILING} fails the run");

    // Tear the frame of the last succeeded item: it goes last, cut in half.
    let path = run_dir(&store, &origin).join("steps/work/tasks.seg");
    let records = segment(&store, &origin, "work");
    let succeeded: Vec<&TaskRecord> = records
        .iter()
        .filter(|r| r.status == TaskStatus::Succeeded)
        .collect();
    assert!(succeeded.len() >= 2, "{records:?}");
    let victim = (*succeeded.last().unwrap()).clone();
    let torn = victim.task.index.0[0];
    let mut bytes = SEGMENT_HEADER.to_vec();
    for r in records.iter().filter(|r| r.task != victim.task) {
        bytes.extend(encode_frame(r));
    }
    let frame = encode_frame(&victim);
    bytes.extend(&frame[..frame.len() / 2]);
    std::fs::write(&path, &bytes).unwrap();
    let read = read_segment("work", "store", &bytes).unwrap();
    assert_eq!(read.records.len(), records.len() - 1);
    assert_eq!(read.ignored, frame.len() / 2);
    // The items that stay committed: every succeeded one but the torn one.
    let kept: Vec<usize> = succeeded
        .iter()
        .map(|r| r.task.index.0[0])
        .filter(|&i| i != torn)
        .collect();

    let before = trace_counts(&trace);
    let out = slow_foreach(&store, Some(&trace), &["resume", "-q"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let resumed = stdout.trim().to_string();
    // start and the items whose frames are whole.
    let cloned = 1 + kept.len();
    assert!(stderr.contains(&format!("{cloned} cloned")), "{stderr}");
    let after = trace_counts(&trace);
    for i in 0..ITEMS {
        let key = format!("work/{i}");
        let ran = after.get(&key).copied().unwrap_or(0) - before.get(&key).copied().unwrap_or(0);
        let expected = usize::from(!kept.contains(&i));
        assert_eq!(ran, expected, "{key} ran {ran} time(s) on resume");
    }
    assert_eq!(after.get("start/0"), Some(&1));
    let work = segment(&store, &resumed, "work");
    assert_eq!(work.len(), ITEMS);
    for r in &work {
        let rerun = !kept.contains(&r.task.index.0[0]);
        assert_eq!(r.cloned_from.is_none(), rerun, "{}", r.task);
    }
    let client = Client::<SlowFlow>::new(Arc::new(FsStore::new(&store)));
    let run = client.run(&resumed.parse().unwrap()).await.unwrap();
    assert_eq!(run.status(), RunStatus::Succeeded);
    let squares: Vec<u64> = (0..ITEMS as u64).map(|i| i * i).collect();
    assert_eq!(run.end_state().await.unwrap().squares, squares);
}

fn trace_counts(trace: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(trace).unwrap_or_default().lines() {
        *counts.entry(line.to_string()).or_default() += 1;
    }
    counts
}

/// A 10,000-item foreach leaves a handful of files per step, not a file and a directory
/// per task.
#[test]
fn a_large_foreach_leaves_a_file_count_that_does_not_grow_with_its_tasks() {
    const ITEMS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let (id, ok) = run(store, None, ITEMS, None);
    assert!(ok);
    let root = run_dir(store, &id);
    let mut entries = 0;
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            entries += 1;
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    // run.json, steps/, and per step its directory and its segment.
    assert_eq!(entries, 2 + 4 * 2, "{:?}", files(&root));
    assert_eq!(segment(store, &id, "work").len(), ITEMS);
}
