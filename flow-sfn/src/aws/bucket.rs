//! The datastore bucket, checked before a deploy so that a missing bucket fails
//! `step-functions create`, not the first step of the first run.

use super::clients::AwsClients;
use super::error::AwsError;
use crate::config::S3Root;

/// Why the datastore bucket cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    /// No bucket of that name in the region.
    #[error(
        "the datastore bucket `{bucket}` does not exist in {region}: create it, or point \
         --datastore / FLOW_SFN_DATASTORE at an existing bucket"
    )]
    Missing {
        /// The bucket looked for.
        bucket: String,
        /// The region it was looked for in.
        region: String,
    },
    /// The check itself failed (access denied, unreachable endpoint, ...).
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Checks that the datastore's bucket exists and is reachable with these clients.
pub async fn require_bucket(clients: &AwsClients, root: &S3Root) -> Result<(), BucketError> {
    match clients.s3.head_bucket().bucket(root.bucket()).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
            Err(BucketError::Missing {
                bucket: root.bucket().to_string(),
                region: clients.region.clone(),
            })
        }
        Err(e) => Err(clients.error("HeadBucket", e).into()),
    }
}
