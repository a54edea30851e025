//! Deployment settings: where the Batch jobs run and where the datastore is.
//!
//! Every setting is a flag with an environment-variable fallback ([`SfnArgs`]), resolved
//! and validated once into a [`DeployConfig`] that the compiler reads. A missing required
//! setting is an error naming both the flag and the variable, so the user can pick either.
//!
//! Longer than most modules because it is one cohesive thing: every deployment setting with its flag, variable, default and validation, so the settings table in the docs maps onto one file.

pub mod branch;
pub mod stack;

pub use branch::ProjectBranch;

use crate::compile::names::is_valid_state_machine_name;
use crate::infra::fargate::FargateJobSettings;
use crate::infra::Compute;
use flow_graph::FlowGraph;
use std::collections::BTreeMap;
use std::fmt;

/// Default vCPUs of a step's Batch job when the step sets no `resources(cpu = ..)`.
pub const DEFAULT_CPU: u32 = 1;
/// Default memory (MiB) of a step's Batch job when the step sets no `resources(memory = ..)`.
pub const DEFAULT_MEMORY_MB: u64 = 4096;
/// Default cap on concurrently running child executions of one foreach. Each running child
/// submits one Batch job per task, so it submits `concurrency / task seconds` jobs per
/// second: 500 children of tasks that take 10 s or more (a Batch job rarely starts and ends
/// faster) stay within the 50 `SubmitJob` per second Batch allows an account; the bursts
/// (all children starting at once) are absorbed by the Task's jittered throttle retries.
pub const DEFAULT_MAX_FOREACH_CONCURRENCY: u32 = 500;
/// Step Functions runs at most this many child executions of a Distributed Map at once.
pub const MAX_DISTRIBUTED_MAP_CONCURRENCY: u32 = 10_000;

/// The `step-functions` flags, each with an environment-variable fallback.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct SfnArgs {
    /// CloudFormation stack made from `step-functions infra`: its outputs give every setting
    /// not passed as a flag or variable (queue, roles, datastore, compute, and the image
    /// `<RepositoryUri>:latest`).
    #[arg(long, env = "FLOW_SFN_STACK", value_name = "STACK")]
    pub stack: Option<String>,
    /// Container image of the Batch jobs; the flow's binary must be on its PATH
    /// [default with --stack: the stack's RepositoryUri with the tag latest].
    #[arg(long, env = "FLOW_SFN_IMAGE", value_name = "IMAGE")]
    pub image: Option<String>,
    /// AWS Batch job queue (name or ARN) the steps are submitted to.
    #[arg(long, env = "FLOW_SFN_JOB_QUEUE", value_name = "QUEUE")]
    pub job_queue: Option<String>,
    /// IAM role ARN the state machine runs as (needed to deploy, not to print JSON).
    #[arg(long, env = "FLOW_SFN_ROLE_ARN", value_name = "ARN")]
    pub role_arn: Option<String>,
    /// IAM role ARN the Batch jobs run as (optional).
    #[arg(long, env = "FLOW_SFN_JOB_ROLE_ARN", value_name = "ARN")]
    pub job_role_arn: Option<String>,
    /// IAM role ARN the EventBridge schedule starts runs as (trusted by
    /// events.amazonaws.com); needed to deploy a flow with a `schedule`.
    #[arg(long, env = "FLOW_SFN_SCHEDULE_ROLE", value_name = "ARN")]
    pub schedule_role: Option<String>,
    /// Kind of Batch compute the job queue runs on: Fargate kinds get Fargate job
    /// definitions [default: the stack's, else ec2].
    #[arg(long, env = "FLOW_SFN_COMPUTE", value_enum, value_name = "KIND")]
    pub compute: Option<Compute>,
    /// IAM role ARN Fargate uses to pull the image and write the logs (Fargate only).
    #[arg(long, env = "FLOW_SFN_EXECUTION_ROLE", value_name = "ARN")]
    pub execution_role: Option<String>,
    /// CloudWatch Logs group of the Fargate jobs [default: the stack's LogGroup, else
    /// Batch's /aws/batch/job].
    #[arg(long, env = "FLOW_SFN_LOG_GROUP", value_name = "NAME")]
    pub log_group: Option<String>,
    /// Give Fargate jobs a public IP (a public subnet without a NAT gateway needs one to
    /// pull the image).
    #[arg(long, env = "FLOW_SFN_ASSIGN_PUBLIC_IP")]
    pub assign_public_ip: bool,
    /// Datastore root the steps read and write: s3://bucket[/prefix].
    #[arg(long, env = "FLOW_SFN_DATASTORE", value_name = "S3_URI")]
    pub datastore: Option<String>,
    /// State machine name [default: the flow's name].
    #[arg(long, env = "FLOW_SFN_STATE_MACHINE", value_name = "NAME")]
    pub state_machine: Option<String>,
    /// AWS region [default: $AWS_REGION].
    #[arg(long, env = "FLOW_SFN_REGION", value_name = "REGION")]
    pub region: Option<String>,
    /// File name of the flow's binary inside the image [default: this executable's name].
    #[arg(long, env = "FLOW_SFN_BINARY_NAME", value_name = "NAME")]
    pub binary_name: Option<String>,
    /// vCPUs of steps that set no `resources(cpu = ..)`.
    #[arg(long, env = "FLOW_SFN_CPU", default_value_t = DEFAULT_CPU, value_name = "VCPUS")]
    pub cpu: u32,
    /// Memory (MiB) of steps that set no `resources(memory = ..)`.
    #[arg(long = "memory", env = "FLOW_SFN_MEMORY_MB", default_value_t = DEFAULT_MEMORY_MB, value_name = "MIB")]
    pub memory_mb: u64,
    /// Most child executions of one foreach running at once (1 to 10000).
    #[arg(
        long,
        env = "FLOW_SFN_MAX_FOREACH_CONCURRENCY",
        default_value_t = DEFAULT_MAX_FOREACH_CONCURRENCY,
        value_name = "N"
    )]
    pub max_foreach_concurrency: u32,
    /// A tag for the state machine, its job definitions and its schedule rule, on top of the
    /// flow's own `tags` (repeatable).
    #[arg(
        long = "aws-tag",
        env = "FLOW_SFN_AWS_TAGS",
        value_name = "KEY=VALUE",
        value_delimiter = ','
    )]
    pub aws_tags: Vec<String>,
    /// `--branch` / `--production`: which branch of the flow's project.
    #[command(flatten)]
    pub project_branch: ProjectBranch,
    /// Put the flow's schedule and trigger rules on a branch other than production (by
    /// default only production's are active).
    #[arg(long)]
    pub enable_triggers: bool,
}

