//! The IAM policies of a flow's principals, as data.
//!
//! [`PERMISSIONS`] is the one list of every AWS call a principal makes: its actions, the
//! resources they are allowed on, the condition, when a flow needs it and why. The
//! CloudFormation template, the deployer's policy, the documentation's table and the
//! tests all derive from it, so a permission is added or narrowed in one place.
//!
//! Resource patterns name the flow's own resources through placeholders (`${Bucket}`,
//! `${StateMachine}`, ...), in CloudFormation's `Fn::Sub` syntax. [`Bindings`] gives them
//! values: references to the template's resources ([`Bindings::template`]), or the ARNs and
//! names of an account's existing resources ([`Bindings::account`]).
//!
//! Longer than most modules because it is one cohesive thing: the permissions table and the policy documents derived from it; the table is kept whole so every principal's grants are reviewed in one place.

use super::compute::Compute;
// A pure function: the name `create` gives the schedule rule, so the policy names that rule.
use crate::aws::schedule::rule_name;
use crate::aws::triggers::rule_prefix;
use flow_graph::{FlowGraph, Transition};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Who makes the calls a permission allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    /// The state machine's role: submits the Batch jobs, reads decisions, runs foreaches.
    StateMachine,
    /// The Batch jobs' role: reads and writes the flow's datastore folder.
    Job,
    /// The EventBridge schedule's role: starts scheduled runs.
    Schedule,
    /// The Fargate execution role: pulls the image and writes the logs of Fargate jobs.
    Execution,
    /// Whoever runs `step-functions create`, `trigger`, `status`, `list-runs`, `resume`,
    /// `terminate` and `delete`.
    Deployer,
}

impl Principal {
    /// Every principal, in the order the documentation lists them.
    pub const ALL: [Principal; 5] = [
        Principal::StateMachine,
        Principal::Job,
        Principal::Schedule,
        Principal::Execution,
        Principal::Deployer,
    ];

    /// The principal's name in the documentation and messages.
    pub fn name(self) -> &'static str {
        match self {
            Principal::StateMachine => "state machine role",
            Principal::Job => "job role",
            Principal::Schedule => "schedule role",
            Principal::Execution => "execution role",
            Principal::Deployer => "deployer",
        }
    }

    /// The AWS service that assumes the role (`None` for the deployer, a user or CI role).
    pub fn trusted_service(self) -> Option<&'static str> {
        match self {
            Principal::StateMachine => Some("states.amazonaws.com"),
            Principal::Job | Principal::Execution => Some("ecs-tasks.amazonaws.com"),
            Principal::Schedule => Some("events.amazonaws.com"),
            Principal::Deployer => None,
        }
    }
}

/// When a flow needs a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// Every flow.
    Always,
    /// Flows with a foreach (a Distributed Map).
    Foreach,
    /// Flows that EventBridge starts: a `schedule` or triggers.
    Scheduled,
    /// Flows whose jobs run on Fargate.
    Fargate,
    /// When the datastore is encrypted with a KMS key of the user's.
    Kms,
    /// Flows with a step that reads secrets (`#[step(secrets(..))]`).
    Secrets,
    /// Flows whose jobs have an execution role: on Fargate, or with secrets.
    ExecutionRole,
}

impl Needed {
    /// For the documentation's table.
    pub fn describe(self) -> &'static str {
        match self {
            Needed::Always => "always",
            Needed::Foreach => "a foreach",
            Needed::Scheduled => "a schedule or triggers",
            Needed::Fargate => "Fargate",
            Needed::Kms => "a KMS key",
            Needed::Secrets => "secrets",
            Needed::ExecutionRole => "Fargate or secrets",
        }
    }
}

/// An IAM condition: `{operator: {key: values}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition {
    /// The condition operator, e.g. `StringEquals`.
    pub operator: &'static str,
    /// The condition key, e.g. `iam:PassedToService`.
    pub key: &'static str,
    /// The values, which may hold placeholders.
    pub values: &'static [&'static str],
}

/// The resource of a permission whose action AWS cannot restrict to a resource.
pub const ANY_RESOURCE: &str = "*";

/// One AWS call (or a few that go together) a principal makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// Who makes the calls.
    pub principal: Principal,
    /// The statement id (letters and digits).
    pub sid: &'static str,
    /// The IAM actions.
    pub actions: &'static [&'static str],
    /// Resource patterns, or [`ANY_RESOURCE`] alone where AWS has no resource-level
    /// permission for the actions.
    pub resources: &'static [&'static str],
    /// A condition narrowing the permission.
    pub condition: Option<Condition>,
    /// When a flow needs it.
    pub needed: Needed,
    /// Which calls need it and, for [`ANY_RESOURCE`], why nothing narrower works.
    pub why: &'static str,
}

