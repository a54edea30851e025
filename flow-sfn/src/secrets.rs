//! A local run's secrets from AWS Secrets Manager: the [`flow_local::SecretSource`] that
//! `flow_sfn::main` gives the local `run` and `resume` commands. It loads the standard AWS
//! configuration chain (environment, profiles, SSO, instance roles; `AWS_REGION`,
//! `AWS_ENDPOINT_URL`) only when a secret was not given by value, once per run, and reads
//! each secret with `GetSecretValue` by its ARN. No error it returns holds a value.

use crate::aws::error::call_failed;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
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
                let checked = crate::aws::clients::load_config(None)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Arc::new(Client {
                    client: aws_sdk_secretsmanager::Client::new(&checked.config),
                    endpoint: checked.endpoint,
                    region: checked.region,
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
