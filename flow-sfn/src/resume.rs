//! A resumed run, prepared in the datastore before its execution starts.
//!
//! `step-functions resume` reads the origin run from the datastore (its `run.json`: params
//! and status; Step Functions deletes an execution's history 90 days after it closed), then
//! decides which of its tasks the new run keeps: every task that finished, except those of
//! the steps run again with `--step` (that step and every step after it) — the rules of a
//! local resume. It clones them into the new run before the execution starts: a clone is a
//! task record (with a foreach's item list or a switch's decision) that points at the
//! origin's blobs. The state machine skips every task the new run already has a record of,
//! so only the tasks that must run again cost a Batch job.

use flow_core::datastore::{
    DatastoreError, RunIdTaken, RunRecord, RunStatus, RunStore, TaskStatus,
};
use flow_core::graph::Transition;
use flow_core::{Flow, IndexPath, RunId, TaskId};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Task clones written at once (a clone is a GET and one to three PUTs): enough to keep a
/// 10,000-item foreach's clones from taking minutes, far below S3's request rates per
/// prefix (3,500 PUT and 5,500 GET per second).
pub const CLONE_CONCURRENCY: usize = 64;

/// Why a run cannot be resumed.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The datastore failed or has no such run.
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
    /// `--step` names no step of the flow.
    #[error("flow `{flow}` has no step `{step}`: {hint}")]
    UnknownStep {
        /// The flow.
        flow: String,
        /// The step asked for.
        step: String,
        /// The closest step name, or the list of steps.
        hint: String,
    },
    /// The origin succeeded and no step is to run again.
    #[error(
        "run `{0}` succeeded: nothing to resume; pass --step STEP to run a step and every step \
         after it again"
    )]
    NothingToResume(RunId),
    /// The new run's id already has a run record.
    #[error("run id `{0}` is taken in the datastore: pick another --run-id")]
    RunIdTaken(RunId),
    /// A clone's worker stopped before it finished.
    #[error("cloning tasks of run `{run}` stopped")]
    Interrupted {
        /// The origin run.
        run: RunId,
        /// Why the worker stopped.
        source: tokio::task::JoinError,
    },
}

/// What a resume keeps and what it runs again.
#[derive(Debug, Clone)]
pub struct ResumePlan {
    /// The origin's record.
    pub origin: RunRecord,
    /// Steps (indices into the graph) run again even where they finished in the origin.
    pub rerun: BTreeSet<usize>,
    /// The step given with `--step`, if any.
    pub resume_step: Option<String>,
}

impl ResumePlan {
    /// The plan of resuming `origin` of flow `F`, from `step` (and every step after it) if
    /// given.
    pub fn new<F: Flow>(origin: RunRecord, step: Option<&str>) -> Result<Self, ResumeError> {
        let graph = F::graph();
        let Some(step) = step else {
            if origin.status == RunStatus::Succeeded {
                return Err(ResumeError::NothingToResume(origin.run_id));
            }
            return Ok(ResumePlan {
                origin,
                rerun: BTreeSet::new(),
                resume_step: None,
            });
        };
        let first = graph.index_of(step).ok_or_else(|| {
            let names: Vec<&str> = graph.steps.iter().map(|s| s.name.as_str()).collect();
            ResumeError::UnknownStep {
                flow: graph.name.clone(),
                step: step.to_string(),
                hint: match flow_graph::closest(step, names.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("its steps are {}", names.join(", ")),
                },
            }
        })?;
        let mut rerun = BTreeSet::new();
        let mut pending = vec![first];
        while let Some(s) = pending.pop() {
            if rerun.insert(s) {
                pending.extend(
                    graph.steps[s]
                        .successors()
                        .into_iter()
                        .filter_map(|t| graph.index_of(t)),
                );
            }
        }
        Ok(ResumePlan {
            origin,
            rerun,
            resume_step: Some(step.to_string()),
        })
    }
}

