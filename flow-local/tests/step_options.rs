//! Per-step options in a local run: retry with backoff, timeout, catch, and a panicking
//! step failing its task and the run while everything already persisted stays readable.

use flow_core::client::Client;
use flow_core::datastore::{RunStatus, TaskStatus};
use flow_core::prelude::*;
use flow_core::StepErrorKind;
use flow_local::{FsStore, Runner};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

static SHAKY_CALLS: AtomicUsize = AtomicUsize::new(0);

/// `shaky` fails on attempts 0, 1 and 2 and succeeds on attempt 3.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RetryFlow {
    pub succeeded_on: u32,
}

#[flow]
impl RetryFlow {
    #[step(next = shaky)]
    fn start(&mut self) {}

    #[step(next = end, retry(times = 3, backoff = "100ms"))]
    fn shaky(&mut self, ctx: &Ctx) -> Result<(), String> {
        SHAKY_CALLS.fetch_add(1, Ordering::SeqCst);
        if ctx.attempt < 3 {
            return Err(format!("attempt {} fails", ctx.attempt));
        }
        self.succeeded_on = ctx.attempt;
        Ok(())
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn retry_with_doubling_backoff_until_an_attempt_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = Runner::<RetryFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    assert_eq!(SHAKY_CALLS.load(Ordering::SeqCst), 4);
    assert_eq!(run.end_state().await.unwrap().succeeded_on, 3);

    let task = run.task("shaky", &[]).await.unwrap();
    let attempts = &task.record().attempts;
    assert_eq!(task.record().status, TaskStatus::Succeeded);
    assert_eq!(attempts.len(), 4);
    for (n, a) in attempts.iter().enumerate() {
        assert_eq!(a.attempt, n as u32);
        match n {
            3 => assert!(a.error.is_none()),
            _ => assert_eq!(
                a.error.as_ref().unwrap().message,
                format!("attempt {n} fails")
            ),
        }
    }
    // Backoff 100 ms, doubled per retry: 100, 200, 400 ms before attempts 1, 2, 3.
    for n in 1..4 {
        let gap = attempts[n].started_at_ms - attempts[n - 1].started_at_ms;
        let backoff = 100u64 << (n - 1);
        assert!(
            gap >= backoff,
            "attempt {n} started {gap} ms after the one before, backoff {backoff} ms"
        );
    }
    assert!(started.elapsed() >= Duration::from_millis(700));
    // Each failed attempt left its error in its log.
    let logs = task.logs().await.unwrap();
    assert_eq!(logs.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(logs[1].1.contains("attempt 1 fails"), "{logs:?}");
}

static ALWAYS_CALLS: AtomicUsize = AtomicUsize::new(0);

/// `always` fails on every attempt.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExhaustFlow {
    pub before: u32,
}

#[flow]
impl ExhaustFlow {
    #[step(next = always)]
    fn start(&mut self) {
        self.before = 7;
    }

    #[step(next = end, retry(times = 2, backoff = "10ms"))]
    fn always(&mut self) -> Result<(), String> {
        ALWAYS_CALLS.fetch_add(1, Ordering::SeqCst);
        Err("still broken".into())
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn retries_exhausted_fail_the_task_and_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<ExhaustFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(!run.succeeded());
    assert_eq!(ALWAYS_CALLS.load(Ordering::SeqCst), 3);
    let message = run.error().unwrap().to_string();
    assert!(
        message.contains("step `always`") && message.contains("still broken"),
        "{message}"
    );
    let task = run.task("always", &[]).await.unwrap();
    assert_eq!(task.record().status, TaskStatus::Failed);
    assert_eq!(task.record().attempts.len(), 3);
    assert!(task.caught_error().is_none());
    // The stored run says so too, and `end` never ran.
    let client = Client::<ExhaustFlow>::new(Arc::new(FsStore::new(dir.path())));
    let stored = client.run(run.id()).await.unwrap();
    assert_eq!(stored.status(), RunStatus::Failed);
    assert!(stored
        .record()
        .error
        .as_deref()
        .unwrap()
        .contains("still broken"));
    assert!(stored.tasks("end").await.unwrap().is_empty());
    assert_eq!(
        stored
            .task("start", &[])
            .await
            .unwrap()
            .artifact::<u32>("before")
            .await
            .unwrap(),
        7
    );
}

static SLEEPERS_STARTED: AtomicUsize = AtomicUsize::new(0);
static SLEEPERS_FINISHED: AtomicUsize = AtomicUsize::new(0);

/// `sleepy` sleeps past its one-second timeout, twice.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TimeoutFlow {
    pub woke: bool,
}

#[flow]
impl TimeoutFlow {
    #[step(next = sleepy)]
    fn start(&mut self) {}

    #[step(next = end, timeout = "1s", retry(times = 1, backoff = "10ms"))]
    async fn sleepy(&mut self) {
        SLEEPERS_STARTED.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(2)).await;
        SLEEPERS_FINISHED.fetch_add(1, Ordering::SeqCst);
        self.woke = true;
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn timeout_cancels_the_attempt_and_counts_as_a_failed_one() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = Runner::<TimeoutFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(!run.succeeded());
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let task = run.task("sleepy", &[]).await.unwrap();
    assert_eq!(task.record().status, TaskStatus::Failed);
    let attempts = &task.record().attempts;
    assert_eq!(attempts.len(), 2);
    for a in attempts {
        let error = a.error.as_ref().unwrap();
        assert_eq!(error.kind, StepErrorKind::Timeout);
        assert!(error.message.contains("timeout of 1 s"), "{error}");
    }
    assert!(run.error().unwrap().to_string().contains("timed out"));
    // The cancelled futures never resume.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(SLEEPERS_STARTED.load(Ordering::SeqCst), 2);
    assert_eq!(SLEEPERS_FINISHED.load(Ordering::SeqCst), 0);
}

/// `risky` fails after setting an artifact; `timid` times out; both are caught.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CatchFlow {
    pub before: u32,
    pub risky_started: bool,
    pub timid_done: bool,
    pub seen_by_after: bool,
}

