//! The internal `step` command: runs one task of a run whose state lives in a datastore
//! (on Step Functions, one AWS Batch job per task). It finds the task's inputs from the
//! graph and the datastore, runs it with the same task runner as a local run, and commits
//! it, so a run is stored the same way whichever scheduler ran it.

use crate::task::{AttemptOutcome, TaskError, TaskExecutor, TaskOutcome};
use anyhow::{bail, Context as _};
use flow_core::backend::{BlobCache, Input};
use flow_core::datastore::{DatastoreError, ObjectStore, RunIdTaken, RunStore, TaskRecord};
use flow_core::graph::{FrameKind, Transition};
use flow_core::ids::validate_step_name;
use flow_core::{Flow, IndexPath, Inputs, RunId, StepErrorKind, TaskId};
use std::process::ExitCode;
use std::sync::Arc;

/// What the state machine tells a job to run.
#[derive(Debug, Clone)]
pub struct StepRequest {
    /// The run.
    pub run_id: RunId,
    /// The step.
    pub step: String,
    /// The task's index key (`0` outside a foreach).
    pub index: String,
    /// The run whose finished tasks this one clones (a resume), if any.
    pub origin_run_id: Option<RunId>,
    /// The params (only for `start`): creates the run record.
    pub params_json: Option<String>,
    /// The upstream run that started this run (only with `params_json`), stored in its record.
    pub trigger: Option<flow_core::Trigger>,
    /// The event that started this run (only with `params_json`), stored in its record.
    pub event: Option<serde_json::Value>,
    /// Batch's attempt at this job, 0-based: above 0 only when Batch ran the job again after
    /// its host failed (a Spot reclaim). The step's own retries are Step Functions' to make,
    /// each a new job; which of them this job runs is read from the datastore.
    pub attempt: u32,
    /// Keep what the process prints while the step runs (stdout and stderr, `println!`
    /// included) in the attempt's log. Only for a process that runs this one task.
    pub capture_output: bool,
}

/// The attempt number Batch gives the job (`AWS_BATCH_JOB_ATTEMPT`, 1-based), 0-based.
pub fn batch_attempt() -> u32 {
    std::env::var("AWS_BATCH_JOB_ATTEMPT")
        .ok()
        .and_then(|a| a.parse::<u32>().ok())
        .map_or(0, |a| a.saturating_sub(1))
}

