//! Running one task: attempts with retry and backoff, timeout, catch, persistence. The
//! local scheduler and the `step` command (one Batch job per task) both run tasks here.

use crate::logs::{Capture, TASK_SPAN};
use flow_core::backend::{Inherited, StepCall, StepInput};
use flow_core::datastore::{
    timestamp_ms, ArtifactRef, AttemptRecord, DatastoreError, RunStore, TaskRecord, TaskStatus,
};
use flow_core::graph::{StepSpec, Transition};
use flow_core::{Ctx, Flow, Inputs, RunId, StepError, StepErrorKind, TaskId};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Why a task did not finish.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The step failed on its last attempt (and had no `catch`).
    #[error("step `{}` failed in task {task}: {error}", task.step)]
    Failed {
        /// The task.
        task: TaskId,
        /// The last attempt's error.
        error: StepError,
    },
    /// A foreach fanned out over more items than allowed.
    #[error(
        "foreach step `{step}` fans out over {count} items, more than the limit of {limit}; \
         raise it with --max-num-splits (or check the field it iterates)"
    )]
    TooManySplits {
        /// The foreach step.
        step: String,
        /// Items it produced.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Reading or writing the datastore failed.
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
}

/// Runs the tasks of one run: what they all share (store, run, params, limits), and the
/// attempts, commit and cloning of each.
pub(crate) struct TaskExecutor<F: Flow> {
    /// Where the run is stored.
    pub store: RunStore,
    /// The run.
    pub run_id: RunId,
    /// Its params.
    pub params: Arc<F::Params>,
    /// The most items one foreach may fan out over.
    pub max_num_splits: usize,
    /// What started the run, for `Ctx::trigger` and `Ctx::event`.
    pub started_by: flow_core::StartedBy,
}

/// A committed task: the state it left and its record.
pub(crate) struct TaskOutput<F> {
    /// The state after the task.
    pub state: F,
    /// Its committed record.
    pub record: TaskRecord,
}

/// How a task ended, its record committed. (Errors of the datastore, and a foreach over too
/// many items, are a [`TaskError`] instead: the run stops whatever the step's options say.)
pub(crate) enum TaskOutcome<F> {
    /// An attempt succeeded.
    Succeeded(TaskOutput<F>),
    /// The last attempt failed and the step catches failures: the run goes on from the
    /// state the attempt left.
    Caught(TaskOutput<F>),
    /// The last attempt failed with this error, and nothing catches it.
    Failed(StepError),
}

/// What one attempt of a task run as a Batch job came to.
pub(crate) enum AttemptOutcome<F> {
    /// The task ended (this attempt succeeded, or it was the last one).
    Ended(TaskOutcome<F>),
    /// The attempt failed and a later one will follow: nothing is committed, and the job
    /// exits non-zero so that Batch runs the next attempt.
    WillRetry(StepError),
}

/// The artifacts of the task whose state a task starts from, when it is that state (not a
/// default one): the fields the step does not name are referred to, not stored again.
#[derive(Clone, Copy)]
struct Parent<'a>(Option<&'a BTreeMap<String, ArtifactRef>>);

/// What a task starts from, and how its step runs.
pub(crate) struct Launch<F> {
    /// The state it starts from.
    pub state: F,
    /// For the first task of a foreach item whose state lacks the fields it inherits: the
    /// state the foreach left, which its item is read from.
    pub fanned_from: Option<Arc<F>>,
    /// Run a sync step on this thread instead of the blocking pool: for a step whose tasks
    /// take microseconds, where handing each to another thread costs more than the step.
    pub inline: bool,
}

impl<F> Launch<F> {
    /// A task on `state`, its step on the blocking pool.
    pub fn new(state: F) -> Self {
        Launch {
            state,
            fanned_from: None,
            inline: false,
        }
    }
}

/// Which attempts one call runs.
#[derive(Debug, Clone, Copy)]
enum Attempts {
    /// Attempt 0, then retries as the step's options say.
    All,
    /// Only this attempt (0-based); Batch retries the job for the next one.
    Only(u32),
}

/// How a task's last attempt ended, before the task is committed.
enum Ending {
    /// It succeeded; a switch step chose its successor with this index.
    Succeeded { choice: Option<usize> },
    /// It failed, and the step catches failures.
    Caught(StepError),
    /// It failed.
    Failed(StepError),
}

fn retries(spec: &StepSpec) -> u32 {
    spec.options.retry.map_or(0, |r| r.times)
}

/// Delay before attempt `attempt` (1-based retries): the backoff, doubled per retry.
fn backoff(spec: &StepSpec, attempt: u32) -> Duration {
    let base = spec.options.retry.map_or(0, |r| r.backoff_ms);
    if attempt == 0 || base == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(base.saturating_mul(1u64 << (attempt - 1).min(16)))
}