#[flow]
impl CatchFlow {
    #[step(next = risky)]
    fn start(&mut self) {
        self.before = 41;
    }

    #[step(next = timid, catch)]
    fn risky(&mut self) -> Result<(), String> {
        self.risky_started = true;
        Err("risky failed as designed".into())
    }

    #[step(next = after, catch, timeout = "1s")]
    async fn timid(&mut self) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        self.timid_done = true;
    }

    #[step(next = end)]
    fn after(&mut self) {
        self.seen_by_after = self.risky_started;
        self.before += 1;
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn catch_records_the_error_and_the_flow_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<CatchFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let end = run.end_state().await.unwrap();
    assert!(end.risky_started && end.seen_by_after && !end.timid_done);
    assert_eq!(end.before, 42);

    let risky = run.task("risky", &[]).await.unwrap();
    assert_eq!(risky.record().status, TaskStatus::Caught);
    let error = risky.caught_error().unwrap();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (StepErrorKind::Error, "risky failed as designed")
    );
    assert!(risky.artifact::<bool>("risky_started").await.unwrap());

    let timid = run.task("timid", &[]).await.unwrap();
    assert_eq!(timid.record().status, TaskStatus::Caught);
    assert_eq!(timid.caught_error().unwrap().kind, StepErrorKind::Timeout);
    // A timed-out attempt leaves no state: the task keeps the state it started from.
    assert!(timid.artifact::<bool>("risky_started").await.unwrap());
    assert_eq!(timid.artifact::<u32>("before").await.unwrap(), 41);
}

static ITEMS_DONE: AtomicUsize = AtomicUsize::new(0);
static BOOM_RAN: AtomicBool = AtomicBool::new(false);

/// Branch `boom` panics while branch `many` works through slow foreach items.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PanicFlow {
    pub items: Vec<u32>,
    pub item: u32,
    pub doubled: u32,
    pub all: Vec<u32>,
}

#[flow]
impl PanicFlow {
    #[step(next = [boom, many])]
    fn start(&mut self) {
        self.items = (0..40).collect();
    }

    #[step(next = join)]
    fn boom(&mut self) {
        std::thread::sleep(Duration::from_millis(150));
        BOOM_RAN.store(true, Ordering::SeqCst);
        panic!("boom: the index is out of its mind");
    }

    #[step(foreach = items, next = slow)]
    fn many(&mut self) {}

    #[step(next = many_join)]
    async fn slow(&mut self, item: &u32) {
        tokio::time::sleep(Duration::from_millis(40)).await;
        self.item = *item;
        self.doubled = item * 2;
        ITEMS_DONE.fetch_add(1, Ordering::SeqCst);
    }

    #[step(next = join)]
    fn many_join(&mut self, inputs: Inputs<Self>) {
        self.all = inputs.iter().map(|i| i.doubled).collect();
    }

    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn a_panicking_step_fails_its_task_and_the_run_and_nothing_persisted_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<PanicFlow>::new()
        .datastore(dir.path())
        .max_workers(3)
        .run()
        .await
        .unwrap();
    assert!(BOOM_RAN.load(Ordering::SeqCst));
    assert!(!run.succeeded());
    let message = run.error().unwrap().to_string();
    assert!(
        message.contains("panicked: boom: the index is out of its mind"),
        "{message}"
    );
    assert!(message.contains("step `boom`"), "{message}");

    let boom = run.task("boom", &[]).await.unwrap();
    assert_eq!(boom.record().status, TaskStatus::Failed);
    let error = boom.record().error.as_ref().unwrap();
    assert_eq!(error.kind, StepErrorKind::Panic);
    assert_eq!(error.message, "boom: the index is out of its mind");
    // The state the panicking step started from is kept.
    assert_eq!(boom.artifact::<Vec<u32>>("items").await.unwrap().len(), 40);

    // The other branch stopped: items that had started finished and were committed, no new
    // ones started, and nothing after the fan-out ran.
    let done = ITEMS_DONE.load(Ordering::SeqCst);
    assert!(done < 40, "all {done} items ran after the panic");
    let client = Client::<PanicFlow>::new(Arc::new(FsStore::new(dir.path())));
    let stored = client.run(run.id()).await.unwrap();
    assert_eq!(stored.status(), RunStatus::Failed);
    let slow = stored.tasks("slow").await.unwrap();
    assert_eq!(slow.len(), done, "every item that ran was committed");
    for task in &slow {
        let state = task.state().await.unwrap();
        assert_eq!(state.doubled, state.item * 2);
        assert_eq!(task.id().index.0, vec![state.item as usize]);
        assert_eq!(task.record().status, TaskStatus::Succeeded);
    }
    for step in ["many_join", "join", "end"] {
        assert!(stored.tasks(step).await.unwrap().is_empty(), "{step} ran");
    }
    let start = stored
        .task("start", &[])
        .await
        .unwrap()
        .state()
        .await
        .unwrap();
    assert_eq!(start.items, (0..40).collect::<Vec<_>>());
    assert!(stored
        .task("many", &[])
        .await
        .unwrap()
        .state()
        .await
        .is_ok());
}
