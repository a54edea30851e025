//! The in-process scheduler: walks the graph from `start`, running each task on tokio
//! (sync steps on the blocking pool, async steps as tasks), static-split branches and
//! foreach items in parallel up to `max_workers` tasks at once. States pass between tasks
//! in memory; every task is persisted before its successors start.

use crate::progress::Progress;
use crate::task::{Launch, TaskError, TaskExecutor, TaskOutcome, TaskOutput};
use flow_core::backend::{BlobCache, Inherited, Input};
use flow_core::datastore::TaskRecord;
use flow_core::graph::{Analysis, FlowGraph, FrameKind, Transition};
use flow_core::{Flow, IndexPath, Inputs, RunId, TaskId};
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
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
pub(crate) struct ResumePlan {
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

/// Runs one run of `F` in this process: every task through one [`TaskExecutor`], at most
/// `max_workers` at once.
pub(crate) struct Scheduler<F: Flow> {
    executor: TaskExecutor<F>,
    permits: Semaphore,
    max_workers: usize,
    resume: Option<ResumePlan>,
    progress: Progress,
    /// Set by the first failure: tasks not yet started do not start.
    failed: AtomicBool,
    /// Bytes of branch states (encoded size) a join's inputs may hold decoded; past it,
    /// arriving branches are held encoded, their blobs shared (see [`Arrivals`]).
    join_memory: u64,
    /// Item counts of foreach tasks, by (foreach step, its index path), for `Ctx`.
    counts: Mutex<HashMap<(usize, IndexPath), usize>>,
    /// Per step: how many of its last tasks in a row were fast (up to [`FAST_STREAK`]).
    fast: Vec<AtomicU32>,
}

/// A task that takes less than this (its step, its commit) is cheaper to run on the
/// scheduler's own thread than to hand to another.
const FAST_TASK: Duration = Duration::from_micros(100);

/// How many fast tasks in a row make a step's next tasks run on the scheduler's thread.
const FAST_STREAK: u32 = 4;

/// A task's stored fields, by name.
type Artifacts = std::collections::BTreeMap<String, flow_core::datastore::ArtifactRef>;

/// A chain's last state, the record of the task that left it, and the fields that state
/// holds at their default because they are inherited (a foreach item's).
type Chain<F> = Result<(F, TaskRecord, Option<Arc<Inherited<F>>>), RunError>;

impl<F: Flow> Scheduler<F> {
    /// A scheduler for the run `executor` runs tasks of, resuming `resume` if given.
    pub fn new(
        executor: TaskExecutor<F>,
        max_workers: usize,
        resume: Option<ResumePlan>,
        progress: Progress,
        join_memory: u64,
    ) -> Arc<Self> {
        Arc::new(Scheduler {
            executor,
            permits: Semaphore::new(max_workers.max(1)),
            max_workers: max_workers.max(1),
            resume,
            progress,
            failed: AtomicBool::new(false),
            join_memory,
            counts: Mutex::default(),
            fast: F::graph().steps.iter().map(|_| AtomicU32::new(0)).collect(),
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
        let (state, _, _) = self
            .clone()
            .chain(
                start,
                IndexPath::root(),
                F::default(),
                None,
                None,
                None,
                None,
            )
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

    /// Runs one task (or clones it from the origin run), holding a worker permit. Returns
    /// its output, and whether its state is whole: a task cloned from the origin run may
    /// come back with every field, though `inherits` says the state it started from
    /// lacked some.
    async fn task(
        &self,
        step: usize,
        index: &IndexPath,
        (state, fanned_from): (F, Option<Arc<F>>),
        (parent, inherits): (Option<&Artifacts>, Option<&Inherited<F>>),
        inputs: Option<Inputs<F>>,
    ) -> Result<(TaskOutput<F>, bool), RunError> {
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
                let inherited = inherits.zip(parent);
                match self
                    .executor
                    .clone_task_from(&plan.origin, &task, inherited)
                    .await
                {
                    Ok(Some(cloned)) => {
                        self.progress.finished(&task, true, true);
                        return Ok(cloned);
                    }
                    Ok(None) => {}
                    Err(e) => return Err(self.fail(&task, e)),
                }
            }
        }
        let counts = self.foreach_counts(step, index);
        let launch = Launch {
            state,
            fanned_from,
            inline: self.runs_inline(step),
        };
        let started = Instant::now();
        let outcome = self
            .executor
            .run_item_task(spec, task.clone(), launch, parent, inputs, counts)
            .await;
        self.timed(step, started.elapsed());
        match outcome {
            Ok(TaskOutcome::Succeeded(output) | TaskOutcome::Caught(output)) => {
                self.progress
                    .finished(&task, output.record.is_done(), false);
                Ok((output, inherits.is_none()))
            }
            Ok(TaskOutcome::Failed(error)) => {
                let error = TaskError::Failed {
                    task: task.clone(),
                    error,
                };
                Err(self.fail(&task, error))
            }
            Err(e) => Err(self.fail(&task, e)),
        }
    }

    /// Whether the next task of `step` runs its sync step on this thread (in
    /// `block_in_place`, on a multi-threaded runtime; see `task.rs`): when the step's last
    /// tasks each took less than [`FAST_TASK`], so that handing it to the blocking pool
    /// (two thread wake-ups) would cost more than the step itself. Never in a flow with a
    /// run timeout (a step on this thread would delay it), and never for a step with a
    /// timeout.
    fn runs_inline(&self, step: usize) -> bool {
        self.graph().timeout_secs.is_none()
            && self.fast[step].load(Ordering::Relaxed) >= FAST_STREAK
    }

    /// Records how long a task of `step` took, for [`Scheduler::runs_inline`].
    fn timed(&self, step: usize, took: Duration) {
        let fast = &self.fast[step];
        if took < FAST_TASK {
            let _ = fast.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < FAST_STREAK).then_some(n + 1)
            });
        } else {
            fast.store(0, Ordering::Relaxed);
        }
    }

    /// Makes every task committed so far durable (see `FsStore`'s group commit).
    async fn flush(&self, after: &TaskId) -> Result<(), RunError> {
        match self.executor.store.object_store().flush().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(after, TaskError::Datastore(e.into()))),
        }
    }

    fn fail(&self, task: &TaskId, error: TaskError) -> RunError {
        self.failed.store(true, Ordering::Relaxed);
        self.progress
            .failed(task, &flow_core::datastore::error_chain(&error));
        RunError::Task(error)
    }

    /// Runs steps from `step` until `stop_at` (a join closing the split the chain is inside,
    /// not run here) or `end`; returns the last state and task. A foreach item's chain
    /// starts from a state without the fields it `inherits`, filled in before a step that
    /// may reach them.
    #[allow(clippy::too_many_arguments)]
    fn chain(
        self: Arc<Self>,
        mut step: usize,
        index: IndexPath,
        mut state: F,
        stop_at: Option<usize>,
        mut pending: Option<Inputs<F>>,
        from: Option<Arc<Artifacts>>,
        item: Option<ItemStart<F>>,
    ) -> BoxFuture<'static, Chain<F>> {
        async move {
            let (mut inherits, mut fanned_from) = match item {
                Some(item) => (Some(item.inherited), Some(item.fanned_from)),
                None => (None, None),
            };
            let mut last: Option<TaskRecord> = None;
            loop {
                if Some(step) == stop_at && pending.is_none() {
                    let last = last.expect("a branch runs at least one task");
                    return Ok((state, last, inherits));
                }
                if let Some(inherited) = &inherits {
                    if self.reaches(step, &state, inherited) {
                        state = match inherited.fill(&state) {
                            Ok(filled) => filled,
                            Err(source) => {
                                let task = TaskId::new(
                                    self.graph().steps[step].name.clone(),
                                    index.clone(),
                                );
                                let error = flow_core::datastore::DatastoreError::Artifact {
                                    run: self.executor.run_id.to_string(),
                                    task: task.to_string(),
                                    source,
                                };
                                return Err(self.fail(&task, TaskError::Datastore(error)));
                            }
                        };
                        inherits = None;
                    }
                }
                // What ran before this task is made durable before it starts (a group
                // commit: one sync serves every task waiting, and none holds a worker).
                // A chain that starts a branch or a foreach item does not sync: the task
                // that fanned out did, once for all of them.
                if let Some(before) = &last {
                    self.flush(&before.task).await?;
                }
                // The artifacts of the task whose state this one starts from.
                let parent = last.as_ref().map(|r| &r.artifacts).or(from.as_deref());
                let (
                    TaskOutput {
                        state: output,
                        record,
                    },
                    whole,
                ) = self
                    .task(
                        step,
                        &index,
                        (state, fanned_from.take()),
                        (parent, inherits.as_deref()),
                        pending.take(),
                    )
                    .await?;
                if whole {
                    inherits = None;
                }
                let spec = &self.graph().steps[step];
                let (next, next_state, next_inputs) = match &spec.transition {
                    Transition::End => return Ok((output, record, inherits)),
                    Transition::Next(t) => (self.step_named(t), output, None),
                    Transition::Switch(_) => match &record.switch_next {
                        Some(next) => (self.step_named(next), output, None),
                        None => {
                            let error = flow_core::StepError::new(
                                flow_core::StepErrorKind::Internal,
                                "the switch step finished without choosing a successor",
                            );
                            let task = record.task.clone();
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
                        let join = self.analysis().join_of[&step];
                        let (entry, inputs) = self
                            .branches(targets, &index, output, &record, join)
                            .await?;
                        (join, entry, Some(inputs))
                    }
                    Transition::Foreach { body, .. } => {
                        let join = self.analysis().join_of[&step];
                        let body = self.step_named(body);
                        let (entry, inputs) = self
                            .items(step, body, &index, output, &record, join)
                            .await?;
                        (join, entry, Some(inputs))
                    }
                };
                step = next;
                state = next_state;
                pending = next_inputs;
                last = Some(record);
            }
        }
        .boxed()
    }

    /// Whether the task of `step` may reach the `inherited` fields that `state` lacks: any
    /// step but a plain one (a foreach, switch or split reads the state whole when it
    /// fans out or is stored), or one whose body may name them.
    fn reaches(&self, step: usize, state: &F, inherited: &Inherited<F>) -> bool {
        let spec = &self.graph().steps[step];
        if !matches!(spec.transition, Transition::Next(_)) {
            return true;
        }
        match state.step_field_spans(&spec.name) {
            None => true,
            Some(named) => inherited.reached_by(state, &named),
        }
    }

    /// The index of the step named `name`, a step of the validated graph.
    fn step_named(&self, name: &str) -> usize {
        self.graph().index_of(name).expect("validated")
    }

    /// Runs the branches of a split task (`record`, which left `output`) up to `join`;
    /// returns the split's state and the join's inputs.
    async fn branches(
        self: &Arc<Self>,
        targets: &[String],
        index: &IndexPath,
        output: F,
        record: &TaskRecord,
        join: usize,
    ) -> Result<(F, Inputs<F>), RunError> {
        let from = Arc::new(record.artifacts.clone());
        let branches: Vec<_> = targets
            .iter()
            .map(|t| {
                let to = self.step_named(t);
                let from = Some(from.clone());
                self.clone().chain(
                    to,
                    index.clone(),
                    output.clone(),
                    Some(join),
                    None,
                    from,
                    None,
                )
            })
            .collect();
        // Every branch runs at once; workers bound how many of their tasks run.
        let width = branches.len().max(1);
        let chains = futures::stream::iter(branches).buffered(width);
        let inputs = self.gather(record, chains).await?;
        Ok((output, inputs))
    }

    /// Runs the items of foreach task `record` of step `step` (which left `output`), each
    /// from `body` up to `join`; returns the foreach's state and the join's inputs.
    async fn items(
        self: &Arc<Self>,
        step: usize,
        body: usize,
        index: &IndexPath,
        output: F,
        record: &TaskRecord,
        join: usize,
    ) -> Result<(F, Inputs<F>), RunError> {
        let count = record.foreach_count.unwrap_or(0);
        self.progress.fan_out(count);
        self.counts
            .lock()
            .expect("counts")
            .insert((step, index.clone()), count);
        // Items start in order, a bounded number at a time, so a fan-out of 100,000 items
        // does not hold 100,000 copies of the parent state. More items than workers are in
        // flight, so that items waiting for a group commit between two body steps share it,
        // as many as fit in a budget of parent copies.
        // What the items inherit unchanged is held once, not copied into each.
        let body_name = &self.graph().steps[body].name;
        let output = Arc::new(output);
        let inherited = output
            .step_field_spans(body_name)
            .and_then(|named| Inherited::new(&*output, &named))
            .map(Arc::new);
        let inherits = |name: &String| inherited.as_ref().is_some_and(|i| i.inherits(name));
        let state_bytes: u64 = record
            .artifacts
            .iter()
            .filter(|(name, _)| !inherits(name))
            .map(|(_, a)| a.size)
            .sum();
        let mut window = items_in_flight(self.max_workers, state_bytes);
        // `max_concurrency` bounds this fan-out's items in flight, each from its first body
        // step to the join (a Map's MaxConcurrency); nested foreaches each have their own.
        if let Some(limit) = self.graph().steps[step].options.max_concurrency {
            window = window.min(limit.max(1) as usize);
        }
        let from = Arc::new(record.artifacts.clone());
        let output_ref = &output;
        let chains = futures::stream::iter(0..count)
            .map(|i| {
                let from = Some(from.clone());
                let (state, item) = match &inherited {
                    Some(inherited) => {
                        let item = ItemStart {
                            inherited: inherited.clone(),
                            fanned_from: output_ref.clone(),
                        };
                        (inherited.item_state(), Some(item))
                    }
                    None => (F::clone(output_ref), None),
                };
                self.clone()
                    .chain(body, index.child(i), state, Some(join), None, from, item)
            })
            .buffered(window);
        let inputs = self.gather(record, chains).await?;
        // Every item is done: nothing else holds the foreach's state.
        let output = Arc::try_unwrap(output).unwrap_or_else(|shared| F::clone(&shared));
        Ok((output, inputs))
    }

    /// Gathers what `chains` (the branches or items that fanned out from task `from`) bring
    /// to their join, as its inputs, in order. The chains start only once `from` is durable.
    async fn gather(
        self: &Arc<Self>,
        from: &TaskRecord,
        chains: impl Stream<Item = Chain<F>>,
    ) -> Result<Inputs<F>, RunError> {
        // One sync for the task that fanned out serves every chain: none of them syncs
        // before its first task.
        self.flush(&from.task).await?;
        let mut chains = std::pin::pin!(chains);
        let mut arrivals = Arrivals::new(self.join_memory);
        while let Some(result) = chains.next().await {
            arrivals.arrive(self, result).await;
        }
        Ok(Inputs::new(arrivals.finish()?))
    }
}

