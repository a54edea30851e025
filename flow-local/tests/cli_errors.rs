//! Bad input on the command line of a flow binary: each is a clear error (exit status
//! non-zero, a message naming what is wrong) and leaves every stored run as it was.

mod common;

#[path = "../examples/slow_foreach.rs"]
mod slow_foreach;

use common::{assert_unchanged, cli, run_ids, snapshot, text};
use flow_core::client::Client;
use flow_core::datastore::{read_segment, DatastoreError};
use flow_local::FsStore;
use slow_foreach::SlowFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FLOW: &str = "SlowFlow";

/// A datastore with one finished run of 30 items (so `items` is a blob, not inline).
fn datastore_with_a_run() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &["run", "--count", "30", "--sleep-ms", "1", "-q"],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("succeeded") && stderr.contains("(33 tasks)"),
        "{stderr}"
    );
    let id = stdout.trim().to_string();
    assert_eq!(run_ids(dir.path(), FLOW), vec![id.clone()]);
    (dir, id)
}

/// Runs a command that must fail with all of `expected` in its error, and change nothing.
fn fails_cleanly(store: &Path, args: &[&str], expected: &[&str]) {
    let before = snapshot(store);
    let out = cli(store, args);
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "{args:?} succeeded: {stdout}{stderr}"
    );
    for e in expected {
        assert!(stderr.contains(e), "{args:?}: `{e}` not in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert_unchanged(&before, &snapshot(store), &[], &format!("{args:?}"));
}

#[test]
fn unknown_param_and_wrong_type_fail_before_anything_runs() {
    let (dir, _) = datastore_with_a_run();
    let store = dir.path();
    fails_cleanly(store, &["run", "--cuont", "3"], &["--cuont"]);
    fails_cleanly(
        store,
        &["run", "--count", "many"],
        &["`many`", "--count", "expected usize"],
    );
    fails_cleanly(store, &["run", "--count=-3"], &["--count", "usize"]);
    fails_cleanly(
        store,
        &["run", "--sleep-ms", "1.5"],
        &["--sleep-ms", "expected u64"],
    );
    assert_eq!(run_ids(store, FLOW).len(), 1);
}

#[test]
fn unknown_run_ids_are_clear_errors() {
    let (dir, id) = datastore_with_a_run();
    let store = dir.path();
    let hint = format!("the latest is `{id}`");
    fails_cleanly(store, &["dump", "NOPE"], &["no run `NOPE`", FLOW, &hint]);
    fails_cleanly(store, &["resume", "NOPE"], &["no run `NOPE`", &hint]);
    fails_cleanly(store, &["logs", "NOPE/work"], &["no run `NOPE`"]);
    // One character off: the error suggests the real id.
    let typo = format!("{}x", &id[..id.len() - 1]);
    fails_cleanly(
        store,
        &["dump", &typo],
        &[
            &format!("no run `{typo}`"),
            &format!("did you mean `{id}`?"),
        ],
    );
    // A known run, but no such task.
    let bad_task = format!("{id}/work/99");
    fails_cleanly(store, &["dump", &bad_task], &["no task `work/99`"]);
}

#[test]
fn path_traversal_in_ids_is_rejected() {
    let (dir, id) = datastore_with_a_run();
    let store = dir.path();
    for bad in ["../x", "..", "a/../../x", "../../etc"] {
        // `a/../../x` is run `a`, step `..`: rejected as a step name.
        fails_cleanly(store, &["dump", bad], &["invalid", "`..`"]);
        fails_cleanly(store, &["resume", bad], &["invalid run id"]);
    }
    for (spec, what) in [
        (format!("{id}/../x"), "invalid step name `..`"),
        (format!("{id}/../../x"), "invalid step name `..`"),
        (format!("{id}/work/../../x"), "invalid task index `../../x`"),
        (format!("{id}/work/.."), "invalid task index `..`"),
    ] {
        fails_cleanly(store, &["dump", &spec], &[what]);
        fails_cleanly(store, &["logs", &spec], &[what]);
    }
    fails_cleanly(
        store,
        &["resume", &id, "--step", "../x"],
        &["no step `../x`"],
    );
}

#[test]
fn unknown_step_in_resume_is_a_clear_error() {
    let (dir, id) = datastore_with_a_run();
    let store = dir.path();
    fails_cleanly(
        store,
        &["resume", &id, "--step", "wrok"],
        &["flow `SlowFlow` has no step `wrok`", "work"],
    );
    fails_cleanly(
        store,
        &["dump", &format!("{id}/nope")],
        &["no step `nope`", "start, work, join, end"],
    );
    // A run that succeeded has no failed step to resume from.
    fails_cleanly(store, &["resume", &id], &["succeeded", "--step"]);
}

#[test]
fn exceeding_max_num_splits_names_the_step_and_the_flag() {
    let (dir, _) = datastore_with_a_run();
    let store = dir.path();
    let before = snapshot(store);
    let out = cli(
        store,
        &["run", "--count", "30", "--max-num-splits", "5", "-q"],
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success());
    for e in [
        "foreach step `start`",
        "30 items",
        "limit of 5",
        "--max-num-splits",
    ] {
        assert!(stderr.contains(e), "`{e}` not in {stderr}");
    }
    // The failed run is stored (so it can be inspected), and nothing else changed.
    let new_id = stdout.trim();
    let new_run = PathBuf::from(FLOW).join("runs").join(new_id);
    assert_unchanged(
        &before,
        &snapshot(store),
        std::slice::from_ref(&new_run),
        "max-num-splits",
    );
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join(&new_run).join("run.json")).unwrap())
            .unwrap();
    assert_eq!(run_json["status"], "failed");
    assert!(run_json["error"]
        .as_str()
        .unwrap()
        .contains("--max-num-splits"));
    // No body task ran.
    assert!(!store.join(&new_run).join("steps/work").exists());
    // Within the limit it runs.
    let ok = cli(
        store,
        &[
            "run",
            "--count",
            "5",
            "--max-num-splits",
            "5",
            "-q",
            "--sleep-ms",
            "0",
        ],
    );
    assert!(ok.status.success(), "{:?}", text(&ok));
}

