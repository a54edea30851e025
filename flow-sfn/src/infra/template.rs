//! The CloudFormation template of everything a flow needs on AWS besides its image: the
//! datastore bucket, the image repository, a managed Batch compute environment and its
//! queue, a log group, and the least-privilege roles of [`super::policy`].
//!
//! The template is a pure function of the flow's graph and [`InfraSettings`], like the
//! compiler: no AWS call, the same bytes for the same input. Its outputs are the settings
//! `step-functions create --stack` reads (`JobQueue`, `StateMachineRoleArn`, `JobRoleArn`,
//! `Datastore`, `RepositoryUri`, `Compute`, `LogGroup`, `ExecutionRoleArn` on Fargate and
//! `ScheduleRoleArn` for a scheduled flow; see `config::stack`).
//!
//! Longer than most modules because it is one cohesive thing: the CloudFormation template, one resource after another, in the order the docs list them.

use super::compute::Compute;
use super::fargate::{fargate_resources, FargateError};
use super::policy::{policy_document, trust_policy, Bindings, PolicyError, PolicyScope, Principal};
use super::yaml::to_yaml;
use crate::compile::names::is_valid_state_machine_name;
use crate::config::{DEFAULT_CPU, DEFAULT_MEMORY_MB};
use crate::json::to_canonical_pretty;
use flow_graph::FlowGraph;
use serde_json::{json, Map, Value};

/// Days Distributed Map results are kept by default: they only serve debugging, the
/// flow's own data lives in its task records.
pub const DEFAULT_MAP_RESULTS_EXPIRATION_DAYS: u32 = 7;
/// Days job logs are kept by default.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;
/// The default cap on the compute environment's vCPUs.
pub const DEFAULT_MAX_VCPUS: u32 = 256;
/// The retention periods CloudWatch Logs accepts (`RetentionInDays`).
const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// The text format of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TemplateFormat {
    /// JSON, keys sorted.
    #[default]
    Json,
    /// YAML, keys sorted, strings quoted (the same under YAML 1.1 and 1.2).
    Yaml,
}

impl TemplateFormat {
    /// `template` as text in this format: the same template always gives the same bytes.
    pub fn render(self, template: &Value) -> String {
        match self {
            TemplateFormat::Json => to_canonical_pretty(template),
            TemplateFormat::Yaml => to_yaml(template),
        }
    }
}

/// The settings of a template, besides the flow's graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfraSettings {
    /// The state machine's name: its roles' policies name it and its job definitions.
    pub state_machine_name: String,
    /// The kind of compute environment.
    pub compute: Compute,
    /// The folder of the datastore bucket the flow's runs are under: empty, or a project
    /// namespace's (`recs.test.NAME`, `infra --branch NAME`).
    pub datastore_prefix: String,
    /// A KMS key of the user's to encrypt the datastore with (SSE-S3 when `None`).
    pub kms_key_arn: Option<String>,
    /// vCPUs of steps without `resources(cpu = ..)` (checked against Fargate's sizes).
    pub default_cpu: u32,
    /// Memory (MiB) of steps without `resources(memory = ..)`.
    pub default_memory_mb: u64,
}

impl InfraSettings {
    /// Settings for `state_machine_name` on `compute`, with the compiler's defaults.
    pub fn new(state_machine_name: impl Into<String>, compute: Compute) -> Self {
        InfraSettings {
            state_machine_name: state_machine_name.into(),
            compute,
            datastore_prefix: String::new(),
            kms_key_arn: None,
            default_cpu: DEFAULT_CPU,
            default_memory_mb: DEFAULT_MEMORY_MB,
        }
    }
}

/// Why a flow's template cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfraError {
    /// The state machine name would make invalid ARNs.
    #[error(
        "invalid state machine name `{0}` (--state-machine / FLOW_SFN_STATE_MACHINE): use 1 to \
         80 characters from A-Z, a-z, 0-9, '-', '_' and '.'"
    )]
    StateMachineName(String),
    /// The KMS key is not a key ARN.
    #[error("invalid KMS key `{0}` (--kms-key): give a key ARN, arn:aws:kms:<region>:<account>:key/<id>")]
    KmsKey(String),
    /// A step cannot run on the chosen Fargate compute.
    #[error("flow `{flow}` cannot run on `--compute {compute}`")]
    Fargate {
        /// The flow.
        flow: String,
        /// The compute kind.
        compute: Compute,
        /// Which step, and why.
        #[source]
        source: FargateError,
    },
    /// A role's policy could not be built.
    #[error("cannot build the IAM policies of flow `{flow}`")]
    Policy {
        /// The flow.
        flow: String,
        /// What was missing.
        #[source]
        source: PolicyError,
    },
}

