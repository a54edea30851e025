//! A CloudFormation stack made from `step-functions infra`, read as deployment settings
//! (`--stack`): its outputs fill every setting that no flag or `FLOW_SFN_*` variable gives,
//! so the precedence is flag, then variable, then stack.
//!
//! Pure like the rest of the settings: `aws/stack.rs` makes the one AWS call
//! (`DescribeStacks`) and hands its answer here.

use super::SfnArgs;
use crate::infra::Compute;
use clap::ValueEnum;
use std::collections::BTreeMap;

/// The outputs every stack made by `step-functions infra` has.
pub const REQUIRED_OUTPUTS: [&str; 6] = [
    "JobQueue",
    "StateMachineRoleArn",
    "JobRoleArn",
    "Datastore",
    "RepositoryUri",
    "Compute",
];
/// The output of a Fargate stack's execution role.
pub const EXECUTION_ROLE_OUTPUT: &str = "ExecutionRoleArn";
/// The output of a scheduled flow's schedule role.
pub const SCHEDULE_ROLE_OUTPUT: &str = "ScheduleRoleArn";
/// The output of the jobs' log group.
pub const LOG_GROUP_OUTPUT: &str = "LogGroup";
/// The tag of the stack's image that `create --stack` deploys when no image is given.
pub const DEFAULT_IMAGE_TAG: &str = "latest";

/// Stack states whose resources and outputs are all in place (CloudFormation API reference,
/// "Stack"): a `ROLLBACK_COMPLETE` or `DELETE_COMPLETE` stack ended without its resources.
pub const USABLE_STATUSES: [&str; 5] = [
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
];

/// The command that deploys a flow's stack, for messages and the docs.
pub fn deploy_command(stack: &str) -> String {
    format!(
        "`<flow binary> step-functions infra > {stack}.json` then `aws cloudformation deploy \
         --template-file {stack}.json --stack-name {stack} --capabilities CAPABILITY_NAMED_IAM \
         --parameter-overrides Subnets=<subnet ids> SecurityGroupIds=<security group ids>`"
    )
}

/// Why a stack cannot give the settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StackError {
    /// No stack of that name in the region.
    #[error(
        "CloudFormation stack `{stack}` does not exist in {region} (--stack / FLOW_SFN_STACK): \
         deploy it first: {}", deploy_command(.stack)
    )]
    NotFound {
        /// The stack's name.
        stack: String,
        /// Where it was looked for.
        region: String,
    },
    /// The stack is being created, updated, rolled back or deleted, or failed.
    #[error(
        "CloudFormation stack `{stack}` is {status}, not complete: wait for its deployment to \
         finish, or fix and deploy it again ({})", USABLE_STATUSES.join(", ")
    )]
    NotReady {
        /// The stack's name.
        stack: String,
        /// Its status.
        status: String,
    },
    /// An output `infra` always makes is not there.
    #[error(
        "CloudFormation stack `{stack}` has no output `{output}`: it was not made by \
         `step-functions infra`, or by an older version; deploy the template `infra` prints now \
         ({}), or pass the setting as a flag", deploy_command(.stack)
    )]
    MissingOutput {
        /// The stack's name.
        stack: String,
        /// The output.
        output: &'static str,
    },
    /// An output holds a value `infra` would not have written.
    #[error(
        "CloudFormation stack `{stack}` has output `{output}` = `{value}`, which is not {what}: \
         it was not made by `step-functions infra`"
    )]
    InvalidOutput {
        /// The stack's name.
        stack: String,
        /// The output.
        output: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        what: &'static str,
    },
}

/// A stack as `DescribeStacks` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutputs {
    /// The stack's name.
    pub stack: String,
    /// Its `StackStatus`.
    pub status: String,
    /// Its outputs, by key.
    pub outputs: BTreeMap<String, String>,
}

