//! Resume: a run fails in one task, the cause goes away, and `resume` finishes it, cloning
//! (not re-running) every task that had succeeded; `--step` re-runs from a chosen step.
//! Per-step counters prove what actually ran.

mod common;

use flow_core::client::Client;
use flow_core::datastore::{RunStatus, TaskStatus};
use flow_core::prelude::*;
use flow_local::{FsStore, Runner, RunnerError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

const ITEMS: usize = 6;
const FAILING_ITEM: u32 = 3;

/// While set, item 3 of `work` fails.
static OUTAGE: AtomicBool = AtomicBool::new(false);
static STARTS: AtomicUsize = AtomicUsize::new(0);
static WORK: [AtomicUsize; ITEMS] = [const { AtomicUsize::new(0) }; ITEMS];
static JOINS: AtomicUsize = AtomicUsize::new(0);
static ENDS: AtomicUsize = AtomicUsize::new(0);
/// The tests share the counters; they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn reset() {
    OUTAGE.store(false, Ordering::SeqCst);
    STARTS.store(0, Ordering::SeqCst);
    JOINS.store(0, Ordering::SeqCst);
    ENDS.store(0, Ordering::SeqCst);
    for w in &WORK {
        w.store(0, Ordering::SeqCst);
    }
}

fn work_counts() -> Vec<usize> {
    WORK.iter().map(|w| w.load(Ordering::SeqCst)).collect()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResumeFlow {
    pub items: Vec<u32>,
    pub square: u32,
    pub squares: Vec<u32>,
    pub sum: u32,
}

#[flow]
impl ResumeFlow {
    #[step(foreach = items, next = work)]
    fn start(&mut self) {
        STARTS.fetch_add(1, Ordering::SeqCst);
        self.items = (0..ITEMS as u32).collect();
    }

    #[step(next = join)]
    fn work(&mut self, item: &u32) -> Result<(), String> {
        WORK[*item as usize].fetch_add(1, Ordering::SeqCst);
        if *item == FAILING_ITEM && OUTAGE.load(Ordering::SeqCst) {
            return Err(format!("item {item}: the service is down"));
        }
        self.square = item * item;
        Ok(())
    }

    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        JOINS.fetch_add(1, Ordering::SeqCst);
        self.squares = inputs.iter().map(|i| i.square).collect();
    }

    #[step]
    fn end(&mut self) {
        ENDS.fetch_add(1, Ordering::SeqCst);
        self.sum = self.squares.iter().sum();
    }
}

fn expected_squares() -> Vec<u32> {
    (0..ITEMS as u32).map(|i| i * i).collect()
}

#[tokio::test]
async fn resume_clones_every_task_that_succeeded_and_reruns_the_failed_one() {
    let _serial = SERIAL.lock().await;
    reset();
    let dir = tempfile::tempdir().unwrap();
    OUTAGE.store(true, Ordering::SeqCst);
    let origin = Runner::<ResumeFlow>::new()
        .datastore(dir.path())
        .max_workers(1)
        .run()
        .await
        .unwrap();
    assert!(!origin.succeeded());
    assert!(origin
        .error()
        .unwrap()
        .to_string()
        .contains("the service is down"));
    let stored = origin.stored().await.unwrap();
    let succeeded: Vec<usize> = stored
        .tasks("work")
        .await
        .unwrap()
        .iter()
        .filter(|t| t.record().status == TaskStatus::Succeeded)
        .map(|t| t.id().index.0[0])
        .collect();
    assert!(succeeded.contains(&0) && !succeeded.contains(&(FAILING_ITEM as usize)));
    let ran_before = work_counts();

    // The cause goes away; resume the latest run.
    OUTAGE.store(false, Ordering::SeqCst);
    let resumed = Runner::<ResumeFlow>::new()
        .datastore(dir.path())
        .resume(None, None)
        .await
        .unwrap();
    assert!(resumed.succeeded(), "{:?}", resumed.error());
    assert_ne!(resumed.id(), origin.id());
    assert_eq!(resumed.record().origin_run_id.as_ref(), Some(origin.id()));
    assert_eq!(resumed.record().resume_step.as_deref(), Some("work"));
    let end = resumed.end_state().await.unwrap();
    assert_eq!(end.squares, expected_squares());
    assert_eq!(end.sum, expected_squares().iter().sum::<u32>());

    // start and every work item that had succeeded were cloned, not run again.
    assert_eq!(STARTS.load(Ordering::SeqCst), 1);
    let ran_after = work_counts();
    for item in 0..ITEMS {
        let task = resumed.task("work", &[item]).await.unwrap();
        if succeeded.contains(&item) {
            assert_eq!(ran_after[item], ran_before[item], "item {item} ran again");
            assert_eq!(task.record().cloned_from.as_ref(), Some(origin.id()));
        } else {
            assert_eq!(ran_after[item], ran_before[item] + 1, "item {item}");
            assert!(task.record().cloned_from.is_none());
        }
        assert_eq!(
            task.artifact::<u32>("square").await.unwrap(),
            (item * item) as u32
        );
    }
    let start = resumed.task("start", &[]).await.unwrap();
    assert_eq!(start.record().cloned_from.as_ref(), Some(origin.id()));
    assert!(start.was_cloned());
    assert_eq!(
        (JOINS.load(Ordering::SeqCst), ENDS.load(Ordering::SeqCst)),
        (1, 1)
    );

    // The origin run is as it was: failed, its failed task still there.
    let client = Client::<ResumeFlow>::new(Arc::new(FsStore::new(dir.path())));
    let origin_now = client.run(origin.id()).await.unwrap();
    assert_eq!(origin_now.status(), RunStatus::Failed);
    let failed = origin_now
        .task("work", &[FAILING_ITEM as usize])
        .await
        .unwrap();
    assert_eq!(failed.record().status, TaskStatus::Failed);
    assert_eq!(client.latest().await.unwrap().id(), resumed.id());
}