/// Runs the requested task; exit 0 when it finished (or was caught or cloned), 1 when it
/// failed (Step Functions retries it if the step has retries left).
pub async fn run_step<F: Flow>(
    store: Arc<dyn ObjectStore>,
    request: StepRequest,
) -> anyhow::Result<ExitCode> {
    let graph = F::graph();
    let analysis = F::analysis();
    validate_step_name(&request.step)?;
    let step = graph
        .index_of(&request.step)
        .with_context(|| format!("flow `{}` has no step `{}`", graph.name, request.step))?;
    let spec = &graph.steps[step];
    let index = IndexPath::parse(&request.index, analysis.foreach_depth(step))?;
    let task = TaskId::new(spec.name.clone(), index.clone());
    let store = RunStore::new(store, &graph.name).one_file_per_task();
    let run_id = request.run_id.clone();

    if let Some(params) = &request.params_json {
        let value: serde_json::Value =
            serde_json::from_str(params).context("--params-json is not JSON")?;
        let typed: F::Params = flow_core::params::params_from_json(&value)?;
        let mut record = store.new_run_record(
            run_id.clone(),
            serde_json::to_value(&typed)?,
            "step-functions",
        );
        record.origin_run_id = request.origin_run_id.clone();
        record.graph = Some(crate::runner::graph_json::<F>());
        record.trigger = request.trigger.clone();
        record.event = request.event.clone();
        // What started the run, where it started and which build: a record that
        // `step-functions trigger` or `resume` wrote first keeps its own tags (below).
        record.tags =
            flow_core::tags::start_task_tags(request.trigger.as_ref(), request.event.as_ref());
        // Batch may run the start job again: it finds the record its first attempt wrote.
        store.claim_run(record, RunIdTaken::KeepExisting).await?;
    }
    let mut run = store.run(&run_id).await?;
    let params: F::Params = serde_json::from_value(run.params.clone())
        .with_context(|| format!("the params of run `{run_id}` do not fit the flow"))?;
    let executor = TaskExecutor::<F> {
        store: store.clone(),
        run_id: run_id.clone(),
        params: Arc::new(params),
        max_num_splits: usize::MAX,
        started_by: flow_core::StartedBy {
            // Batch set the step's variables and resolved its secrets into this process.
            env: Arc::new(flow_core::environment::RunEnvironment::from_process(graph)),
            ..flow_core::StartedBy::of_run(&run)
        },
    };

    // A job that Batch or Step Functions runs again after the task committed does nothing.
    // (An unreadable record, torn by a power loss, is not a commit: the task runs again.)
    if let Ok(Some(record)) = store.task(&run_id, &task).await {
        if record.is_done() {
            restore_state_machine_objects::<F>(&store, &run_id, record).await?;
            eprintln!("task {task} of run {run_id} already finished");
            return Ok(ExitCode::SUCCESS);
        }
        // Its last attempt failed and was committed (then Batch ran the job again after a
        // host failure, say): the task is over, and it failed.
        let error = record.error.map(|e| e.to_string()).unwrap_or_default();
        eprintln!("task {task} of run {run_id} already failed: {error}");
        return Ok(ExitCode::FAILURE);
    }
    // `step-functions resume --step` cloned what the new run keeps before it started; its
    // record names the step, and that step and every step after it run again.
    if let Some(origin) = request
        .origin_run_id
        .as_ref()
        .filter(|_| run.resume_step.is_none())
    {
        if executor
            .clone_task_from(origin, &task, None)
            .await?
            .is_some()
        {
            eprintln!("task {task} cloned from run {origin}");
            return finish_run(&store, &mut run, &task).await;
        }
    }

    let attempt = next_attempt(
        &store,
        &run_id,
        &task,
        spec.options.retry.map_or(0, |r| r.times),
    )
    .await?;
    if request.attempt > 0 {
        eprintln!(
            "AWS Batch runs this job again (its attempt {}): attempt {attempt} of task {task}",
            request.attempt + 1
        );
    }
    let (input, inputs) = load_inputs::<F>(&store, &run_id, step, &index).await?;
    let counts = foreach_counts::<F>(&store, &run_id, step, &index).await?;
    #[cfg(unix)]
    let output = if request.capture_output {
        crate::logs::ProcessOutput::start().ok()
    } else {
        None
    };
    let result = executor
        .run_attempt(spec, task.clone(), input, inputs, counts, attempt)
        .await;
    #[cfg(unix)]
    if let Some(output) = output {
        let printed = output.finish();
        if !printed.is_empty() {
            let mut text = b"-- stdout and stderr of the process --\n".to_vec();
            text.extend_from_slice(&printed);
            store.append_log(&run_id, &task, attempt, &text).await?;
        }
    }
    let timed_out = result.as_ref().is_ok_and(attempt_timed_out);
    let error = match result {
        Ok(AttemptOutcome::Ended(TaskOutcome::Succeeded(_) | TaskOutcome::Caught(_))) => {
            let code = finish_run(&store, &mut run, &task).await?;
            return Ok(exit_if_timed_out(timed_out, code));
        }
        Ok(AttemptOutcome::WillRetry(error)) => {
            eprintln!(
                "attempt {attempt} of task {task} failed: {error}; Step Functions will retry it"
            );
            return Ok(exit_if_timed_out(timed_out, ExitCode::FAILURE));
        }
        Ok(AttemptOutcome::Ended(TaskOutcome::Failed(error))) => TaskError::Failed {
            task: task.clone(),
            error,
        },
        Err(error) => error,
    };
    eprintln!("error: {error}");
    store.finish_run(&mut run, Some(&error)).await?;
    Ok(exit_if_timed_out(timed_out, ExitCode::FAILURE))
}

