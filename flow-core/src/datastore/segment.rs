//! A step's task segment, `tasks.seg`: the records of a step's tasks appended one frame at a
//! time to one file, on stores that can append (the local directory).
//!
//! ```text
//! file   = header frame*
//! header = b"flowseg1"                                   8 bytes
//! frame  = len: u32 LE | check: [u8; 8] | payload: [u8; len]
//! check  = the first 8 bytes of BLAKE3(payload)
//! payload = the task record as compact JSON (records.rs)
//! ```
//!
//! A frame is the commit point of its task. A reader takes frames in order and stops at the
//! first one that is incomplete or whose check does not match its payload: what a process
//! killed mid-append or a power loss leaves at the tail reads as "not committed", never as
//! an error. A file whose header is not `flowseg1` is an error; one that is shorter than
//! the header and a prefix of it, or whose header is zeroed (a power loss before the file's
//! data reached the disk), holds no task yet.

use super::{DatastoreError, TaskRecord};
use serde::de::Error as _;

/// The first bytes of every segment.
pub const SEGMENT_HEADER: &[u8; 8] = b"flowseg1";

/// Bytes before a frame's payload: its length and its check.
const FRAME_HEAD: usize = 4 + 8;

/// The records read from a segment.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SegmentRead {
    /// The committed records, in the order they were appended.
    pub records: Vec<TaskRecord>,
    /// How many bytes the header and the whole frames take: where the next frame starts.
    pub consumed: usize,
    /// How many bytes after them were ignored (a torn or damaged tail).
    pub ignored: usize,
}

/// The check of a payload: the first 8 bytes of its BLAKE3 hash.
fn check(payload: &[u8]) -> [u8; 8] {
    let hash = blake3::hash(payload);
    let mut out = [0u8; 8];
    out.copy_from_slice(&hash.as_bytes()[..8]);
    out
}

/// One frame holding `record`, ready to append.
pub fn encode_frame(record: &TaskRecord) -> Vec<u8> {
    let payload = serde_json::to_vec(record).expect("records serialize to JSON");
    let len = u32::try_from(payload.len()).expect("a task record is smaller than 4 GiB");
    let mut frame = Vec::with_capacity(FRAME_HEAD + payload.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&check(&payload));
    frame.extend_from_slice(&payload);
    frame
}

/// Reads a whole segment file (`bytes`, stored under `key` in datastore `root`).
pub fn read_segment(key: &str, root: &str, bytes: &[u8]) -> Result<SegmentRead, DatastoreError> {
    let head = &bytes[..bytes.len().min(SEGMENT_HEADER.len())];
    if head.len() < SEGMENT_HEADER.len() && SEGMENT_HEADER.starts_with(head) {
        // The header itself is torn: nothing was committed after it.
        return Ok(SegmentRead {
            ignored: bytes.len(),
            ..SegmentRead::default()
        });
    }
    if head.iter().all(|&b| b == 0) {
        // Zeroed by a power loss before the file's data was synced: nothing committed.
        return Ok(SegmentRead {
            ignored: bytes.len(),
            ..SegmentRead::default()
        });
    }
    if head != SEGMENT_HEADER {
        return Err(DatastoreError::BadRecord {
            key: key.to_string(),
            root: root.to_string(),
            message: serde_json::Error::custom(format!(
                "the file is not a task segment: it starts with {:?}, not {:?}",
                String::from_utf8_lossy(head),
                String::from_utf8_lossy(SEGMENT_HEADER)
            )),
        });
    }
    let mut read = read_frames(key, root, &bytes[SEGMENT_HEADER.len()..])?;
    read.consumed += SEGMENT_HEADER.len();
    Ok(read)
}

/// Reads the frames in `bytes`, which starts at a frame boundary of a segment (after its
/// header, or where an earlier read stopped).
pub fn read_frames(key: &str, root: &str, bytes: &[u8]) -> Result<SegmentRead, DatastoreError> {
    let mut records = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= FRAME_HEAD {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let Some(end) = (at + FRAME_HEAD).checked_add(len) else {
            break;
        };
        if end > bytes.len() {
            break;
        }
        let payload = &bytes[at + FRAME_HEAD..end];
        if bytes[at + 4..at + FRAME_HEAD] != check(payload) {
            break;
        }
        // A payload that passed its check is what was written: one that does not parse is
        // not a torn write but a record of another shape.
        let record =
            serde_json::from_slice(payload).map_err(|message| DatastoreError::BadRecord {
                key: key.to_string(),
                root: root.to_string(),
                message,
            })?;
        records.push(record);
        at = end;
    }
    Ok(SegmentRead {
        records,
        consumed: at,
        ignored: bytes.len() - at,
    })
}

#[cfg(test)]
mod tests;
