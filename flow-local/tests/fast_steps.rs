//! A sync step whose tasks take microseconds runs on the scheduler's own thread once its
//! last tasks were fast (handing each to the blocking pool would cost more than the step),
//! on a multi-threaded runtime (the command line's), as these tests run.
//! What must not change: a run's timeout and a step's timeout still fire when a task of
//! such a step hangs, and a step that turns slow goes back to the pool. Each hanging task
//! here waits until the test releases it, so no thread outlives its test.

use flow_core::prelude::*;
use flow_local::Runner;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ITEMS: usize = 40;
/// The item that hangs, after many fast ones.
const HANGS: usize = 30;

/// Blocks until `release` is set (at most a minute).
fn hang(release: &AtomicBool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !release.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
}

static RUN_RELEASE: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunTimeout {
    pub items: Vec<usize>,
    pub value: usize,
}

#[flow(timeout = "1s")]
impl RunTimeout {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.items = (0..ITEMS).collect();
    }

    #[step(next = join)]
    fn body(&mut self, item: &usize) {
        if *item == HANGS {
            hang(&RUN_RELEASE);
        }
        self.value = *item;
    }

    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}

    #[step]
    fn end(&mut self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_timeout_fires_while_a_fast_steps_task_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = Runner::<RunTimeout>::new()
        .datastore(dir.path())
        .max_workers(1)
        .run()
        .await
        .unwrap();
    let took = started.elapsed();
    RUN_RELEASE.store(true, Ordering::SeqCst);
    assert!(run.timed_out(), "{:?}", run.error());
    assert!(took < Duration::from_secs(20), "the run took {took:?}");
}

static STEP_RELEASE: AtomicBool = AtomicBool::new(false);
static ATTEMPTS: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepTimeout {
    pub items: Vec<usize>,
    pub value: usize,
    pub values: Vec<usize>,
}

#[flow]
impl StepTimeout {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.items = (0..ITEMS).collect();
    }

    #[step(next = join, catch, timeout = "1s")]
    fn body(&mut self, item: &usize) {
        ATTEMPTS.fetch_add(1, Ordering::SeqCst);
        if *item == HANGS {
            hang(&STEP_RELEASE);
        }
        self.value = *item + 1;
    }

    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.values = inputs.iter().map(|i| i.value).collect();
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_timeout_fires_while_a_fast_steps_task_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = Runner::<StepTimeout>::new()
        .datastore(dir.path())
        .max_workers(1)
        .run()
        .await
        .unwrap();
    let took = started.elapsed();
    STEP_RELEASE.store(true, Ordering::SeqCst);
    assert!(run.succeeded(), "{:?}", run.error());
    assert!(took < Duration::from_secs(20), "the run took {took:?}");
    let end = run.stored().await.unwrap().end_state().await.unwrap();
    // The hanging item was cut off by its timeout and caught, with the value it started from.
    let expected: Vec<usize> = (0..ITEMS)
        .map(|i| if i == HANGS { 0 } else { i + 1 })
        .collect();
    assert_eq!(end.values, expected);
    let hung = run.task("body", &[HANGS]).await.unwrap();
    assert!(hung.caught_error().is_some());
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), ITEMS);
}

static SLOW_SEEN: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TurnsSlow {
    pub items: Vec<usize>,
    pub threads: Vec<String>,
    pub thread: String,
}

#[flow]
impl TurnsSlow {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.items = (0..ITEMS).collect();
    }

    /// Fast, then slow from item 20 on: the slow ones run two at a time on the pool.
    #[step(next = join)]
    fn body(&mut self, item: &usize) {
        if *item >= 20 {
            let now = SLOW_SEEN.fetch_add(1, Ordering::SeqCst) + 1;
            std::thread::sleep(Duration::from_millis(30));
            SLOW_SEEN.fetch_sub(1, Ordering::SeqCst);
            self.thread = format!("{now}");
        }
    }

    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.threads = inputs.iter().map(|i| i.thread.clone()).collect();
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_turns_slow_runs_on_the_pool_again() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<TurnsSlow>::new()
        .datastore(dir.path())
        .max_workers(2)
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let end = run.stored().await.unwrap().end_state().await.unwrap();
    // Two slow tasks were seen running at once: they were not on the scheduler's thread,
    // where one would wait for the other.
    assert!(
        end.threads.iter().any(|t| t == "2"),
        "slow tasks never overlapped: {:?}",
        end.threads
    );
}