/// Runs one attempt of a step on `state`, with the step's timeout; the state comes back
/// even when the step fails (artifacts it set before failing are kept).
async fn attempt<F: Flow>(
    spec: &StepSpec,
    state: F,
    input: StepInput<F>,
    capture: &Capture,
    inline: bool,
) -> (Option<F>, Result<Option<usize>, StepError>) {
    let span = tracing::info_span!(TASK_SPAN, log_id = capture.id(), step = %spec.name);
    let handle = match state.call_step(&spec.name, input) {
        // Without a timeout to enforce, nothing needs the step on another thread: it runs
        // on this one, which the runtime sees as blocking (so that the step may block on
        // the runtime itself, `Handle::block_on`; a current-thread runtime has no other
        // worker to hand its tasks to, so there it goes to the pool).
        StepCall::Blocking(f)
            if inline
                && spec.options.timeout_secs.is_none()
                && tokio::runtime::Handle::current().runtime_flavor()
                    == tokio::runtime::RuntimeFlavor::MultiThread =>
        {
            let outcome = tokio::task::block_in_place(|| span.in_scope(f));
            return (Some(outcome.state), outcome.result);
        }
        StepCall::Blocking(f) => {
            let span = span.clone();
            tokio::task::spawn_blocking(move || span.in_scope(f))
        }
        StepCall::Async(fut) => tokio::spawn(fut.instrument(span)),
    };
    let abort = handle.abort_handle();
    let joined = match spec.options.timeout_secs {
        Some(secs) => match tokio::time::timeout(Duration::from_secs(secs), handle).await {
            Ok(joined) => joined,
            Err(_) => {
                // An async step is cancelled; a sync one cannot be interrupted and is left to
                // finish on its thread, its result ignored.
                abort.abort();
                return (
                    None,
                    Err(StepError::new(
                        StepErrorKind::Timeout,
                        format!(
                            "step `{}` ran longer than its timeout of {secs} s",
                            spec.name
                        ),
                    )),
                );
            }
        },
        None => handle.await,
    };
    match joined {
        Ok(outcome) => (Some(outcome.state), outcome.result),
        Err(e) => (
            None,
            Err(StepError::new(
                StepErrorKind::Internal,
                format!("the task of step `{}` did not complete: {e}", spec.name),
            )),
        ),
    }
}

impl<F: Flow> TaskExecutor<F> {
    /// Runs a task of `spec` at `task` on `input` (and, for a join, `inputs`) with every
    /// attempt its options allow, in this process, and commits it.
    #[cfg(test)]
    pub async fn run_task(
        &self,
        spec: &StepSpec,
        task: TaskId,
        input: F,
        inputs: Option<Inputs<F>>,
        foreach_counts: Vec<usize>,
    ) -> Result<TaskOutcome<F>, TaskError> {
        let launch = Launch::new(input);
        self.run_item_task(spec, task, launch, None, inputs, foreach_counts)
            .await
    }

    /// Runs a task of `spec` with every attempt its options allow, on the state a committed
    /// task left, its artifacts `parent`: the fields the step does not name are not stored
    /// again (see [`RunStore::save_state_from`]), started as `launch` says.
    pub async fn run_item_task(
        &self,
        spec: &StepSpec,
        task: TaskId,
        launch: Launch<F>,
        parent: Option<&BTreeMap<String, ArtifactRef>>,
        inputs: Option<Inputs<F>>,
        foreach_counts: Vec<usize>,
    ) -> Result<TaskOutcome<F>, TaskError> {
        let from = Parent(parent);
        let run = self.run_attempts(
            spec,
            task,
            (launch, from),
            inputs,
            foreach_counts,
            Attempts::All,
        );
        match run.await? {
            AttemptOutcome::Ended(outcome) => Ok(outcome),
            AttemptOutcome::WillRetry(_) => {
                unreachable!("with every attempt run here, the last one ends the task")
            }
        }
    }

    /// Runs attempt `attempt` (0-based) of a task, the one a Batch job was given, and
    /// commits the task unless a later attempt follows. Batch may count attempts past the
    /// step's retries: those run as its last attempt.
    pub async fn run_attempt(
        &self,
        spec: &StepSpec,
        task: TaskId,
        input: F,
        inputs: Option<Inputs<F>>,
        foreach_counts: Vec<usize>,
        attempt: u32,
    ) -> Result<AttemptOutcome<F>, TaskError> {
        let attempts = Attempts::Only(attempt);
        self.run_attempts(
            spec,
            task,
            (Launch::new(input), Parent(None)),
            inputs,
            foreach_counts,
            attempts,
        )
        .await
    }

