//! Deploying and operating a flow on Step Functions from Rust: what the `step-functions`
//! commands do, as an API ([`Deployment`]); the commands are a thin layer over it.

use crate::aws::operate::{RunDescription, RunSummary, StartedRun, JUST_STARTED, LOOKUP};
use crate::aws::{self, bucket::require_bucket, deploy::Schedule, AwsClients, S3Store};
use crate::compile::{self, compile};
use crate::config::{ConfigError, S3Root, SfnArgs, DATASTORE};
use crate::execution_input;
use crate::resume::{self, ResumePlan};
use anyhow::{bail, Context};
/// A run's status on Step Functions (`RUNNING`, `SUCCEEDED`, `FAILED`, ...).
pub use aws_sdk_sfn::types::ExecutionStatus;
use clap::{Args, Command, FromArgMatches};
use flow_core::client::Client;
use flow_core::datastore::RunStore;
use flow_core::graph::{Analysis, FlowGraph};
use flow_core::{Flow, RunId};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// The largest params JSON that fits the `start` task's container overrides when the
/// deployment settings are not at hand to compute it exactly (the compiler's report gives
/// about 7,800 bytes for typical settings).
const DEFAULT_MAX_PARAMS_JSON_BYTES: usize = 7_000;

/// Flow `F` on Step Functions with a set of deployment settings: deploys it
/// ([`create`](Self::create)), starts and follows its runs ([`trigger`](Self::trigger),
/// [`DeployedRun`]), lists them and removes it ([`delete`](Self::delete)), as the
/// `step-functions` commands do with the same settings.
///
/// ```no_run
/// # async fn demo<F: flow_core::Flow>(params: F::Params) -> anyhow::Result<()> {
/// use flow_sfn::Deployment;
///
/// // The settings of the `step-functions` commands: FLOW_SFN_* variables (or a
/// // `FLOW_SFN_STACK`) and the standard AWS configuration.
/// let deployment = Deployment::<F>::from_env()?;
/// let deployed = deployment.create().await?;
/// println!("deployed {}", deployed.deployed.state_machine_arn);
/// let run = deployment.trigger(params).await?;
/// let status = run.wait().await?;
/// println!("run {} {}", run.id(), status.summary.status);
/// let end: F = run.client().await?.run(run.id()).await?.end_state().await?;
/// # let _ = end;
/// deployment.delete().await?;
/// # Ok(()) }
/// ```
pub struct Deployment<F> {
    /// The settings, as the commands' flags and variables give them.
    args: SfnArgs,
    /// True when `args` already hold the stack's outputs and the namespace (the commands').
    settled: bool,
    flow: PhantomData<fn() -> F>,
}

impl<F> Clone for Deployment<F> {
    fn clone(&self) -> Self {
        Deployment {
            args: self.args.clone(),
            settled: self.settled,
            flow: PhantomData,
        }
    }
}

/// Builds a [`Deployment`] from settings given in code, starting from the commands'
/// defaults (the `--cpu`, `--memory` and `--max-foreach-concurrency` defaults; nothing read
/// from the environment):
///
/// ```no_run
/// # fn demo<F: flow_core::Flow>() {
/// let deployment = flow_sfn::Deployment::<F>::builder()
///     .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/flows:latest")
///     .job_queue("flows")
///     .role_arn("arn:aws:iam::123456789012:role/flows-state-machine")
///     .datastore("s3://my-bucket/flows")
///     .region("us-east-1")
///     .build();
/// # let _ = deployment; }
/// ```
///
/// Any other setting: [`settings`](Self::settings) gives the [`SfnArgs`] to change.
pub struct DeploymentBuilder<F> {
    args: SfnArgs,
    flow: PhantomData<fn() -> F>,
}

impl<F> DeploymentBuilder<F> {
    /// The commands' defaults, with no setting given.
    fn new() -> Self {
        DeploymentBuilder {
            args: SfnArgs::default(),
            flow: PhantomData,
        }
    }

