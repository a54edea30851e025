//! The S3 datastore: the same keys and guarantees as the local one, on an S3 bucket.
//!
//! S3 PUTs are atomic (a reader sees the old object, the new one, or none), so a task
//! record written last is a commit point exactly as on disk; run ids are claimed with a
//! conditional PUT (`If-None-Match: *`).
//!
//! Every "is it there?" read relies on S3 answering 404 for a missing key, which it does
//! only for a caller with `s3:ListBucket` on the bucket; without it the answer is 403, and
//! a 403 on a read is reported as exactly that missing permission.

use super::clients::AwsClients;
use super::error::{call_failed, service_error, AwsError, Hint, S3ReadDenied};
use crate::config::S3Root;
use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use flow_core::datastore::{check_key, ObjectStore, StoreError};

/// A datastore in S3.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    root: S3Root,
    /// Where requests go and the region, for error messages.
    endpoint: String,
    region: String,
}

impl S3Store {
    /// A store at `root`, reached with `clients`' S3 client.
    pub fn new(clients: &AwsClients, root: S3Root) -> Self {
        S3Store {
            client: clients.s3.clone(),
            root,
            endpoint: clients.endpoint.clone(),
            region: clients.region.clone(),
        }
    }

    /// A failed `op` (read, write, list) of datastore key `key`, with what S3 said as the
    /// source.
    fn io<E>(
        &self,
        op: &'static str,
        operation: &'static str,
        key: &str,
        e: SdkError<E, HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let source = call_failed(operation, &self.endpoint, &self.region, e);
        self.store_error(op, key, source)
    }

    /// A failed read: a 403 names the permissions that are missing.
    fn read_error<E>(
        &self,
        operation: &'static str,
        key: &str,
        e: SdkError<E, HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (code, message, status) = service_error(&e);
        if status != 403 || !matches!(e, SdkError::ServiceError(_)) {
            return self.io("read", operation, key, e);
        }
        let prefix = match self.root.prefix() {
            "" => String::new(),
            prefix => format!("{prefix}/"),
        };
        let source = AwsError::S3ReadDenied(Box::new(S3ReadDenied {
            operation,
            bucket: self.root.bucket().to_string(),
            key: self.root.key(key),
            prefix,
            code: if code.starts_with("HTTP ") {
                "Forbidden".to_string()
            } else {
                code
            },
            message,
        }));
        self.store_error("read", key, source)
    }

    /// A failed listing: a 403 names the permission that is missing.
    fn list_error<E>(&self, prefix: &str, e: SdkError<E, HttpResponse>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (code, message, status) = service_error(&e);
        if status != 403 || !matches!(e, SdkError::ServiceError(_)) {
            return self.io("list", "ListObjectsV2", prefix, e);
        }
        let source = AwsError::Service {
            operation: "ListObjectsV2",
            code,
            message,
            hint: Hint::new(format!(
                "the caller needs s3:ListBucket on arn:aws:s3:::{}",
                self.root.bucket()
            )),
        };
        self.store_error("list", prefix, source)
    }

    fn store_error(&self, op: &'static str, key: &str, source: AwsError) -> StoreError {
        StoreError::Io {
            op,
            key: key.to_string(),
            root: self.root.to_string(),
            source: Box::new(source),
        }
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn root(&self) -> String {
        self.root.to_string()
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(self.root.bucket())
            .key(self.root.key(key))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.io("write", "PutObject", key, e))?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<bool, StoreError> {
        check_key(key)?;
        let result = self
            .client
            .put_object()
            .bucket(self.root.bucket())
            .key(self.root.key(key))
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.code(),
                    Some("PreconditionFailed" | "ConditionalRequestConflict")
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.io("write", "PutObject", key, e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        let result = self
            .client
            .get_object()
            .bucket(self.root.bucket())
            .key(self.root.key(key))
            .send()
            .await;
        match result {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|e| StoreError::Io {
                    op: "read",
                    key: key.to_string(),
                    root: self.root.to_string(),
                    source: Box::new(e),
                })?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(self.read_error("GetObject", key, e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        check_key(key)?;
        let result = self
            .client
            .head_object()
            .bucket(self.root.bucket())
            .key(self.root.key(key))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(self.read_error("HeadObject", key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        check_key(prefix)?;
        let full = self.root.key(prefix);
        let full = if full.ends_with('/') {
            full
        } else {
            format!("{full}/")
        };
        let mut names = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(self.root.bucket())
            .prefix(&full)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.list_error(prefix, e))?;
            for p in page.common_prefixes() {
                if let Some(name) = p.prefix().and_then(|p| p.strip_prefix(&full)) {
                    names.push(name.trim_end_matches('/').to_string());
                }
            }
            for o in page.contents() {
                if let Some(name) = o.key().and_then(|k| k.strip_prefix(&full)) {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}
