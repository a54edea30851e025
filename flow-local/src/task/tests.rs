use super::*;
use crate::fs_store::FsStore;
use flow_core::prelude::*;
use flow_core::IndexPath;

/// One step per way a task can end.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Outcomes {
    pub items: Vec<u32>,
    pub touched: bool,
}

#[flow]
impl Outcomes {
    #[step(next = flaky)]
    fn start(&mut self) {
        self.items = vec![1, 2, 3];
    }

    #[step(next = risky, retry(times = 2))]
    fn flaky(&mut self, ctx: &Ctx) -> Result<(), String> {
        if ctx.attempt < 2 {
            return Err(format!("attempt {} fails", ctx.attempt));
        }
        Ok(())
    }

    #[step(next = decide, catch)]
    fn risky(&mut self) -> Result<(), String> {
        self.touched = true;
        Err("risky failed".into())
    }

    #[step(switch = [fan, end], catch)]
    fn decide(&mut self) -> Result<DecideNext, String> {
        match self.items.len() {
            0 => Err("no items to choose by".into()),
            1 => Ok(DecideNext::End),
            _ => Ok(DecideNext::Fan),
        }
    }

    /// Fails once `risky` touched the state; the failure is caught.
    #[step(foreach = items, next = body, catch)]
    fn fan(&mut self) -> Result<(), String> {
        if self.touched {
            return Err("no items today".into());
        }
        Ok(())
    }

    #[step(next = join)]
    fn body(&mut self, _item: &u32) {}

    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}

    #[step]
    fn end(&mut self) {}
}

fn executor(dir: &std::path::Path, max_num_splits: usize) -> TaskExecutor<Outcomes> {
    let store = Arc::new(FsStore::new(dir));
    TaskExecutor {
        // As the `step` command commits: the item list the state machine reads included.
        store: RunStore::new(store, &Outcomes::graph().name).one_file_per_task(),
        run_id: RunId::generate(),
        params: Arc::default(),
        max_num_splits,
        started_by: Default::default(),
    }
}

fn spec(name: &str) -> &'static StepSpec {
    let graph = Outcomes::graph();
    &graph.steps[graph.index_of(name).expect("a step of the flow")]
}

fn task(name: &str) -> TaskId {
    TaskId::new(name, IndexPath::root())
}

async fn record(executor: &TaskExecutor<Outcomes>, name: &str) -> Option<TaskRecord> {
    executor
        .store
        .task(&executor.run_id, &task(name))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_batch_attempt_before_the_last_commits_nothing_and_will_retry() {
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(dir.path(), 10);
    for attempt in [0, 1] {
        let outcome = executor
            .run_attempt(
                spec("flaky"),
                task("flaky"),
                Outcomes::default(),
                None,
                vec![],
                attempt,
            )
            .await
            .unwrap();
        match outcome {
            AttemptOutcome::WillRetry(error) => {
                assert_eq!(error.message, format!("attempt {attempt} fails"))
            }
            AttemptOutcome::Ended(_) => panic!("attempt {attempt} ended the task"),
        }
        assert!(record(&executor, "flaky").await.is_none());
    }
    // Batch may count past the step's retries: such an attempt runs as the last one.
    let outcome = executor
        .run_attempt(
            spec("flaky"),
            task("flaky"),
            Outcomes::default(),
            None,
            vec![],
            7,
        )
        .await
        .unwrap();
    let AttemptOutcome::Ended(TaskOutcome::Succeeded(output)) = outcome else {
        panic!("the last attempt did not succeed");
    };
    assert_eq!(output.record.status, TaskStatus::Succeeded);
    let attempts: Vec<u32> = output.record.attempts.iter().map(|a| a.attempt).collect();
    assert_eq!(attempts, [2]);
    assert!(record(&executor, "flaky").await.unwrap().is_done());
}

#[tokio::test]
async fn a_local_task_retries_until_an_attempt_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(dir.path(), 10);
    let outcome = executor
        .run_task(
            spec("flaky"),
            task("flaky"),
            Outcomes::default(),
            None,
            vec![],
        )
        .await
        .unwrap();
    let TaskOutcome::Succeeded(output) = outcome else {
        panic!("flaky did not succeed");
    };
    let attempts: Vec<u32> = output.record.attempts.iter().map(|a| a.attempt).collect();
    assert_eq!(attempts, [0, 1, 2]);
}

#[tokio::test]
async fn a_caught_failure_keeps_the_state_the_attempt_left() {
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(dir.path(), 10);
    let outcome = executor
        .run_task(
            spec("risky"),
            task("risky"),
            Outcomes::default(),
            None,
            vec![],
        )
        .await
        .unwrap();
    let TaskOutcome::Caught(output) = outcome else {
        panic!("risky's failure was not caught");
    };
    assert!(output.state.touched);
    assert_eq!(output.record.status, TaskStatus::Caught);
    assert_eq!(output.record.error.unwrap().message, "risky failed");
}