    /// The container image of the Batch jobs (`--image`).
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.args.image = Some(image.into());
        self
    }

    /// The Batch job queue (`--job-queue`).
    pub fn job_queue(mut self, queue: impl Into<String>) -> Self {
        self.args.job_queue = Some(queue.into());
        self
    }

    /// The IAM role the state machine runs as (`--role-arn`).
    pub fn role_arn(mut self, arn: impl Into<String>) -> Self {
        self.args.role_arn = Some(arn.into());
        self
    }

    /// The S3 datastore root, `s3://bucket[/prefix]` (`--datastore`).
    pub fn datastore(mut self, root: impl Into<String>) -> Self {
        self.args.datastore = Some(root.into());
        self
    }

    /// The AWS region (`--region`; default: the standard AWS configuration's).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.args.region = Some(region.into());
        self
    }

    /// The state machine's name (`--state-machine`; default: the flow's).
    pub fn state_machine(mut self, name: impl Into<String>) -> Self {
        self.args.state_machine = Some(name.into());
        self
    }

    /// The flow binary's file name inside the image (`--binary-name`; default: this
    /// executable's).
    pub fn binary_name(mut self, name: impl Into<String>) -> Self {
        self.args.binary_name = Some(name.into());
        self
    }

    /// The `step-functions infra` stack whose outputs give every setting not given here
    /// (`--stack`).
    pub fn stack(mut self, stack: impl Into<String>) -> Self {
        self.args.stack = Some(stack.into());
        self
    }

    /// Deploys (or operates) the test branch `name` of the flow's project (`--branch`).
    pub fn branch(mut self, name: impl Into<String>) -> Self {
        self.args.project_branch.branch = Some(name.into());
        self
    }

    /// Deploys (or operates) the production branch of the flow's project (`--production`).
    pub fn production(mut self) -> Self {
        self.args.project_branch.production = true;
        self
    }

    /// Every setting, to change one this builder has no method for.
    pub fn settings(&mut self) -> &mut SfnArgs {
        &mut self.args
    }

    /// The deployment.
    pub fn build(self) -> Deployment<F> {
        Deployment {
            args: self.args,
            settled: false,
            flow: PhantomData,
        }
    }
}

/// What [`Deployment::create`] deployed.
#[derive(Debug, Clone)]
pub struct Created {
    /// The compiled deployment: state machine name, definition, job definitions, report.
    pub compiled: compile::Deployment,
    /// The AWS resources: state machine ARN, version, alias, job definitions, rules.
    pub deployed: aws::deploy::Deployed,
}

impl<F: Flow> Deployment<F> {
    /// A deployment with these settings (the `step-functions` flags), taken as they are;
    /// `SfnArgs { image: .., ..SfnArgs::default() }` starts from the commands' defaults
    /// (those of `--cpu`, `--memory` and `--max-foreach-concurrency`), as
    /// [`builder`](Self::builder) does.
    pub fn new(settings: SfnArgs) -> Self {
        Deployment {
            args: settings,
            settled: false,
            flow: PhantomData,
        }
    }

    /// A builder of a deployment from settings given in code.
    pub fn builder() -> DeploymentBuilder<F> {
        DeploymentBuilder::new()
    }

    /// A deployment with the settings a command resolved: the stack's outputs filled in
    /// and, for every command but `create`, in the project's namespace.
    pub(crate) fn settled(args: SfnArgs) -> Self {
        Deployment {
            args,
            settled: true,
            flow: PhantomData,
        }
    }

    /// A deployment with the settings the `step-functions` commands read from the
    /// environment (`FLOW_SFN_*`, or the outputs of the `FLOW_SFN_STACK` stack); a setting
    /// `create` needs that is missing is an error naming its flag and variable.
    pub fn from_env() -> anyhow::Result<Self> {
        let matches = SfnArgs::augment_args(Command::new("step-functions"))
            .no_binary_name(true)
            .try_get_matches_from(std::iter::empty::<String>())
            .context("invalid FLOW_SFN_* setting")?;
        let args = SfnArgs::from_arg_matches(&matches)?;
        if args.stack.as_deref().is_none_or(str::is_empty) {
            args.resolve_flow(F::graph())?.require_role_arn()?;
        }
        Ok(Self::new(args))
    }

