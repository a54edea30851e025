//! `--stack`: the outputs of the CloudFormation stack made from `step-functions infra`
//! (`DescribeStacks`), turned into settings by `config::stack`.

use super::clients::AwsClients;
use super::error::{call_failed, service_error, AwsError};
use crate::config::stack::{StackError, StackOutputs};
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::result::SdkError;
use std::time::Duration;

/// Why a stack's outputs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StackLookupError {
    /// The stack is absent, unfinished or not `infra`'s.
    #[error(transparent)]
    Stack(#[from] StackError),
    /// The call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The stack `stack`'s status and outputs, in the region of `clients`.
pub async fn describe_stack(
    clients: &AwsClients,
    stack: &str,
) -> Result<StackOutputs, StackLookupError> {
    // The same configuration chain as the other clients (endpoint, credentials), in their
    // region, with the same bounded timeouts.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(clients.region.clone()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .load()
        .await;
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    let out = match cloudformation
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            // CloudFormation answers an unknown stack with a ValidationError saying so.
            if matches!(e, SdkError::ServiceError(_)) {
                let (code, message, _) = service_error(&e);
                if code == "ValidationError" && message.contains("does not exist") {
                    return Err(StackError::NotFound {
                        stack: stack.to_string(),
                        region: clients.region.clone(),
                    }
                    .into());
                }
            }
            return Err(
                call_failed("DescribeStacks", &clients.endpoint, &clients.region, e).into(),
            );
        }
    };
    let Some(found) = out.stacks().first() else {
        return Err(StackError::NotFound {
            stack: stack.to_string(),
            region: clients.region.clone(),
        }
        .into());
    };
    Ok(StackOutputs {
        stack: stack.to_string(),
        status: found
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        outputs: found
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
            .collect(),
    })
}
