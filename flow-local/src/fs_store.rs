//! The local datastore: objects are files under a root directory (default `.flow/`).
//!
//! **Atomicity.** Every write goes to a temporary file (`.tmp-<pid>-<n>`) in the target's
//! directory and is renamed (or, for create-if-absent, hard-linked) into place, so a reader
//! sees the old file, the new one, or none. A process killed mid-write leaves at most a
//! temporary file, which readers never list and [`ObjectStore::remove_leftovers`] deletes
//! (a resume does, for the run it resumes).
//!
//! **Appends.** A step's task records go to one segment file per step
//! ([`ObjectStore::append`]): the file is opened once with `O_APPEND` and kept open, and each
//! append is one `write` of the whole frame under the store's lock, so frames of one process
//! never interleave. A process killed mid-append leaves at most a torn last frame, which
//! readers of the segment ignore.
//!
//! **Durability** ([`Durability`], `FLOW_DURABILITY=batched|always|off`). A killed process
//! loses nothing that was written: the data is in the OS page cache. Surviving a power loss
//! needs an fsync, which costs about 3 ms per file on this project's test machine, i.e. 30 s
//! for the records of a 10,000-item foreach. The default, `batched`, is a group commit: writes
//! are not synced one by one; the store remembers the files it wrote and the directories whose
//! entries it changed, and [`ObjectStore::flush`], which the scheduler calls before a task's
//! successors start, syncs exactly those (a segment appended to is one file, however many
//! records it got), in one batch: it starts the write-back of every file, then `fdatasync`s
//! each file and `fsync`s each directory, several at once so that they share the journal's
//! commits and the disk's cache flushes. Other processes' writes to the same disk are never
//! waited for (no `syncfs`), and concurrent callers share one batch. So a 10,000-item foreach
//! costs a handful of journal commits, and the invariant resume relies on still holds after
//! a power loss: a task record that survived has predecessors whose records survived. What a
//! power loss can lose is the tasks committed since the last flush (they re-run on resume); a
//! record torn by it (a segment's frame that fails its length or checksum) is read as "not
//! committed" by resume, and a torn blob (a file shorter than its
//! content) is rewritten by the next task that stores the same value. `always` fsyncs every
//! file and its directory before the write returns (slow, for the paranoid); `off` never
//! syncs (scratch datastores, benchmarks of the scheduler alone).

use async_trait::async_trait;
use flow_core::datastore::{check_key, ObjectStore, StoreError};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// When writes reach the disk, not only the page cache (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Group commit: each [`ObjectStore::flush`] syncs the files and directories this store
    /// wrote since the last one, in one batch shared by concurrent callers.
    Batched,
    /// fsync every file and its directory before each write returns.
    Always,
    /// Never sync: survives a killed process, not a power loss.
    Off,
}

impl Durability {
    /// From `FLOW_DURABILITY` (`batched`, `always` or `off`; default `batched`).
    pub fn from_env() -> Self {
        match std::env::var("FLOW_DURABILITY").as_deref() {
            Ok("always") => Durability::Always,
            Ok("off") => Durability::Off,
            _ => Durability::Batched,
        }
    }
}

/// Writes made and writes known durable, for the group commit.
#[derive(Debug, Default)]
struct SyncState {
    written: AtomicU64,
    synced: AtomicU64,
    /// What the next flush syncs: the files written (and their directories) and the
    /// directories made for them (their entries in their parents).
    pending: std::sync::Mutex<Pending>,
    lock: tokio::sync::Mutex<()>,
    /// Every path a flush synced, in order (for tests of what a flush covers).
    #[cfg(test)]
    synced_paths: std::sync::Mutex<Vec<PathBuf>>,
}

#[derive(Debug, Default)]
struct Pending {
    files: HashSet<PathBuf>,
    dirs: HashSet<PathBuf>,
}

/// A datastore in a local directory.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
    durability: Durability,
    sync: Arc<SyncState>,
    /// The files appended to, kept open; appends hold this lock for their one write.
    appends: Arc<std::sync::Mutex<HashMap<PathBuf, std::fs::File>>>,
}