    /// The settings.
    pub fn settings(&self) -> &SfnArgs {
        &self.args
    }

    /// The settings with the stack's outputs filled in, in the project's namespace: for
    /// `create` (`deploying`) as given, for the other operations those of the namespace's
    /// state machine and datastore folder.
    async fn resolved(&self, deploying: bool) -> anyhow::Result<SfnArgs> {
        if self.settled {
            return Ok(self.args.clone());
        }
        let args = crate::cli::with_stack(self.args.clone()).await?;
        match deploying {
            true => Ok(args),
            false => Ok(args.for_deployment(F::graph())?),
        }
    }

    /// Compiles the flow and deploys it, as `step-functions create`: its Batch job
    /// definitions, the state machine (a new version, on the live alias), its schedule and
    /// trigger rules.
    pub async fn create(&self) -> anyhow::Result<Created> {
        let args = self.resolved(true).await?;
        let graph = F::graph();
        let config = args.resolve_flow(graph)?;
        let role = config.require_role_arn()?.to_string();
        // EventBridge cannot assume the state machine's role (trusted by states.amazonaws.com
        // only): a scheduled flow needs the schedule's own role before anything is deployed.
        // A project's branches other than production get no schedule and no trigger rules
        // unless --enable-triggers (`config::branch`); deploying removes any they had.
        let schedule = match graph
            .schedule
            .as_deref()
            .filter(|_| config.triggers_enabled)
        {
            Some(expression) => Some(Schedule {
                expression,
                role_arn: config.require_schedule_role_arn()?,
            }),
            None => None,
        };
        // The schedule rule's owner tag is one more on top of these.
        let tags = config.resource_tags(graph, 1)?;
        let mut compiled = compile_flow(graph, F::analysis(), &config)?;
        if !config.triggers_enabled {
            compiled.graph.trigger_on_finish.clear();
            compiled.graph.event_triggers.clear();
        }
        let clients = aws::load(config.region.as_deref()).await?;
        require_bucket(&clients, &config.datastore).await?;
        let deployed = aws::deploy::create(&clients, &compiled, &role, schedule, &tags).await?;
        Ok(Created { compiled, deployed })
    }

    /// Connects to AWS and finds the deployed state machine; an error saying to run
    /// `create` when there is none.
    pub(crate) async fn find(&self) -> anyhow::Result<Deployed<F>> {
        self.find_with(self.resolved(false).await?).await
    }