impl Permission {
    /// Whether the permission is on every resource (AWS offers nothing narrower).
    pub fn is_on_any_resource(&self) -> bool {
        self.resources == [ANY_RESOURCE]
    }
}

const STATE_MACHINE_ARN: &str =
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${StateMachine}";
// Versions and aliases of the state machine: `stateMachine:<name>:<version or alias>`.
const STATE_MACHINE_QUALIFIED_ARN: &str =
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${StateMachine}:*";
const RUN_EXECUTIONS_ARN: &str =
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${StateMachine}:*";
// Distributed Map child executions are named `execution:<name>/<map run label>:<id>`.
const CHILD_EXECUTIONS_ARN: &str =
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${StateMachine}/*";
// IAM authorizes DescribeExecution against standard or express executions: these patterns
// name the state machine's own express executions, of which a flow (STANDARD) has none.
const RUN_EXPRESS_ARN: &str =
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:express:${StateMachine}:*";
const CHILD_EXPRESS_ARN: &str =
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:express:${StateMachine}/*";
const MAP_RUNS_ARN: &str =
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:mapRun:${StateMachine}/*";
// Batch authorizes SubmitJob against the new job too; job ids exist only at run time.
const JOBS_ARN: &str = "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job/*";
const JOB_DEFINITIONS_ARN: &str =
    "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job-definition/${StateMachine}-*";
// The stack's id (after its name) is a UUID CloudFormation makes at creation.
const STACK_ARN: &str =
    "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${Stack}/*";
const BUCKET_ARN: &str = "arn:${AWS::Partition}:s3:::${Bucket}";
const FLOW_OBJECTS_ARN: &str = "arn:${AWS::Partition}:s3:::${Bucket}/${FlowPrefix}/*";
const MAP_RESULTS_ARN: &str = "arn:${AWS::Partition}:s3:::${Bucket}/${MapResultsPrefix}/*";
const SCHEDULE_RULE_ARN: &str =
    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${ScheduleRule}";
// The trigger rules' names all start with `${TriggerRules}` (`aws::triggers::rule_prefix`:
// `<state machine>-on-`, or for a long name its start, a hash and `-on-`).
const TRIGGER_RULES_ARN: &str =
    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${TriggerRules}*";
// An absent key must answer 404 (the store reads it as "not written yet"), which S3 only
// does for a caller allowed s3:ListBucket; that check carries no prefix, hence IfExists.
const FLOW_PREFIX_CONDITION: Condition = Condition {
    operator: "StringLikeIfExists",
    key: "s3:prefix",
    values: &["${FlowPrefix}/*"],
};

const fn passed_to(service: &'static [&'static str]) -> Option<Condition> {
    Some(Condition {
        operator: "StringEquals",
        key: "iam:PassedToService",
        values: service,
    })
}

/// Every permission of every principal.
pub const PERMISSIONS: &[Permission] = &[
    // ---------------------------------------------------------------- state machine role
    Permission {
        principal: Principal::StateMachine,
        sid: "SubmitFlowJobs",
        actions: &["batch:SubmitJob"],
        resources: &[JOB_DEFINITIONS_ARN, "${JobQueues}", JOBS_ARN],
        condition: None,
        needed: Needed::Always,
        why: "each step is a `batch:submitJob.sync` task on the flow's job definitions and \
              queues; Batch also authorizes the new job, whose id exists only once submitted",
    },
    Permission {
        principal: Principal::StateMachine,
        sid: "WatchFlowJobs",
        actions: &["batch:DescribeJobs"],
        resources: &[ANY_RESOURCE],
        condition: None,
        needed: Needed::Always,
        why: "`.sync` polls the job it submitted; DescribeJobs has no resource-level permission",
    },
    Permission {
        principal: Principal::StateMachine,
        sid: "StopFlowJobs",
        actions: &["batch:TerminateJob"],
        resources: &[JOBS_ARN],
        condition: None,
        needed: Needed::Always,
        why: "a stopped run terminates its running jobs; job ids exist only at run time",
    },
    Permission {
        principal: Principal::StateMachine,
        sid: "BatchJobEvents",
        actions: &["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources: &["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForBatchJobsRule"],
        condition: None,
        needed: Needed::Always,
        why: "the managed rule through which `.sync` learns that a Batch job ended",
    },
    Permission {
        principal: Principal::StateMachine,
        sid: "ReadFlowObjects",
        actions: &["s3:GetObject"],
        resources: &[FLOW_OBJECTS_ARN],
        condition: None,
        needed: Needed::Always,
        why: "switch decisions (`aws-sdk:s3:getObject`), foreach item lists (Distributed Map \
              ItemReader) and the task records a resumed run checks (`headObject`)",
    },
    Permission {
        principal: Principal::StateMachine,
        sid: "ListFlowObjects",
        actions: &["s3:ListBucket"],
        resources: &[BUCKET_ARN],
        condition: Some(FLOW_PREFIX_CONDITION),
        needed: Needed::Always,
        why: "a `headObject`/`getObject` of an absent key answers 404, not 403, only with \
              ListBucket; listings stay in the flow's folder",
    },
    Permission {
        principal: Principal::StateMachine,
        sid: "WriteMapResults",
        actions: &[
            "s3:PutObject",
            "s3:GetObject",
            "s3:ListMultipartUploadParts",
            "s3:AbortMultipartUpload",
        ],
        resources: &[MAP_RESULTS_ARN],
        condition: None,
        needed: Needed::Foreach,
        why: "the Distributed Map ResultWriter writes the map run's results under \
              `<flow>/sfn-map-results/`",
    },
    Permission {
        principal: Principal::StateMachine,
        sid: "StartChildExecutions",
        actions: &["states:StartExecution"],
        resources: &[STATE_MACHINE_ARN, STATE_MACHINE_QUALIFIED_ARN],
        condition: None,
        needed: Needed::Foreach,
        why: "each foreach item is a child execution of this state machine (or of the version \
              or alias the run started from)",
    },
    Permission {
        principal: Principal::StateMachine,
        sid: "WatchChildExecutions",
        actions: &["states:DescribeExecution", "states:StopExecution"],
        resources: &[CHILD_EXECUTIONS_ARN, CHILD_EXPRESS_ARN],
        condition: None,
        needed: Needed::Foreach,
        why: "the Distributed Map follows its child executions and stops them when it fails \
              (IAM also names DescribeExecution's express form: none exist, the flow is STANDARD)",
    },
    Permission {
        principal: Principal::StateMachine,
        sid: "DatastoreKey",
        actions: &["kms:Decrypt", "kms:GenerateDataKey"],
        resources: &["${KmsKey}"],
        condition: None,
        needed: Needed::Kms,
        why: "reading and writing objects of a datastore encrypted with the key",
    },
    // ------------------------------------------------------------------------ job role
    Permission {
        principal: Principal::Job,
        sid: "ReadWriteFlowObjects",
        actions: &["s3:GetObject", "s3:PutObject"],
        resources: &[FLOW_OBJECTS_ARN],
        condition: None,
        needed: Needed::Always,
        why: "a task reads its inputs and writes its artifacts, logs and record under `<flow>/`",
    },
    Permission {
        principal: Principal::Job,
        sid: "ListFlowObjects",
        actions: &["s3:ListBucket"],
        resources: &[BUCKET_ARN],
        condition: Some(FLOW_PREFIX_CONDITION),
        needed: Needed::Always,
        why: "a task lists the tasks of a run, and an absent record must read as 404",
    },
    Permission {
        principal: Principal::Job,
        sid: "DatastoreKey",
        actions: &["kms:Decrypt", "kms:GenerateDataKey"],
        resources: &["${KmsKey}"],
        condition: None,
        needed: Needed::Kms,
        why: "reading and writing objects of a datastore encrypted with the key",
    },
    // ------------------------------------------------------------------- schedule role
    Permission {
        principal: Principal::Schedule,
        sid: "StartScheduledRuns",
        actions: &["states:StartExecution"],
        resources: &[STATE_MACHINE_ARN, STATE_MACHINE_QUALIFIED_ARN],
        condition: None,
        needed: Needed::Scheduled,
        why: "the EventBridge rule of the flow's `schedule`, and those of its triggers \
              (`trigger_on_finish`, `trigger(...)`), start a run of this state machine (or of its \
              alias)",
    },
    // ------------------------------------------------------------------ execution role
    Permission {
        principal: Principal::Execution,
        sid: "RegistryToken",
        actions: &["ecr:GetAuthorizationToken"],
        resources: &[ANY_RESOURCE],
        condition: None,
        needed: Needed::Fargate,
        why: "Fargate logs in to ECR before pulling; GetAuthorizationToken has no resource-level \
              permission",
    },
    Permission {
        principal: Principal::Execution,
        sid: "PullFlowImage",
        actions: &[
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        ],
        resources: &["arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Repository}"],
        condition: None,
        needed: Needed::Fargate,
        why: "Fargate pulls the flow's image from its repository",
    },
    Permission {
        principal: Principal::Execution,
        sid: "WriteJobLogs",
        actions: &["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: &["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${LogGroup}:*"],
        condition: None,
        needed: Needed::Fargate,
        why: "the `awslogs` driver writes the job's output to the flow's log group",
    },
    // ------------------------------------------------------------------------ deployer
    Permission {
        principal: Principal::Execution,
        sid: "ReadStepSecrets",
        actions: &["secretsmanager:GetSecretValue"],
        // IAM matches the secret's full ARN, which ends in `-` and six random characters
        // that a step's ARN may leave out, as GetSecretValue allows ("Secret ARNs": the
        // Secrets Manager user guide's permissions-policy examples use `name-??????`).
        resources: &["${Secrets}", "${Secrets}-??????"],
        condition: None,
        needed: Needed::Secrets,
        why: "Batch resolves the job definitions' `secrets` (the ARNs of the steps' \
              `secrets(..)`, whole or without the random suffix Secrets Manager adds) into \
              the jobs' environment as the execution role",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "ReadStackOutputs",
        actions: &["cloudformation:DescribeStacks"],
        resources: &[STACK_ARN],
        condition: None,
        needed: Needed::Always,
        why: "`--stack` reads the settings from the outputs of the flow's stack (left out of a \
              printed policy when no stack is given)",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "FindStateMachine",
        actions: &["states:ListStateMachines"],
        resources: &[ANY_RESOURCE],
        condition: None,
        needed: Needed::Always,
        why: "every command finds the flow's state machine by name; ListStateMachines has no \
              resource-level permission",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "DeployStateMachine",
        actions: &[
            "states:CreateStateMachine",
            "states:UpdateStateMachine",
            "states:DeleteStateMachine",
            "states:PublishStateMachineVersion",
            "states:ListStateMachineVersions",
            "states:DeleteStateMachineVersion",
            "states:CreateStateMachineAlias",
            "states:UpdateStateMachineAlias",
            "states:DescribeStateMachineAlias",
            "states:TagResource",
            "states:ListTagsForResource",
        ],
        resources: &[STATE_MACHINE_ARN, STATE_MACHINE_QUALIFIED_ARN],
        condition: None,
        needed: Needed::Always,
        why: "`create` creates or updates the state machine, publishes a version, points the \
              alias at it, prunes old versions and tags them; `delete` deletes it",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "StartRuns",
        actions: &["states:StartExecution"],
        resources: &[STATE_MACHINE_ARN, STATE_MACHINE_QUALIFIED_ARN],
        condition: None,
        needed: Needed::Always,
        why: "`trigger` and `resume` start runs",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "ListRuns",
        actions: &["states:ListExecutions"],
        resources: &[STATE_MACHINE_ARN, STATE_MACHINE_QUALIFIED_ARN, MAP_RUNS_ARN],
        condition: None,
        needed: Needed::Always,
        why: "`list-runs` lists the state machine's runs (and IAM names the listing of a \
              foreach's map run too)",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "OperateRuns",
        actions: &[
            "states:DescribeExecution",
            "states:GetExecutionHistory",
            "states:StopExecution",
        ],
        resources: &[RUN_EXECUTIONS_ARN, RUN_EXPRESS_ARN],
        condition: None,
        needed: Needed::Always,
        why: "`status` and `resume` read a run and its history; `terminate` stops it (IAM also \
              names DescribeExecution's express form: none exist, the flow is STANDARD)",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "FindJobDefinitions",
        actions: &["batch:DescribeJobDefinitions"],
        resources: &[ANY_RESOURCE],
        condition: None,
        needed: Needed::Always,
        why: "`create` reuses registered job definitions, `delete` finds them; \
              DescribeJobDefinitions has no resource-level permission",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "RegisterJobDefinitions",
        actions: &[
            "batch:RegisterJobDefinition",
            "batch:DeregisterJobDefinition",
            "batch:TagResource",
        ],
        resources: &[JOB_DEFINITIONS_ARN],
        condition: None,
        needed: Needed::Always,
        why: "`create` registers and tags the flow's job definitions, `delete` deregisters them",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "ManageScheduleRule",
        actions: &[
            "events:PutRule",
            "events:DeleteRule",
            "events:DescribeRule",
            "events:PutTargets",
            "events:ListTargetsByRule",
            "events:RemoveTargets",
            "events:TagResource",
            "events:ListTagsForResource",
        ],
        resources: &[SCHEDULE_RULE_ARN],
        condition: None,
        needed: Needed::Always,
        why: "`create` puts the rule of the flow's `schedule`, tagged as the deployment's (a \
              rule of that name without the tag is left alone), and removes a dropped one; \
              `delete` removes it",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "ManageTriggerRules",
        actions: &[
            "events:PutRule",
            "events:DeleteRule",
            "events:DescribeRule",
            "events:PutTargets",
            "events:ListTargetsByRule",
            "events:RemoveTargets",
            "events:TagResource",
            "events:ListTagsForResource",
        ],
        resources: &[TRIGGER_RULES_ARN],
        condition: None,
        needed: Needed::Always,
        why: "`create` puts one rule per trigger, tagged as the deployment's, and removes the \
              deployment's rules of dropped triggers; `delete` removes them",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "FindTriggerRules",
        actions: &["events:ListRules"],
        resources: &[ANY_RESOURCE],
        condition: None,
        needed: Needed::Always,
        why: "`create` and `delete` find the deployment's trigger rules by name prefix \
              (ListRules has no resource-level permission)",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "PassStateMachineRole",
        actions: &["iam:PassRole"],
        resources: &["${StateMachineRole}"],
        condition: passed_to(&["states.amazonaws.com"]),
        needed: Needed::Always,
        why: "`create` gives the state machine its role",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "PassJobRoles",
        actions: &["iam:PassRole"],
        resources: &["${JobRoles}"],
        condition: passed_to(&["batch.amazonaws.com"]),
        needed: Needed::Always,
        why: "`create` registers job definitions that run as the job role (and the roles steps \
              name with `batch(job_role)`)",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "PassScheduleRole",
        actions: &["iam:PassRole"],
        resources: &["${ScheduleRole}"],
        condition: passed_to(&["events.amazonaws.com"]),
        needed: Needed::Scheduled,
        why: "`create` gives the schedule rule's target its role",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "PassExecutionRole",
        actions: &["iam:PassRole"],
        resources: &["${ExecutionRole}"],
        condition: passed_to(&["batch.amazonaws.com"]),
        needed: Needed::ExecutionRole,
        why: "`create` registers job definitions with the execution role (Fargate jobs, and \
              jobs whose secrets Batch resolves)",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "ListFlowObjects",
        actions: &["s3:ListBucket"],
        resources: &[BUCKET_ARN],
        condition: Some(FLOW_PREFIX_CONDITION),
        needed: Needed::Always,
        why: "`create` checks that the bucket exists (`HeadBucket`); `status` and `resume` list \
              a run's tasks",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "ReadWriteFlowObjects",
        actions: &["s3:GetObject", "s3:PutObject"],
        resources: &[FLOW_OBJECTS_ARN],
        condition: None,
        needed: Needed::Always,
        why: "`status` and `list-runs` read run and task records; `trigger` writes the new run's \
              record with its tags; `resume` claims the new run and clones the origin's \
              finished tasks",
    },
    Permission {
        principal: Principal::Deployer,
        sid: "DatastoreKey",
        actions: &["kms:Decrypt", "kms:GenerateDataKey"],
        resources: &["${KmsKey}"],
        condition: None,
        needed: Needed::Kms,
        why: "reading and writing objects of a datastore encrypted with the key",
    },
];

/// The permissions of one principal, in table order.
pub fn permissions_of(principal: Principal) -> impl Iterator<Item = &'static Permission> {
    PERMISSIONS.iter().filter(move |p| p.principal == principal)
}

/// What the policies of one flow depend on: its graph's shape and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyScope {
    /// The flow's name: its folder in the datastore.
    pub flow: String,
    /// The state machine's name: the prefix of its job definitions and schedule rule.
    pub state_machine: String,
    /// The datastore root's key prefix (empty for the bucket's root).
    pub datastore_prefix: String,
    /// Whether the flow has a foreach (a Distributed Map).
    pub has_foreach: bool,
    /// Whether EventBridge starts the flow's runs: a `schedule`, or triggers.
    pub scheduled: bool,
    /// Where the jobs run.
    pub compute: Compute,
    /// The KMS key the datastore is encrypted with, if it is a key of the user's.
    pub kms_key_arn: Option<String>,
    /// Queues steps name with `batch(queue = ..)`, besides the flow's own.
    pub step_queues: Vec<String>,
    /// Job roles steps name with `batch(job_role = ..)`, besides the flow's own.
    pub step_job_roles: Vec<String>,
    /// The ARNs of the secrets steps read (`secrets(..)`), each once.
    pub secrets: Vec<String>,
}

impl PolicyScope {
    /// The scope of `graph` deployed as `state_machine` on `compute`, its datastore under
    /// `datastore_prefix`.
    pub fn new(
        graph: &FlowGraph,
        state_machine: &str,
        datastore_prefix: &str,
        compute: Compute,
        kms_key_arn: Option<&str>,
    ) -> Self {
        let mut step_queues: Vec<String> = graph
            .steps
            .iter()
            .filter_map(|s| s.options.batch.queue.clone())
            .collect();
        step_queues.sort();
        step_queues.dedup();
        let mut step_job_roles: Vec<String> = graph
            .steps
            .iter()
            .filter_map(|s| s.options.batch.job_role.clone())
            .collect();
        step_job_roles.sort();
        step_job_roles.dedup();
        let mut secrets: Vec<String> = graph
            .steps
            .iter()
            .flat_map(|s| s.options.secrets.values().cloned())
            .collect();
        secrets.sort();
        secrets.dedup();
        PolicyScope {
            flow: graph.name.clone(),
            state_machine: state_machine.to_string(),
            datastore_prefix: datastore_prefix.trim_matches('/').to_string(),
            has_foreach: graph
                .steps
                .iter()
                .any(|s| matches!(s.transition, Transition::Foreach { .. })),
            // Triggers start runs the way the schedule does: EventBridge, as its role.
            scheduled: graph.schedule.is_some()
                || !graph.trigger_on_finish.is_empty()
                || !graph.event_triggers.is_empty(),
            compute,
            kms_key_arn: kms_key_arn.map(str::to_string),
            step_queues,
            step_job_roles,
            secrets,
        }
    }

    /// Whether the flow needs permissions marked `needed`.
    pub fn needs(&self, needed: Needed) -> bool {
        match needed {
            Needed::Always => true,
            Needed::Foreach => self.has_foreach,
            Needed::Scheduled => self.scheduled,
            Needed::Fargate => self.compute.is_fargate(),
            Needed::Kms => self.kms_key_arn.is_some(),
            Needed::Secrets => !self.secrets.is_empty(),
            Needed::ExecutionRole => self.has(Principal::Execution),
        }
    }

    /// Whether the flow has this principal at all (a schedule role only with a schedule,
    /// an execution role only on Fargate or with secrets, which Batch resolves as it).
    pub fn has(&self, principal: Principal) -> bool {
        match principal {
            Principal::Schedule => self.scheduled,
            Principal::Execution => self.compute.is_fargate() || !self.secrets.is_empty(),
            _ => true,
        }
    }

    /// The key prefix of the flow's objects: `<prefix>/<flow>`.
    pub fn flow_prefix(&self) -> String {
        if self.datastore_prefix.is_empty() {
            self.flow.clone()
        } else {
            format!("{}/{}", self.datastore_prefix, self.flow)
        }
    }

    /// The key prefix of the Distributed Map results (see `compile::asl::MAP_RESULTS_FOLDER`).
    pub fn map_results_prefix(&self) -> String {
        format!(
            "{}/{}",
            self.flow_prefix(),
            crate::compile::asl::MAP_RESULTS_FOLDER
        )
    }
}

/// An account's existing resources, for policies outside the generated template (for
/// `create --print-policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountResources {
    /// `aws`, or `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// The region.
    pub region: String,
    /// The account id; `None` writes `*` in its place (the names still pin the resources).
    pub account_id: Option<String>,
    /// The datastore's bucket.
    pub bucket: String,
    /// The flow's job queue, by name or ARN.
    pub job_queue: String,
    /// The state machine's role.
    pub state_machine_role_arn: String,
    /// The jobs' role, if they have one.
    pub job_role_arn: Option<String>,
    /// The schedule's role, if the flow has a schedule.
    pub schedule_role_arn: Option<String>,
    /// The Fargate execution role, on Fargate.
    pub execution_role_arn: Option<String>,
    /// The image's ECR repository name, on Fargate.
    pub repository: Option<String>,
    /// The jobs' log group, on Fargate.
    pub log_group: Option<String>,
}

/// Why a policy could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A resource pattern names a placeholder nothing binds.
    #[error(
        "permission `{sid}` of the {principal} names `${{{placeholder}}}`, which has no value"
    )]
    Unbound {
        /// The permission's statement id.
        sid: &'static str,
        /// The principal's name.
        principal: &'static str,
        /// The placeholder.
        placeholder: String,
    },
}

/// The values of the placeholders in resource patterns and condition values. A
/// placeholder bound to several values expands a pattern into one resource per value; one
/// bound to none drops the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bindings {
    values: BTreeMap<&'static str, Vec<String>>,
    template: bool,
}

/// Every placeholder resource patterns may use.
pub const PLACEHOLDERS: [&str; 19] = [
    "AWS::Partition",
    "AWS::Region",
    "AWS::AccountId",
    "Stack",
    "StateMachine",
    "ScheduleRule",
    "TriggerRules",
    "FlowPrefix",
    "MapResultsPrefix",
    "Bucket",
    "JobQueues",
    "StateMachineRole",
    "JobRoles",
    "ScheduleRole",
    "ExecutionRole",
    "Repository",
    "LogGroup",
    "KmsKey",
    "Secrets",
];

/// The ARN of a Batch job queue given by name or ARN.
fn queue_arn(queue: &str) -> String {
    if queue.starts_with("arn:") {
        queue.to_string()
    } else {
        format!(
            "arn:${{AWS::Partition}}:batch:${{AWS::Region}}:${{AWS::AccountId}}:job-queue/{queue}"
        )
    }
}

impl Bindings {
    fn common(scope: &PolicyScope) -> BTreeMap<&'static str, Vec<String>> {
        let mut values = BTreeMap::new();
        values.insert("StateMachine", vec![scope.state_machine.clone()]);
        values.insert("ScheduleRule", vec![rule_name(&scope.state_machine)]);
        values.insert("TriggerRules", vec![rule_prefix(&scope.state_machine)]);
        values.insert("FlowPrefix", vec![scope.flow_prefix()]);
        values.insert("MapResultsPrefix", vec![scope.map_results_prefix()]);
        values.insert("KmsKey", scope.kms_key_arn.iter().cloned().collect());
        values.insert("Secrets", scope.secrets.clone());
        values
    }

    /// References to the resources of the generated template (its logical ids), left to
    /// CloudFormation's `Fn::Sub`.
    pub fn template(scope: &PolicyScope) -> Self {
        let mut values = Self::common(scope);
        for pseudo in ["AWS::Partition", "AWS::Region", "AWS::AccountId"] {
            values.insert(pseudo, vec![format!("${{{pseudo}}}")]);
        }
        let reference = |id: &str| vec![format!("${{{id}}}")];
        values.insert("Stack", reference("AWS::StackName"));
        values.insert("Bucket", reference("DatastoreBucket"));
        values.insert("Repository", reference("Repository"));
        values.insert("LogGroup", reference("LogGroup"));
        values.insert("StateMachineRole", reference("StateMachineRole.Arn"));
        let mut queues = reference("JobQueue");
        queues.extend(scope.step_queues.iter().map(|q| queue_arn(q)));
        values.insert("JobQueues", queues);
        let mut job_roles = reference("JobRole.Arn");
        job_roles.extend(scope.step_job_roles.iter().cloned());
        values.insert("JobRoles", job_roles);
        values.insert(
            "ScheduleRole",
            if scope.scheduled {
                reference("ScheduleRole.Arn")
            } else {
                Vec::new()
            },
        );
        values.insert(
            "ExecutionRole",
            if scope.has(Principal::Execution) {
                reference("ExecutionRole.Arn")
            } else {
                Vec::new()
            },
        );
        Bindings {
            values,
            template: true,
        }
    }

    /// The literal names and ARNs of an account's resources.
    pub fn account(scope: &PolicyScope, account: &AccountResources) -> Self {
        let mut values = Self::common(scope);
        let one = |v: &str| vec![v.to_string()];
        values.insert("AWS::Partition", one(&account.partition));
        values.insert("AWS::Region", one(&account.region));
        values.insert(
            "AWS::AccountId",
            one(account.account_id.as_deref().unwrap_or("*")),
        );
        // No stack unless [`Bindings::with_stack`] names one: its statement is left out.
        values.insert("Stack", Vec::new());
        values.insert("Bucket", one(&account.bucket));
        values.insert("Repository", account.repository.iter().cloned().collect());
        values.insert("LogGroup", account.log_group.iter().cloned().collect());
        values.insert("StateMachineRole", one(&account.state_machine_role_arn));
        let mut queues = vec![queue_arn(&account.job_queue)];
        queues.extend(scope.step_queues.iter().map(|q| queue_arn(q)));
        values.insert("JobQueues", queues);
        let mut job_roles: Vec<String> = account.job_role_arn.iter().cloned().collect();
        job_roles.extend(scope.step_job_roles.iter().cloned());
        values.insert("JobRoles", job_roles);
        values.insert(
            "ScheduleRole",
            account.schedule_role_arn.iter().cloned().collect(),
        );
        values.insert(
            "ExecutionRole",
            account.execution_role_arn.iter().cloned().collect(),
        );
        Bindings {
            values,
            template: false,
        }
    }

    /// These bindings with the CloudFormation stack the settings come from (`--stack`).
    pub fn with_stack(mut self, stack: &str) -> Self {
        self.values.insert("Stack", vec![stack.to_string()]);
        self
    }

    /// Expands `pattern`: one string per combination of its placeholders' values, each
    /// value written once (values are not expanded again).
    fn expand(&self, pattern: &str, permission: &Permission) -> Result<Vec<String>, PolicyError> {
        let mut expanded = vec![String::new()];
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            let Some(length) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 2..start + length];
            let values = self.values.get(name).ok_or_else(|| PolicyError::Unbound {
                sid: permission.sid,
                principal: permission.principal.name(),
                placeholder: name.to_string(),
            })?;
            let before = &rest[..start];
            // Queue ARNs built from names hold pseudo-parameter placeholders of their own.
            let values: Vec<String> = values.iter().map(|v| self.resolve_pseudo(v)).collect();
            expanded = expanded
                .iter()
                .flat_map(|done| values.iter().map(move |v| format!("{done}{before}{v}")))
                .collect();
            rest = &rest[start + length + 1..];
        }
        for done in &mut expanded {
            done.push_str(rest);
        }
        Ok(expanded)
    }

    /// Writes the pseudo parameters inside a bound value: left to CloudFormation in a
    /// template, replaced by the account's values otherwise.
    fn resolve_pseudo(&self, value: &str) -> String {
        if self.template {
            return value.to_string();
        }
        let mut value = value.to_string();
        for pseudo in ["AWS::Partition", "AWS::Region", "AWS::AccountId"] {
            if let Some(bound) = self.values.get(pseudo).and_then(|v| v.first()) {
                value = value.replace(&format!("${{{pseudo}}}"), bound);
            }
        }
        value
    }

    /// A string as the policy holds it: `{"Fn::Sub": ..}` when it references the template.
    fn json_string(&self, text: String) -> Value {
        if self.template && text.contains("${") {
            json!({ "Fn::Sub": text })
        } else {
            Value::String(text)
        }
    }
}

/// One or many: IAM accepts a string where a list has one element, which reads better.
fn one_or_many(mut values: Vec<Value>) -> Value {
    if values.len() == 1 {
        values.remove(0)
    } else {
        Value::Array(values)
    }
}

/// The statement of one permission, or `None` when its placeholders bind no resource.
fn statement(permission: &Permission, bindings: &Bindings) -> Result<Option<Value>, PolicyError> {
    let mut resources = Vec::new();
    for pattern in permission.resources {
        for resource in bindings.expand(pattern, permission)? {
            resources.push(bindings.json_string(resource));
        }
    }
    if resources.is_empty() {
        return Ok(None);
    }
    let mut statement = Map::new();
    statement.insert("Sid".into(), json!(permission.sid));
    statement.insert("Effect".into(), json!("Allow"));
    statement.insert(
        "Action".into(),
        one_or_many(permission.actions.iter().map(|a| json!(a)).collect()),
    );
    statement.insert("Resource".into(), one_or_many(resources));
    if let Some(condition) = &permission.condition {
        let mut values = Vec::new();
        for pattern in condition.values {
            for value in bindings.expand(pattern, permission)? {
                values.push(bindings.json_string(value));
            }
        }
        statement.insert(
            "Condition".into(),
            json!({ condition.operator: { condition.key: one_or_many(values) } }),
        );
    }
    Ok(Some(Value::Object(statement)))
}

/// The IAM policy document of `principal` for the flow of `scope`: one statement per
/// permission the flow needs, or `None` when it needs none.
pub fn policy_document(
    principal: Principal,
    scope: &PolicyScope,
    bindings: &Bindings,
) -> Result<Option<Value>, PolicyError> {
    let mut statements = Vec::new();
    for permission in permissions_of(principal).filter(|p| scope.needs(p.needed)) {
        if let Some(statement) = statement(permission, bindings)? {
            statements.push(statement);
        }
    }
    Ok((!statements.is_empty()).then(|| {
        json!({
            "Version": "2012-10-17",
            "Statement": statements,
        })
    }))
}

/// The trust policy of a role: the service that assumes it, and for Step Functions and
/// EventBridge only on behalf of this account (`account_id` is a template reference or a
/// literal), so that no other account's state machine or rule can use it.
pub fn trust_policy(principal: Principal, account_id: Value) -> Option<Value> {
    let service = principal.trusted_service()?;
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    });
    if matches!(principal, Principal::StateMachine | Principal::Schedule) {
        statement["Condition"] = json!({"StringEquals": {"aws:SourceAccount": account_id}});
    }
    Some(json!({"Version": "2012-10-17", "Statement": [statement]}))
}

/// A resource pattern without `arn:<partition>:<service>:<region>:<account>:`, which
/// the action already tells, so that the table fits a page.
fn short_resource(pattern: &str) -> &str {
    let Some(rest) = pattern.strip_prefix("arn:${AWS::Partition}:") else {
        return pattern;
    };
    const ACCOUNT: &str = ":${AWS::Region}:${AWS::AccountId}:";
    match (rest.find(ACCOUNT), rest.strip_prefix("s3:::")) {
        (Some(at), _) => &rest[at + ACCOUNT.len()..],
        (None, Some(object)) => object,
        (None, None) => rest,
    }
}

fn code_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`PERMISSIONS`] as a Markdown table, for docs/step-functions.md (a test keeps the two
/// equal). ARNs are shown from their resource part on.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| principal | actions | resources | condition | needed for | why |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for p in PERMISSIONS {
        let condition = p
            .condition
            .map(|c| format!("`{}` `{}`: {}", c.operator, c.key, code_list(c.values)))
            .unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            p.principal.name(),
            code_list(p.actions),
            code_list(
                &p.resources
                    .iter()
                    .map(|r| short_resource(r))
                    .collect::<Vec<_>>()
            ),
            condition,
            p.needed.describe(),
            p.why,
        ));
    }
    out
}

/// The permissions on [`ANY_RESOURCE`], as a Markdown list with their reasons.
pub fn markdown_any_resource_list() -> String {
    PERMISSIONS
        .iter()
        .filter(|p| p.is_on_any_resource())
        .map(|p| {
            format!(
                "* {} ({}): {}\n",
                code_list(p.actions),
                p.principal.name(),
                p.why
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
