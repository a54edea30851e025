//! The Rust API: run or resume a flow and get a handle on the run. This is the flow's unit
//! test harness:
//!
//! ```no_run
//! # async fn demo<F: flow_core::Flow>() -> anyhow::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let run = flow_local::Runner::<F>::new().datastore(dir.path()).run().await?;
//! assert!(run.succeeded(), "{:?}", run.error());
//! let end: F = run.end_state().await?;
//! # Ok(()) }
//! ```

use crate::fs_store::FsStore;
use crate::progress::{Progress, ProgressMode};
use crate::scheduler::{ResumePlan, RunError, Scheduler};
use crate::task::{TaskError, TaskExecutor};
use flow_core::client::{Client, Run, Task};
use flow_core::datastore::{
    DatastoreError, ObjectStore, RunIdTaken, RunRecord, RunStatus, RunStore, TaskStatus,
};
use flow_core::{Flow, RunEnd, RunId, RunOutcome, StartedBy, StepError, Trigger};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The default datastore directory, in the working directory.
pub const DEFAULT_DATASTORE: &str = ".flow";
/// The default limit on the items of one foreach: 1,000,000, so the fan-outs a local run
/// handles (a local task costs well under a millisecond) run without a flag. Metaflow's
/// default, 100, guards a runtime that spends about 0.4 s per task. The guard is for a
/// foreach over the wrong field (a billion rows instead of a million files), and is raised
/// or lowered with `--max-num-splits`. On Step Functions a Distributed Map runs at most
/// 10,000 child executions in parallel and a Batch array holds at most 10,000 jobs, so a
/// fan-out that passes locally may still meet a platform limit there.
pub const DEFAULT_MAX_NUM_SPLITS: usize = 1_000_000;

/// Why a run could not be started or resumed (a failing task is not this: see
/// [`RunHandle::error`]).
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The datastore failed.
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
    /// A step reads a secret the run was not given.
    #[error(transparent)]
    MissingSecret(#[from] flow_core::environment::MissingSecret),
    /// The run's [`SecretSource`] could not give a secret a step reads.
    #[error(
        "step `{step}` reads secret `{name}` ({arn}), which {reason}; to run without it, pass \
         --secret {name}=VALUE or a --secrets-file holding `{name}` (or the ARN), or \
         Runner::secret(\"{name}\", value)"
    )]
    SecretUnavailable {
        /// The first step that reads it.
        step: String,
        /// The variable it reads the secret from.
        name: String,
        /// The secret's ARN.
        arn: String,
        /// Why the source could not give it (never a value).
        reason: String,
    },
    /// `--step` names no step of the flow.
    #[error("flow `{flow}` has no step `{step}`; {hint}")]
    UnknownStep {
        /// The flow.
        flow: String,
        /// The step given.
        step: String,
        /// The closest step, or the list.
        hint: String,
    },
    /// The origin run succeeded and no step was given to re-run from.
    #[error(
        "run `{0}` succeeded, so there is no failed step to resume from; pass --step STEP to re-run \
         from a step"
    )]
    NothingToResume(RunId),
    /// The origin run's params no longer fit the flow's params type.
    #[error("the params of run `{run}` do not fit the flow's params any more: {message}")]
    Params {
        /// The origin run.
        run: RunId,
        /// The deserialization error.
        message: String,
    },
}

/// Where a local run gets the secrets its steps declare but were not given by value
/// ([`Runner::secret`], `--secret`, `--secrets-file`): `flow_sfn::main` reads them from AWS
/// Secrets Manager. Only the secrets the steps declare and the run was not given are asked
/// for, each ARN once, all at once, before the run is stored.
pub trait SecretSource: Send + Sync {
    /// The value of the secret `arn`, or why it cannot be had, as a clause that completes
    /// "secret `NAME` (ARN), which ...", e.g. "AWS Secrets Manager could not give:
    /// GetSecretValue: ResourceNotFoundException: ...". It must never hold a value.
    fn get(&self, arn: &str) -> futures::future::BoxFuture<'static, Result<String, String>>;
}

/// Configures and starts a local run of flow `F`.
pub struct Runner<F: Flow> {
    store: Option<Arc<dyn ObjectStore>>,
    datastore: PathBuf,
    params: Option<F::Params>,
    max_workers: usize,
    max_num_splits: usize,
    progress: ProgressMode,
    join_memory: u64,
    started_by: StartedBy,
    secrets: std::collections::BTreeMap<String, String>,
    secret_source: Option<Arc<dyn SecretSource>>,
    _flow: PhantomData<fn() -> F>,
}

