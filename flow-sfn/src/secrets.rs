//! A local run's secrets from AWS Secrets Manager: the [`flow_local::SecretSource`] that
//! `flow_sfn::main` gives the local `run` and `resume` commands. It loads the standard AWS
//! configuration chain (environment, profiles, SSO, instance roles; `AWS_REGION`,
//! `AWS_ENDPOINT_URL`) only when a secret was not given by value, once per run, and reads
//! each secret with `GetSecretValue` by its ARN. No error it returns holds a value.

use crate::aws::error::call_failed;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// A Secrets Manager client and where it sends requests (for messages).
struct Client {
    client: aws_sdk_secretsmanager::Client,
    endpoint: String,
    region: String,
}

/// Reads secrets from AWS Secrets Manager, loading the AWS configuration on first use.
#[derive(Clone, Default)]
pub struct SecretsManagerSource {
    client: Arc<OnceCell<Result<Arc<Client>, String>>>,
}

impl SecretsManagerSource {
    /// A source that has not touched AWS yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client, loaded once; or why AWS cannot be used (no region, no credentials).
    async fn client(&self) -> Result<Arc<Client>, String> {
        self.client
            .get_or_init(|| async {
                let config = aws_config::defaults(BehaviorVersion::latest())
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(Duration::from_secs(5))
                            .operation_attempt_timeout(Duration::from_secs(20))
                            .operation_timeout(Duration::from_secs(60))
                            .build(),
                    )
                    .retry_config(RetryConfig::standard().with_max_attempts(3))
                    .load()
                    .await;
                let region = config
                    .region()
                    .ok_or_else(|| crate::aws::AwsError::NoRegion.to_string())?
                    .to_string();
                let provider = config.credentials_provider().ok_or_else(|| {
                    crate::aws::AwsError::NoCredentials("no credentials provider".into())
                        .to_string()
                })?;
                provider
                    .provide_credentials()
                    .await
                    .map_err(|e| crate::aws::AwsError::NoCredentials(e.to_string()).to_string())?;
                let endpoint = config
                    .endpoint_url()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("the {region} region"));
                Ok(Arc::new(Client {
                    client: aws_sdk_secretsmanager::Client::new(&config),
                    endpoint,
                    region,
                }))
            })
            .await
            .clone()
    }
}

impl flow_local::SecretSource for SecretsManagerSource {
    fn get(&self, arn: &str) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> {
        let source = self.clone();
        let arn = arn.to_string();
        Box::pin(async move {
            let unavailable = |why: String| format!("AWS Secrets Manager could not give: {why}");
            let client = source.client().await.map_err(unavailable)?;
            let output = client
                .client
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                .map_err(|e| {
                    unavailable(
                        call_failed("GetSecretValue", &client.endpoint, &client.region, e)
                            .to_string(),
                    )
                })?;
            match output.secret_string {
                Some(value) => Ok(value),
                None => Err(
                    "AWS Secrets Manager holds as binary (SecretBinary), not as text: a step \
                     reads a secret as text (SecretString)"
                        .to_string(),
                ),
            }
        })
    }
}