/// A resumed run ready for its execution.
#[derive(Debug, Clone)]
pub struct PreparedResume {
    /// The new run's record, as stored.
    pub record: RunRecord,
    /// How many tasks were cloned into it.
    pub cloned: usize,
}

/// Writes the new run `run_id`'s record and clones into it every task the plan keeps.
pub async fn prepare<F: Flow>(
    store: &RunStore,
    plan: &ResumePlan,
    run_id: RunId,
) -> Result<PreparedResume, ResumeError> {
    let graph = F::graph();
    let analysis = F::analysis();
    // The state machine reads a clone's item list and switch decision, and each job
    // commits its own task: one file per task, whatever the store.
    let store = &store.clone().one_file_per_task();
    let origin = plan.origin.run_id.clone();
    let mut record =
        store.new_run_record(run_id.clone(), plan.origin.params.clone(), "step-functions");
    record.origin_run_id = Some(origin.clone());
    record.resume_step = plan.resume_step.clone();
    record.graph = Some(serde_json::to_value(graph).expect("graphs serialize to JSON"));
    // The `start` job, when it runs, keeps the record it finds.
    let stored = store
        .claim_run(record.clone(), RunIdTaken::KeepExisting)
        .await?;
    if stored != record {
        return Err(ResumeError::RunIdTaken(run_id));
    }

    let permits = Arc::new(Semaphore::new(CLONE_CONCURRENCY));
    let mut clones = JoinSet::new();
    for &step in &analysis.topological_order {
        if plan.rerun.contains(&step) {
            continue;
        }
        let name = &graph.steps[step].name;
        let depth = analysis.foreach_depth(step);
        let is_foreach = matches!(graph.steps[step].transition, Transition::Foreach { .. });
        let prefix = store.layout().step_prefix(&origin, name);
        let mut keys: BTreeSet<String> = store
            .object_store()
            .list(&prefix)
            .await
            .map_err(DatastoreError::from)?
            .into_iter()
            .collect();
        // An origin run by the local scheduler keeps its records in the step's segment.
        keys.extend(
            store
                .segment_tasks(&origin, name)
                .await?
                .iter()
                .map(|r| r.task.index.key()),
        );
        for key in keys {
            // Anything that is not a task's folder is not a task.
            let Ok(index) = IndexPath::parse(&key, depth) else {
                continue;
            };
            let task = TaskId::new(name.clone(), index);
            let (store, origin, run_id) = (store.clone(), origin.clone(), run_id.clone());
            let permit = permits.clone().acquire_owned().await.expect("never closed");
            clones.spawn(async move {
                let _permit = permit;
                clone_if_done(&store, &origin, &run_id, &task, is_foreach).await
            });
        }
    }
    let mut cloned = 0;
    while let Some(done) = clones.join_next().await {
        let done = done.map_err(|source| ResumeError::Interrupted {
            run: origin.clone(),
            source,
        })?;
        cloned += usize::from(done?);
    }
    store
        .object_store()
        .flush()
        .await
        .map_err(DatastoreError::from)?;
    Ok(PreparedResume {
        record: stored,
        cloned,
    })
}

