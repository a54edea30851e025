//! Runs that start from another run or an event, and end with hooks: the `on_success` and
//! `on_failure` hooks run once with the run's summary, a flow's `timeout` cancels the run,
//! a foreach's `max_concurrency` bounds its items in flight, `run --triggered-by` and
//! `run --event` say what started a run (and fill params from the event), and the internal
//! `step --triggered-by` and `hook` commands do what a Batch job needs.

mod common;

#[path = "../examples/triggered.rs"]
mod triggered;

use common::text;
use flow_core::client::Client;
use flow_core::datastore::{RunRecord, RunStatus, RunStore};
use flow_core::prelude::*;
use flow_core::{RunId, StepErrorKind, Trigger};
use flow_local::{FsStore, Runner};
use flow_test_support::example_binary;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use triggered::{Triggered, Upstream};

/// Every hook call of [`Hooked`]: (hook, summary).
static HOOK_CALLS: Mutex<Vec<(&'static str, RunEnd)>> = Mutex::new(Vec::new());

fn hook_calls(run: &RunId) -> Vec<(&'static str, RunEnd)> {
    HOOK_CALLS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, end)| end.run_id == *run)
        .cloned()
        .collect()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct HookedParams {
    /// Fail the `work` step.
    fail: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Hooked {
    done: bool,
}

#[flow(params = HookedParams, on_failure = alert, on_success = report)]
impl Hooked {
    #[step(next = work)]
    fn start(&mut self) {}

    #[step(next = end)]
    fn work(&mut self, ctx: &Ctx<HookedParams>) -> Result<(), String> {
        if ctx.params.fail {
            return Err("work failed on purpose".into());
        }
        self.done = true;
        Ok(())
    }

    #[step]
    fn end(&mut self) {}

    fn alert(run: &RunEnd) -> Result<(), String> {
        HOOK_CALLS.lock().unwrap().push(("alert", run.clone()));
        // The summary has no params: a test asks for a panic through the run's trigger.
        if run
            .trigger
            .as_ref()
            .is_some_and(|t| t.flow == "PanicInTheHook")
        {
            panic!("the alert could not be sent");
        }
        Ok(())
    }

    fn report(run: &RunEnd) {
        HOOK_CALLS.lock().unwrap().push(("report", run.clone()));
    }
}

#[tokio::test]
async fn the_success_hook_runs_once_with_the_run_summary() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<Hooked>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let calls = hook_calls(run.id());
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (hook, end) = &calls[0];
    assert_eq!(*hook, "report");
    assert_eq!(end.outcome, RunOutcome::Succeeded);
    assert_eq!(end.flow, "Hooked");
    assert_eq!(
        (end.failed_step.as_deref(), end.error.as_deref()),
        (None, None)
    );
    assert!(end.duration <= run.duration(), "{end:?}");
    let hook = run.hook().expect("the flow has a success hook");
    assert_eq!((hook.name.as_str(), &hook.result), ("report", &Ok(())));
}

#[tokio::test]
async fn the_failure_hook_runs_once_naming_the_failed_step_and_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<Hooked>::new()
        .datastore(dir.path())
        .params(HookedParams { fail: true })
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), RunStatus::Failed);
    let calls = hook_calls(run.id());
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (hook, end) = &calls[0];
    assert_eq!(*hook, "alert");
    assert_eq!(end.outcome, RunOutcome::Failed);
    assert_eq!(end.failed_step.as_deref(), Some("work"));
    assert_eq!(end.error.as_deref(), Some("work failed on purpose"));
    // The run is recorded as failed before the hook runs.
    let stored = RunStore::new(Arc::new(FsStore::new(dir.path())), "Hooked")
        .run(run.id())
        .await
        .unwrap();
    assert_eq!(stored.status, RunStatus::Failed);
}

#[tokio::test]
async fn a_failing_hook_is_reported_and_the_run_keeps_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<Hooked>::new()
        .datastore(dir.path())
        .params(HookedParams { fail: true })
        .triggered_by(Trigger::parse("PanicInTheHook/up-1").unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), RunStatus::Failed);
    let hook = run.hook().expect("the flow has a failure hook");
    let error = hook.result.clone().unwrap_err();
    assert_eq!(error.kind, StepErrorKind::Panic);
    assert!(error.message.contains("could not be sent"), "{error:?}");
    assert_eq!(hook_calls(run.id()).len(), 1);
}

#[tokio::test]
async fn a_resumed_run_runs_its_hook_too() {
    let dir = tempfile::tempdir().unwrap();
    let failed = Runner::<Hooked>::new()
        .datastore(dir.path())
        .params(HookedParams { fail: true })
        .run()
        .await
        .unwrap();
    assert_eq!(failed.status(), RunStatus::Failed);
    // The resume keeps the origin's params, so it fails again, and its own hook runs.
    let resumed = Runner::<Hooked>::new()
        .datastore(dir.path())
        .resume(Some(failed.id().clone()), None)
        .await
        .unwrap();
    let calls = hook_calls(resumed.id());
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].1.failed_step.as_deref(), Some("work"));
}

