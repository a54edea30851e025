//! AWS clients from the standard configuration chain (environment, profiles, SSO, instance
//! roles; `AWS_REGION`, `AWS_ENDPOINT_URL`), with bounded timeouts and retries, and clear
//! errors for what users most often get wrong.

use super::error::{call_failed, AwsError};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use std::time::Duration;

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

/// The shared AWS configuration, checked to have a region and credentials, with where its
/// requests go (for messages) and its region.
pub struct Checked {
    /// The configuration the service clients are built from.
    pub config: SdkConfig,
    /// Where requests go: the endpoint URL, or "the `<region>` region".
    pub endpoint: String,
    /// The region.
    pub region: String,
}

/// Loads the shared AWS configuration (bounded timeouts and retries) and checks that it has
/// a region and credentials.
pub async fn load_config(region: Option<&str>) -> Result<Checked, AwsError> {
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
    Ok(Checked {
        config,
        endpoint,
        region,
    })
}

/// Loads the shared AWS configuration ([`load_config`]) and the clients of the deploy and
/// operate commands.
pub async fn load(region: Option<&str>) -> Result<AwsClients, AwsError> {
    let Checked {
        config,
        endpoint,
        region,
    } = load_config(region).await?;
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
    /// Turns an SDK error of `operation` into an [`AwsError`] (see [`call_failed`]).
    pub fn error<E>(
        &self,
        operation: &'static str,
        e: aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> AwsError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        call_failed(operation, &self.endpoint, &self.region, e)
    }
}
