//! Running one task: attempts with retry and backoff, timeout, catch, persistence. The
//! local scheduler and the `step` command (one Batch job per task) both run tasks here.

use crate::logs::{Capture, TASK_SPAN};
use flow_core::datastore::{
    timestamp_ms, AttemptRecord, DatastoreError, RunStore, TaskRecord, TaskStatus,
};
use flow_core::graph::{StepSpec, Transition};
use flow_core::{Ctx, Flow, Inputs, RunId, StepCall, StepError, StepErrorKind, StepInput, TaskId};
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

/// What every task of a run shares.
pub struct RunContext<F: Flow> {
    /// Where the run is stored.
    pub store: RunStore,
    /// The run.
    pub run_id: RunId,
    /// Its params.
    pub params: Arc<F::Params>,
    /// The most items one foreach may fan out over.
    pub max_num_splits: usize,
}

/// Which attempts this call makes: all of them (local), or one (a Batch job's attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempts {
    /// Attempt 0, then retries as the step's options say.
    All,
    /// Only this attempt (0-based); Batch retries the job for the next one.
    Only(u32),
}

/// A finished task: the state it left and its record.
pub struct TaskOutput<F> {
    /// The state after the task.
    pub state: F,
    /// Its committed record.
    pub record: TaskRecord,
}

/// What happened to one attempt that did not succeed, for the caller of [`Attempts::Only`].
pub enum AttemptFailed<F> {
    /// A later attempt will follow (the job should exit non-zero without a final record).
    WillRetry(StepError),
    /// The task's final outcome.
    Final(Result<TaskOutput<F>, TaskError>),
}

fn retries(spec: &StepSpec) -> u32 {
    spec.options.retry.map_or(0, |r| r.times)
}

/// Delay before attempt `attempt` (1-based retries): the backoff, doubled per retry.
pub fn backoff(spec: &StepSpec, attempt: u32) -> Duration {
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
) -> (Option<F>, Result<Option<usize>, StepError>) {
    let span = tracing::info_span!(TASK_SPAN, log_id = capture.id(), step = %spec.name);
    let handle = match state.call_step(&spec.name, input) {
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

impl<F: Flow> RunContext<F> {
    /// Runs a task of `spec` at `task` on `input` (and, for a join, `inputs`), persists it
    /// and returns the state it left. With [`Attempts::Only`], a failed attempt that Batch
    /// will retry comes back as `Err(AttemptFailed::WillRetry)`.
    pub async fn run_task(
        &self,
        spec: &StepSpec,
        task: TaskId,
        input: F,
        inputs: Option<Inputs<F>>,
        foreach_counts: Vec<usize>,
        attempts: Attempts,
    ) -> Result<TaskOutput<F>, AttemptFailed<F>> {
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
            let delay = backoff(spec, attempt_no);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let ctx = Ctx {
                params: self.params.clone(),
                run_id: self.run_id.clone(),
                task_id: task.clone(),
                attempt: attempt_no,
                foreach_counts: foreach_counts.clone(),
            };
            let capture = Capture::new();
            let started = Instant::now();
            let started_at_ms = timestamp_ms();
            let (state, result) = attempt(
                spec,
                this_input,
                StepInput {
                    ctx,
                    inputs: this_inputs,
                },
                &capture,
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
                error: error.clone(),
            });
            let log = capture.text();
            if !log.is_empty() {
                if let Err(e) = self
                    .store
                    .put_log(&self.run_id, &task, attempt_no, log.into_bytes())
                    .await
                {
                    return Err(AttemptFailed::Final(Err(e.into())));
                }
            }
            match result {
                Ok(choice) => {
                    let state = state.expect("a successful attempt returns its state");
                    let outcome = self.commit(spec, &task, state, records, choice, None).await;
                    return outcome.map_err(|e| AttemptFailed::Final(Err(e)));
                }
                Err(error) if !final_attempt => {
                    if only_one {
                        return Err(AttemptFailed::WillRetry(error));
                    }
                    attempt_no += 1;
                }
                Err(error) => {
                    let state = match (state, input.take()) {
                        (Some(state), _) | (None, Some(state)) => state,
                        // Only a final, uncaught attempt without a timeout moves its input.
                        (None, None) => F::default(),
                    };
                    let caught =
                        spec.options.catch && !matches!(spec.transition, Transition::Switch(_));
                    let committed = self
                        .commit(
                            spec,
                            &task,
                            state,
                            records,
                            None,
                            Some((error.clone(), caught)),
                        )
                        .await;
                    return Err(AttemptFailed::Final(match committed {
                        Ok(output) if caught => Ok(output),
                        Ok(_) => Err(TaskError::Failed { task, error }),
                        Err(e) => Err(e),
                    }));
                }
            }
        }
    }

    async fn commit(
        &self,
        spec: &StepSpec,
        task: &TaskId,
        state: F,
        attempts: Vec<AttemptRecord>,
        choice: Option<usize>,
        failure: Option<(StepError, bool)>,
    ) -> Result<TaskOutput<F>, TaskError> {
        let succeeded = failure.is_none();
        let foreach_count = match (&spec.transition, succeeded) {
            (Transition::Foreach { .. }, true) => {
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
            _ => None,
        };
        let switch_next = match (&spec.transition, choice) {
            (Transition::Switch(targets), Some(i)) => targets.get(i).cloned(),
            _ => None,
        };
        let artifacts = self.store.save_state(&self.run_id, task, &state).await?;
        let (status, error) = match failure {
            None => (TaskStatus::Succeeded, None),
            Some((e, true)) => (TaskStatus::Caught, Some(e)),
            Some((e, false)) => (TaskStatus::Failed, Some(e)),
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
        Ok(TaskOutput { state, record })
    }

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

    /// Clones the origin run's task if it finished there; returns its state.
    pub async fn clone_task_from(
        &self,
        origin: &RunId,
        task: &TaskId,
    ) -> Result<Option<TaskOutput<F>>, TaskError> {
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
        let state = self.store.load_state::<F>(origin, &record).await?;
        let record = self.store.clone_task(origin, &self.run_id, &record).await?;
        Ok(Some(TaskOutput { state, record }))
    }
}

/// Flattens the result of [`RunContext::run_task`] with [`Attempts::All`].
pub fn finished<F>(
    result: Result<TaskOutput<F>, AttemptFailed<F>>,
) -> Result<TaskOutput<F>, TaskError> {
    match result {
        Ok(output) => Ok(output),
        Err(AttemptFailed::Final(result)) => result,
        Err(AttemptFailed::WillRetry(error)) => Err(TaskError::Failed {
            task: TaskId::new("?", flow_core::IndexPath::root()),
            error,
        }),
    }
}