fn reference(logical_id: &str) -> Value {
    json!({ "Ref": logical_id })
}

fn arn_of(logical_id: &str) -> Value {
    json!({ "Fn::GetAtt": [logical_id, "Arn"] })
}

fn parameters() -> Value {
    json!({
        "MaxvCpus": {
            "Type": "Number",
            "Default": DEFAULT_MAX_VCPUS,
            "MinValue": 1,
            "Description": "Most vCPUs the compute environment runs at once",
        },
        "Subnets": {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Description": "Subnets the jobs run in (with a route to ECR and S3: a NAT gateway, \
                            VPC endpoints, or a public subnet)",
        },
        "SecurityGroupIds": {
            "Type": "List<AWS::EC2::SecurityGroup::Id>",
            "Description": "Security groups of the jobs (outbound HTTPS to AWS is all they need)",
        },
        "ServiceRoleArn": {
            "Type": "String",
            "Default": "",
            "Description": "Batch service role; empty uses the AWSServiceRoleForBatch \
                            service-linked role",
        },
        "MapResultsExpirationDays": {
            "Type": "Number",
            "Default": DEFAULT_MAP_RESULTS_EXPIRATION_DAYS,
            "MinValue": 1,
            "Description": "Days the Distributed Map results (sfn-map-results) are kept",
        },
        "LogRetentionDays": {
            "Type": "Number",
            "Default": DEFAULT_LOG_RETENTION_DAYS,
            "AllowedValues": LOG_RETENTION_DAYS,
            "Description": "Days job logs are kept",
        },
    })
}

/// The datastore bucket: encrypted, private, TLS only, map results expiring.
fn datastore(scope: &PolicyScope, kms_key_arn: Option<&str>) -> (Value, Value) {
    let encryption = match kms_key_arn {
        Some(key) => json!({
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key,
        }),
        None => json!({"SSEAlgorithm": "AES256"}),
    };
    let bucket = json!({
        "Type": "AWS::S3::Bucket",
        // Runs outlive the stack: deleting it must not delete their data.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": encryption,
                    // One data key per bucket, not per object: fewer (billed) KMS calls.
                    "BucketKeyEnabled": kms_key_arn.is_some(),
                }],
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "ExpireMapResults",
                        "Status": "Enabled",
                        "Prefix": format!("{}/", scope.map_results_prefix()),
                        "ExpirationInDays": reference("MapResultsExpirationDays"),
                    },
                    {
                        "Id": "AbortIncompleteUploads",
                        "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    },
                ],
            },
        },
    });
    let tls_only = json!({
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": reference("DatastoreBucket"),
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [
                        arn_of("DatastoreBucket"),
                        {"Fn::Sub": "${DatastoreBucket.Arn}/*"},
                    ],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }],
            },
        },
    });
    (bucket, tls_only)
}

/// The compute environment of `compute`, and for EC2 kinds the instance role and profile.
fn compute_environment(graph: &FlowGraph, compute: Compute) -> Vec<(&'static str, Value)> {
    let mut resources = Vec::new();
    let mut compute_resources = json!({
        "Type": compute.batch_type(),
        "MaxvCpus": reference("MaxvCpus"),
        "Subnets": reference("Subnets"),
        "SecurityGroupIds": reference("SecurityGroupIds"),
    });
    if !compute.is_fargate() {
        // The ECS agent on the instances registers them with the environment's cluster,
        // which Batch creates under a generated name: AWS's managed policy for that agent
        // is the only one that can name it.
        resources.push((
            "InstanceRole",
            json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }],
                    },
                    "ManagedPolicyArns": [{
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
                    }],
                },
            }),
        ));
        resources.push((
            "InstanceProfile",
            json!({
                "Type": "AWS::IAM::InstanceProfile",
                "Properties": {"Roles": [reference("InstanceRole")]},
            }),
        ));
        let needs_gpu = graph
            .steps
            .iter()
            .any(|s| s.options.resources.gpu.is_some_and(|g| g > 0));
        let mut instance_types = vec![json!("optimal")];
        if needs_gpu {
            // GPU steps need GPU instances and the NVIDIA AMI; Batch picks the AMI by type.
            instance_types.push(json!("g5"));
            compute_resources["Ec2Configuration"] = json!([
                {"ImageType": "ECS_AL2023"},
                {"ImageType": "ECS_AL2023_NVIDIA"},
            ]);
        }
        compute_resources["MinvCpus"] = json!(0);
        compute_resources["InstanceTypes"] = json!(instance_types);
        compute_resources["InstanceRole"] = arn_of("InstanceProfile");
        compute_resources["AllocationStrategy"] = json!(match compute {
            Compute::Spot => "SPOT_CAPACITY_OPTIMIZED",
            _ => "BEST_FIT_PROGRESSIVE",
        });
    }
    resources.push((
        "ComputeEnvironment",
        json!({
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {
                "Type": "MANAGED",
                "State": "ENABLED",
                "ServiceRole": {
                    "Fn::If": ["HasServiceRole", reference("ServiceRoleArn"), reference("AWS::NoValue")],
                },
                "ComputeResources": compute_resources,
            },
        }),
    ));
    resources
}

