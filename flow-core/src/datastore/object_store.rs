//! The storage a datastore sits on: a flat key-value store of byte objects, implemented by a
//! local directory (flow-local) and by S3 (flow-sfn).

use async_trait::async_trait;
use std::fmt::Debug;

/// A failure of the storage underneath a datastore.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on a key.
    #[error("cannot {op} `{key}` in {root}")]
    Io {
        /// What was being done (read, write, list).
        op: &'static str,
        /// The key.
        key: String,
        /// The store's root, for the user to find it.
        root: String,
        /// The underlying error (an `io::Error`, an S3 client error).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A key that would escape the store or is not well-formed.
    #[error("invalid key `{0}`: keys are relative, '/'-separated, without `.` or `..` segments")]
    InvalidKey(String),
}

/// A flat key-value store of byte objects. Keys are `/`-separated relative paths.
#[async_trait]
pub trait ObjectStore: Send + Sync + Debug + 'static {
    /// Where the store is, for messages: a directory path or `s3://bucket/prefix`.
    fn root(&self) -> String;

    /// Writes an object atomically: a reader sees the whole old value, the whole new value,
    /// or (for a new key) nothing; never a partial write.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError>;

    /// Writes an object only if the key does not exist yet; returns whether it wrote.
    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<bool, StoreError>;

    /// Reads an object, or `None` if the key does not exist.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Reads an object from byte `offset` on (nothing when it is shorter), or `None` if the
    /// key does not exist: how a reader catches up with an object that is appended to. The
    /// default reads the whole object.
    async fn get_from(&self, key: &str, offset: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get(key).await?.map(|bytes| {
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            bytes[start..].to_vec()
        }))
    }

    /// Whether [`ObjectStore::append`] works: stores that can append to an object in place
    /// (a local file) keep a step's task records in one segment instead of one object each.
    fn can_append(&self) -> bool {
        false
    }

    /// Appends `bytes` to an object, creating it if needed, in one piece: appends to one
    /// object never interleave, and a reader sees a prefix of what was appended (a process
    /// killed mid-append or a power loss can leave a torn tail, which readers of appended
    /// objects must detect). Durable like [`ObjectStore::put`]: at the next
    /// [`ObjectStore::flush`]. Stores that cannot append keep this default, an error.
    async fn append(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let _ = bytes;
        Err(StoreError::Io {
            op: "append to",
            key: key.to_string(),
            root: self.root(),
            source: "this store cannot append to an object".into(),
        })
    }

    /// Whether an object exists.
    async fn exists(&self, key: &str) -> Result<bool, StoreError>;

    /// The names directly under `prefix` (which ends with `/`): object names and "directory"
    /// names (without a trailing `/`), sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Makes every write that returned before this call durable (it survives a power loss,
    /// not only a killed process). Schedulers call it before a task's successors start, so
    /// a durable task record never follows a lost predecessor. Stores whose writes are
    /// durable when they return (S3) keep this default, which does nothing.
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Removes what killed writers left under `prefix` (temporary files of a local store);
    /// returns how many were removed. Stores without such leftovers keep this default.
    async fn remove_leftovers(&self, _prefix: &str) -> Result<usize, StoreError> {
        Ok(0)
    }
}

/// Checks that a key is relative and has no empty, `.` or `..` segments.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && !key.starts_with('/')
        && key
            .trim_end_matches('/')
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidKey(key.to_string()))
    }
}