/// How a foreach item's chain starts when its state lacks the fields it inherits.
struct ItemStart<F> {
    /// Those fields.
    inherited: Arc<Inherited<F>>,
    /// The state the foreach left, which the item is read from.
    fanned_from: Arc<F>,
}

/// The branches arriving at one join, in order. Each is held as its state while the states
/// held so far fit in the join's memory budget (their encoded size); past it, a branch's
/// state is dropped and its encoded fields are read back from the datastore instead, each
/// distinct blob once, so that a field the branches did not change (a large parent
/// artifact every foreach item inherits) is one buffer for all of them. Such an input is
/// decoded when the join reads it.
struct Arrivals<F> {
    inputs: Vec<Input<F>>,
    held_bytes: u64,
    budget: u64,
    cache: BlobCache,
    stopped: bool,
    failure: Option<RunError>,
}

impl<F: Flow> Arrivals<F> {
    fn new(budget: u64) -> Self {
        Arrivals {
            inputs: Vec::new(),
            held_bytes: 0,
            budget,
            cache: BlobCache::new(),
            stopped: false,
            failure: None,
        }
    }

    /// Takes one branch's result. Every result is taken, even after a failure, so that no
    /// task is still running when the join gives up.
    async fn arrive(&mut self, scheduler: &Scheduler<F>, result: Chain<F>) {
        let (state, record, inherited) = match result {
            Ok(arrived) => arrived,
            Err(RunError::Stopped) => {
                self.stopped = true;
                return;
            }
            Err(e) => {
                self.failure.get_or_insert(e);
                return;
            }
        };
        if self.failure.is_some() || self.stopped {
            return;
        }
        // The inherited fields are held once for every input, not by each.
        let inherits = |name: &String| inherited.as_ref().is_some_and(|i| i.inherits(name));
        let bytes: u64 = record
            .artifacts
            .iter()
            .filter(|(name, _)| !inherits(name))
            .map(|(_, a)| a.size)
            .sum();
        let with = |input: Input<F>| match &inherited {
            Some(inherited) => input.inheriting(inherited.clone()),
            None => input,
        };
        if self.held_bytes.saturating_add(bytes) <= self.budget {
            self.held_bytes += bytes;
            self.inputs.push(with(Input::new(record.task, state)));
            return;
        }
        drop(state);
        let executor = &scheduler.executor;
        match executor
            .store
            .load_stored_except(
                &executor.run_id,
                &record,
                &mut self.cache,
                inherited.as_deref(),
            )
            .await
        {
            Ok(stored) => self.inputs.push(with(Input::stored(record.task, stored))),
            Err(e) => {
                let error = scheduler.fail(&record.task, TaskError::Datastore(e));
                self.failure.get_or_insert(error);
            }
        }
    }

    /// The inputs in order, or the first real failure (not a "stopped" echo of it).
    fn finish(self) -> Result<Vec<Input<F>>, RunError> {
        match (self.failure, self.stopped) {
            (Some(e), _) => Err(e),
            (None, true) => Err(RunError::Stopped),
            (None, false) => Ok(self.inputs),
        }
    }
}

/// How many foreach items may be started at once: at least two per worker, at most 256, and
/// no more than 64 MiB worth of copies of the parent state (its encoded size).
fn items_in_flight(max_workers: usize, state_bytes: u64) -> usize {
    const BUDGET: u64 = 64 << 20;
    let floor = max_workers.saturating_mul(2).max(2);
    let by_memory = usize::try_from(BUDGET / state_bytes.max(1)).unwrap_or(usize::MAX);
    by_memory.clamp(floor, floor.max(256))
}