    /// [`Deployment::find`] with settings already resolved.
    async fn find_with(&self, args: SfnArgs) -> anyhow::Result<Deployed<F>> {
        let clients = aws::load(args.region.as_deref()).await?;
        let name = state_machine_name(&args, &F::graph().name);
        let arn = match aws::deploy::require_state_machine(&clients, &name).await {
            Ok(arn) => arn,
            // Called from Rust rather than by a command: say how to deploy from Rust too.
            Err(e @ aws::AwsError::NotDeployed { .. }) if !self.settled => {
                bail!("{e} (from Rust: `Deployment::create`)")
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Deployed {
            args,
            clients,
            name,
            arn,
            flow: PhantomData,
        })
    }

    /// Starts a run with these params and a fresh run id, as `step-functions trigger`.
    pub async fn trigger(&self, params: F::Params) -> anyhow::Result<DeployedRun<F>> {
        self.trigger_with(params, None, Default::default()).await
    }

    /// Starts a run with these params, named `run_id` (or a fresh id) and tagged `tags`
    /// (stored with the system tags; they need the datastore).
    pub async fn trigger_with(
        &self,
        params: F::Params,
        run_id: Option<RunId>,
        tags: flow_core::tags::Tags,
    ) -> anyhow::Result<DeployedRun<F>> {
        let graph = F::graph();
        // The settings with the stack's outputs and the namespace (no AWS call without a stack).
        let args = self.resolved(false).await?;
        let params = serde_json::to_value(&params)?;
        let limit = params_limit(&args, graph, F::analysis());
        let mut input = execution_input::<F::Params>(&params, None, limit)?;
        // An empty FLOW_SFN_DATASTORE gives none.
        if !tags.is_empty() && args.datastore.as_deref().is_none_or(str::is_empty) {
            bail!(
                "--tag needs the datastore, where the run's tags are stored with it: set \
                 --datastore / FLOW_SFN_DATASTORE (or --stack)"
            );
        }
        let tags = flow_core::tags::run_tags(&tags);
        input["tags"] = serde_json::to_value(&tags)?;
        let run_id = run_id.unwrap_or_else(RunId::generate);
        let flow = self.find_with(args).await?;
        if let Some(store) = flow.run_store()? {
            let mut record = store.new_run_record(run_id.clone(), params, "step-functions");
            record.graph = Some(serde_json::to_value(graph)?);
            record.tags = tags;
            // The run's `start` task keeps the record it finds (as a resumed run's), so the
            // run's `run.json` and `ctx.tags()` hold the tags.
            store
                .claim_run(record, flow_core::datastore::RunIdTaken::KeepExisting)
                .await?;
        }
        let started = aws::operate::start_run(&flow.clients, &flow.arn, &run_id, &input).await?;
        Ok(DeployedRun {
            flow,
            run_id,
            started: Some(started),
        })
    }

    /// Starts a new run that clones every task of run `origin` that finished and runs the
    /// rest (from `step` on, if given, even where they finished), as `step-functions
    /// resume`: reads `origin` from the datastore (Step Functions forgets executions 90 days
    /// after they end, the datastore does not); refused while `origin` is still running.
    pub async fn resume(
        &self,
        origin: RunId,
        step: Option<&str>,
        run_id: Option<RunId>,
    ) -> anyhow::Result<Resumed<F>> {
        let graph = F::graph();
        // The settings with the stack's outputs and the namespace's datastore folder.
        let args = self.resolved(false).await?;
        if args.datastore.as_deref().is_none_or(str::is_empty) {
            return Err(ConfigError::Missing(DATASTORE).into());
        }
        let flow = self.find_with(args).await?;
        let store = flow.run_store()?.ok_or(ConfigError::Missing(DATASTORE))?;
        let record = store.run(&origin).await?;
        if let Some(execution) =
            aws::operate::run_exists(&flow.clients, &flow.arn, origin.as_str(), LOOKUP).await?
        {
            if execution.status == ExecutionStatus::Running {
                bail!(
                    "run `{origin}` is still running: wait for it to finish, or stop it with \
                     `step-functions terminate {origin}`, before resuming it"
                );
            }
        }
        let plan = ResumePlan::new::<F>(record, step)?;
        // The new run re-runs `start` only if it failed; it needs the same params then.
        let limit = params_limit(&flow.args, graph, F::analysis());
        let input = execution_input::<F::Params>(&plan.origin.params, Some(&origin), limit)?;
        let run_id = run_id.unwrap_or_else(RunId::generate);
        let prepared = resume::prepare::<F>(&store, &plan, run_id.clone()).await?;
        let started = aws::operate::start_run(&flow.clients, &flow.arn, &run_id, &input).await?;
        Ok(Resumed {
            run: DeployedRun {
                flow,
                run_id,
                started: Some(started),
            },
            cloned: prepared.cloned,
            resume_step: plan.resume_step,
        })
    }

    /// A run of the deployed flow by its id (not checked until asked about).
    pub async fn run(&self, run_id: RunId) -> anyhow::Result<DeployedRun<F>> {
        Ok(DeployedRun {
            flow: self.find().await?,
            run_id,
            started: None,
        })
    }

    /// The deployed flow's runs, newest first, optionally only those with `status`.
    pub async fn list_runs(
        &self,
        status: Option<ExecutionStatus>,
    ) -> anyhow::Result<Vec<RunSummary>> {
        let flow = self.find().await?;
        Ok(aws::operate::list_runs(&flow.clients, &flow.arn, status).await?)
    }

    /// Removes the deployed flow, as `step-functions delete`: the state machine, its
    /// schedule and trigger rules and its job definitions.
    pub async fn delete(&self) -> anyhow::Result<aws::deploy::Deleted> {
        let args = self.resolved(false).await?;
        let clients = aws::load(args.region.as_deref()).await?;
        let state_machine = state_machine_name(&args, &F::graph().name);
        Ok(aws::deploy::delete(&clients, &state_machine).await?)
    }
}

/// What [`Deployment::resume`] started.
pub struct Resumed<F> {
    /// The new run.
    pub run: DeployedRun<F>,
    /// How many finished tasks of the origin it cloned.
    pub cloned: usize,
    /// The step from which every step runs again, if one was given.
    pub resume_step: Option<String>,
}

/// The state machine name the settings give (default: the flow's name).
fn state_machine_name(args: &SfnArgs, flow: &str) -> String {
    args.state_machine
        .clone()
        .unwrap_or_else(|| flow.to_string())
}

/// Compiles a flow for these settings, naming the flow when it cannot.
pub(crate) fn compile_flow(
    graph: &FlowGraph,
    analysis: &Analysis,
    config: &crate::config::DeployConfig,
) -> anyhow::Result<compile::Deployment> {
    compile(graph, analysis, config)
        .with_context(|| format!("cannot compile flow `{}` for Step Functions", graph.name))
}

/// The params JSON limit for these settings, exactly when `create` settings are present.
fn params_limit(args: &SfnArgs, graph: &FlowGraph, analysis: &Analysis) -> usize {
    args.resolve(&graph.name)
        .ok()
        .and_then(|config| compile(graph, analysis, &config).ok())
        .map_or(DEFAULT_MAX_PARAMS_JSON_BYTES, |d| {
            d.report.max_params_json_bytes
        })
}

/// The deployed state machine of a flow, found in AWS.
pub(crate) struct Deployed<F> {
    /// The settings, in the deployment's namespace.
    pub(crate) args: SfnArgs,
    /// The AWS clients, for the settings' region.
    pub(crate) clients: AwsClients,
    /// The state machine's name.
    pub(crate) name: String,
    /// The state machine's ARN.
    pub(crate) arn: String,
    flow: PhantomData<fn() -> F>,
}

impl<F: Flow> Deployed<F> {
    /// The flow's runs in the S3 datastore, if the settings name one.
    pub(crate) fn run_store(&self) -> anyhow::Result<Option<RunStore>> {
        let Some(root) = self.args.datastore.as_deref().filter(|d| !d.is_empty()) else {
            return Ok(None);
        };
        let root = S3Root::parse(root)?;
        Ok(Some(RunStore::new(
            Arc::new(S3Store::new(&self.clients, root)),
            &F::graph().name,
        )))
    }
}

/// A run of a deployed flow: its id, and its execution on Step Functions.
pub struct DeployedRun<F> {
    flow: Deployed<F>,
    run_id: RunId,
    started: Option<StartedRun>,
}

impl<F: Flow> DeployedRun<F> {
    /// The run's id (its execution's name).
    pub fn id(&self) -> &RunId {
        &self.run_id
    }

