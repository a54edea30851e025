//! Artifact serialization and content hashing at 1 KB, 1 MB and 100 MB: the per-task work
//! of persisting a flow's state, apart from the file writes.
//!
//! ```text
//! cargo bench -p flow-core --bench artifacts
//! ```
//!
//! The state is a flow struct with one `Vec<u8>` field of the given size (pseudo-random,
//! incompressible bytes) and a small integer field, encoded the way every task's state is:
//! [`encode_fields`] (one bincode buffer per field), [`decode_fields`] (back to the struct)
//! and [`content_hash`] (the BLAKE3 address of the large field's bytes). A plain `Vec<u8>`
//! is what flows write; bincode encodes it element by element. Throughput is reported in
//! bytes of payload per second.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use flow_core::artifacts::{content_hash, decode_fields, encode_fields};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A flow's state: one large artifact and a small one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    blob: Vec<u8>,
    count: u64,
}

/// The sizes measured, with a label.
const SIZES: [(&str, usize); 3] = [("1KB", 1_000), ("1MB", 1_000_000), ("100MB", 100_000_000)];

/// `len` pseudo-random bytes (xorshift64*).
fn payload(len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len + 8);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while bytes.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        bytes.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Few samples for the large size, so a run of every size takes about a minute.
fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}

fn artifacts(c: &mut Criterion) {
    for (label, len) in SIZES {
        let state = State {
            blob: payload(len),
            count: 7,
        };
        let fields = encode_fields(&state).expect("the state encodes");
        let blob_bytes = &fields[0].1;

        let mut group = c.benchmark_group("artifacts");
        configure(&mut group);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("encode_fields", label), &state, |b, s| {
            b.iter(|| encode_fields(black_box(s)).expect("the state encodes"))
        });
        group.bench_with_input(BenchmarkId::new("decode_fields", label), &fields, |b, f| {
            b.iter(|| decode_fields::<State>(black_box(f)).expect("the state decodes"))
        });
        group.bench_with_input(
            BenchmarkId::new("content_hash", label),
            blob_bytes,
            |b, bytes| b.iter(|| content_hash(black_box(bytes))),
        );
        group.finish();
    }
}

criterion_group!(benches, artifacts);
criterion_main!(benches);
