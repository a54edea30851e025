//! AWS clients from the standard configuration chain (environment, profiles, SSO, instance
//! roles; `AWS_REGION`, `AWS_ENDPOINT_URL`), with bounded timeouts and retries, and clear
//! errors for what users most often get wrong.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use std::time::Duration;

/// Why AWS could not be reached or used.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No region anywhere in the configuration chain.
    #[error(
        "no AWS region is configured: pass --region, or set AWS_REGION (or FLOW_SFN_REGION), \
         or set `region` in your AWS profile"
    )]
    NoRegion,
    /// No credentials anywhere in the chain.
    #[error(
        "no AWS credentials were found ({0}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         or AWS_PROFILE for a configured profile, or run where an instance/task role is available"
    )]
    NoCredentials(String),
    /// A call failed.
    #[error("{operation} failed: {message}")]
    Call {
        /// The API operation, e.g. `StartExecution`.
        operation: &'static str,
        /// What the service or the transport said.
        message: String,
    },
    /// The flow's state machine does not exist.
    #[error(
        "the flow's state machine `{state_machine}` does not exist in this account and region: \
         deploy it first with `step-functions create`"
    )]
    NotDeployed {
        /// The state machine name looked for.
        state_machine: String,
    },
    /// No run with this id.
    #[error("no run `{run_id}` of state machine `{state_machine}`: `step-functions list-runs` lists them")]
    UnknownRun {
        /// The run id asked for.
        run_id: String,
        /// The state machine.
        state_machine: String,
    },
    /// The endpoint did not answer in time or refused the connection.
    #[error(
        "cannot reach AWS at {endpoint} ({operation}): {message}; check AWS_ENDPOINT_URL, the \
         network, and the region"
    )]
    Unreachable {
        /// The endpoint or region tried.
        endpoint: String,
        /// The operation.
        operation: &'static str,
        /// The transport error.
        message: String,
    },
}

/// The AWS service clients the deploy and operate commands use.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// Step Functions.
    pub sfn: aws_sdk_sfn::Client,
    /// Batch.
    pub batch: aws_sdk_batch::Client,
    /// S3 (the datastore).
    pub s3: aws_sdk_s3::Client,
    /// EventBridge (schedules).
    pub events: aws_sdk_eventbridge::Client,
    /// Where requests go, for messages.
    pub endpoint: String,
    /// The region.
    pub region: String,
}

/// Connect and read timeouts: an unreachable endpoint fails within seconds, not minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// Loads the shared AWS configuration and checks that it has a region and credentials.
pub async fn load(region: Option<&str>) -> Result<AwsClients, AwsError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(Duration::from_secs(20))
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        // Throttling and transient errors: exponential backoff with jitter, a few attempts.
        .retry_config(RetryConfig::standard().with_max_attempts(5));
    if let Some(region) = region.filter(|r| !r.is_empty()) {
        loader = loader.region(Region::new(region.to_string()));
    }
    let config: SdkConfig = loader.load().await;
    let region = config.region().ok_or(AwsError::NoRegion)?.to_string();
    let provider = config
        .credentials_provider()
        .ok_or_else(|| AwsError::NoCredentials("no credentials provider".into()))?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| AwsError::NoCredentials(e.to_string()))?;
    let endpoint = config
        .endpoint_url()
        .map(str::to_string)
        .unwrap_or_else(|| format!("the {region} region"));
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        // Emulators and custom endpoints serve buckets by path, not by virtual host.
        .force_path_style(config.endpoint_url().is_some())
        .build();
    Ok(AwsClients {
        sfn: aws_sdk_sfn::Client::new(&config),
        batch: aws_sdk_batch::Client::new(&config),
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        events: aws_sdk_eventbridge::Client::new(&config),
        endpoint,
        region,
    })
}

impl AwsClients {
    /// Turns an SDK error into an [`AwsError`], telling an unreachable endpoint apart.
    pub fn error<E, R>(
        &self,
        operation: &'static str,
        e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> AwsError
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        use aws_smithy_runtime_api::client::result::SdkError;
        let message = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
        match e {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => AwsError::Unreachable {
                endpoint: self.endpoint.clone(),
                operation,
                message,
            },
            _ => AwsError::Call { operation, message },
        }
    }
}