#[tokio::test]
async fn a_failed_switch_is_not_caught() {
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(dir.path(), 10);
    let outcome = executor
        .run_attempt(
            spec("decide"),
            task("decide"),
            Outcomes::default(),
            None,
            vec![],
            0,
        )
        .await
        .unwrap();
    let AttemptOutcome::Ended(TaskOutcome::Failed(error)) = outcome else {
        panic!("the failed switch did not fail its task");
    };
    assert_eq!(error.message, "no items to choose by");
    let stored = record(&executor, "decide").await.unwrap();
    assert_eq!(stored.status, TaskStatus::Failed);
}

#[tokio::test]
async fn a_foreach_over_too_many_items_is_an_error_with_a_failed_record() {
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(dir.path(), 2);
    let state = Outcomes {
        items: vec![1, 2, 3],
        touched: false,
    };
    let result = executor
        .run_task(spec("fan"), task("fan"), state, None, vec![])
        .await;
    match result {
        Err(TaskError::TooManySplits { step, count, limit }) => {
            assert_eq!((step.as_str(), count, limit), ("fan", 3, 2))
        }
        _ => panic!("a foreach over 3 items passed a limit of 2"),
    }
    let stored = record(&executor, "fan").await.unwrap();
    assert_eq!(stored.status, TaskStatus::Failed);
    assert_eq!(stored.foreach_count, None);
}

/// The item list a foreach task left for the state machine, if any.
async fn item_list(executor: &TaskExecutor<Outcomes>, run: &RunId) -> Option<Vec<String>> {
    let key = executor.store.layout().foreach_items(run, &task("fan"));
    let bytes = executor.store.object_store().get(&key).await.unwrap()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_caught_foreach_fans_out_over_no_items() {
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(dir.path(), 10);
    let state = Outcomes {
        items: vec![1, 2, 3],
        touched: true,
    };
    let outcome = executor
        .run_task(spec("fan"), task("fan"), state, None, vec![])
        .await
        .unwrap();
    let TaskOutcome::Caught(output) = outcome else {
        panic!("the foreach's failure was not caught");
    };
    // The state keeps its items, but the join gets none of them.
    assert_eq!(output.state.items, [1, 2, 3]);
    assert_eq!(output.record.foreach_count, Some(0));
    assert_eq!(
        item_list(&executor, &executor.run_id).await,
        Some(Vec::new())
    );
}

#[tokio::test]
async fn cloning_a_caught_foreach_writes_its_empty_item_list() {
    let dir = tempfile::tempdir().unwrap();
    let origin = executor(dir.path(), 10);
    // A caught foreach committed before caught foreaches counted zero items.
    let record = TaskRecord {
        task: task("fan"),
        status: TaskStatus::Caught,
        attempts: Vec::new(),
        artifacts: origin
            .store
            .save_state(&origin.run_id, &task("fan"), &Outcomes::default())
            .await
            .unwrap(),
        foreach_count: None,
        switch_next: None,
        error: Some(StepError::new(StepErrorKind::Error, "no items today")),
        cloned_from: None,
    };
    origin
        .store
        .commit_task(&origin.run_id, &record)
        .await
        .unwrap();
    assert_eq!(item_list(&origin, &origin.run_id).await, None);
    let resumed = TaskExecutor::<Outcomes> {
        run_id: RunId::generate(),
        ..executor(dir.path(), 10)
    };
    let (cloned, whole) = resumed
        .clone_task_from(&origin.run_id, &task("fan"), None)
        .await
        .unwrap()
        .expect("a caught task is cloned");
    assert!(whole);
    assert_eq!(cloned.record.foreach_count, Some(0));
    assert_eq!(item_list(&resumed, &resumed.run_id).await, Some(Vec::new()));
}

#[tokio::test]
async fn a_batch_attempt_does_not_sleep_the_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(dir.path(), 10);
    let mut slow = spec("flaky").clone();
    slow.options.retry = Some(flow_core::graph::Retry {
        times: 2,
        backoff_ms: 60_000,
    });
    let started = Instant::now();
    let outcome = executor
        .run_attempt(&slow, task("flaky"), Outcomes::default(), None, vec![], 1)
        .await
        .unwrap();
    assert!(matches!(outcome, AttemptOutcome::WillRetry(_)));
    // Step Functions waited before submitting the job; the job does not wait again.
    assert!(started.elapsed() < Duration::from_secs(30));
}