/// The blob file holding artifact `name` of task `step/index` of run `id`.
fn blob_of(store: &Path, id: &str, step: &str, index: &str, name: &str) -> PathBuf {
    // The step's records are frames of its segment.
    let key = format!("{FLOW}/runs/{id}/steps/{step}/tasks.seg");
    let bytes = std::fs::read(store.join(&key)).unwrap();
    let records = read_segment(&key, "store", &bytes).unwrap().records;
    let record = records
        .iter()
        .find(|r| r.task.index.key() == index)
        .unwrap_or_else(|| panic!("no task {step}/{index} in {key}"));
    let record = serde_json::to_value(record).unwrap();
    let artifact = &record["artifacts"][name];
    assert!(
        artifact.get("inline").is_none(),
        "{name} is inline: {artifact}"
    );
    let hash = artifact["hash"].as_str().unwrap();
    store.join(format!("{FLOW}/blobs/{}/{hash}", &hash[..2]))
}

#[tokio::test]
async fn a_corrupted_blob_names_run_step_task_and_artifact() {
    let (dir, id) = datastore_with_a_run();
    let store = dir.path();
    let blob = blob_of(store, &id, "start", "0", "items");
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();

    let run_part = format!("run `{id}`");
    fails_cleanly(
        store,
        &["dump", &format!("{id}/start")],
        &[
            "artifact `items`",
            "task `start/0`",
            &run_part,
            "corrupted",
            "does not match its content hash",
        ],
    );
    fails_cleanly(
        store,
        &["dump", &format!("{id}/work/7")],
        &["artifact `items`", "task `work/7`", &run_part, "corrupted"],
    );

    // Through the client: the corrupted artifact is an error, the others still read.
    let client = Client::<SlowFlow>::new(Arc::new(FsStore::new(store)));
    let run = client.run(&id.parse().unwrap()).await.unwrap();
    let task = run.task("work", &[7]).await.unwrap();
    assert_eq!(task.artifact::<u64>("square").await.unwrap(), 49);
    match task.artifact::<Vec<u64>>("items").await {
        Err(DatastoreError::Corrupted(c)) => assert_eq!(
            (c.run.as_str(), c.task.as_str(), c.artifact.as_str()),
            (id.as_str(), "work/7", "items")
        ),
        other => panic!("expected a corruption error, got {other:?}"),
    }

    // Resuming from the corrupted run fails (clearly) in its own new run; the origin is
    // untouched.
    let before = snapshot(store);
    let out = cli(store, &["resume", &id, "--step", "join", "-q"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("artifact `items`") && stderr.contains("corrupted"),
        "{stderr}"
    );
    let new_run = PathBuf::from(FLOW).join("runs").join(stdout.trim());
    assert_unchanged(
        &before,
        &snapshot(store),
        &[new_run],
        "resume of a corrupted run",
    );
}

#[test]
fn runs_lists_every_run_newest_first() {
    let (dir, id) = datastore_with_a_run();
    let second = cli(
        dir.path(),
        &["run", "--count", "2", "--sleep-ms", "0", "-q"],
    );
    let second = text(&second).0.trim().to_string();
    let out = cli(dir.path(), &["runs"]);
    let (stdout, _) = text(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("RUN_ID"), "{stdout}");
    assert!(
        lines[1].starts_with(&second) && lines[1].contains("succeeded"),
        "{stdout}"
    );
    assert!(lines[2].starts_with(&id), "{stdout}");
}