/// The settings a stack gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettings {
    /// `JobQueue`.
    pub job_queue: String,
    /// `StateMachineRoleArn`.
    pub state_machine_role_arn: String,
    /// `JobRoleArn`.
    pub job_role_arn: String,
    /// `Datastore`.
    pub datastore: String,
    /// `RepositoryUri`.
    pub repository_uri: String,
    /// `Compute`.
    pub compute: Compute,
    /// `ExecutionRoleArn` (Fargate stacks).
    pub execution_role_arn: Option<String>,
    /// `ScheduleRoleArn` (stacks of scheduled flows).
    pub schedule_role_arn: Option<String>,
    /// `LogGroup`.
    pub log_group: Option<String>,
}

impl StackOutputs {
    /// The settings of a complete stack made by `infra`, or what is wrong with it.
    pub fn settings(&self) -> Result<StackSettings, StackError> {
        if !USABLE_STATUSES.contains(&self.status.as_str()) {
            return Err(StackError::NotReady {
                stack: self.stack.clone(),
                status: self.status.clone(),
            });
        }
        let required = |output: &'static str| {
            self.outputs
                .get(output)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| StackError::MissingOutput {
                    stack: self.stack.clone(),
                    output,
                })
        };
        let optional = |output: &str| self.outputs.get(output).filter(|v| !v.is_empty()).cloned();
        let [job_queue, state_machine_role_arn, job_role_arn, datastore, repository_uri, compute] =
            REQUIRED_OUTPUTS.map(required);
        let compute_text = compute?;
        let compute =
            Compute::from_str(&compute_text, false).map_err(|_| StackError::InvalidOutput {
                stack: self.stack.clone(),
                output: "Compute",
                value: compute_text.clone(),
                what: "one of ec2, spot, fargate, fargate-spot",
            })?;
        let execution_role_arn = if compute.is_fargate() {
            Some(required(EXECUTION_ROLE_OUTPUT)?)
        } else {
            // An EC2 stack has one when a step reads secrets (Batch resolves them as it).
            optional(EXECUTION_ROLE_OUTPUT)
        };
        Ok(StackSettings {
            job_queue: job_queue?,
            state_machine_role_arn: state_machine_role_arn?,
            job_role_arn: job_role_arn?,
            datastore: datastore?,
            repository_uri: repository_uri?,
            compute,
            execution_role_arn,
            schedule_role_arn: optional(SCHEDULE_ROLE_OUTPUT),
            log_group: optional(LOG_GROUP_OUTPUT),
        })
    }
}

impl StackSettings {
    /// The image `create --stack` deploys when none is given: the repository's `latest`.
    pub fn default_image(&self) -> String {
        format!("{}:{DEFAULT_IMAGE_TAG}", self.repository_uri)
    }