impl<F: Flow> Default for Runner<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// The default number of tasks run at once: the machine's cores, and at least 2 (so a step
/// that waits, e.g. on the network, does not hold up a one-core machine's whole run).
pub fn default_max_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// How many bytes of branch states (their encoded size) a join holds decoded by default,
/// 256 MiB; `FLOW_JOIN_MEMORY_MIB` overrides it. See [`Runner::join_memory`].
pub const DEFAULT_JOIN_MEMORY: u64 = 256 << 20;

/// The join memory budget from `FLOW_JOIN_MEMORY_MIB`, or the default.
fn join_memory_from_env() -> u64 {
    std::env::var("FLOW_JOIN_MEMORY_MIB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_JOIN_MEMORY, |mib| mib.saturating_mul(1 << 20))
}

/// The graph of `F` as stored in run records.
pub(crate) fn graph_json<F: Flow>() -> serde_json::Value {
    serde_json::to_value(F::graph()).expect("graphs serialize to JSON")
}

impl<F: Flow> Runner<F> {
    /// A runner with default params, the `.flow/` datastore, one worker per core.
    pub fn new() -> Self {
        Runner {
            store: None,
            datastore: PathBuf::from(DEFAULT_DATASTORE),
            params: None,
            max_workers: default_max_workers(),
            max_num_splits: DEFAULT_MAX_NUM_SPLITS,
            progress: ProgressMode::Quiet,
            join_memory: join_memory_from_env(),
            started_by: StartedBy::default(),
            secrets: Default::default(),
            secret_source: None,
            _flow: PhantomData,
        }
    }

    /// Stores runs in this directory.
    pub fn datastore(mut self, dir: impl Into<PathBuf>) -> Self {
        self.datastore = dir.into();
        self
    }

    /// Stores runs in this object store (local or S3).
    pub fn store(mut self, store: Arc<dyn ObjectStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Runs with these params.
    pub fn params(mut self, params: F::Params) -> Self {
        self.params = Some(params);
        self
    }

    /// Runs at most this many tasks at once.
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = n.max(1);
        self
    }

    /// Fails a foreach that fans out over more items than this.
    pub fn max_num_splits(mut self, n: usize) -> Self {
        self.max_num_splits = n;
        self
    }

    /// Shows progress this way (default: quiet).
    pub fn progress(mut self, mode: ProgressMode) -> Self {
        self.progress = mode;
        self
    }

    /// Lets the inputs of one join hold at most this many bytes of branch states decoded
    /// (counted by their encoded size; default [`DEFAULT_JOIN_MEMORY`]). Branches arriving
    /// past it are held encoded, each distinct artifact once, and decoded one at a time
    /// when the join reads them: a foreach of 1,000 items that each inherit a 10 MiB
    /// artifact then holds one copy of it, not 1,000, at the cost of decoding as the join
    /// iterates. `0` holds every input encoded.
    pub fn join_memory(mut self, bytes: u64) -> Self {
        self.join_memory = bytes;
        self
    }

    /// Records that the success of this upstream run started the run (what
    /// `trigger_on_finish` does on Step Functions); steps read it with `ctx.trigger()`.
    pub fn triggered_by(mut self, trigger: Trigger) -> Self {
        self.started_by.trigger = Some(trigger);
        self
    }

    /// Records that this event started the run (what a `trigger(...)` pattern does on Step
    /// Functions); steps read it with `ctx.event()`. Params are not filled from it here:
    /// give them with [`Runner::params`] (the CLI's `run --event` fills them).
    pub fn event(mut self, event: serde_json::Value) -> Self {
        self.started_by.event = Some(Arc::new(event));
        self
    }

    /// Tags the run with `key=value` (see [`flow_core::tags`]); steps read the run's tags
    /// with `ctx.tags()`. The system tags (`user`, `host`, ...) are added when it starts.
    pub fn tag(mut self, key: &str, value: &str) -> Result<Self, flow_core::tags::TagError> {
        let tags = flow_core::tags::user_tags([format!("{key}={value}").as_str()])?;
        Arc::make_mut(&mut self.started_by.tags).extend(tags);
        Ok(self)
    }

    /// Gives the run a secret's value, by the variable a step reads it from
    /// (`secrets(DB = "arn:...")`, `ctx.env("DB")`) or by its ARN. Steps on AWS Batch get
    /// their secrets from Secrets Manager instead; a local run needs every secret its steps
    /// declare, given here or by its [`Runner::secret_source`], or it does not start. A value
    /// given here wins over the source's.
    pub fn secret(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.secrets.insert(name.into(), value.into());
        self
    }

    /// Gets the secrets not given by [`Runner::secret`] from `source` (by ARN), before the
    /// run is stored; one it cannot give fails the run before it starts.
    pub fn secret_source(mut self, source: Arc<dyn SecretSource>) -> Self {
        self.secret_source = Some(source);
        self
    }

    /// The steps' variables and secrets, checked before the run is stored: the secrets not
    /// given by value come from the secret source, each ARN once, concurrently.
    async fn environment(
        &self,
    ) -> Result<Arc<flow_core::environment::RunEnvironment>, RunnerError> {
        let graph = F::graph();
        let mut secrets = self.secrets.clone();
        if let Some(source) = &self.secret_source {
            // ARN -> the first step that reads it and its variable there.
            let mut wanted = std::collections::BTreeMap::<&str, (&str, &str)>::new();
            for step in &graph.steps {
                for (name, arn) in &step.options.secrets {
                    if !secrets.contains_key(name) && !secrets.contains_key(arn) {
                        wanted.entry(arn).or_insert((&step.name, name));
                    }
                }
            }
            let values = futures::future::join_all(wanted.keys().map(|arn| source.get(arn))).await;
            for ((arn, (step, name)), value) in wanted.into_iter().zip(values) {
                match value {
                    Ok(value) => {
                        secrets.insert(arn.to_string(), value);
                    }
                    Err(reason) => {
                        return Err(RunnerError::SecretUnavailable {
                            step: step.to_string(),
                            name: name.to_string(),
                            arn: arn.to_string(),
                            reason,
                        })
                    }
                }
            }
        }
        Ok(Arc::new(flow_core::environment::RunEnvironment::local(
            graph, &secrets,
        )?))
    }

    fn run_store(&self) -> RunStore {
        let store = self
            .store
            .clone()
            .unwrap_or_else(|| Arc::new(FsStore::new(&self.datastore)));
        RunStore::new(store, &F::graph().name)
    }

    /// Runs the flow to completion (or failure). Errors only when the run cannot start.
    pub async fn run(mut self) -> Result<RunHandle<F>, RunnerError> {
        crate::logs::install();
        self.started_by.env = self.environment().await?;
        let store = self.run_store();
        let params = self.params.clone().unwrap_or_default();
        let params_json = serde_json::to_value(&params).expect("params serialize to JSON");
        let mut record = store.new_run_record(RunId::generate(), params_json, "local");
        record.graph = Some(graph_json::<F>());
        record.trigger = self.started_by.trigger.clone();
        record.event = self.started_by.event.as_deref().cloned();
        record.tags = flow_core::tags::run_tags(&self.started_by.tags);
        let record = store.claim_run(record, RunIdTaken::TryAnother).await?;
        self.execute(store, record, params, None).await
    }

    /// Resumes `origin` (default: the latest run): a new run that clones every task that
    /// finished in the origin and runs the rest, from its first failed step on. With `step`,
    /// that step and every step after it run again even where they had finished.
    pub async fn resume(
        mut self,
        origin: Option<RunId>,
        step: Option<String>,
    ) -> Result<RunHandle<F>, RunnerError> {
        crate::logs::install();
        self.started_by.env = self.environment().await?;
        let store = self.run_store();
        let origin = match origin {
            Some(id) => store.run(&id).await?,
            None => store.latest_run().await?,
        };
        let graph = F::graph();
        let explicit = step.is_some();
        let resume_step = match step {
            Some(name) => Some(graph.index_of(&name).ok_or_else(|| {
                let names: Vec<&str> = graph.steps.iter().map(|s| s.name.as_str()).collect();
                RunnerError::UnknownStep {
                    flow: graph.name.clone(),
                    hint: match flow_graph::closest(&name, names.iter().copied()) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!("its steps are {}", names.join(", ")),
                    },
                    step: name,
                }
            })?),
            None => first_failed_step::<F>(&store, &origin.run_id).await?,
        };
        if resume_step.is_none() && origin.status == RunStatus::Succeeded {
            return Err(RunnerError::NothingToResume(origin.run_id));
        }
        // A run killed mid-write left temporary files; nothing reads them, so delete them.
        let layout = store.layout();
        for prefix in [
            layout.run_prefix(&origin.run_id),
            format!("{}/blobs/", layout.flow()),
        ] {
            store
                .object_store()
                .remove_leftovers(&prefix)
                .await
                .map_err(DatastoreError::from)?;
        }
        let params: F::Params =
            serde_json::from_value(origin.params.clone()).map_err(|e| RunnerError::Params {
                run: origin.run_id.clone(),
                message: e.to_string(),
            })?;
        let plan = match resume_step {
            Some(s) if explicit => ResumePlan::from_step(graph, origin.run_id.clone(), s),
            // From the first failed step (or, for a run killed mid-flight, from wherever it
            // stopped): every task that finished is cloned, including the succeeded siblings
            // of a failed foreach item and the tasks of other branches; the rest runs.
            _ => ResumePlan {
                origin: origin.run_id.clone(),
                rerun: Default::default(),
            },
        };
        let mut record = store.new_run_record(RunId::generate(), origin.params.clone(), "local");
        record.origin_run_id = Some(origin.run_id.clone());
        record.resume_step = resume_step.map(|s| graph.steps[s].name.clone());
        record.graph = Some(graph_json::<F>());
        // A resumed run was started by what started its origin.
        record.trigger = origin.trigger.clone();
        record.event = origin.event.clone();
        // A resumed run keeps its origin's tags (and any given now); its system tags are
        // this process's.
        let mut tags = origin.tags.clone();
        tags.retain(|key, _| !flow_core::tags::SYSTEM_TAG_KEYS.contains(&key.as_str()));
        tags.extend(
            self.started_by
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        record.tags = flow_core::tags::run_tags(&tags);
        let record = store.claim_run(record, RunIdTaken::TryAnother).await?;
        self.execute(store, record, params, Some(plan)).await
    }

    async fn execute(
        self,
        store: RunStore,
        mut record: RunRecord,
        params: F::Params,
        plan: Option<ResumePlan>,
    ) -> Result<RunHandle<F>, RunnerError> {
        let started = Instant::now();
        let progress = Progress::new(self.progress, F::graph().steps.len());
        let executor = TaskExecutor {
            store: store.clone(),
            run_id: record.run_id.clone(),
            params: Arc::new(params),
            max_num_splits: self.max_num_splits,
            started_by: StartedBy {
                env: self.started_by.env.clone(),
                ..StartedBy::of_run(&record)
            },
        };
        let scheduler = Scheduler::new(
            executor,
            self.max_workers,
            plan,
            progress.clone(),
            self.join_memory,
        );
        let timeout = F::graph().timeout_secs.map(Duration::from_secs);
        // At the flow's timeout the walk is dropped: tasks in flight are cancelled (a sync
        // step's thread runs on, but nothing it returns is committed).
        let result = match timeout {
            Some(limit) => tokio::time::timeout(limit, scheduler.run()).await.ok(),
            None => Some(scheduler.run().await),
        };
        let (tasks, cloned) = progress.finish();
        let (end_state, error, outcome) = match result {
            Some(Ok(state)) => (Some(state), None, RunOutcome::Succeeded),
            Some(Err(e)) => (None, Some(e), RunOutcome::Failed),
            None => (None, None, RunOutcome::TimedOut),
        };
        let timed_out = timeout
            .filter(|_| outcome == RunOutcome::TimedOut)
            .map(|limit| format!("the run ran past its timeout of {} s", limit.as_secs()));
        match &error {
            Some(e) => store.finish_run(&mut record, Some(e)).await?,
            None if outcome == RunOutcome::TimedOut => {
                store
                    .end_run(&mut record, RunStatus::TimedOut, timed_out.clone())
                    .await?
            }
            None => store.finish_run(&mut record, None).await?,
        }
        let (failed_step, why) = match &error {
            Some(RunError::Task(TaskError::Failed { task, error })) => {
                (Some(task.step.clone()), Some(error.to_string()))
            }
            Some(e) => (None, Some(flow_core::datastore::error_chain(e))),
            None => (None, timed_out),
        };
        let end = RunEnd {
            flow: F::graph().name.clone(),
            run_id: record.run_id.clone(),
            outcome,
            failed_step,
            error: why,
            duration: started.elapsed(),
            trigger: record.trigger.clone(),
        };
        let hook = run_hook::<F>(&end).await;
        Ok(RunHandle {
            client: Client::from_run_store(store),
            record,
            end_state,
            error,
            duration: started.elapsed(),
            tasks,
            cloned,
            end,
            hook,
        })
    }
}

/// The hook method the flow names for this outcome, if any.
pub(crate) fn hook_for<F: Flow>(outcome: RunOutcome) -> Option<&'static str> {
    let hooks = &F::graph().hooks;
    match outcome {
        RunOutcome::Succeeded => hooks.on_success.as_deref(),
        RunOutcome::Failed | RunOutcome::TimedOut => hooks.on_failure.as_deref(),
    }
}

