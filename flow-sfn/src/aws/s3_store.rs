//! The S3 datastore: the same keys and guarantees as the local one, on an S3 bucket.
//!
//! S3 PUTs are atomic (a reader sees the old object, the new one, or none), so a task
//! record written last is a commit point exactly as on disk; run ids are claimed with a
//! conditional PUT (`If-None-Match: *`).

use crate::config::S3Root;
use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use flow_core::datastore::{check_key, ObjectStore, StoreError};

/// A datastore in S3.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    root: S3Root,
}

impl S3Store {
    /// A store at `root`, reached with `client`.
    pub fn new(client: aws_sdk_s3::Client, root: S3Root) -> Self {
        S3Store { client, root }
    }

    fn io(
        &self,
        op: &'static str,
        key: &str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Io {
            op,
            key: key.to_string(),
            root: self.root.to_string(),
            source: Box::new(e),
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
            .map_err(|e| self.io("write", key, e))?;
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
            Err(e) => Err(self.io("write", key, e)),
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
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| self.io("read", key, e))?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(self.io("read", key, e)),
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
            Err(e) => Err(self.io("read", key, e)),
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
            let page = page.map_err(|e| self.io("list", prefix, e))?;
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