impl Default for SfnArgs {
    /// What the flags give when none is passed and no variable is set: every setting unset,
    /// and the `--cpu`, `--memory` and `--max-foreach-concurrency` defaults
    /// ([`DEFAULT_CPU`], [`DEFAULT_MEMORY_MB`], [`DEFAULT_MAX_FOREACH_CONCURRENCY`]).
    fn default() -> Self {
        SfnArgs {
            stack: None,
            image: None,
            job_queue: None,
            role_arn: None,
            job_role_arn: None,
            schedule_role: None,
            compute: None,
            execution_role: None,
            log_group: None,
            assign_public_ip: false,
            datastore: None,
            state_machine: None,
            region: None,
            binary_name: None,
            cpu: DEFAULT_CPU,
            memory_mb: DEFAULT_MEMORY_MB,
            max_foreach_concurrency: DEFAULT_MAX_FOREACH_CONCURRENCY,
            aws_tags: Vec::new(),
            project_branch: ProjectBranch::default(),
            enable_triggers: false,
        }
    }
}

/// A required setting, as the user can give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// What the setting is, for messages.
    pub what: &'static str,
    /// The command-line flag.
    pub flag: &'static str,
    /// The environment variable.
    pub env: &'static str,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: pass `{}` or set `{}`",
            self.what, self.flag, self.env
        )
    }
}

