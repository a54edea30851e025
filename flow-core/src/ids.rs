//! Run, step and task identifiers. Every id that reaches a file name or an object key is
//! validated here, so nothing can name a path outside the datastore.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why an id was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`: {why}")]
pub struct IdError {
    /// What kind of id (run id, step name, task index).
    pub kind: &'static str,
    /// The rejected text.
    pub value: String,
    /// What a valid one looks like.
    pub why: &'static str,
}

/// The longest run id: Step Functions execution names are at most 80 characters.
pub const MAX_RUN_ID_LEN: usize = 80;

/// A run's id: `[A-Za-z0-9_-]{1,80}`, usable as a directory name, an S3 key segment and a
/// Step Functions execution name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// Validates a run id.
    pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        let ok = !value.is_empty()
            && value.len() <= MAX_RUN_ID_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(RunId(value))
        } else {
            Err(IdError {
                kind: "run id",
                value,
                why: "use 1 to 80 characters from A-Z, a-z, 0-9, '-' and '_'",
            })
        }
    }

    /// A fresh id: UTC time (sortable), then random bits so concurrent runs never collide.
    pub fn generate() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = now.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(days as i64);
        let random = random_u64();
        RunId(format!(
            "{y:04}{m:02}{d:02}T{:02}{:02}{:02}-{:010x}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60,
            random & 0xff_ffff_ffff
        ))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 64 random bits without a dependency: std's SipHash keys are seeded from the OS per
/// `RandomState`, mixed with the time and a process-wide counter.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RunId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        RunId::new(s)
    }
}

impl TryFrom<String> for RunId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        RunId::new(s)
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

/// Validates a step name as it may appear in a path: a Rust identifier.
pub fn validate_step_name(name: &str) -> Result<(), IdError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(IdError {
            kind: "step name",
            value: name.to_string(),
            why: "a step name is a Rust identifier of at most 64 characters",
        })
    }
}

/// Where a task sits in the foreach fan-outs around its step: one item index per enclosing
/// foreach, outermost first. Empty for a step outside any foreach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IndexPath(pub Vec<usize>);

impl IndexPath {
    /// The path of the task outside any foreach.
    pub fn root() -> Self {
        IndexPath(Vec::new())
    }

    /// This path extended by one more item index (a foreach's child).
    pub fn child(&self, index: usize) -> Self {
        let mut v = self.0.clone();
        v.push(index);
        IndexPath(v)
    }

    /// This path without its innermost index (the task that fanned out).
    pub fn parent(&self) -> Self {
        let mut v = self.0.clone();
        v.pop();
        IndexPath(v)
    }

    /// The key segment: indices joined by `.`, or `0` for the root path.
    pub fn key(&self) -> String {
        if self.0.is_empty() {
            "0".to_string()
        } else {
            self.0
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(".")
        }
    }

    /// Parses a key segment written by [`IndexPath::key`] for a step `depth` foreaches deep.
    pub fn parse(key: &str, depth: usize) -> Result<Self, IdError> {
        let err = || {
            IdError {
            kind: "task index",
            value: key.to_string(),
            why: "a task index is `0` outside a foreach, else item indices joined by '.', e.g. `3` or `2.5`",
        }
        };
        if depth == 0 {
            return if key == "0" || key.is_empty() {
                Ok(IndexPath::root())
            } else {
                Err(err())
            };
        }
        let parts: Result<Vec<usize>, _> = key.split('.').map(str::parse).collect();
        match parts {
            Ok(p) if p.len() == depth => Ok(IndexPath(p)),
            _ => Err(err()),
        }
    }

    /// The item index in the innermost foreach, if any.
    pub fn innermost(&self) -> Option<usize> {
        self.0.last().copied()
    }
}

impl fmt::Display for IndexPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

// The serialized form: empty for the root path, else the key. Not the key itself, which is
// `0` for both the root and item 0 of a foreach and is only unambiguous with the depth.
impl TryFrom<String> for IndexPath {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        if s.is_empty() {
            return Ok(IndexPath::root());
        }
        let depth = s.split('.').count();
        IndexPath::parse(&s, depth)
    }
}

impl From<IndexPath> for String {
    fn from(p: IndexPath) -> String {
        if p.0.is_empty() {
            String::new()
        } else {
            p.key()
        }
    }
}

/// A task: one execution of a step, at one foreach index path. Stable across attempts and
/// across resumed runs, so a resumed run can find the origin run's task by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId {
    /// The step's name.
    pub step: String,
    /// The foreach index path.
    pub index: IndexPath,
}

impl TaskId {
    /// The task of `step` at `index`.
    pub fn new(step: impl Into<String>, index: IndexPath) -> Self {
        TaskId {
            step: step.into(),
            index,
        }
    }

    /// Parses `STEP` or `STEP/INDEX` (as in `run/STEP/INDEX` pathspecs).
    pub fn parse(text: &str, depth: usize) -> Result<Self, IdError> {
        let (step, index) = match text.split_once('/') {
            Some((s, i)) => (s, i),
            None => (text, ""),
        };
        validate_step_name(step)?;
        Ok(TaskId::new(step, IndexPath::parse(index, depth)?))
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.step, self.index.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_reject_path_tricks() {
        for bad in ["", "..", "a/b", "a\\b", "../x", "a b", &"x".repeat(81)] {
            assert!(RunId::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(RunId::new("20261123T101010-abc").is_ok());
    }

    #[test]
    fn generated_run_ids_are_valid_and_distinct() {
        let ids: std::collections::BTreeSet<String> =
            (0..1000).map(|_| RunId::generate().to_string()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            RunId::new(id.clone()).unwrap();
        }
    }

    #[test]
    fn index_paths_round_trip() {
        assert_eq!(IndexPath::parse("0", 0).unwrap(), IndexPath::root());
        assert_eq!(IndexPath::parse("2.5", 2).unwrap(), IndexPath(vec![2, 5]));
        assert!(IndexPath::parse("2.5", 1).is_err());
        assert!(IndexPath::parse("..", 1).is_err());
        assert!(IndexPath::parse("1/2", 1).is_err());
        let p = IndexPath(vec![3, 1]);
        assert_eq!(IndexPath::parse(&p.key(), 2).unwrap(), p);
        assert_eq!(p.parent().child(1), p);
    }

    #[test]
    fn step_names_are_identifiers() {
        assert!(validate_step_name("measure_2").is_ok());
        for bad in ["", "..", "a/b", "9x", "a-b", "a.b"] {
            assert!(validate_step_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
    }

    #[test]
    fn index_paths_round_trip_through_serde() {
        // The root and item 0 share the key `0`; their serialized forms must differ.
        for path in [vec![], vec![0], vec![0, 0], vec![3], vec![2, 5]] {
            let id = TaskId::new("step", IndexPath(path));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<TaskId>(&json).unwrap(), id, "{json}");
        }
    }
}
