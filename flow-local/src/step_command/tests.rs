use super::*;
use crate::fs_store::FsStore;
use flow_core::datastore::TaskStatus;
use flow_core::prelude::*;

/// What the test flow is told to do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Params)]
pub struct Knobs {
    /// Make `work` fail on every attempt.
    pub fail: bool,
}

/// A retried step, then a foreach whose failure is caught.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jobs {
    pub items: Vec<u32>,
    pub done: bool,
}

#[flow(params = Knobs)]
impl Jobs {
    #[step(next = work)]
    fn start(&mut self) {}

    #[step(next = fan, retry(times = 1))]
    fn work(&mut self, ctx: &Ctx<Knobs>) -> Result<(), String> {
        if ctx.params.fail {
            return Err(format!("attempt {} fails", ctx.attempt));
        }
        self.done = true;
        Ok(())
    }

    #[step(foreach = items, next = body, catch)]
    fn fan(&mut self) -> Result<(), String> {
        self.items = vec![1, 2];
        Err("the item source is down".into())
    }

    #[step(next = join)]
    fn body(&mut self, _item: &u32) {}

    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}

    #[step]
    fn end(&mut self) {}
}

async fn job(store: &Arc<FsStore>, run: &str, step: &str, params: Option<&str>) -> ExitCode {
    let request = StepRequest {
        run_id: RunId::new(run).unwrap(),
        step: step.to_string(),
        index: "0".to_string(),
        origin_run_id: None,
        params_json: params.map(str::to_string),
        trigger: None,
        event: None,
        attempt: 0,
        capture_output: false,
    };
    run_step::<Jobs>(store.clone(), request).await.unwrap()
}

fn run_store(store: &Arc<FsStore>) -> RunStore {
    RunStore::new(store.clone(), "Jobs")
}

#[tokio::test]
async fn each_job_runs_the_next_attempt_and_a_failed_task_stays_failed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()));
    let runs = run_store(&store);
    let run = RunId::new("r1").unwrap();
    let work = TaskId::new("work", IndexPath::root());
    let start = job(&store, "r1", "start", Some(r#"{"fail": true}"#)).await;
    assert_eq!(start, ExitCode::SUCCESS);
    // Attempt 0 fails and leaves its log; nothing is committed, Step Functions retries.
    assert_eq!(job(&store, "r1", "work", None).await, ExitCode::FAILURE);
    assert!(runs.task(&run, &work).await.unwrap().is_none());
    let logs = runs.logs(&run, &work).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert!(logs[0].1.contains("attempt 0 fails"), "{logs:?}");
    // The next job runs attempt 1, the last: the task fails.
    assert_eq!(job(&store, "r1", "work", None).await, ExitCode::FAILURE);
    let failed = runs.task(&run, &work).await.unwrap().unwrap();
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.error.as_ref().unwrap().message, "attempt 1 fails");
    let attempts: Vec<u32> = failed.attempts.iter().map(|a| a.attempt).collect();
    assert_eq!(attempts, [1]);
    // A job run once more (a host failure after the commit) does not run the step again.
    assert_eq!(job(&store, "r1", "work", None).await, ExitCode::FAILURE);
    assert_eq!(runs.task(&run, &work).await.unwrap().unwrap(), failed);
    assert_eq!(runs.logs(&run, &work).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_job_run_again_after_its_foreach_was_caught_leaves_the_item_list_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()));
    let runs = run_store(&store);
    let run = RunId::new("r2").unwrap();
    let fan = TaskId::new("fan", IndexPath::root());
    let items = runs.layout().foreach_items(&run, &fan);
    for step in ["start", "work", "fan"] {
        let params = (step == "start").then_some("{}");
        assert_eq!(
            job(&store, "r2", step, params).await,
            ExitCode::SUCCESS,
            "{step}"
        );
    }
    let caught = runs.task(&run, &fan).await.unwrap().unwrap();
    assert_eq!(caught.status, TaskStatus::Caught);
    assert_eq!(store.get(&items).await.unwrap().unwrap(), b"[]");
    // A record committed before caught foreaches wrote their item list: a job run again
    // writes it, without running the step.
    let mut legacy = caught.clone();
    legacy.foreach_count = None;
    runs.commit_task(&run, &legacy).await.unwrap();
    std::fs::remove_file(dir.path().join(&items)).unwrap();
    assert_eq!(job(&store, "r2", "fan", None).await, ExitCode::SUCCESS);
    assert_eq!(store.get(&items).await.unwrap().unwrap(), b"[]");
    let again = runs.task(&run, &fan).await.unwrap().unwrap();
    assert_eq!(again.attempts, caught.attempts);
}

async fn start_job(
    store: &Arc<FsStore>,
    run: &str,
    trigger: Option<&str>,
    event: Option<serde_json::Value>,
) -> flow_core::datastore::RunRecord {
    let request = StepRequest {
        run_id: RunId::new(run).unwrap(),
        step: "start".to_string(),
        index: "0".to_string(),
        origin_run_id: None,
        params_json: Some("{}".to_string()),
        trigger: trigger.map(|t| flow_core::Trigger::parse(t).unwrap()),
        event,
        attempt: 0,
        capture_output: false,
    };
    let code = run_step::<Jobs>(store.clone(), request).await.unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    run_store(store)
        .run(&RunId::new(run).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_start_task_records_what_started_a_run_it_creates() {
    use flow_core::tags::{FLOWRS_VERSION_TAG, HOST_TAG, STARTED_BY_EXECUTION, STARTED_BY_TAG};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()));
    let tag = |record: &flow_core::datastore::RunRecord, key: &str| record.tags.get(key).cloned();

    let triggered = start_job(&store, "r-up", Some("UpstreamFlow/r-1"), None).await;
    assert_eq!(
        tag(&triggered, STARTED_BY_TAG).as_deref(),
        Some("trigger_on_finish:UpstreamFlow/r-1")
    );
    assert_eq!(
        tag(&triggered, FLOWRS_VERSION_TAG).as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(tag(&triggered, HOST_TAG).is_some(), "{:?}", triggered.tags);

    let event = serde_json::json!({"source": "aws.s3", "detail": {}});
    let by_event = start_job(&store, "r-ev", None, Some(event)).await;
    assert_eq!(
        tag(&by_event, STARTED_BY_TAG).as_deref(),
        Some("event:aws.s3")
    );

    let direct = start_job(&store, "r-direct", None, None).await;
    assert_eq!(
        tag(&direct, STARTED_BY_TAG).as_deref(),
        Some(STARTED_BY_EXECUTION)
    );
}

#[tokio::test]
async fn the_start_task_keeps_the_tags_of_a_record_it_finds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()));
    let runs = run_store(&store);
    let run = RunId::new("r-tagged").unwrap();
    // What `step-functions trigger --tag team=recs` writes before the execution starts.
    let params = serde_json::json!({"fail": false});
    let mut record = runs.new_run_record(run.clone(), params, "step-functions");
    record.tags = flow_core::tags::run_tags(&flow_core::tags::user_tags(["team=recs"]).unwrap());
    let written = record.tags.clone();
    runs.claim_run(record, RunIdTaken::KeepExisting)
        .await
        .unwrap();
    let kept = start_job(&store, "r-tagged", None, None).await;
    assert_eq!(kept.tags, written);
    assert!(!kept.tags.contains_key(flow_core::tags::STARTED_BY_TAG));
}