    /// Runs the attempts `attempts` names, and commits the task once one of them ends it.
    async fn run_attempts(
        &self,
        spec: &StepSpec,
        task: TaskId,
        (launch, parent): (Launch<F>, Parent<'_>),
        inputs: Option<Inputs<F>>,
        foreach_counts: Vec<usize>,
        attempts: Attempts,
    ) -> Result<AttemptOutcome<F>, TaskError> {
        let mut parent = parent;
        let Launch {
            state: input,
            fanned_from,
            inline,
        } = launch;
        let last = retries(spec);
        let (first, only_one) = match attempts {
            Attempts::All => (0, false),
            Attempts::Only(n) => (n.min(last), true),
        };
        let mut records = Vec::new();
        let mut attempt_no = first;
        let mut input = Some(input);
        let mut inputs = inputs;
        loop {
            let final_attempt = attempt_no >= last;
            // Clone the input only when it may be needed again: for a retry, or as the state
            // a caught or timed-out final attempt leaves. A large join is not copied for nothing.
            let keep = !final_attempt || spec.options.catch || spec.options.timeout_secs.is_some();
            let (this_input, this_inputs) = if keep {
                (input.clone().expect("input kept"), inputs.clone())
            } else {
                (input.take().expect("input kept"), inputs.take())
            };
            // A Batch job runs one attempt: Step Functions waits out the backoff before it
            // submits the job, so no container is paid for sleeping.
            let delay = if only_one {
                Duration::ZERO
            } else {
                backoff(spec, attempt_no)
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let ctx = Ctx {
                params: self.params.clone(),
                run_id: self.run_id.clone(),
                task_id: task.clone(),
                attempt: attempt_no,
                foreach_counts: foreach_counts.clone(),
                cards: Default::default(),
                started_by: self.started_by.clone(),
                datastore: Some(self.store.object_store().clone()),
            };
            // The cards of the attempt that ends the task are stored with it.
            let cards = ctx.cards.clone();
            let capture = Capture::new();
            let started = Instant::now();
            let started_at_ms = timestamp_ms();
            let (state, result) = attempt(
                spec,
                this_input,
                StepInput {
                    ctx,
                    inputs: this_inputs,
                    fanned_from: fanned_from.clone(),
                },
                &capture,
                inline,
            )
            .await;
            let duration_ms = started.elapsed().as_millis() as u64;
            let error = result.as_ref().err().cloned();
            if let Some(e) = &error {
                capture.line(&format!(
                    "ERROR attempt {attempt_no} of task {task} failed: {e}"
                ));
            }
            records.push(AttemptRecord {
                attempt: attempt_no,
                started_at_ms,
                duration_ms,
                error,
            });
            let log = capture.text();
            if !log.is_empty() {
                self.store
                    .put_log(&self.run_id, &task, attempt_no, log.into_bytes())
                    .await?;
            }
            let (state, ending) = match result {
                Ok(choice) => (
                    state.expect("a successful attempt returns its state"),
                    Ending::Succeeded { choice },
                ),
                Err(error) if !final_attempt => {
                    if only_one {
                        return Ok(AttemptOutcome::WillRetry(error));
                    }
                    attempt_no += 1;
                    continue;
                }
                Err(error) => {
                    let state = match (state, input.take()) {
                        (Some(state), _) | (None, Some(state)) => state,
                        // Only a final, uncaught attempt without a timeout moves its input.
                        (None, None) => {
                            // Not the parent's state: every field is stored as it is.
                            parent = Parent(None);
                            F::default()
                        }
                    };
                    // A switch step that failed has no successor to go on to: never caught.
                    let caught =
                        spec.options.catch && !matches!(spec.transition, Transition::Switch(_));
                    let ending = if caught {
                        Ending::Caught(error)
                    } else {
                        Ending::Failed(error)
                    };
                    (state, ending)
                }
            };
            self.store
                .put_cards(&self.run_id, &task, &cards.take())
                .await?;
            let outcome = self
                .commit(spec, &task, state, parent, records, ending)
                .await?;
            return Ok(AttemptOutcome::Ended(outcome));
        }
    }

    /// Commits a task that ended: its artifacts, then its record.
    async fn commit(
        &self,
        spec: &StepSpec,
        task: &TaskId,
        state: F,
        parent: Parent<'_>,
        attempts: Vec<AttemptRecord>,
        ending: Ending,
    ) -> Result<TaskOutcome<F>, TaskError> {
        let (status, choice, error) = match &ending {
            Ending::Succeeded { choice } => (TaskStatus::Succeeded, *choice, None),
            Ending::Caught(error) => (TaskStatus::Caught, None, Some(error.clone())),
            Ending::Failed(error) => (TaskStatus::Failed, None, Some(error.clone())),
        };
        let foreach_count = match (&spec.transition, &ending) {
            (Transition::Foreach { .. }, Ending::Succeeded { .. }) => {
                let count = state.foreach_len(&spec.name).unwrap_or(0);
                if count > self.max_num_splits {
                    let error = TaskError::TooManySplits {
                        step: spec.name.clone(),
                        count,
                        limit: self.max_num_splits,
                    };
                    let message = error.to_string();
                    self.record_failure(task, &state, attempts, &message)
                        .await?;
                    return Err(error);
                }
                Some(count)
            }
            // A caught foreach goes on to its join over zero items (an empty item list, which
            // a Distributed Map reads as zero children), whatever the failed attempt left.
            (Transition::Foreach { .. }, Ending::Caught(_)) => Some(0),
            _ => None,
        };
        let switch_next = match (&spec.transition, choice) {
            (Transition::Switch(targets), Some(i)) => targets.get(i).cloned(),
            _ => None,
        };
        let artifacts = match parent.0 {
            Some(parent) => {
                self.store
                    .save_state_from(&self.run_id, task, &state, &spec.name, parent)
                    .await?
            }
            None => self.store.save_state(&self.run_id, task, &state).await?,
        };
        let record = TaskRecord {
            task: task.clone(),
            status,
            attempts,
            artifacts,
            foreach_count,
            switch_next,
            error,
            cloned_from: None,
        };
        self.store.commit_task(&self.run_id, &record).await?;
        Ok(match ending {
            Ending::Succeeded { .. } => TaskOutcome::Succeeded(TaskOutput { state, record }),
            Ending::Caught(_) => TaskOutcome::Caught(TaskOutput { state, record }),
            Ending::Failed(error) => TaskOutcome::Failed(error),
        })
    }

    /// Commits a task that succeeded but cannot go on (a foreach over too many items) as
    /// failed with `message`.
    async fn record_failure(
        &self,
        task: &TaskId,
        state: &F,
        mut attempts: Vec<AttemptRecord>,
        message: &str,
    ) -> Result<(), TaskError> {
        let error = StepError::new(StepErrorKind::Internal, message);
        if let Some(last) = attempts.last_mut() {
            last.error = Some(error.clone());
        }
        let record = TaskRecord {
            task: task.clone(),
            status: TaskStatus::Failed,
            attempts,
            artifacts: self.store.save_state(&self.run_id, task, state).await?,
            foreach_count: None,
            switch_next: None,
            error: Some(error),
            cloned_from: None,
        };
        self.store.commit_task(&self.run_id, &record).await?;
        Ok(())
    }

    /// Clones the origin run's task if it finished there; returns its state, and whether
    /// that state is whole. A foreach item's task whose `inherited` fields are the ones
    /// its parent left (`parent`, by content hash) comes back without them, as the item's
    /// state would be had it run; otherwise every field is read.
    pub async fn clone_task_from(
        &self,
        origin: &RunId,
        task: &TaskId,
        inherited: Option<(&Inherited<F>, &BTreeMap<String, ArtifactRef>)>,
    ) -> Result<Option<(TaskOutput<F>, bool)>, TaskError> {
        let record = match self.store.task(origin, task).await {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(None),
            // A record torn by a power loss before its group commit: the task did not
            // durably finish, so it runs again.
            Err(DatastoreError::BadRecord { key, message, .. }) => {
                tracing::warn!(
                    "re-running task {task}: its record {key} is unreadable ({message})"
                );
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        if !record.is_done() {
            return Ok(None);
        }
        let hollow = inherited.filter(|(inherited, parent)| {
            inherited.names().all(|name| {
                let stored = record.artifacts.get(name).map(|a| &a.hash);
                stored.is_some() && stored == parent.get(name).map(|a| &a.hash)
            })
        });
        let state = self
            .store
            .load_state_except::<F>(origin, &record, hollow.map(|(i, _)| i))
            .await?;
        let record = with_caught_foreach_items::<F>(record);
        let record = self.store.clone_task(origin, &self.run_id, &record).await?;
        Ok(Some((TaskOutput { state, record }, hollow.is_none())))
    }
}

/// A caught foreach's record fans out over zero items. Records committed before caught
/// foreaches wrote their (empty) item list have no count: cloned, they get one, so that the
/// clone writes the list the state machine's Distributed Map reads.
fn with_caught_foreach_items<F: Flow>(mut record: TaskRecord) -> TaskRecord {
    let graph = F::graph();
    let is_foreach = graph
        .index_of(&record.task.step)
        .is_some_and(|i| matches!(graph.steps[i].transition, Transition::Foreach { .. }));
    if is_foreach && record.status == TaskStatus::Caught && record.foreach_count.is_none() {
        record.foreach_count = Some(0);
    }
    record
}

#[cfg(test)]
mod tests;
