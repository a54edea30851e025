//! The in-process scheduler: walks the graph from `start`, running each task on tokio
//! (sync steps on the blocking pool, async steps as tasks), static-split branches and
//! foreach items in parallel up to `max_workers` tasks at once. States pass between tasks
//! in memory; every task is persisted before its successors start.

use crate::progress::Progress;
use crate::task::{finished, Attempts, RunContext, TaskError, TaskOutput};
use flow_core::graph::{Analysis, FlowGraph, FrameKind, Transition};
use flow_core::{Flow, IndexPath, Input, Inputs, RunId, TaskId};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use tokio::sync::Semaphore;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A task failed.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// Another task failed first; this branch stopped before starting more work.
    #[error("stopped because another task failed")]
    Stopped,
}

/// What a resume re-runs, and where it clones the rest from.
#[derive(Debug, Clone)]
pub struct ResumePlan {
    /// The run whose finished tasks are cloned.
    pub origin: RunId,
    /// Steps to re-run even if they finished in the origin: the resume step and every step
    /// reachable from it.
    pub rerun: HashSet<usize>,
}

impl ResumePlan {
    /// Re-runs `step` and everything after it.
    pub fn from_step(graph: &FlowGraph, origin: RunId, step: usize) -> Self {
        let mut rerun = HashSet::new();
        let mut stack = vec![step];
        while let Some(s) = stack.pop() {
            if rerun.insert(s) {
                for t in graph.steps[s].successors() {
                    if let Some(i) = graph.index_of(t) {
                        stack.push(i);
                    }
                }
            }
        }
        ResumePlan { origin, rerun }
    }
}

pub(crate) struct Scheduler<F: Flow> {
    pub cx: Arc<RunContext<F>>,
    pub permits: Arc<Semaphore>,
    pub max_workers: usize,
    pub resume: Option<ResumePlan>,
    pub progress: Progress,
    failed: AtomicBool,
    /// Item counts of foreach tasks, by (foreach step, its index path), for `Ctx`.
    counts: Mutex<HashMap<(usize, IndexPath), usize>>,
}

type Chain<F> = Result<(F, TaskId), RunError>;

impl<F: Flow> Scheduler<F> {
    pub fn new(
        cx: RunContext<F>,
        max_workers: usize,
        resume: Option<ResumePlan>,
        progress: Progress,
    ) -> Arc<Self> {
        Arc::new(Scheduler {
            cx: Arc::new(cx),
            permits: Arc::new(Semaphore::new(max_workers.max(1))),
            max_workers: max_workers.max(1),
            resume,
            progress,
            failed: AtomicBool::new(false),
            counts: Mutex::default(),
        })
    }