/// The container image setting.
pub const IMAGE: Setting = Setting {
    what: "the container image of the Batch jobs",
    flag: "--image",
    env: "FLOW_SFN_IMAGE",
};
/// The job queue setting.
pub const JOB_QUEUE: Setting = Setting {
    what: "the AWS Batch job queue",
    flag: "--job-queue",
    env: "FLOW_SFN_JOB_QUEUE",
};
/// The datastore root setting.
pub const DATASTORE: Setting = Setting {
    what: "the datastore root (s3://bucket[/prefix])",
    flag: "--datastore",
    env: "FLOW_SFN_DATASTORE",
};
/// The state machine role setting.
pub const ROLE_ARN: Setting = Setting {
    what: "the IAM role ARN of the state machine",
    flag: "--role-arn",
    env: "FLOW_SFN_ROLE_ARN",
};
/// The schedule role setting.
pub const SCHEDULE_ROLE: Setting = Setting {
    what: "the IAM role ARN of the flow's EventBridge schedule (trusted by \
           events.amazonaws.com; a stack made by `step-functions infra` for a scheduled flow \
           has it as its ScheduleRoleArn output)",
    flag: "--schedule-role",
    env: "FLOW_SFN_SCHEDULE_ROLE",
};
/// The Fargate execution role setting.
pub const EXECUTION_ROLE: Setting = Setting {
    what: "the Fargate execution role ARN (a stack made by `step-functions infra --compute \
           fargate` has it as its ExecutionRoleArn output)",
    flag: "--execution-role",
    env: "FLOW_SFN_EXECUTION_ROLE",
};
/// The region setting.
pub const REGION: Setting = Setting {
    what: "the AWS region",
    flag: "--region",
    env: "FLOW_SFN_REGION (or AWS_REGION)",
};

/// Why the deployment settings were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required setting was given neither as a flag nor in the environment.
    #[error("missing {0}")]
    Missing(Setting),
    /// A setting was given but is not valid.
    #[error("invalid {setting} `{value}` ({flag}): {why}")]
    Invalid {
        /// What the setting is.
        setting: &'static str,
        /// The flag (and variable) it came from.
        flag: &'static str,
        /// The rejected value.
        value: String,
        /// What a valid one looks like.
        why: String,
    },
    /// `--branch` / `--production` do not fit the flow (see `config::branch`).
    #[error("{0}")]
    Namespace(String),
}

fn invalid(
    setting: &'static str,
    flag: &'static str,
    value: &str,
    why: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        setting,
        flag,
        value: value.to_string(),
        why: why.into(),
    }
}

/// Tags per AWS resource: Step Functions, Batch and EventBridge all allow 50.
pub const MAX_TAGS: usize = 50;
/// The longest tag key AWS accepts.
pub const MAX_TAG_KEY_LEN: usize = 128;
/// The longest tag value AWS accepts.
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// A tag of the deployed resources, valid for every AWS service it goes to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AwsTag {
    /// The key: 1 to 128 characters, not starting with `aws:`.
    pub key: String,
    /// The value: up to 256 characters, possibly empty.
    pub value: String,
}