/// The attempt of a task this job runs: the first one that has not run yet. Every attempt
/// that ends without committing the task (it failed, and a retry follows) leaves its log,
/// which holds its error, so the logs count the attempts made. Step Functions' retry count
/// cannot say it: it also counts the retries of throttled submissions. An attempt killed
/// before it ended (its host reclaimed) left no log and runs again.
async fn next_attempt(
    store: &RunStore,
    run: &RunId,
    task: &TaskId,
    retries: u32,
) -> anyhow::Result<u32> {
    for attempt in 0..retries {
        let log = store.layout().attempt_log(run, task, attempt);
        if !store.object_store().exists(&log).await? {
            return Ok(attempt);
        }
    }
    Ok(retries)
}

/// Whether the attempt ended by running past the step's timeout.
fn attempt_timed_out<F>(outcome: &AttemptOutcome<F>) -> bool {
    let error = match outcome {
        AttemptOutcome::WillRetry(error) | AttemptOutcome::Ended(TaskOutcome::Failed(error)) => {
            Some(error)
        }
        AttemptOutcome::Ended(TaskOutcome::Caught(output)) => output.record.error.as_ref(),
        AttemptOutcome::Ended(TaskOutcome::Succeeded(_)) => None,
    };
    error.is_some_and(|e| e.kind == StepErrorKind::Timeout)
}

/// After a timeout, ends the process at once with `code`, everything stored: a sync step
/// that ran past its timeout cannot be interrupted, and the async runtime would wait for its
/// thread on shutdown, keeping the container (and its bill) alive until Batch's own timeout
/// killed it, and its exit code lost.
fn exit_if_timed_out(timed_out: bool, code: ExitCode) -> ExitCode {
    if !timed_out {
        return code;
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 })
}

/// Makes sure the objects the state machine reads after a finished task (a foreach's item
/// list, a switch's decision) exist: they are written before the record, but a caught
/// foreach committed before caught foreaches wrote their empty list has none.
async fn restore_state_machine_objects<F: Flow>(
    store: &RunStore,
    run: &RunId,
    record: TaskRecord,
) -> anyhow::Result<()> {
    let graph = F::graph();
    let Some(step) = graph.index_of(&record.task.step) else {
        return Ok(());
    };
    let key = match graph.steps[step].transition {
        Transition::Foreach { .. } => store.layout().foreach_items(run, &record.task),
        Transition::Switch(_) => store.layout().switch_decision(run, &record.task),
        _ => return Ok(()),
    };
    if store.object_store().exists(&key).await? {
        return Ok(());
    }
    let mut record = record;
    if matches!(graph.steps[step].transition, Transition::Foreach { .. }) {
        record.foreach_count.get_or_insert(0);
    }
    store.commit_task(run, &record).await?;
    Ok(())
}