/// Runs the flow's hook for how the run ended, on a blocking thread (a hook is a plain
/// function and may block): `None` when the flow has no hook for it.
pub(crate) async fn run_hook<F: Flow>(end: &RunEnd) -> Option<HookResult> {
    let name = hook_for::<F>(end.outcome)?;
    let summary = end.clone();
    let result = tokio::task::spawn_blocking(move || F::call_hook(name, &summary))
        .await
        .unwrap_or_else(|e| {
            Err(StepError::new(
                flow_core::StepErrorKind::Panic,
                format!("the hook's thread ended: {e}"),
            ))
        });
    if let Err(e) = &result {
        tracing::error!("hook `{name}` of run {} failed: {e}", end.run_id);
    }
    Some(HookResult {
        name: name.to_string(),
        result,
    })
}

/// What a hook method did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookResult {
    /// The hook method's name.
    pub name: String,
    /// Whether it returned `Ok` (a panic is an error of kind `panic`).
    pub result: Result<(), StepError>,
}

/// The first step, in topological order, with a failed task in `run`.
async fn first_failed_step<F: Flow>(
    store: &RunStore,
    run: &RunId,
) -> Result<Option<usize>, DatastoreError> {
    let graph = F::graph();
    for &step in &F::analysis().topological_order {
        let tasks = store.tasks(run, &graph.steps[step].name).await?;
        if tasks.iter().any(|t| t.status == TaskStatus::Failed) {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

/// A finished local run.
pub struct RunHandle<F: Flow> {
    client: Client<F>,
    record: RunRecord,
    end_state: Option<F>,
    error: Option<RunError>,
    duration: Duration,
    tasks: usize,
    cloned: usize,
    end: RunEnd,
    hook: Option<HookResult>,
}

impl<F: Flow> RunHandle<F> {
    /// How the run ended, as its hook received it.
    pub fn end(&self) -> &RunEnd {
        &self.end
    }

    /// The hook that ran when the run ended, and what it returned; `None` when the flow has
    /// no hook for how the run ended.
    pub fn hook(&self) -> Option<&HookResult> {
        self.hook.as_ref()
    }

    /// True when the run ran past its flow's `timeout` and was cancelled.
    pub fn timed_out(&self) -> bool {
        self.record.status == RunStatus::TimedOut
    }

    /// The run id.
    pub fn id(&self) -> &RunId {
        &self.record.run_id
    }

    /// Succeeded, failed or timed out.
    pub fn status(&self) -> RunStatus {
        self.record.status
    }

    /// True when every task succeeded (or was caught).
    pub fn succeeded(&self) -> bool {
        self.record.status == RunStatus::Succeeded
    }

    /// Why the run failed.
    pub fn error(&self) -> Option<&RunError> {
        self.error.as_ref()
    }

    /// The run record.
    pub fn record(&self) -> &RunRecord {
        &self.record
    }

    /// Wall-clock duration.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// Tasks finished, and how many of them were cloned by a resume.
    pub fn task_counts(&self) -> (usize, usize) {
        (self.tasks, self.cloned)
    }

    /// The state `end` left (from memory when this process ran it).
    pub async fn end_state(&self) -> Result<F, DatastoreError> {
        match &self.end_state {
            Some(state) => Ok(state.clone()),
            None => self.stored().await?.end_state().await,
        }
    }

    /// The run as stored: steps, tasks, artifacts.
    pub async fn stored(&self) -> Result<Run<F>, DatastoreError> {
        self.client.run(&self.record.run_id).await
    }

    /// A task of the run, as stored.
    pub async fn task(&self, step: &str, index: &[usize]) -> Result<Task<F>, DatastoreError> {
        self.stored().await?.task(step, index).await
    }
}