/// Every hook call of [`Sleepy`].
static SLEEPY_HOOKS: Mutex<Vec<RunEnd>> = Mutex::new(Vec::new());

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sleepy {
    woke: bool,
}

#[flow(timeout = "1s", on_failure = alert)]
impl Sleepy {
    #[step(next = nap)]
    fn start(&mut self) {}

    #[step(next = end)]
    async fn nap(&mut self) {
        tokio::time::sleep(Duration::from_secs(60)).await;
        self.woke = true;
    }

    #[step]
    fn end(&mut self) {}

    fn alert(run: &RunEnd) {
        SLEEPY_HOOKS.lock().unwrap().push(run.clone());
    }
}

#[tokio::test]
async fn a_run_past_its_timeout_is_cancelled_recorded_as_timed_out_and_its_hook_runs() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = Runner::<Sleepy>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "the run took {took:?}");
    assert!(took >= Duration::from_secs(1), "the run took {took:?}");
    assert!(run.timed_out());
    assert_eq!(run.status(), RunStatus::TimedOut);
    let hooks: Vec<RunEnd> = SLEEPY_HOOKS
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.run_id == *run.id())
        .cloned()
        .collect();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].outcome, RunOutcome::TimedOut);
    assert!(
        hooks[0]
            .error
            .as_deref()
            .unwrap()
            .contains("timeout of 1 s"),
        "{hooks:?}"
    );
    // run.json says so, and `nap` never committed.
    let record = read_run_json(dir.path(), "Sleepy", run.id());
    assert_eq!(record["status"], "timed_out");
    assert!(record["finished_at_ms"].is_u64());
    let stored = Client::<Sleepy>::new(Arc::new(FsStore::new(dir.path())))
        .run(run.id())
        .await
        .unwrap();
    assert_eq!(stored.status(), RunStatus::TimedOut);
    assert!(stored.task("nap", &[]).await.is_err());
}

fn read_run_json(store: &Path, flow: &str, run: &RunId) -> serde_json::Value {
    let layout = flow_core::datastore::Layout::new(flow);
    let bytes = std::fs::read(store.join(layout.run_record(run))).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MOST_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Limited {
    items: Vec<u32>,
    item: u32,
    seen: Vec<u32>,
}

#[flow]
impl Limited {
    #[step(foreach = items, next = body, max_concurrency = 3)]
    fn start(&mut self) {
        self.items = (0..12).collect();
    }

    #[step(next = join)]
    async fn body(&mut self, item: &u32) {
        let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
        MOST_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(40)).await;
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        self.item = *item;
    }

    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.seen = inputs.iter().map(|i| i.item).collect();
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn max_concurrency_bounds_a_foreachs_items_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<Limited>::new()
        .datastore(dir.path())
        .max_workers(8)
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    assert_eq!(
        run.end_state().await.unwrap().seen,
        (0..12).collect::<Vec<_>>()
    );
    // 12 items of 40 ms each with 8 workers: without the limit, 8 (or more) at once.
    assert_eq!(MOST_IN_FLIGHT.load(Ordering::SeqCst), 3);
}

/// `triggered ARGS...` on datastore `store`.
fn triggered(store: &Path, args: &[&str]) -> Output {
    Command::new(example_binary("triggered"))
        .args(args)
        .env("FLOW_DATASTORE", store)
        .output()
        .expect("triggered runs")
}

async fn upstream_run(store: &Path) -> RunId {
    let run = Runner::<Upstream>::new()
        .datastore(store)
        .run()
        .await
        .unwrap();
    assert!(run.succeeded());
    run.id().clone()
}

async fn latest(store: &Path) -> RunRecord {
    RunStore::new(Arc::new(FsStore::new(store)), "Triggered")
        .latest_run()
        .await
        .unwrap()
}

async fn end_state(store: &Path, run: &RunId) -> Triggered {
    Client::<Triggered>::new(Arc::new(FsStore::new(store)))
        .run(run)
        .await
        .unwrap()
        .end_state()
        .await
        .unwrap()
}