/// How many appended files a store keeps open (a run has one per step); past it, they are
/// all closed and opened again as they are appended to.
const OPEN_APPENDS: usize = 64;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);
const TEMP_PREFIX: &str = ".tmp-";

fn pid() -> u32 {
    static PID: OnceLock<u32> = OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// A content-addressed key (`<flow>/blobs/…`): its bytes are fixed by its name.
fn is_blob(key: &str) -> bool {
    key.split('/').nth(1) == Some("blobs")
}

impl FsStore {
    /// A store rooted at `root` (created on first write), durability from `FLOW_DURABILITY`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStore {
            root: root.into(),
            durability: Durability::from_env(),
            sync: Arc::default(),
            appends: Arc::default(),
        }
    }

    /// The same store with another durability.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The durability of its writes.
    pub fn durability(&self) -> Durability {
        self.durability
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
            source: Box::new(e),
        }
    }

    /// Writes `bytes` to a fresh temporary file next to `path` and returns its path.
    fn write_temp(&self, path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let dir = path.parent().expect("keys have a parent");
        let temp = dir.join(format!(
            "{TEMP_PREFIX}{}-{}",
            pid(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut file = match std::fs::File::create(&temp) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.make_dir(dir)?;
                std::fs::File::create(&temp)?
            }
            Err(e) => return Err(e),
        };
        file.write_all(bytes)?;
        if self.durability == Durability::Always {
            file.sync_all()?;
        }
        Ok(temp)
    }

    /// Makes the missing directory `dir` (and its missing ancestors), durably as the store's
    /// durability says: their entries in their parents are synced now (`Always`) or pending
    /// for the next flush (`Batched`).
    fn make_dir(&self, dir: &Path) -> std::io::Result<()> {
        // Usually only the task's own directory is missing: one mkdir, no walk.
        let made = match std::fs::create_dir(dir) {
            Ok(()) => Some(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
            Err(_) => {
                std::fs::create_dir_all(dir)?;
                Some(dir)
            }
        };
        match self.durability {
            Durability::Always => self.sync_ancestors(dir)?,
            // The new directories' entries in their parents (up to the root, as
            // `create_dir_all` may have made several).
            Durability::Batched if made.is_some() => {
                let mut pending = self.sync.pending.lock().expect("not poisoned");
                let mut at = dir.parent();
                while let Some(d) = at {
                    if !d.starts_with(&self.root) || !pending.dirs.insert(d.to_path_buf()) {
                        break;
                    }
                    if d == self.root {
                        break;
                    }
                    at = d.parent();
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Appends `bytes` to the file at `path` in one write, through the handle kept open for
    /// it (opened with `O_APPEND`, and created, on its first append).
    fn append_sync(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        let open = |path: &Path| {
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
        };
        let mut appends = self.appends.lock().expect("not poisoned");
        let opened = !appends.contains_key(&path);
        if opened {
            let file = match open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let dir = path.parent().expect("keys have a parent");
                    self.make_dir(dir)
                        .map_err(|e| self.io("append to", key, e))?;
                    open(&path).map_err(|e| self.io("append to", key, e))?
                }
                Err(e) => return Err(self.io("append to", key, e)),
            };
            if appends.len() >= OPEN_APPENDS {
                appends.clear();
            }
            appends.insert(path.clone(), file);
        }
        let file = appends.get_mut(&path).expect("inserted above");
        // One write of the whole frame, under the lock: frames never interleave.
        file.write_all(bytes)
            .map_err(|e| self.io("append to", key, e))?;
        match self.durability {
            Durability::Always => {
                file.sync_data().map_err(|e| self.io("sync", key, e))?;
                if opened {
                    // The file may be new: its entry in its directory.
                    sync_dir(path.parent().expect("keys have a parent"))
                        .map_err(|e| self.io("sync", key, e))?;
                }
            }
            Durability::Batched => {
                // The next flush syncs the file (however many frames it got) and its
                // directory, which holds its entry.
                let mut pending = self.sync.pending.lock().expect("not poisoned");
                pending.files.insert(path.clone());
            }
            Durability::Off => {}
        }
        drop(appends);
        // Counted after it is pending, so a flush that sees the count syncs the file.
        self.sync.written.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// fsyncs `dir`'s ancestors up to the root, so newly made directories are durable.
    fn sync_ancestors(&self, dir: &Path) -> std::io::Result<()> {
        let mut at = dir.parent();
        while let Some(d) = at {
            sync_dir(d)?;
            if d == self.root || !d.starts_with(&self.root) {
                break;
            }
            at = d.parent();
        }
        Ok(())
    }

    fn after_write(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().expect("keys have a parent");
        match self.durability {
            Durability::Always => sync_dir(dir)?,
            Durability::Batched => {
                let mut pending = self.sync.pending.lock().expect("not poisoned");
                // Its directory is synced too, found from the path when flushing (not held
                // here: a 100,000-task run would hold it 100,000 times).
                pending.files.insert(path.to_path_buf());
            }
            Durability::Off => {}
        }
        // Counted after it is pending, so a flush that sees the count syncs the file.
        self.sync.written.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn put_sync(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        let temp = self
            .write_temp(&path, bytes)
            .map_err(|e| self.io("write", key, e))?;
        std::fs::rename(&temp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            self.io("write", key, e)
        })?;
        self.after_write(&path).map_err(|e| self.io("sync", key, e))
    }

    fn put_if_absent_sync(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let path = self.path_of(key)?;
        match std::fs::metadata(&path) {
            // A blob shorter or longer than its content was torn by a power loss before the
            // group commit reached it: replace it (its name fixes what its bytes must be).
            Ok(meta) if is_blob(key) && meta.len() != bytes.len() as u64 => {
                self.put_sync(key, bytes)?;
                return Ok(true);
            }
            Ok(_) => return Ok(false),
            Err(_) => {}
        }
        let temp = self
            .write_temp(&path, bytes)
            .map_err(|e| self.io("write", key, e))?;
        // A hard link fails if the target exists: an atomic create-if-absent of a complete file.
        let result = std::fs::hard_link(&temp, &path);
        let _ = std::fs::remove_file(&temp);
        match result {
            Ok(()) => {
                self.after_write(&path)
                    .map_err(|e| self.io("sync", key, e))?;
                Ok(true)
            }
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

    fn get_from_sync(&self, key: &str, offset: u64) -> Result<Option<Vec<u8>>, StoreError> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.path_of(key)?;
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("read", key, e)),
        };
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(|e| self.io("read", key, e))?;
        Ok(Some(bytes))
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
            .filter(|n| !n.starts_with(TEMP_PREFIX))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Deletes the temporary files of writers that are gone under `dir`, recursively.
    fn remove_leftovers_sync(&self, dir: &Path) -> std::io::Result<usize> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                removed += self.remove_leftovers_sync(&entry.path())?;
            } else if let Some(rest) = name.strip_prefix(TEMP_PREFIX) {
                let writer = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
                if writer.is_some_and(|p| !process_alive(p)) {
                    match std::fs::remove_file(entry.path()) {
                        Ok(()) => removed += 1,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(removed)
    }
}

/// Whether a process with this id exists (a temporary file of a live writer is kept).
fn process_alive(pid: u32) -> bool {
    if pid == self::pid() {
        return true;
    }
    let proc = Path::new("/proc");
    if proc.is_dir() {
        proc.join(pid.to_string()).exists()
    } else {
        // No way to tell without /proc: keep it (it is invisible to readers anyway).
        true
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// How many syncs run at once: concurrent fdatasyncs share the disk's cache flushes (the
/// block layer merges flush requests issued together), where one after another each waits
/// for its own.
const SYNC_THREADS: usize = 16;

/// Makes `files`' data and `dirs`' entries durable: starts the write-back of every file,
/// then `fdatasync`s each file and `fsync`s each directory, [`SYNC_THREADS`] at a time. A
/// path gone since it was written (replaced or removed) has nothing to sync.
fn sync_paths(files: &[PathBuf], dirs: &[PathBuf]) -> std::io::Result<()> {
    let open = |path: &Path| match std::fs::File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    };
    for path in files {
        if let Some(file) = open(path)? {
            start_write_back(&file);
        }
    }
    let next = AtomicU64::new(0);
    let total = files.len() + dirs.len();
    let worker = || -> std::io::Result<()> {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed) as usize;
            if i >= total {
                return Ok(());
            }
            if i < files.len() {
                if let Some(file) = open(&files[i])? {
                    file.sync_data()?;
                }
            } else if let Some(dir) = open(&dirs[i - files.len()])? {
                dir.sync_all()?;
            }
        }
    };
    let threads = SYNC_THREADS.min(total);
    if threads <= 1 {
        return worker();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("sync panicked")))
            })
            .collect::<std::io::Result<Vec<()>>>()
    })?;
    Ok(())
}