#[tokio::test]
async fn resume_from_a_step_reruns_it_and_everything_after_it() {
    let _serial = SERIAL.lock().await;
    reset();
    let dir = tempfile::tempdir().unwrap();
    let origin = Runner::<ResumeFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(origin.succeeded());
    assert_eq!(work_counts(), vec![1; ITEMS]);

    // --step work: start is cloned; every work item, the join and end run again.
    let from_work = Runner::<ResumeFlow>::new()
        .datastore(dir.path())
        .resume(Some(origin.id().clone()), Some("work".into()))
        .await
        .unwrap();
    assert!(from_work.succeeded(), "{:?}", from_work.error());
    assert_eq!(STARTS.load(Ordering::SeqCst), 1);
    assert_eq!(work_counts(), vec![2; ITEMS]);
    assert_eq!(
        (JOINS.load(Ordering::SeqCst), ENDS.load(Ordering::SeqCst)),
        (2, 2)
    );
    assert!(from_work.task("start", &[]).await.unwrap().was_cloned());
    for item in 0..ITEMS {
        assert!(!from_work.task("work", &[item]).await.unwrap().was_cloned());
    }
    assert_eq!(
        from_work.end_state().await.unwrap().squares,
        expected_squares()
    );

    // --step join of the resumed run: start and work are cloned, and a clone of a clone
    // names the run that really ran the task.
    let from_join = Runner::<ResumeFlow>::new()
        .datastore(dir.path())
        .resume(Some(from_work.id().clone()), Some("join".into()))
        .await
        .unwrap();
    assert!(from_join.succeeded(), "{:?}", from_join.error());
    assert_eq!(STARTS.load(Ordering::SeqCst), 1);
    assert_eq!(work_counts(), vec![2; ITEMS]);
    assert_eq!(
        (JOINS.load(Ordering::SeqCst), ENDS.load(Ordering::SeqCst)),
        (3, 3)
    );
    let start = from_join.task("start", &[]).await.unwrap();
    assert_eq!(start.record().cloned_from.as_ref(), Some(origin.id()));
    let work = from_join.task("work", &[4]).await.unwrap();
    assert_eq!(work.record().cloned_from.as_ref(), Some(from_work.id()));
    assert!(!from_join.task("join", &[]).await.unwrap().was_cloned());
    assert_eq!(from_join.end_state().await.unwrap().sum, 55);
}

#[tokio::test]
async fn resume_refuses_an_unknown_step_and_a_run_with_nothing_to_resume() {
    let _serial = SERIAL.lock().await;
    reset();
    let dir = tempfile::tempdir().unwrap();
    let origin = Runner::<ResumeFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    let before = common::snapshot(dir.path());

    let unknown = Runner::<ResumeFlow>::new()
        .datastore(dir.path())
        .resume(Some(origin.id().clone()), Some("wrok".into()))
        .await
        .err()
        .unwrap();
    assert!(matches!(unknown, RunnerError::UnknownStep { .. }));
    let message = unknown.to_string();
    assert!(
        message.contains("no step `wrok`") && message.contains("did you mean `work`?"),
        "{message}"
    );

    let nothing = Runner::<ResumeFlow>::new()
        .datastore(dir.path())
        .resume(Some(origin.id().clone()), None)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(nothing, RunnerError::NothingToResume(_)),
        "{nothing}"
    );
    assert!(nothing.to_string().contains("--step"));

    common::assert_unchanged(
        &before,
        &common::snapshot(dir.path()),
        &[],
        "refused resumes",
    );
    assert_eq!(STARTS.load(Ordering::SeqCst), 1);
}

/// Two flows' worth of runs started at once on one datastore.
#[tokio::test]
async fn concurrent_runs_on_one_datastore_get_distinct_ids() {
    let _serial = SERIAL.lock().await;
    reset();
    let dir = tempfile::tempdir().unwrap();
    let runs = futures::future::join_all((0..8).map(|_| {
        Runner::<ResumeFlow>::new()
            .datastore(dir.path())
            .max_workers(2)
            .run()
    }))
    .await;
    let mut ids = Vec::new();
    for run in runs {
        let run = run.unwrap();
        assert!(run.succeeded(), "{:?}", run.error());
        assert_eq!(run.end_state().await.unwrap().squares, expected_squares());
        ids.push(run.id().clone());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "{ids:?}");
    let client = Client::<ResumeFlow>::new(Arc::new(FsStore::new(dir.path())));
    let stored = client.runs().await.unwrap();
    assert_eq!(stored.len(), 8);
    for run in stored {
        assert_eq!(run.status(), RunStatus::Succeeded);
        assert_eq!(run.end_state().await.unwrap().sum, 55);
    }
}