#[tokio::test]
async fn run_triggered_by_reads_the_upstream_runs_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let up = upstream_run(dir.path()).await;
    let by = format!("Upstream/{up}");
    let out = triggered(dir.path(), &["run", "-q", "--triggered-by", &by]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("HOOK report: run "), "{stderr}");
    let run = RunId::new(stdout.trim()).unwrap();
    let state = end_state(dir.path(), &run).await;
    assert_eq!(state.upstream, by);
    assert_eq!(state.upstream_numbers, vec![1, 2, 3]);
    let record = latest(dir.path()).await;
    assert_eq!(
        record.trigger,
        Some(Trigger {
            flow: "Upstream".into(),
            run_id: up
        })
    );
    // A run started by hand has no trigger.
    let out = triggered(dir.path(), &["run", "-q"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let manual = latest(dir.path()).await;
    assert_eq!((manual.trigger, manual.event), (None, None));
}

#[test]
fn a_malformed_triggered_by_is_a_clear_error_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (value, expected) in [
        ("Upstream", "names no run: write it as FLOW/RUN_ID"),
        ("Up stream/r-1", "is not a flow name"),
        (
            "Upstream/../x",
            "the run id in `Upstream/../x` is not valid",
        ),
    ] {
        let out = triggered(dir.path(), &["run", "-q", "--triggered-by", value]);
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{value}");
        assert!(
            stderr.contains("--triggered-by") && stderr.contains(expected),
            "{stderr}"
        );
    }
    assert!(!dir.path().join("Triggered").exists());
}

#[tokio::test]
async fn a_triggered_by_run_that_does_not_exist_fails_the_step_that_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    upstream_run(dir.path()).await;
    let out = triggered(
        dir.path(),
        &[
            "run",
            "-q",
            "--triggered-by",
            "Upstream/20200101T000000-0000000000",
        ],
    );
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("20200101T000000-0000000000") && stderr.contains("HOOK alert"),
        "{stderr}"
    );
}

fn write_event(dir: &Path, body: &str) -> String {
    let path = dir.join("event.json");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

const S3_EVENT: &str = r#"{"source": "aws.s3", "detail-type": "Object Created",
    "detail": {"bucket": {"name": "flowrs-inbox"}, "object": {"key": "incoming/a.csv", "size": 3}}}"#;

#[tokio::test]
async fn run_event_fills_params_from_the_event_and_a_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let event = write_event(dir.path(), S3_EVENT);
    let out = triggered(dir.path(), &["run", "-q", "--event", &event]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let run = RunId::new(stdout.trim()).unwrap();
    let state = end_state(dir.path(), &run).await;
    assert_eq!(
        (state.key.as_str(), state.source.as_str()),
        ("incoming/a.csv", "aws.s3")
    );
    let record = latest(dir.path()).await;
    assert_eq!(record.params["key"], "incoming/a.csv");
    assert_eq!(record.event.unwrap()["detail"]["object"]["size"], 3);

    let out = triggered(
        dir.path(),
        &["run", "-q", "--event", &event, "--key", "given"],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let run = RunId::new(stdout.trim()).unwrap();
    assert_eq!(end_state(dir.path(), &run).await.key, "given");
}

#[test]
fn a_bad_event_file_is_a_clear_error_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let missing = dir.path().join("nowhere.json").display().to_string();
    let not_json = write_event(dir.path(), "{not json");
    let cases = [
        (
            missing.clone(),
            vec!["--event: cannot read", "nowhere.json"],
        ),
        (not_json, vec!["--event:", "is not JSON"]),
    ];
    for (path, expected) in cases {
        let out = triggered(&store, &["run", "-q", "--event", &path]);
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{path}");
        for e in expected {
            assert!(stderr.contains(e), "{e:?} not in {stderr}");
        }
    }
    let list = write_event(dir.path(), "[1, 2]");
    let out = triggered(&store, &["run", "-q", "--event", &list]);
    assert!(
        text(&out).1.contains("holds JSON that is not an object"),
        "{:?}",
        text(&out)
    );
    let no_key = write_event(
        dir.path(),
        r#"{"source": "aws.s3", "detail": {"object": {}}}"#,
    );
    let out = triggered(&store, &["run", "-q", "--event", &no_key]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the event has no `detail.object.key`") && stderr.contains("param `--key`"),
        "{stderr}"
    );
    assert!(!store.exists(), "a bad event stored something");
}

/// `triggered step ...` for run `run`, step `step`.
fn step(store: &Path, run: &str, step: &str, extra: &[&str]) -> Output {
    let mut args = vec!["step", "--datastore"];
    let root = store.display().to_string();
    args.push(&root);
    args.extend(["--run-id", run, "--step", step]);
    args.extend(extra);
    triggered(store, &args)
}