    /// `args` with every setting it lacks taken from the stack: a flag or variable always
    /// wins over the stack.
    pub fn fill(&self, args: &SfnArgs) -> SfnArgs {
        let mut args = args.clone();
        let fill = |value: &mut Option<String>, from: Option<&String>| {
            if value.as_deref().is_none_or(str::is_empty) {
                if let Some(from) = from {
                    *value = Some(from.clone());
                }
            }
        };
        fill(&mut args.image, Some(&self.default_image()));
        fill(&mut args.job_queue, Some(&self.job_queue));
        fill(&mut args.role_arn, Some(&self.state_machine_role_arn));
        fill(&mut args.job_role_arn, Some(&self.job_role_arn));
        fill(&mut args.datastore, Some(&self.datastore));
        fill(&mut args.schedule_role, self.schedule_role_arn.as_ref());
        args.compute = args.compute.or(Some(self.compute));
        // A Fargate stack's roles and log group belong to its Fargate compute: with another
        // kind given explicitly they are not used.
        if args.compute.is_some_and(Compute::is_fargate) {
            fill(&mut args.execution_role, self.execution_role_arn.as_ref());
            fill(&mut args.log_group, self.log_group.as_ref());
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(compute: &str) -> StackOutputs {
        let mut outputs: BTreeMap<String, String> = [
            (
                "JobQueue",
                "arn:aws:batch:us-east-1:123456789012:job-queue/q",
            ),
            (
                "StateMachineRoleArn",
                "arn:aws:iam::123456789012:role/states",
            ),
            ("JobRoleArn", "arn:aws:iam::123456789012:role/jobs"),
            ("Datastore", "s3://flow-bucket"),
            (
                "RepositoryUri",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/flowrs/flow",
            ),
            ("Compute", compute),
            ("LogGroup", "flow-logs"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if compute.starts_with("fargate") {
            outputs.insert(
                "ExecutionRoleArn".into(),
                "arn:aws:iam::123456789012:role/exec".into(),
            );
        }
        StackOutputs {
            stack: "flow-stack".into(),
            status: "CREATE_COMPLETE".into(),
            outputs,
        }
    }

    #[test]
    fn the_stack_fills_what_flags_and_variables_leave_out() {
        let settings = outputs("fargate").settings().unwrap();
        let args = SfnArgs {
            job_queue: Some("explicit-queue".into()),
            ..SfnArgs::default()
        };
        let filled = settings.fill(&args);
        assert_eq!(filled.job_queue.as_deref(), Some("explicit-queue"));
        assert_eq!(
            filled.image.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/flowrs/flow:latest")
        );
        assert_eq!(filled.datastore.as_deref(), Some("s3://flow-bucket"));
        assert_eq!(
            filled.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/states")
        );
        assert_eq!(filled.compute, Some(Compute::Fargate));
        assert_eq!(
            filled.execution_role.as_deref(),
            Some("arn:aws:iam::123456789012:role/exec")
        );
        assert_eq!(filled.log_group.as_deref(), Some("flow-logs"));
        assert_eq!(filled.schedule_role, None);
    }

    #[test]
    fn an_explicit_compute_wins_and_drops_the_fargate_settings() {
        let settings = outputs("fargate").settings().unwrap();
        let args = SfnArgs {
            compute: Some(Compute::Ec2),
            image: Some("mine:1".into()),
            ..SfnArgs::default()
        };
        let filled = settings.fill(&args);
        assert_eq!(filled.compute, Some(Compute::Ec2));
        assert_eq!(filled.image.as_deref(), Some("mine:1"));
        assert_eq!(filled.execution_role, None);
    }

    #[test]
    fn a_stack_that_is_not_complete_is_refused() {
        let mut stack = outputs("ec2");
        stack.status = "ROLLBACK_COMPLETE".into();
        let error = stack.settings().unwrap_err().to_string();
        assert!(
            error.contains("stack `flow-stack` is ROLLBACK_COMPLETE, not complete"),
            "{error}"
        );
        stack.status = "UPDATE_ROLLBACK_COMPLETE".into();
        assert!(stack.settings().is_ok());
    }

    #[test]
    fn a_missing_output_is_named() {
        let mut stack = outputs("ec2");
        stack.outputs.remove("Compute");
        let error = stack.settings().unwrap_err().to_string();
        assert!(
            error.contains("has no output `Compute`: it was not made by `step-functions infra`"),
            "{error}"
        );
        let mut stack = outputs("fargate-spot");
        stack.outputs.remove("ExecutionRoleArn");
        let error = stack.settings().unwrap_err().to_string();
        assert!(error.contains("no output `ExecutionRoleArn`"), "{error}");
    }

    #[test]
    fn an_unknown_compute_is_refused() {
        let mut stack = outputs("ec2");
        stack.outputs.insert("Compute".into(), "mainframe".into());
        let error = stack.settings().unwrap_err().to_string();
        assert!(
            error.contains("output `Compute` = `mainframe`, which is not one of ec2"),
            "{error}"
        );
    }

    #[test]
    fn not_found_says_how_to_deploy_the_stack() {
        let error = StackError::NotFound {
            stack: "flow-stack".into(),
            region: "eu-west-1".into(),
        }
        .to_string();
        assert!(
            error.contains("stack `flow-stack` does not exist in eu-west-1"),
            "{error}"
        );
        assert!(
            error.contains("aws cloudformation deploy --template-file flow-stack.json"),
            "{error}"
        );
    }
}
