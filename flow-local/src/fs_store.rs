//! The local datastore: objects are files under a root directory (default `.flow/`).
//!
//! Every write goes to a temporary file in the target's directory and is renamed into
//! place, so a reader sees the old file, the new one, or none, and a process killed
//! mid-write leaves at most a `.tmp-*` file that readers ignore. Files are not fsynced by
//! default: rename is atomic against a killed process, which is what resume needs; set
//! `FLOW_FSYNC=1` to also survive power loss, at the cost of speed.

use async_trait::async_trait;
use flow_core::datastore::{check_key, ObjectStore, StoreError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A datastore in a local directory.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
    fsync: bool,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl FsStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStore {
            root: root.into(),
            fsync: std::env::var("FLOW_FSYNC").is_ok_and(|v| v == "1" || v == "true"),
        }
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key.trim_end_matches('/')))
    }

    fn io(&self, op: &'static str, key: &str, e: std::io::Error) -> StoreError {
        StoreError::Io {
            op,
            key: key.to_string(),
            root: self.root.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Writes `bytes` to a fresh temporary file next to `path` and returns its path.
    fn write_temp(&self, path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let dir = path.parent().expect("keys have a parent");
        let temp = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut file = match std::fs::File::create(&temp) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)?;
                std::fs::File::create(&temp)?
            }
            Err(e) => return Err(e),
        };
        file.write_all(bytes)?;
        if self.fsync {
            file.sync_all()?;
        }
        Ok(temp)
    }

    fn put_sync(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        let temp = self
            .write_temp(&path, bytes)
            .map_err(|e| self.io("write", key, e))?;
        std::fs::rename(&temp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            self.io("write", key, e)
        })
    }

    fn put_if_absent_sync(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let path = self.path_of(key)?;
        if path.exists() {
            return Ok(false);
        }
        let temp = self
            .write_temp(&path, bytes)
            .map_err(|e| self.io("write", key, e))?;
        // A hard link fails if the target exists: an atomic create-if-absent of a complete file.
        let result = std::fs::hard_link(&temp, &path);
        let _ = std::fs::remove_file(&temp);
        match result {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(self.io("write", key, e)),
        }
    }

    fn get_sync(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_of(key)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("read", key, e)),
        }
    }

    fn list_sync(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let path = self.path_of(prefix)?;
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io("list", prefix, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with(".tmp-"))
            .collect();
        names.sort();
        Ok(names)
    }
}

// The store's operations are small and synchronous; running them inline keeps the hot path
// free of thread hand-offs (the scheduler already runs tasks on worker threads).
#[async_trait]
impl ObjectStore for FsStore {
    fn root(&self) -> String {
        self.root.display().to_string()
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.put_sync(key, &bytes)
    }

    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<bool, StoreError> {
        self.put_if_absent_sync(key, &bytes)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_sync(key)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.path_of(key)?.exists())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.list_sync(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_list_and_claims() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        store.put("F/runs/a/run.json", b"1".to_vec()).await.unwrap();
        store.put("F/runs/a/run.json", b"2".to_vec()).await.unwrap();
        assert_eq!(
            store.get("F/runs/a/run.json").await.unwrap(),
            Some(b"2".to_vec())
        );
        assert!(store
            .put_if_absent("F/runs/b/run.json", b"x".to_vec())
            .await
            .unwrap());
        assert!(!store
            .put_if_absent("F/runs/b/run.json", b"y".to_vec())
            .await
            .unwrap());
        assert_eq!(
            store.get("F/runs/b/run.json").await.unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(store.list("F/runs/").await.unwrap(), vec!["a", "b"]);
        assert_eq!(store.get("F/none").await.unwrap(), None);
        assert!(store.put("../escape", vec![]).await.is_err());
        assert!(store.get("F/../../etc/passwd").await.is_err());
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("F/runs/b"))
            .unwrap()
            .collect();
        assert_eq!(names.len(), 1);
    }
}