/// A role trusted by `principal`'s service, with its policy, if the flow needs one.
fn role(
    principal: Principal,
    scope: &PolicyScope,
    bindings: &Bindings,
    description: &str,
) -> Result<Value, PolicyError> {
    let trust = trust_policy(principal, reference("AWS::AccountId"))
        .expect("every role's principal is a service");
    let mut properties = json!({
        "AssumeRolePolicyDocument": trust,
        "Description": description,
    });
    if let Some(document) = policy_document(principal, scope, bindings)? {
        properties["Policies"] = json!([{
            "PolicyName": principal_policy_name(principal),
            "PolicyDocument": document,
        }]);
    }
    Ok(json!({"Type": "AWS::IAM::Role", "Properties": properties}))
}

fn principal_policy_name(principal: Principal) -> &'static str {
    match principal {
        Principal::StateMachine => "state-machine",
        Principal::Job => "job",
        Principal::Schedule => "schedule",
        Principal::Execution => "execution",
        Principal::Deployer => "deployer",
    }
}

/// The image repository's name, `flowrs/<state machine>` in ECR's alphabet (lowercase,
/// single separators): a name users can type, where a generated one would be unreadable.
pub fn repository_name(state_machine: &str) -> String {
    let mut name = String::from("flowrs/");
    let mut separator = false;
    for c in state_machine.chars() {
        if c.is_ascii_alphanumeric() {
            if separator && !name.ends_with('/') {
                name.push('-');
            }
            name.push(c.to_ascii_lowercase());
            separator = false;
        } else {
            separator = true;
        }
    }
    if name.ends_with('/') {
        name.push_str("flow");
    }
    name
}

fn check_settings(graph: &FlowGraph, settings: &InfraSettings) -> Result<(), InfraError> {
    if !is_valid_state_machine_name(&settings.state_machine_name) {
        return Err(InfraError::StateMachineName(
            settings.state_machine_name.clone(),
        ));
    }
    if let Some(key) = &settings.kms_key_arn {
        let parts: Vec<&str> = key.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[2] == "kms"
            && parts[5].starts_with("key/")
            && parts[5].len() > "key/".len();
        if !ok {
            return Err(InfraError::KmsKey(key.clone()));
        }
    }
    if settings.compute.is_fargate() {
        for step in &graph.steps {
            fargate_resources(step, settings.default_cpu, settings.default_memory_mb).map_err(
                |source| InfraError::Fargate {
                    flow: graph.name.clone(),
                    compute: settings.compute,
                    source,
                },
            )?;
        }
    }
    Ok(())
}