    /// The state machine's name.
    pub fn state_machine(&self) -> &str {
        &self.flow.name
    }

    /// How the run started, when this value started it: its execution's ARN, and whether it
    /// started on the live alias (false: on the latest definition of a state machine
    /// deployed before aliases were).
    pub fn started(&self) -> Option<&StartedRun> {
        self.started.as_ref()
    }

    /// The run's status, error and cause, as DescribeExecution gives them.
    pub async fn status(&self) -> anyhow::Result<RunDescription> {
        let patience = match self.started {
            // This process started the run: DescribeExecution may not know it yet.
            Some(_) => JUST_STARTED,
            None => LOOKUP,
        };
        Ok(aws::operate::describe_run(
            &self.flow.clients,
            &self.flow.arn,
            self.run_id.as_str(),
            patience,
        )
        .await?)
    }

    /// Polls the run until it stops (a run pending a redrive has stopped only for now) and
    /// returns how it ended; a run this process just started that DescribeExecution does
    /// not know yet is asked about again.
    pub async fn wait(&self) -> anyhow::Result<RunDescription> {
        let mut delay = Duration::from_millis(200);
        loop {
            let description = aws::operate::describe_run(
                &self.flow.clients,
                &self.flow.arn,
                self.run_id.as_str(),
                JUST_STARTED,
            )
            .await?;
            if !matches!(
                description.summary.status,
                ExecutionStatus::Running | ExecutionStatus::PendingRedrive
            ) {
                return Ok(description);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Stops the run, which must be running.
    pub async fn terminate(&self) -> anyhow::Result<()> {
        let summary = aws::operate::describe_run(
            &self.flow.clients,
            &self.flow.arn,
            self.run_id.as_str(),
            LOOKUP,
        )
        .await?
        .summary;
        if summary.status != ExecutionStatus::Running {
            bail!(
                "run `{}` is not running (it is {}): nothing to stop",
                self.run_id,
                summary.status
            );
        }
        aws::operate::terminate(&self.flow.clients, &summary.execution_arn).await?;
        Ok(())
    }

    /// The flow's runs in the S3 datastore, to read this run's artifacts
    /// (`client.run(run.id()).await?.end_state()`); an error when the settings name no
    /// datastore.
    pub async fn client(&self) -> anyhow::Result<Client<F>> {
        match self.flow.run_store()? {
            Some(store) => Ok(Client::from_run_store(store)),
            None => bail!(
                "reading a run's artifacts needs the datastore: set --datastore / \
                 FLOW_SFN_DATASTORE (or --stack)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>(_: &T) {}

    /// A program can spawn the operations on a multi-threaded runtime: their futures are
    /// `Send`; compiling this is the test.
    #[allow(dead_code)]
    fn operations_are_send<F: Flow>(
        deployment: &Deployment<F>,
        run: &DeployedRun<F>,
        params: F::Params,
    ) {
        is_send(&deployment.create());
        is_send(&deployment.trigger(params));
        is_send(&deployment.list_runs(None));
        is_send(&deployment.delete());
        is_send(&run.wait());
        is_send(&run.status());
        is_send(&run.terminate());
        is_send(&run.client());
    }

    #[test]
    fn the_builder_starts_from_the_commands_defaults_and_sets_what_it_is_given() {
        let mut builder = DeploymentBuilder::<()>::new()
            .image("img:1")
            .job_queue("q")
            .role_arn("arn:aws:iam::123456789012:role/r")
            .datastore("s3://b/p")
            .region("eu-west-1")
            .state_machine("Named")
            .binary_name("bin")
            .stack("st");
        builder.settings().enable_triggers = true;
        let args = builder.build().args;
        // What clap gives with no flag (and none of these variables set).
        let defaults = SfnArgs::from_arg_matches(
            &SfnArgs::augment_args(Command::new("t"))
                .no_binary_name(true)
                .try_get_matches_from(std::iter::empty::<String>())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (args.cpu, args.memory_mb, args.max_foreach_concurrency),
            (
                defaults.cpu,
                defaults.memory_mb,
                defaults.max_foreach_concurrency
            )
        );
        assert_eq!(args.image.as_deref(), Some("img:1"));
        assert_eq!(args.job_queue.as_deref(), Some("q"));
        assert_eq!(
            args.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/r")
        );
        assert_eq!(args.datastore.as_deref(), Some("s3://b/p"));
        assert_eq!(args.region.as_deref(), Some("eu-west-1"));
        assert_eq!(state_machine_name(&args, "Flow"), "Named");
        assert_eq!(args.binary_name.as_deref(), Some("bin"));
        assert_eq!(args.stack.as_deref(), Some("st"));
        assert!(args.enable_triggers);
        let branch = DeploymentBuilder::<()>::new().branch("b1").build().args;
        assert_eq!(branch.project_branch.branch.as_deref(), Some("b1"));
        assert!(!branch.project_branch.production);
        assert!(
            DeploymentBuilder::<()>::new()
                .production()
                .build()
                .args
                .project_branch
                .production
        );
        assert_eq!(state_machine_name(&SfnArgs::default(), "Flow"), "Flow");
    }
}