    fn graph(&self) -> &'static FlowGraph {
        F::graph()
    }

    fn analysis(&self) -> &'static Analysis {
        F::analysis()
    }

    /// Runs the whole flow; returns the state `end` left.
    pub async fn run(self: &Arc<Self>) -> Result<F, RunError> {
        let start = self
            .graph()
            .index_of(flow_core::graph::START)
            .expect("validated");
        let (state, _) = self
            .clone()
            .chain(start, IndexPath::root(), F::default(), None, None)
            .await?;
        Ok(state)
    }

    /// Item counts of the foreaches enclosing a step, outermost first, for its context.
    fn foreach_counts(&self, step: usize, index: &IndexPath) -> Vec<usize> {
        let counts = self.counts.lock().expect("counts");
        self.analysis().frames[step]
            .iter()
            .filter(|f| f.kind == FrameKind::Foreach)
            .enumerate()
            .map(|(depth, f)| {
                let parent = IndexPath(index.0[..depth.min(index.0.len())].to_vec());
                counts.get(&(f.step, parent)).copied().unwrap_or(0)
            })
            .collect()
    }

    /// Runs one task (or clones it from the origin run), holding a worker permit.
    async fn task(
        &self,
        step: usize,
        index: &IndexPath,
        state: F,
        inputs: Option<Inputs<F>>,
    ) -> Result<TaskOutput<F>, RunError> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(RunError::Stopped);
        }
        let spec = &self.graph().steps[step];
        let task = TaskId::new(spec.name.clone(), index.clone());
        let _permit = self.permits.acquire().await.expect("semaphore open");
        // Checked again: a task may have failed while this one waited for a worker.
        if self.failed.load(Ordering::Relaxed) {
            return Err(RunError::Stopped);
        }
        self.progress.started(&task);
        if let Some(plan) = &self.resume {
            if !plan.rerun.contains(&step) {
                match self.cx.clone_task_from(&plan.origin, &task).await {
                    Ok(Some(output)) => {
                        self.progress.finished(&task, true, true);
                        return Ok(output);
                    }
                    Ok(None) => {}
                    Err(e) => return Err(self.fail(&task, e)),
                }
            }
        }
        let result = self
            .cx
            .run_task(
                spec,
                task.clone(),
                state,
                inputs,
                self.foreach_counts(step, index),
                Attempts::All,
            )
            .await;
        match finished(result) {
            Ok(output) => {
                self.progress
                    .finished(&task, output.record.is_done(), false);
                Ok(output)
            }
            Err(e) => Err(self.fail(&task, e)),
        }
    }

    /// Makes every task committed so far durable (see `FsStore`'s group commit).
    async fn flush(&self, after: &TaskId) -> Result<(), RunError> {
        match self.cx.store.object_store().flush().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(after, TaskError::Datastore(e.into()))),
        }
    }

    fn fail(&self, task: &TaskId, error: TaskError) -> RunError {
        self.failed.store(true, Ordering::Relaxed);
        self.progress.failed(task, &error.to_string());
        RunError::Task(error)
    }

    /// Runs steps from `step` until `stop_at` (a join closing the split the chain is inside,
    /// not run here) or `end`; returns the last state and task.
    fn chain(
        self: Arc<Self>,
        mut step: usize,
        index: IndexPath,
        mut state: F,
        stop_at: Option<usize>,
        mut pending: Option<Inputs<F>>,
    ) -> BoxFuture<'static, Chain<F>> {
        async move {
            let mut last: Option<TaskId> = None;
            loop {
                if Some(step) == stop_at && pending.is_none() {
                    let last = last.expect("a branch runs at least one task");
                    return Ok((state, last));
                }
                // What ran before this task is made durable before it starts (a group
                // commit: one sync serves every task waiting, and none holds a worker).
                // A chain that starts a branch or a foreach item does not sync: the task
                // that fanned out did, once for all of them.
                if let Some(before) = &last {
                    self.flush(before).await?;
                }
                let output = self.task(step, &index, state, pending.take()).await?;
                let spec = &self.graph().steps[step];
                last = Some(output.record.task.clone());
                let next_name = match &spec.transition {
                    Transition::End => return Ok((output.state, output.record.task)),
                    Transition::Next(t) => t.clone(),
                    Transition::Switch(_) => match &output.record.switch_next {
                        Some(next) => next.clone(),
                        None => {
                            let error = flow_core::StepError::new(
                                flow_core::StepErrorKind::Internal,
                                "the switch step finished without choosing a successor",
                            );
                            let task = output.record.task.clone();
                            return Err(self.fail(
                                &task,
                                TaskError::Failed {
                                    task: task.clone(),
                                    error,
                                },
                            ));
                        }
                    },
                    Transition::Split(targets) => {
                        self.flush(&output.record.task).await?;
                        let join = self.analysis().join_of[&step];
                        let branches = targets.iter().map(|t| {
                            let to = self.graph().index_of(t).expect("validated");
                            self.clone().chain(
                                to,
                                index.clone(),
                                output.state.clone(),
                                Some(join),
                                None,
                            )
                        });
                        let results = futures::future::join_all(branches).await;
                        let inputs = collect(results)?;
                        state = output.state;
                        step = join;
                        pending = Some(Inputs::new(inputs));
                        continue;
                    }
                    Transition::Foreach { body, .. } => {
                        self.flush(&output.record.task).await?;
                        let join = self.analysis().join_of[&step];
                        let body = self.graph().index_of(body).expect("validated");
                        let count = output.record.foreach_count.unwrap_or(0);
                        self.progress.fan_out(count);
                        let parent = Arc::new(output.state);
                        self.counts
                            .lock()
                            .expect("counts")
                            .insert((step, index.clone()), count);
                        // Items start in order, a bounded number at a time, so a fan-out of
                        // 100,000 items does not hold 100,000 copies of the parent state. More
                        // items than workers are in flight, so that items waiting for a group
                        // commit between two body steps share it, as many as fit in a budget
                        // of parent copies.
                        let state_bytes: u64 =
                            output.record.artifacts.values().map(|a| a.size).sum();
                        let window = items_in_flight(self.max_workers, state_bytes);
                        let this = self.clone();
                        let items = futures::stream::iter(0..count)
                            .map(|i| {
                                let parent = parent.clone();
                                this.clone().chain(
                                    body,
                                    index.child(i),
                                    (*parent).clone(),
                                    Some(join),
                                    None,
                                )
                            })
                            .buffered(window);
                        let results: Vec<Chain<F>> = items.collect().await;
                        let inputs = collect(results)?;
                        state = Arc::try_unwrap(parent).unwrap_or_else(|p| (*p).clone());
                        step = join;
                        pending = Some(Inputs::new(inputs));
                        continue;
                    }
                };
                state = output.state;
                step = self.graph().index_of(&next_name).expect("validated");
            }
        }
        .boxed()
    }
}

/// How many foreach items may be started at once: at least two per worker, at most 256, and
/// no more than 256 MiB worth of copies of the parent state (its encoded size).
fn items_in_flight(max_workers: usize, state_bytes: u64) -> usize {
    const BUDGET: u64 = 256 << 20;
    let floor = max_workers.saturating_mul(2).max(2);
    let by_memory = usize::try_from(BUDGET / state_bytes.max(1)).unwrap_or(usize::MAX);
    by_memory.clamp(floor, floor.max(256))
}

/// The branch results in order, or the first real failure (not a "stopped" echo of it).
fn collect<F>(results: Vec<Chain<F>>) -> Result<Vec<Input<F>>, RunError> {
    let mut inputs = Vec::with_capacity(results.len());
    let mut stopped = false;
    let mut failure = None;
    for r in results {
        match r {
            Ok((state, task)) => inputs.push(Input { task, state }),
            Err(RunError::Stopped) => stopped = true,
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    match (failure, stopped) {
        (Some(e), _) => Err(e),
        (None, true) => Err(RunError::Stopped),
        (None, false) => Ok(inputs),
    }
}
