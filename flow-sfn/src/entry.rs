//! The flow binary's entry point, `flow_sfn::main::<MyFlow>()`: flow-local's commands
//! (`run`, `resume`, `runs`, `dump`, `logs`, `show`, `check`, `step`) plus `step-functions`,
//! with `s3://` datastores readable by every command, and the secrets a local run was not
//! given by value read from AWS Secrets Manager ([`crate::secrets`]).

use crate::aws::S3Store;
use crate::cli::{run_step_functions_command, step_functions_command_for};
use crate::config::S3Root;
use flow_core::datastore::ObjectStore;
use std::process::ExitCode;
use std::sync::Arc;

/// Opens an `s3://bucket/prefix` datastore with the standard AWS configuration.
pub async fn open_s3_store(root: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let root = S3Root::parse(root)?;
    let clients = crate::aws::load(None).await?;
    Ok(Arc::new(S3Store::new(&clients, root)))
}

/// Runs the flow binary's command line: local commands and `step-functions`.
pub fn main<F: flow_core::Flow>() -> ExitCode {
    flow_local::Cli::<F>::new()
        .store_opener(Arc::new(|root: String| {
            Box::pin(async move {
                if root.starts_with("s3://") {
                    Some(open_s3_store(&root).await)
                } else {
                    None
                }
            })
        }))
        .secret_source(Arc::new(crate::secrets::SecretsManagerSource::new()))
        .subcommand(
            step_functions_command_for(F::graph()),
            run_step_functions_command::<F>,
        )
        .main()
}