/// The CloudFormation template of `graph`'s infrastructure.
pub fn template(graph: &FlowGraph, settings: &InfraSettings) -> Result<Value, InfraError> {
    check_settings(graph, settings)?;
    let compute = settings.compute;
    // The template's bucket holds this flow alone: the datastore is its root (a project
    // branch's folder of it for a namespaced deployment).
    let scope = PolicyScope::new(
        graph,
        &settings.state_machine_name,
        &settings.datastore_prefix,
        compute,
        settings.kms_key_arn.as_deref(),
    );
    let bindings = Bindings::template(&scope);
    let policy_error = |source| InfraError::Policy {
        flow: graph.name.clone(),
        source,
    };

    let mut resources = Map::new();
    let (bucket, tls_only) = datastore(&scope, settings.kms_key_arn.as_deref());
    resources.insert("DatastoreBucket".into(), bucket);
    resources.insert("DatastoreBucketPolicy".into(), tls_only);
    resources.insert(
        "Repository".into(),
        json!({
            "Type": "AWS::ECR::Repository",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "RepositoryName": repository_name(&settings.state_machine_name),
                // `create --stack` deploys `<RepositoryUri>:latest` unless told another
                // image, so `latest` must be pushable again with each new build.
                "ImageTagMutability": "MUTABLE",
                "ImageScanningConfiguration": {"ScanOnPush": true},
            },
        }),
    );
    resources.insert(
        "LogGroup".into(),
        json!({
            "Type": "AWS::Logs::LogGroup",
            // A failed run's logs are evidence: they go with their retention, not the stack.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"RetentionInDays": reference("LogRetentionDays")},
        }),
    );
    for (id, resource) in compute_environment(graph, compute) {
        resources.insert(id.into(), resource);
    }
    resources.insert(
        "JobQueue".into(),
        json!({
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "Priority": 1,
                "State": "ENABLED",
                "ComputeEnvironmentOrder": [
                    {"Order": 1, "ComputeEnvironment": reference("ComputeEnvironment")},
                ],
            },
        }),
    );
    let flow = &graph.name;
    let state_machine = &settings.state_machine_name;
    let roles = [
        (
            Principal::StateMachine,
            "StateMachineRole",
            format!("Step Functions state machine {state_machine} (flow {flow})"),
        ),
        (
            Principal::Job,
            "JobRole",
            format!("Batch jobs of flow {flow}"),
        ),
        (
            Principal::Schedule,
            "ScheduleRole",
            format!("EventBridge schedule of flow {flow}"),
        ),
        (
            Principal::Execution,
            "ExecutionRole",
            format!("Execution role of flow {flow}: image pulls and logs on Fargate, step secrets"),
        ),
    ];
    for (principal, id, description) in roles {
        if scope.has(principal) {
            let role = role(principal, &scope, &bindings, &description).map_err(policy_error)?;
            resources.insert(id.into(), role);
        }
    }
    let deployer = policy_document(Principal::Deployer, &scope, &bindings)
        .map_err(policy_error)?
        .expect("the deployer always has permissions");
    resources.insert(
        "DeployerPolicy".into(),
        json!({
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "Description": format!(
                    "Attach to who runs step-functions create/trigger/status/resume/terminate/delete for {state_machine}"
                ),
                "PolicyDocument": deployer,
            },
        }),
    );

    let mut outputs = Map::new();
    let mut output = |name: &str, value: Value, description: &str| {
        outputs.insert(
            name.into(),
            json!({"Value": value, "Description": description}),
        );
    };
    output(
        "JobQueue",
        reference("JobQueue"),
        "--job-queue / FLOW_SFN_JOB_QUEUE",
    );
    output(
        "StateMachineRoleArn",
        arn_of("StateMachineRole"),
        "--role-arn / FLOW_SFN_ROLE_ARN",
    );
    output(
        "JobRoleArn",
        arn_of("JobRole"),
        "--job-role-arn / FLOW_SFN_JOB_ROLE_ARN",
    );
    output(
        "Datastore",
        json!({"Fn::Sub": "s3://${DatastoreBucket}"}),
        "--datastore / FLOW_SFN_DATASTORE",
    );
    output(
        "RepositoryUri",
        json!({"Fn::GetAtt": ["Repository", "RepositoryUri"]}),
        "where to push the flow's image (then --image / FLOW_SFN_IMAGE)",
    );
    output("LogGroup", reference("LogGroup"), "the jobs' log group");
    output(
        "Compute",
        json!(compute.as_str()),
        "--compute / FLOW_SFN_COMPUTE: the kind of the compute environment",
    );
    output(
        "DeployerPolicyArn",
        reference("DeployerPolicy"),
        "the managed policy to attach to whoever deploys and operates the flow",
    );
    if scope.has(Principal::Execution) {
        output(
            "ExecutionRoleArn",
            arn_of("ExecutionRole"),
            "--execution-role / FLOW_SFN_EXECUTION_ROLE: the jobs' execution role (Fargate, secrets)",
        );
    }
    if scope.has(Principal::Schedule) {
        output(
            "ScheduleRoleArn",
            arn_of("ScheduleRole"),
            "the role of the schedule rule's target",
        );
    }

    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "flowrs: infrastructure of flow {flow} (state machine {state_machine}) on {compute}"
        ),
        "Parameters": parameters(),
        "Conditions": {
            "HasServiceRole": {"Fn::Not": [{"Fn::Equals": [reference("ServiceRoleArn"), ""]}]},
        },
        "Resources": resources,
        "Outputs": outputs,
    }))
}

#[cfg(test)]
mod tests;
