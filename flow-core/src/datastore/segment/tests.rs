use super::*;
use crate::datastore::{error_chain, AttemptRecord, TaskStatus};
use crate::ids::{IndexPath, TaskId};

fn record(i: usize) -> TaskRecord {
    TaskRecord {
        task: TaskId::new("work", IndexPath(vec![i])),
        status: TaskStatus::Succeeded,
        attempts: vec![AttemptRecord {
            attempt: 0,
            started_at_ms: 1_000 + i as u64,
            duration_ms: 3,
            error: None,
        }],
        artifacts: Default::default(),
        foreach_count: (i == 2).then_some(4),
        switch_next: (i == 1).then(|| "end".to_string()),
        error: None,
        cloned_from: None,
    }
}

fn segment(records: &[TaskRecord]) -> Vec<u8> {
    let mut bytes = SEGMENT_HEADER.to_vec();
    for r in records {
        bytes.extend(encode_frame(r));
    }
    bytes
}

fn read(bytes: &[u8]) -> SegmentRead {
    read_segment("F/runs/r/steps/work/tasks.seg", "memory", bytes).unwrap()
}

#[test]
fn records_round_trip_in_order() {
    let records: Vec<TaskRecord> = (0..5).map(record).collect();
    let bytes = segment(&records);
    let got = read(&bytes);
    assert_eq!(got.records, records);
    assert_eq!((got.consumed, got.ignored), (bytes.len(), 0));
    // Only the header: no task yet.
    let empty = read(SEGMENT_HEADER);
    assert_eq!((empty.records.len(), empty.consumed), (0, 8));
}

#[test]
fn a_torn_last_frame_is_not_committed_at_every_byte() {
    let records: Vec<TaskRecord> = (0..3).map(record).collect();
    let whole = segment(&records);
    let last = encode_frame(&records[2]).len();
    let kept = whole.len() - last;
    for cut in kept..whole.len() {
        let got = read(&whole[..cut]);
        assert_eq!(got.records, records[..2], "cut at byte {cut}");
        assert_eq!((got.consumed, got.ignored), (kept, cut - kept), "cut {cut}");
    }
    // A frame appended after the torn read continues from where the read stopped.
    let rest = read_frames("k", "memory", &whole[kept..]).unwrap();
    assert_eq!(rest.records, records[2..]);
}

#[test]
fn a_zeroed_tail_or_a_bad_check_ends_the_committed_records() {
    let records: Vec<TaskRecord> = (0..3).map(record).collect();
    let mut zeroed = segment(&records[..2]);
    let kept = zeroed.len();
    zeroed.extend(vec![0u8; 300]);
    let got = read(&zeroed);
    assert_eq!(got.records, records[..2]);
    assert_eq!((got.consumed, got.ignored), (kept, 300));

    // One payload byte flipped in the second frame: it and every frame after it are ignored.
    let mut flipped = segment(&records);
    let second = SEGMENT_HEADER.len() + encode_frame(&records[0]).len();
    flipped[second + 12 + 5] ^= 0x20;
    let got = read(&flipped);
    assert_eq!(got.records, records[..1]);
    assert_eq!(got.consumed, second);

    // A length that runs past the end (garbage after a power loss) is incomplete.
    let mut long = segment(&records[..1]);
    let kept = long.len();
    long.extend(u32::MAX.to_le_bytes());
    long.extend([1u8; 20]);
    assert_eq!(read(&long).consumed, kept);
}

#[test]
fn a_torn_or_zeroed_header_holds_no_task() {
    for cut in 0..SEGMENT_HEADER.len() {
        let got = read(&SEGMENT_HEADER[..cut]);
        assert_eq!((got.records.len(), got.consumed, got.ignored), (0, 0, cut));
    }
    let got = read(&[0u8; 40]);
    assert_eq!((got.records.len(), got.consumed, got.ignored), (0, 0, 40));
}

#[test]
fn a_file_that_is_not_a_segment_is_an_error_naming_it() {
    let key = "F/runs/r/steps/work/tasks.seg";
    for bytes in [
        &b"{\"task\": {\"step\": \"work\"}}"[..],
        b"flowseg9xxxxxxxxxxxx",
        b"abc",
    ] {
        let error = read_segment(key, "/data/.flow", bytes).unwrap_err();
        let text = error_chain(&error);
        assert!(text.contains(key), "{text}");
        assert!(text.contains("/data/.flow"), "{text}");
        assert!(text.contains("not a task segment"), "{text}");
    }
}

#[test]
fn a_whole_frame_that_is_not_a_record_is_an_error() {
    let payload = b"[1, 2]";
    let mut bytes = SEGMENT_HEADER.to_vec();
    bytes.extend((payload.len() as u32).to_le_bytes());
    bytes.extend(&blake3::hash(payload).as_bytes()[..8]);
    bytes.extend(payload);
    let error = read_segment("k/tasks.seg", "memory", &bytes).unwrap_err();
    assert!(error_chain(&error).contains("k/tasks.seg"), "{error}");
}