/// A task finished: after `end`, the run has succeeded.
async fn finish_run(
    store: &RunStore,
    run: &mut flow_core::datastore::RunRecord,
    task: &TaskId,
) -> anyhow::Result<ExitCode> {
    if task.step == flow_graph::END {
        store.finish_run(run, None).await?;
    } else {
        store.object_store().flush().await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn done_task(
    store: &RunStore,
    run: &RunId,
    task: &TaskId,
) -> Result<Option<TaskRecord>, DatastoreError> {
    Ok(store.task(run, task).await?.filter(TaskRecord::is_done))
}

/// The state a task starts from and, for a join, its inputs.
async fn load_inputs<F: Flow>(
    store: &RunStore,
    run: &RunId,
    step: usize,
    index: &IndexPath,
) -> anyhow::Result<(F, Option<Inputs<F>>)> {
    let graph = F::graph();
    let analysis = F::analysis();
    let spec = &graph.steps[step];
    if spec.name == flow_graph::START {
        return Ok((F::default(), None));
    }
    if spec.join {
        let split = analysis.split_of[&step];
        let split_task = TaskId::new(graph.steps[split].name.clone(), index.clone());
        let split_record = store.require_task(run, &split_task).await?;
        let entry: F = store.load_state(run, &split_record).await?;
        // The branch ends: predecessors of the join, grouped by the branch they are in.
        let preds = &analysis.predecessors[step];
        // Held encoded, each distinct blob read once: a foreach's items that inherit a large
        // artifact share one copy of it, and the join decodes one input at a time.
        let mut cache = BlobCache::new();
        let mut inputs = Vec::new();
        match &graph.steps[split].transition {
            Transition::Split(targets) => {
                for branch in 0..targets.len() {
                    let ends = preds.iter().filter(|&&p| {
                        analysis.frames[p]
                            .iter()
                            .any(|f| f.step == split && f.kind == FrameKind::Branch(branch))
                    });
                    inputs.push(first_done::<F>(store, run, graph, ends, index, &mut cache).await?);
                }
            }
            _ => {
                let count = split_record.foreach_count.unwrap_or(0);
                for i in 0..count {
                    let child = index.child(i);
                    inputs.push(
                        first_done::<F>(store, run, graph, preds.iter(), &child, &mut cache)
                            .await?,
                    );
                }
            }
        }
        return Ok((entry, Some(Inputs::new(inputs))));
    }
    // One predecessor ran (several only after a switch, and then the one that chose us).
    for &p in &analysis.predecessors[step] {
        let pred = &graph.steps[p];
        let at = match &pred.transition {
            Transition::Foreach { body, .. } if *body == spec.name => index.parent(),
            _ => index.clone(),
        };
        let id = TaskId::new(pred.name.clone(), at);
        let Some(record) = done_task(store, run, &id).await? else {
            continue;
        };
        if matches!(pred.transition, Transition::Switch(_))
            && record.switch_next.as_deref() != Some(spec.name.as_str())
        {
            continue;
        }
        return Ok((store.load_state(run, &record).await?, None));
    }
    bail!(
        "step `{}` at index {index} of run `{run}` cannot start: none of its predecessors has finished",
        spec.name
    )
}

async fn first_done<'a, F: Flow>(
    store: &RunStore,
    run: &RunId,
    graph: &flow_graph::FlowGraph,
    candidates: impl Iterator<Item = &'a usize>,
    index: &IndexPath,
    cache: &mut BlobCache,
) -> anyhow::Result<Input<F>> {
    let mut tried = Vec::new();
    for &p in candidates {
        let id = TaskId::new(graph.steps[p].name.clone(), index.clone());
        if let Some(record) = done_task(store, run, &id).await? {
            let stored = store.load_stored(run, &record, cache).await?;
            return Ok(Input::stored(id, stored));
        }
        tried.push(id.to_string());
    }
    bail!(
        "a join input of run `{run}` has not finished: none of {} has a record",
        tried.join(", ")
    )
}

/// Item counts of the foreaches around a step, from their tasks' records.
async fn foreach_counts<F: Flow>(
    store: &RunStore,
    run: &RunId,
    step: usize,
    index: &IndexPath,
) -> anyhow::Result<Vec<usize>> {
    let graph = F::graph();
    let mut counts = Vec::new();
    for (depth, frame) in F::analysis().frames[step]
        .iter()
        .filter(|f| f.kind == FrameKind::Foreach)
        .enumerate()
    {
        let at = IndexPath(index.0[..depth].to_vec());
        let id = TaskId::new(graph.steps[frame.step].name.clone(), at);
        let count = store
            .task(run, &id)
            .await?
            .and_then(|r| r.foreach_count)
            .unwrap_or(0);
        counts.push(count);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests;