impl AwsTag {
    /// Parses `KEY=VALUE`, as `--aws-tag` takes it.
    pub fn parse(text: &str) -> Result<AwsTag, ConfigError> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(invalid(
                "AWS tag",
                "--aws-tag / FLOW_SFN_AWS_TAGS",
                text,
                "write KEY=VALUE",
            ));
        };
        AwsTag::new(key, value, "--aws-tag / FLOW_SFN_AWS_TAGS", text)
    }

    /// A flow tag (`#[flow(tags = [...])]`) as an AWS tag: `KEY=VALUE`, or a bare name as a
    /// key with an empty value.
    pub fn from_flow_tag(tag: &str) -> Result<AwsTag, ConfigError> {
        let (key, value) = tag.split_once('=').unwrap_or((tag, ""));
        AwsTag::new(key, value, "#[flow(tags = [...])]", tag)
    }

    /// A tag, checked against the rules every AWS service here applies (the AWS docs'
    /// "Tagging AWS resources"): letters, digits, spaces and `_ . : / = + - @`.
    pub fn new(
        key: &str,
        value: &str,
        flag: &'static str,
        text: &str,
    ) -> Result<AwsTag, ConfigError> {
        let bad = |why: String| invalid("AWS tag", flag, text, why);
        let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
        if key.is_empty() || key.chars().count() > MAX_TAG_KEY_LEN {
            return Err(bad(format!(
                "a tag key has 1 to {MAX_TAG_KEY_LEN} characters"
            )));
        }
        if value.chars().count() > MAX_TAG_VALUE_LEN {
            return Err(bad(format!(
                "a tag value has at most {MAX_TAG_VALUE_LEN} characters"
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(bad(
                "tag keys starting with `aws:` are reserved for AWS".into()
            ));
        }
        if let Some(c) = key.chars().chain(value.chars()).find(|&c| !allowed(c)) {
            return Err(bad(format!(
                "`{c}` is not allowed in a tag: use letters, digits, spaces and _ . : / = + - @"
            )));
        }
        Ok(AwsTag {
            key: key.to_string(),
            value: value.to_string(),
        })
    }
}

/// A datastore root in S3: `s3://bucket[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Root {
    bucket: String,
    prefix: String,
}

impl S3Root {
    /// Parses and validates `s3://bucket[/prefix]` (a trailing `/` is ignored).
    pub fn parse(uri: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| {
            invalid(
                "datastore root",
                "--datastore / FLOW_SFN_DATASTORE",
                uri,
                why,
            )
        };
        let rest = uri.strip_prefix("s3://").ok_or_else(|| {
            bad("the datastore of a Step Functions deployment is in S3: write s3://bucket[/prefix]")
        })?;
        let rest = rest.trim_end_matches('/');
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
            && bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
            && !bucket.contains("..");
        if !bucket_ok {
            return Err(bad(
                "a bucket name has 3 to 63 characters: lowercase letters, digits, '.' and '-', \
                 starting and ending with a letter or digit",
            ));
        }
        // The prefix ends up inside Step Functions intrinsic strings and S3 keys: keep it to
        // S3's "safe" characters so no escaping or URL-encoding question ever arises.
        let prefix_ok = prefix.is_empty()
            || prefix.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!-_.*()".contains(&b))
            });
        if !prefix_ok {
            return Err(bad(
                "the prefix is '/'-separated segments of letters, digits and !-_.*(), \
                 without empty, `.` or `..` segments",
            ));
        }
        Ok(S3Root {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix, without leading or trailing `/` (empty for the bucket's root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The S3 key of a datastore key under this root.
    pub fn key(&self, datastore_key: &str) -> String {
        if self.prefix.is_empty() {
            datastore_key.to_string()
        } else {
            format!("{}/{datastore_key}", self.prefix)
        }
    }
}

impl fmt::Display for S3Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Validated deployment settings: what the compiler and the deploy commands need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployConfig {
    /// The state machine's name (also the prefix of its job definitions).
    pub state_machine_name: String,
    /// Where the steps read and write runs.
    pub datastore: S3Root,
    /// Default container image of the Batch jobs.
    pub image: String,
    /// Default Batch job queue.
    pub job_queue: String,
    /// Default IAM role of the Batch jobs.
    pub job_role_arn: Option<String>,
    /// IAM role of the state machine (required to deploy, not to compile).
    pub state_machine_role_arn: Option<String>,
    /// AWS region (required to deploy, not to compile).
    pub region: Option<String>,
    /// File name of the flow's binary inside the image.
    pub binary_name: String,
    /// vCPUs of steps without `resources(cpu = ..)`.
    pub default_cpu: u32,
    /// Memory (MiB) of steps without `resources(memory = ..)`.
    pub default_memory_mb: u64,
    /// Most child executions of one foreach running at once.
    pub max_foreach_concurrency: u32,
    /// `--aws-tag` tags of the deployed resources (the flow's own tags are added by
    /// [`DeployConfig::resource_tags`]).
    pub aws_tags: Vec<AwsTag>,
    /// The kind of compute the job queue runs on.
    pub compute: Compute,
    /// How Fargate jobs are set up: `Some` exactly when `compute` is a Fargate kind.
    pub fargate: Option<FargateJobSettings>,
    /// IAM role of the EventBridge schedule (required to deploy a scheduled flow).
    pub schedule_role_arn: Option<String>,
    /// IAM role Batch reads a step's `secrets` with on EC2 compute (`--execution-role`;
    /// Fargate jobs use their execution role in `fargate`).
    pub execution_role_arn: Option<String>,
    /// The project branch deployed (`--branch`, `--production`, else the user's), for a
    /// flow with a project: it prefixes the state machine's name, and `datastore` is its
    /// folder. Set by [`SfnArgs::resolve_flow`].
    pub namespace: Option<flow_graph::namespace::Namespace>,
    /// Whether the flow's schedule and trigger rules are deployed: always without a
    /// project, only for production or with `--enable-triggers` with one.
    pub triggers_enabled: bool,
}

/// The tag naming the flow a deployed resource belongs to.
pub const FLOW_TAG: &str = "flowrs:flow";

impl DeployConfig {
    /// Settings with the given required values and defaults for the rest.
    pub fn new(
        state_machine_name: impl Into<String>,
        datastore: S3Root,
        image: impl Into<String>,
        job_queue: impl Into<String>,
        binary_name: impl Into<String>,
    ) -> Self {
        DeployConfig {
            state_machine_name: state_machine_name.into(),
            datastore,
            image: image.into(),
            job_queue: job_queue.into(),
            job_role_arn: None,
            state_machine_role_arn: None,
            region: None,
            binary_name: binary_name.into(),
            default_cpu: DEFAULT_CPU,
            default_memory_mb: DEFAULT_MEMORY_MB,
            max_foreach_concurrency: DEFAULT_MAX_FOREACH_CONCURRENCY,
            aws_tags: Vec::new(),
            compute: Compute::Ec2,
            fargate: None,
            schedule_role_arn: None,
            execution_role_arn: None,
            namespace: None,
            triggers_enabled: true,
        }
    }

    /// The tags of every resource deployed for `graph`: the flow's `tags`, `flowrs:flow`,
    /// then `--aws-tag` (which wins for a key given twice); `reserved` is how many more tags
    /// a resource gets at deploy time (the schedule rule's owner), counted against the limit.
    pub fn resource_tags(
        &self,
        graph: &FlowGraph,
        reserved: usize,
    ) -> Result<Vec<AwsTag>, ConfigError> {
        let mut tags: BTreeMap<String, String> = BTreeMap::new();
        for tag in &graph.tags {
            let tag = AwsTag::from_flow_tag(tag)?;
            tags.insert(tag.key, tag.value);
        }
        tags.insert(FLOW_TAG.to_string(), graph.name.clone());
        for tag in &self.aws_tags {
            tags.insert(tag.key.clone(), tag.value.clone());
        }
        if tags.len() + reserved > MAX_TAGS {
            return Err(invalid(
                "AWS tags",
                "--aws-tag / #[flow(tags = [...])]",
                &tags.keys().cloned().collect::<Vec<_>>().join(", "),
                format!(
                    "AWS allows {MAX_TAGS} tags per resource, and {reserved} are taken by flowrs"
                ),
            ));
        }
        Ok(tags
            .into_iter()
            .map(|(key, value)| AwsTag { key, value })
            .collect())
    }

    /// The state machine role, or an error naming its flag and variable.
    pub fn require_role_arn(&self) -> Result<&str, ConfigError> {
        self.state_machine_role_arn
            .as_deref()
            .ok_or(ConfigError::Missing(ROLE_ARN))
    }

    /// The schedule's role, or an error naming its flag, variable and stack output.
    pub fn require_schedule_role_arn(&self) -> Result<&str, ConfigError> {
        self.schedule_role_arn
            .as_deref()
            .ok_or(ConfigError::Missing(SCHEDULE_ROLE))
    }

    /// The region, or an error naming its flag and variables.
    pub fn require_region(&self) -> Result<&str, ConfigError> {
        self.region.as_deref().ok_or(ConfigError::Missing(REGION))
    }
}

impl SfnArgs {
    /// Validates the settings for the flow named `flow_name`. `AWS_REGION` is read here as
    /// the region's last fallback.
    pub fn resolve(&self, flow_name: &str) -> Result<DeployConfig, ConfigError> {
        let required = |value: &Option<String>, setting: Setting| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or(ConfigError::Missing(setting))
        };
        let image = required(&self.image, IMAGE)?;
        let job_queue = required(&self.job_queue, JOB_QUEUE)?;
        let datastore = S3Root::parse(&required(&self.datastore, DATASTORE)?)?;
        for (value, setting) in [(&image, IMAGE), (&job_queue, JOB_QUEUE)] {
            if value.chars().any(char::is_whitespace) {
                return Err(invalid(
                    setting.what,
                    setting.flag,
                    value,
                    "it cannot contain whitespace",
                ));
            }
        }
        let state_machine_name = self
            .state_machine
            .clone()
            .unwrap_or_else(|| flow_name.to_string());
        if !is_valid_state_machine_name(&state_machine_name) {
            return Err(invalid(
                "state machine name",
                "--state-machine / FLOW_SFN_STATE_MACHINE",
                &state_machine_name,
                "use 1 to 80 characters from A-Z, a-z, 0-9, '-', '_' and '.'",
            ));
        }
        // An empty variable (`FLOW_SFN_SCHEDULE_ROLE=`) gives no role.
        let nonempty = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        let schedule_role = nonempty(&self.schedule_role);
        let execution_role = nonempty(&self.execution_role);
        for (value, flag) in [
            (&self.role_arn, "--role-arn / FLOW_SFN_ROLE_ARN"),
            (&self.job_role_arn, "--job-role-arn / FLOW_SFN_JOB_ROLE_ARN"),
            (&schedule_role, "--schedule-role / FLOW_SFN_SCHEDULE_ROLE"),
            (
                &execution_role,
                "--execution-role / FLOW_SFN_EXECUTION_ROLE",
            ),
        ] {
            if let Some(arn) = value {
                check_role_arn(arn, flag)?;
            }
        }
        let binary_name = match &self.binary_name {
            Some(name) => name.clone(),
            None => current_binary_name()?,
        };
        if binary_name.is_empty()
            || !binary_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(invalid(
                "binary name",
                "--binary-name / FLOW_SFN_BINARY_NAME",
                &binary_name,
                "a file name on the image's PATH, of letters, digits, '.', '_' and '-'",
            ));
        }
        if self.cpu == 0 {
            return Err(invalid(
                "default vCPUs",
                "--cpu / FLOW_SFN_CPU",
                "0",
                "at least 1",
            ));
        }
        if self.memory_mb < 4 {
            return Err(invalid(
                "default memory",
                "--memory / FLOW_SFN_MEMORY_MB",
                &self.memory_mb.to_string(),
                "AWS Batch needs at least 4 MiB",
            ));
        }
        if !(1..=MAX_DISTRIBUTED_MAP_CONCURRENCY).contains(&self.max_foreach_concurrency) {
            return Err(invalid(
                "foreach concurrency",
                "--max-foreach-concurrency / FLOW_SFN_MAX_FOREACH_CONCURRENCY",
                &self.max_foreach_concurrency.to_string(),
                "a Distributed Map runs 1 to 10000 child executions at once",
            ));
        }
        let aws_tags = self
            .aws_tags
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| AwsTag::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let region = self
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .filter(|r| !r.is_empty());
        let compute = self.compute.unwrap_or_default();
        let fargate = if compute.is_fargate() {
            let execution_role_arn = execution_role
                .clone()
                .ok_or(ConfigError::Missing(EXECUTION_ROLE))?;
            let log_group = self.log_group.clone().filter(|g| !g.is_empty());
            if let Some(group) = &log_group {
                check_log_group(group)?;
            }
            Some(FargateJobSettings {
                execution_role_arn,
                assign_public_ip: self.assign_public_ip,
                platform_version: None,
                log_group,
            })
        } else {
            None
        };
        Ok(DeployConfig {
            execution_role_arn: execution_role.clone(),
            compute,
            fargate,
            schedule_role_arn: schedule_role,
            state_machine_name,
            datastore,
            image,
            job_queue,
            job_role_arn: self.job_role_arn.clone(),
            state_machine_role_arn: self.role_arn.clone(),
            region,
            binary_name,
            default_cpu: self.cpu,
            default_memory_mb: self.memory_mb,
            max_foreach_concurrency: self.max_foreach_concurrency,
            aws_tags,
            namespace: None,
            triggers_enabled: true,
        })
    }
}

fn check_role_arn(arn: &str, flag: &'static str) -> Result<(), ConfigError> {
    let ok = arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":role/");
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "IAM role ARN",
            flag,
            arn,
            "write arn:aws:iam::<account>:role/<name>",
        ))
    }
}

/// CloudWatch Logs group names: 1 to 512 characters of `[.\-_/#A-Za-z0-9]` (CloudWatch
/// Logs API reference, "CreateLogGroup").
fn check_log_group(group: &str) -> Result<(), ConfigError> {
    let ok = (1..=512).contains(&group.len())
        && group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "log group",
            "--log-group / FLOW_SFN_LOG_GROUP",
            group,
            "1 to 512 characters of letters, digits and . _ - / #",
        ))
    }
}

fn current_binary_name() -> Result<String, ConfigError> {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .ok_or_else(|| {
            invalid(
                "binary name",
                "--binary-name / FLOW_SFN_BINARY_NAME",
                "",
                "this executable's name is unknown: pass it explicitly",
            )
        })
}

#[cfg(test)]
mod tests;