/// Clones `task` of `origin` into `run` if it finished there; returns whether it did.
async fn clone_if_done(
    store: &RunStore,
    origin: &RunId,
    run: &RunId,
    task: &TaskId,
    is_foreach: bool,
) -> Result<bool, DatastoreError> {
    let mut record = match store.task(origin, task).await {
        Ok(Some(record)) if record.is_done() => record,
        // Not finished, or a record torn by a power loss: the task runs again.
        Ok(_) | Err(DatastoreError::BadRecord { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    // A caught foreach fans out over zero items; one committed before caught foreaches
    // wrote their empty item list has no count, and its clone must write the list, which
    // the state machine's Distributed Map reads.
    if is_foreach && record.status == TaskStatus::Caught {
        record.foreach_count.get_or_insert(0);
    }
    store.clone_task(origin, run, &record).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_core::prelude::*;
    use flow_local::{FsStore, Runner};

    /// Whether item 2 of [`Wide`] fails.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Params)]
    pub struct WideParams {
        /// Make item 2 fail.
        pub fail: bool,
    }

    /// A foreach whose item 2 fails when asked to, then a join and a tail.
    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    pub struct Wide {
        pub items: Vec<u32>,
        pub item: u32,
        pub total: u32,
    }

    #[flow(params = WideParams)]
    impl Wide {
        #[step(foreach = items, next = square)]
        fn start(&mut self) {
            self.items = (0..5).collect();
        }

        #[step(next = gather)]
        fn square(&mut self, item: &u32, ctx: &Ctx<WideParams>) -> Result<(), String> {
            if *item == 2 && ctx.params.fail {
                return Err("item 2 fails".into());
            }
            self.item = item * item;
            Ok(())
        }

        #[step(next = end)]
        fn gather(&mut self, inputs: Inputs<Self>) {
            self.total = inputs.iter().map(|i| i.item).sum();
        }

        #[step]
        fn end(&mut self) {}
    }

    async fn failed_origin(dir: &std::path::Path) -> (RunStore, RunRecord) {
        let run = Runner::<Wide>::new()
            .datastore(dir)
            .params(WideParams { fail: true })
            .run()
            .await
            .unwrap();
        assert!(!run.succeeded());
        let store = RunStore::new(Arc::new(FsStore::new(dir)), "Wide");
        let record = store.run(run.id()).await.unwrap();
        (store, record)
    }

    #[tokio::test]
    async fn every_finished_task_is_cloned_before_the_run_starts() {
        let dir = tempfile::tempdir().unwrap();
        let (store, origin) = failed_origin(dir.path()).await;
        let plan = ResumePlan::new::<Wide>(origin.clone(), None).unwrap();
        let new = RunId::new("resumed").unwrap();
        let prepared = prepare::<Wide>(&store, &plan, new.clone()).await.unwrap();
        // `start` and the items that succeeded (the run stopped starting items once item 2
        // failed); not the failed item, nor what never ran.
        let succeeded: Vec<String> = store
            .tasks(&origin.run_id, "square")
            .await
            .unwrap()
            .iter()
            .filter(|t| t.is_done())
            .map(|t| t.task.index.key())
            .collect();
        assert!(!succeeded.contains(&"2".to_string()));
        assert_eq!(prepared.cloned, 1 + succeeded.len());
        assert_eq!(prepared.record.origin_run_id, Some(origin.run_id.clone()));
        assert_eq!(prepared.record.params, origin.params);
        let items: Vec<_> = store.tasks(&new, "square").await.unwrap();
        let indices: Vec<String> = items.iter().map(|t| t.task.index.key()).collect();
        assert_eq!(indices, succeeded);
        assert!(items
            .iter()
            .all(|t| t.cloned_from.as_ref() == Some(&origin.run_id)));
        // The Distributed Map reads the cloned foreach's item list from the new run.
        let start = TaskId::new("start", IndexPath::root());
        let listed = store
            .object_store()
            .get(&store.layout().foreach_items(&new, &start))
            .await
            .unwrap();
        assert!(listed.is_some());
        assert!(store.tasks(&new, "gather").await.unwrap().is_empty());
        // Resuming again under the same id is refused, not merged.
        let again = prepare::<Wide>(&store, &plan, new).await.unwrap_err();
        assert!(matches!(again, ResumeError::RunIdTaken(_)), "{again}");
    }

    #[tokio::test]
    async fn a_step_and_every_step_after_it_run_again() {
        let dir = tempfile::tempdir().unwrap();
        let (store, origin) = failed_origin(dir.path()).await;
        let plan = ResumePlan::new::<Wide>(origin.clone(), Some("square")).unwrap();
        let names: Vec<&str> = plan
            .rerun
            .iter()
            .map(|&s| Wide::graph().steps[s].name.as_str())
            .collect();
        assert_eq!(names, ["square", "gather", "end"]);
        let new = RunId::new("from-square").unwrap();
        let prepared = prepare::<Wide>(&store, &plan, new.clone()).await.unwrap();
        assert_eq!(prepared.cloned, 1, "only `start`");
        assert_eq!(prepared.record.resume_step.as_deref(), Some("square"));
        assert!(store.tasks(&new, "square").await.unwrap().is_empty());

        let unknown = ResumePlan::new::<Wide>(origin, Some("sqare")).unwrap_err();
        assert!(
            unknown.to_string().contains("did you mean `square`"),
            "{unknown}"
        );
    }

    /// A foreach whose failure is caught: it fans out over no items.
    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    pub struct Caught {
        pub items: Vec<u32>,
        pub joined: usize,
    }

    #[flow]
    impl Caught {
        #[step(foreach = items, next = body, catch)]
        fn start(&mut self) -> Result<(), String> {
            self.items = vec![1, 2];
            Err("no items today".into())
        }

        #[step(next = join)]
        fn body(&mut self, _item: &u32) {}

        #[step(next = end)]
        fn join(&mut self, inputs: Inputs<Self>) {
            self.joined = inputs.len();
        }

        #[step]
        fn end(&mut self) {}
    }

    #[tokio::test]
    async fn a_cloned_caught_foreach_always_has_its_empty_item_list() {
        let dir = tempfile::tempdir().unwrap();
        let run = Runner::<Caught>::new()
            .datastore(dir.path())
            .run()
            .await
            .unwrap();
        let store = RunStore::new(Arc::new(FsStore::new(dir.path())), "Caught");
        let origin = run.id().clone();
        // As a run from before caught foreaches wrote their item list left it.
        let start = TaskId::new("start", IndexPath::root());
        let mut record = store.task(&origin, &start).await.unwrap().unwrap();
        assert_eq!(record.status, TaskStatus::Caught);
        record.foreach_count = None;
        let key = store.layout().task_record(&origin, &start);
        store
            .object_store()
            .put(&key, serde_json::to_vec(&record).unwrap())
            .await
            .unwrap();
        // Only that record: the local run's segment of `start` goes.
        let segment = dir
            .path()
            .join(store.layout().step_segment(&origin, "start"));
        std::fs::remove_file(segment).unwrap();
        let plan =
            ResumePlan::new::<Caught>(store.run(&origin).await.unwrap(), Some("end")).unwrap();
        let new = RunId::new("resumed").unwrap();
        prepare::<Caught>(&store, &plan, new.clone()).await.unwrap();
        let items = store
            .object_store()
            .get(&store.layout().foreach_items(&new, &start))
            .await
            .unwrap()
            .expect("the clone wrote the item list");
        assert_eq!(items, b"[]");
    }

    #[tokio::test]
    async fn a_succeeded_run_is_resumed_only_from_a_step() {
        let dir = tempfile::tempdir().unwrap();
        let run = Runner::<Wide>::new()
            .datastore(dir.path())
            .run()
            .await
            .unwrap();
        assert!(run.succeeded());
        let store = RunStore::new(Arc::new(FsStore::new(dir.path())), "Wide");
        let origin = store.run(run.id()).await.unwrap();
        assert!(matches!(
            ResumePlan::new::<Wide>(origin.clone(), None),
            Err(ResumeError::NothingToResume(_))
        ));
        let plan = ResumePlan::new::<Wide>(origin, Some("end")).unwrap();
        let prepared = prepare::<Wide>(&store, &plan, RunId::new("again").unwrap())
            .await
            .unwrap();
        assert_eq!(prepared.cloned, 7, "start, five items and gather");
        let tasks = store
            .tasks(&prepared.record.run_id, "gather")
            .await
            .unwrap();
        assert_eq!(tasks[0].status, TaskStatus::Succeeded);
    }
}