#[tokio::test]
async fn step_triggered_by_stores_the_trigger_and_the_event_in_run_json() {
    let dir = tempfile::tempdir().unwrap();
    let up = upstream_run(dir.path()).await;
    let by = format!("Upstream/{up}");
    let out = step(
        dir.path(),
        "sfn-1",
        "start",
        &[
            "--params-json",
            "{}",
            "--triggered-by",
            &by,
            "--event-json",
            S3_EVENT,
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let out = step(dir.path(), "sfn-1", "end", &[]);
    assert!(out.status.success(), "{:?}", text(&out));
    let run = RunId::new("sfn-1").unwrap();
    let record = read_run_json(dir.path(), "Triggered", &run);
    assert_eq!(
        record["trigger"],
        serde_json::json!({"flow": "Upstream", "run_id": up.as_str()})
    );
    assert_eq!(record["event"]["detail"]["object"]["key"], "incoming/a.csv");
    assert_eq!(record["status"], "succeeded");
    let state = end_state(dir.path(), &run).await;
    assert_eq!(
        (state.upstream_numbers, state.source),
        (vec![1, 2, 3], "aws.s3".to_string())
    );

    // Empty values (what a state machine passes for a run started by hand) mean none.
    let out = step(
        dir.path(),
        "sfn-2",
        "start",
        &[
            "--params-json",
            "{}",
            "--triggered-by",
            "",
            "--event-json",
            "",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let record = read_run_json(dir.path(), "Triggered", &RunId::new("sfn-2").unwrap());
    assert!(
        record.get("trigger").is_none() && record.get("event").is_none(),
        "{record}"
    );

    let out = step(
        dir.path(),
        "sfn-3",
        "start",
        &["--params-json", "{}", "--event-json", "[1]"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("--event-json is not a JSON object"),
        "{:?}",
        text(&out)
    );
}

/// `triggered hook --run-id RUN --outcome OUTCOME EXTRA...`.
fn hook(store: &Path, run: &str, outcome: &str, extra: &[&str]) -> Output {
    let root = store.display().to_string();
    let mut args = vec![
        "hook",
        "--datastore",
        &root,
        "--run-id",
        run,
        "--outcome",
        outcome,
    ];
    args.extend(extra);
    triggered(store, &args)
}

#[test]
fn the_hook_command_records_the_final_status_and_runs_the_hook() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    // A run whose `start` failed as a Batch job would leave it: the run still "running"
    // if the job died before recording it; here `start` records its failure.
    let out = step(
        store,
        "sfn-f",
        "start",
        &["--params-json", r#"{"fail": true}"#],
    );
    assert!(!out.status.success());
    let out = hook(store, "sfn-f", "failed", &["--error", "States.TaskFailed"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("HOOK alert: run sfn-f of Triggered failed")
            && stderr.contains("in step `start`")
            && stderr.contains("start failed on purpose"),
        "{stderr}"
    );
    assert_eq!(
        read_run_json(store, "Triggered", &RunId::new("sfn-f").unwrap())["status"],
        "failed"
    );

    // A run left running (its job died): the hook records it, with what Step Functions caught.
    let out = step(store, "sfn-t", "start", &["--params-json", "{}"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = hook(
        store,
        "sfn-t",
        "timed-out",
        &[
            "--error",
            "States.Timeout",
            "--cause",
            "the execution ran past 3600 s",
        ],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("HOOK alert: run sfn-t of Triggered timed-out"),
        "{stderr}"
    );
    let record = read_run_json(store, "Triggered", &RunId::new("sfn-t").unwrap());
    assert_eq!(record["status"], "timed_out");
    assert_eq!(
        record["error"],
        "States.Timeout: the execution ran past 3600 s"
    );
    // Run again (Step Functions retried the hook's job): the status stays, the hook runs.
    let out = hook(store, "sfn-t", "failed", &[]);
    assert!(out.status.success());
    let again = read_run_json(store, "Triggered", &RunId::new("sfn-t").unwrap());
    assert_eq!(again["status"], "timed_out");
    assert_eq!(again["finished_at_ms"], record["finished_at_ms"]);

    // Success: the success hook.
    let out = step(store, "sfn-s", "start", &["--params-json", "{}"]);
    assert!(out.status.success());
    let out = step(store, "sfn-s", "end", &[]);
    assert!(out.status.success());
    let out = hook(store, "sfn-s", "succeeded", &[]);
    let (_, stderr) = text(&out);
    assert!(
        out.status.success() && stderr.contains("HOOK report: run sfn-s"),
        "{stderr}"
    );
}

#[test]
fn the_hook_command_fails_when_the_hook_fails_and_on_unknown_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let params = r#"{"fail": true, "fail_hook": true}"#;
    let out = step(store, "sfn-h", "start", &["--params-json", params]);
    assert!(!out.status.success());
    let out = hook(store, "sfn-h", "failed", &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("hook `alert` of run sfn-h failed: the alert could not be sent"),
        "{stderr}"
    );
    // The status is recorded all the same.
    assert_eq!(
        read_run_json(store, "Triggered", &RunId::new("sfn-h").unwrap())["status"],
        "failed"
    );

    let out = hook(store, "sfn-nope", "failed", &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot read run `sfn-nope`"), "{stderr}");
    let out = hook(store, "sfn-h", "exploded", &[]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("exploded"), "{:?}", text(&out));
}
