//! Everything that calls AWS: clients, the S3 datastore, deploying and operating.

pub mod bucket;
pub mod clients;
pub mod deploy;
pub mod error;
pub mod operate;
pub mod s3_store;
pub mod schedule;
pub mod stack;
pub mod triggers;

pub use clients::{load, AwsClients};
pub use error::AwsError;
pub use s3_store::S3Store;