/// Asks the kernel to start writing `file`'s dirty pages without waiting (Linux
/// `sync_file_range`), so the batch's writes go to the disk together; elsewhere nothing.
fn start_write_back(file: &std::fs::File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range only reads the descriptor, which `file` keeps open. A
        // failure is harmless: the fdatasync that follows writes the pages itself.
        unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

// The store's operations are small and synchronous; running them inline keeps the hot path
// free of thread hand-offs (the scheduler already runs tasks on worker threads). Only the
// group commit's sync, which may take milliseconds, goes to the blocking pool.
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

    async fn get_from(&self, key: &str, offset: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_from_sync(key, offset)
    }

    fn can_append(&self) -> bool {
        true
    }

    async fn append(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.append_sync(key, &bytes)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.path_of(key)?.exists())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.list_sync(prefix)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        if self.durability != Durability::Batched {
            return Ok(());
        }
        let sync = &self.sync;
        let target = sync.written.load(Ordering::SeqCst);
        if sync.synced.load(Ordering::SeqCst) >= target {
            return Ok(());
        }
        // Callers queue here; whoever holds the lock syncs for everyone written so far, so
        // most of those queued behind find their writes synced already.
        let _turn = sync.lock.lock().await;
        if sync.synced.load(Ordering::SeqCst) >= target {
            return Ok(());
        }
        // Every write counted in `upto` is pending already (`after_write`).
        let upto = sync.written.load(Ordering::SeqCst);
        let taken = std::mem::take(&mut *sync.pending.lock().expect("not poisoned"));
        let mut dirs = taken.dirs;
        for file in &taken.files {
            let dir = file.parent().expect("keys have a parent");
            if !dirs.contains(dir) {
                dirs.insert(dir.to_path_buf());
            }
        }
        let files: Vec<PathBuf> = taken.files.into_iter().collect();
        // Deepest first: a new directory's own entry before its parent's.
        let mut dirs: Vec<PathBuf> = dirs.into_iter().collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        #[cfg(test)]
        sync.synced_paths
            .lock()
            .expect("not poisoned")
            .extend(files.iter().chain(&dirs).cloned());
        let result = match tokio::runtime::Handle::try_current() {
            Ok(_) => tokio::task::spawn_blocking(move || sync_paths(&files, &dirs))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e))),
            Err(_) => sync_paths(&files, &dirs),
        };
        // A failed sync fails the run (the scheduler stops on it); resume re-runs its tasks.
        result.map_err(|e| self.io("sync", "", e))?;
        sync.synced.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }

    async fn remove_leftovers(&self, prefix: &str) -> Result<usize, StoreError> {
        let dir = self.path_of(prefix)?;
        self.remove_leftovers_sync(&dir)
            .map_err(|e| self.io("clean", prefix, e))
    }
}

#[cfg(test)]
mod tests;
