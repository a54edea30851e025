//! Criterion: what one task of a local run costs, in-process, every task persisted durably
//! (the default file store and group commit) on a real disk, and how that cost depends on
//! the size of the fields the tasks inherit unchanged.
//!
//! ```text
//! cargo bench -p flow-local --bench per_task
//! cargo bench -p flow-local --bench per_task -- common      # one group
//! FLOW_BENCH_DIR=/some/dir cargo bench -p flow-local --bench per_task
//! ```
//!
//! * `common/<items>`: the common pattern of a fan-out: `start` lists the items, every task
//!   inherits the list, the body is trivial, a join sums. One iteration is one whole run
//!   (`Runner::run`, fresh datastore); criterion's throughput line is tasks per second
//!   (items + 3), so the time per task is the reciprocal.
//! * `inherited/<MiB>MiB/<items>`: the same flow whose `start` also sets a field of that
//!   many MiB (0 or 50) that no later step names, over 1,000 and 10,000 items. What a task
//!   costs is the difference between the two sizes over 9,000 tasks: the goal is the same
//!   figure at 50 MiB as at 0 (the field costs once, when `start` stores it, not per task).
//!
//! Datastores live under `FLOW_BENCH_DIR` (default: `target/flow-bench`, on the project's
//! disk, not a tmpfs), one fresh directory per iteration, removed after the group. The
//! command line's own figures, progress on, are `bench/compare-metaflow`'s.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use flow_core::prelude::*;
use flow_local::{ProgressMode, Runner};
use std::path::PathBuf;
use std::time::Duration;

/// Parameters of the bench flow.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct Sizes {
    /// Items to fan out over.
    pub count: u64,
    /// MiB of the field no task after `start` names.
    pub inherit_mib: usize,
}

/// A foreach whose items inherit the list (and `unnamed`) and set one value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Common {
    /// The items fanned out over.
    pub items: Vec<u64>,
    /// A field only `start` names.
    pub unnamed: Vec<u8>,
    /// One item's value.
    pub value: u64,
    /// The sum, set in the join.
    pub total: u64,
}

#[flow(params = Sizes)]
impl Common {
    /// Lists the items (and fills `unnamed`).
    #[step(foreach = items, next = body)]
    fn start(&mut self, ctx: &Ctx<Sizes>) {
        self.items = (0..ctx.params.count).collect();
        // Different bytes per run, so no run finds its blob stored by an earlier one.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        let mut x = seed;
        self.unnamed = (0..ctx.params.inherit_mib << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
    }

    /// One item: a trivial body.
    #[step(next = join)]
    fn body(&mut self, item: &u64) {
        self.value = item * 2;
    }

    /// Sums.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.total = inputs.iter().map(|i| i.value).sum();
    }

    /// Checks the sum.
    #[step]
    fn end(&mut self) {
        let n = self.items.len() as u64;
        assert_eq!(self.total, n * n.saturating_sub(1));
    }
}

fn bench_root() -> PathBuf {
    let root = std::env::var_os("FLOW_BENCH_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/flow-bench"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&root).expect("the bench directory can be made");
    root
}

/// One run of `Common` in a fresh datastore.
fn run_once(rt: &tokio::runtime::Runtime, dir: &tempfile::TempDir, sizes: &Sizes) {
    let run = rt
        .block_on(
            Runner::<Common>::new()
                .datastore(dir.path())
                .params(sizes.clone())
                .progress(ProgressMode::Quiet)
                .run(),
        )
        .expect("the run starts");
    assert!(run.succeeded(), "{:?}", run.error());
}

/// Measures whole runs of `Common`, one per `(id, sizes)`, each in a fresh datastore under
/// the bench directory, in the group `name`; throughput in tasks.
fn bench_runs(c: &mut Criterion, name: &str, cases: Vec<(BenchmarkId, Sizes)>) {
    // As the command line builds it.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let root = bench_root();
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (id, sizes) in cases {
        group.throughput(Throughput::Elements(sizes.count + 3));
        group.bench_with_input(id, &sizes, |b, sizes| {
            b.iter_batched(
                || tempfile::tempdir_in(&root).expect("a datastore directory"),
                |dir| {
                    run_once(&rt, &dir, sizes);
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn common(c: &mut Criterion) {
    let cases = [1_000u64, 10_000]
        .into_iter()
        .map(|count| {
            let sizes = Sizes {
                count,
                inherit_mib: 0,
            };
            (BenchmarkId::from_parameter(count), sizes)
        })
        .collect();
    bench_runs(c, "common", cases);
}

fn inherited(c: &mut Criterion) {
    let mut cases = Vec::new();
    for inherit_mib in [0usize, 50] {
        for count in [1_000u64, 10_000] {
            let id = BenchmarkId::new(format!("{inherit_mib}MiB"), count);
            cases.push((id, Sizes { count, inherit_mib }));
        }
    }
    bench_runs(c, "inherited", cases);
}

criterion_group!(benches, common, inherited);
criterion_main!(benches);
