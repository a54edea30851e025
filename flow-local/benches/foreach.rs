//! Per-task overhead, throughput and peak memory of a local run: a trivial foreach of 10,
//! 1,000, 10,000 and 100,000 items, every task persisted to a datastore in a temporary
//! directory (the default file store: atomic writes, group-commit durability), and the
//! persistence of one 100 MB artifact against the disk's own write speed.
//!
//! ```text
//! cargo bench -p flow-local --bench foreach             # the default cases, every size
//! cargo bench -p flow-local --bench foreach -- 10000    # only the sizes given
//! cargo bench -p flow-local --bench foreach -- keeplist # only the flows named (any case)
//! cargo bench -p flow-local --bench foreach -- inherit  # only the 50 MB case (100,000 items)
//! cargo bench -p flow-local --bench foreach -- inherit 1000   # the 50 MB case, 1,000 items
//! cargo bench -p flow-local --bench foreach -- artifact # only the 100 MB artifact
//! FLOW_DURABILITY=off cargo bench -p flow-local --bench foreach   # without the group commit
//! ```
//!
//! Arguments: numbers select sizes (any size, not only the listed ones: an unlisted one
//! runs 3 times), words select flows (`droplist`, `keeplist`, `inherit`) or the artifact.
//!
//! Each measured run is a child process of this binary (the same executable, told what to
//! run by `FLOW_BENCH_CHILD`), so its peak resident memory is its own `ru_maxrss` and no
//! run warms the next one's allocator. The time is the `Runner::run` call alone: the
//! process start and the tokio runtime's are not counted. The figures are medians.
//!
//! Two flows: `KeepList`, whose body leaves the state as it found it except for the item
//! (what a flow naturally does), and `DropList`, whose body also empties the fanned-out list.
//! `KeepList` is the common pattern of a large fan-out: the items list is a field inherited
//! by every task, and the body is trivial. A body that names only some fields of `self`
//! does not get a copy of the others: they are inherited, held once for all items (see
//! ARCHITECTURE.md, "A run, end to end"). `DropList`'s body writes the list, so each of its
//! items starts from its own copy of it: O(N) per task.
//!
//! A third flow, `Inherit`, is `KeepList` whose `start` also sets a 50 MB field that no later
//! step names: what a task costs against the size of the fields it inherits unchanged. Its
//! goal is 100,000 items, the size it runs at unless sizes are given.

use flow_core::prelude::*;
use std::process::Command;
use std::time::Instant;

/// The fan-out sizes measured, and how many runs of each.
const SIZES: [(usize, usize); 4] = [(10, 21), (1_000, 11), (10_000, 7), (100_000, 3)];

/// Runs of a size not in [`SIZES`] (selected by an argument).
const OTHER_SIZE_RUNS: usize = 3;

/// The size of `Inherit`'s field that no task after `start` names.
const INHERIT_BYTES: usize = 50_000_000;

/// The sizes `Inherit` runs at when no size is given: the goal's (the other sizes add
/// nothing that `KeepList` does not show).
const INHERIT_SIZES: [usize; 1] = [100_000];

/// Parameters of the bench flows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct BenchParams {
    /// Items to fan out over.
    pub count: u32,
    /// Bytes of `Inherit`'s unnamed field.
    pub inherit_bytes: usize,
}

/// A foreach whose body only sets its item.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeepList {
    /// The items fanned out over.
    pub items: Vec<u32>,
    /// One body's item.
    pub item: u32,
    /// Sum of the items, set in the join.
    pub total: u64,
}

#[flow(params = BenchParams)]
impl KeepList {
    /// Lists the items.
    #[step(foreach = items, next = body)]
    fn start(&mut self, ctx: &Ctx<BenchParams>) {
        self.items = (0..ctx.params.count).collect();
    }

    /// Takes one item.
    #[step(next = join)]
    fn body(&mut self, item: &u32) {
        self.item = *item;
    }

    /// Sums them.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.total = inputs.iter().map(|i| u64::from(i.item)).sum();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

/// A foreach whose body sets its item and empties the list it no longer needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DropList {
    /// The items fanned out over.
    pub items: Vec<u32>,
    /// One body's item.
    pub item: u32,
    /// Sum of the items, set in the join.
    pub total: u64,
}

#[flow(params = BenchParams)]
impl DropList {
    /// Lists the items.
    #[step(foreach = items, next = body)]
    fn start(&mut self, ctx: &Ctx<BenchParams>) {
        self.items = (0..ctx.params.count).collect();
    }

    /// Takes one item; the join gets the list from `self`, not from every input.
    #[step(next = join)]
    fn body(&mut self, item: &u32) {
        self.item = *item;
        self.items = Vec::new();
    }

    /// Sums them.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.total = inputs.iter().map(|i| u64::from(i.item)).sum();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

/// `KeepList` whose `start` also sets a large field that no later step names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inherit {
    /// Set in `start`, inherited unchanged by every later task.
    pub inherited: Vec<u8>,
    /// The items fanned out over.
    pub items: Vec<u32>,
    /// One body's item.
    pub item: u32,
    /// Sum of the items, set in the join.
    pub total: u64,
}

#[flow(params = BenchParams)]
impl Inherit {
    /// Sets the large field (pseudo-random bytes, different each run) and lists the items.
    #[step(foreach = items, next = body)]
    fn start(&mut self, ctx: &Ctx<BenchParams>) {
        self.inherited = random_bytes(ctx.params.inherit_bytes, u64::from(std::process::id()));
        self.items = (0..ctx.params.count).collect();
    }

    /// Takes one item; names nothing else.
    #[step(next = join)]
    fn body(&mut self, item: &u32) {
        self.item = *item;
    }

    /// Sums them.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.total = inputs.iter().map(|i| u64::from(i.item)).sum();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

/// `len` pseudo-random bytes (xorshift64*): incompressible, and distinct for distinct seeds.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len + 8);
    let mut x = seed | 1;
    while bytes.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        bytes.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// What one child run reports.
struct Sample {
    secs: f64,
    max_rss_kb: u64,
    store_bytes: u64,
    store_files: u64,
}

fn main() {
    if let Ok(spec) = std::env::var("FLOW_BENCH_CHILD") {
        child(&spec);
        return;
    }
    // `cargo bench` passes `--bench`; other arguments select sizes and flows.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted: Vec<usize> = args
        .iter()
        .filter_map(|a| a.replace(['_', ','], "").parse().ok())
        .collect();
    let named: Vec<String> = args
        .iter()
        .filter(|a| a.replace(['_', ','], "").parse::<usize>().is_err())
        .map(|a| a.to_ascii_lowercase())
        .collect();
    for name in &named {
        assert!(
            ["droplist", "keeplist", "inherit", "artifact"].contains(&name.as_str()),
            "unknown argument `{name}`: give sizes, flows (droplist, keeplist, inherit) or `artifact`"
        );
    }
    let flows_named = named.iter().any(|n| n != "artifact");
    // FLOW_BENCH_DIR puts the datastores elsewhere (e.g. on a tmpfs, to see the file
    // system's share of the cost).
    let root = match std::env::var_os("FLOW_BENCH_DIR") {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .expect("temp dir");
    std::env::set_var("FLOW_BENCH_ROOT", root.path());
    let durability = flow_local::fs_store::Durability::from_env();
    println!(
        "flow-local foreach benchmark: {} cores, persistence on (file store under {}, durability {durability:?})",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        root.path().display()
    );
    println!(
        "{:<12} {:>8} {:>7} {:>5} {:>11} {:>13} {:>14} {:>10} {:>13}",
        "flow",
        "items",
        "tasks",
        "runs",
        "median s",
        "per task µs",
        "tasks/s",
        "peak MB",
        "stored MB"
    );
    let artifact_only = named.iter().all(|n| n == "artifact") && !named.is_empty();
    for flow in ["DropList", "KeepList", "Inherit"] {
        if artifact_only && wanted.is_empty() {
            break;
        }
        if flows_named && !named.contains(&flow.to_ascii_lowercase()) {
            continue;
        }
        for (items, runs) in sizes(flow, &wanted) {
            let tasks = items + 3;
            let mut samples: Vec<Sample> = (0..runs).map(|_| spawn(flow, items)).collect();
            samples.sort_by(|a, b| a.secs.total_cmp(&b.secs));
            let median = samples[samples.len() / 2].secs;
            let peak = samples.iter().map(|s| s.max_rss_kb).max().unwrap_or(0);
            let stored = &samples[0];
            println!(
                "{flow:<12} {items:>8} {tasks:>7} {runs:>5} {median:>11.4} {:>13.1} {:>14.0} {:>10.1} {:>13.1}",
                median / tasks as f64 * 1e6,
                tasks as f64 / median,
                peak as f64 / 1024.0,
                stored.store_bytes as f64 / 1e6,
            );
            let _ = stored.store_files;
        }
    }
    if (wanted.is_empty() && !flows_named) || named.iter().any(|n| n == "artifact") {
        large_artifact();
    }
}

/// The sizes `flow` runs at, with how many runs each: those given as arguments, else its
/// defaults ([`SIZES`]; [`INHERIT_SIZES`] for `Inherit`).
fn sizes(flow: &str, wanted: &[usize]) -> Vec<(usize, usize)> {
    let runs_of = |items: usize| {
        SIZES
            .iter()
            .find(|(n, _)| *n == items)
            .map_or(OTHER_SIZE_RUNS, |(_, runs)| *runs)
    };
    if !wanted.is_empty() {
        wanted.iter().map(|&n| (n, runs_of(n))).collect()
    } else if flow == "Inherit" {
        INHERIT_SIZES.iter().map(|&n| (n, runs_of(n))).collect()
    } else {
        SIZES.to_vec()
    }
}

/// A 100 MB artifact: persisted by the run store (bincode, BLAKE3, blob write, group commit)
/// against the disk's own speed (the same bytes written to a file and fsynced), and read
/// back with verification. Medians of 5, each in a child process.
fn large_artifact() {
    println!();
    println!(
        "{:<34} {:>10} {:>10}",
        "100 MB artifact (Vec<u8>)", "median s", "MB/s"
    );
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for _ in 0..5 {
        let output = Command::new(std::env::current_exe().expect("bench binary"))
            .env("FLOW_BENCH_CHILD", "Artifact:100")
            .output()
            .expect("bench child starts");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("ARTIFACT "))
            .expect("child prints figures");
        rows.push(
            line.split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect(),
        );
    }
    let labels = [
        "file write + fsync (the disk)",
        "run store: encode+hash+write+sync",
        "run store: read + verify + decode",
    ];
    for (i, label) in labels.iter().enumerate() {
        let mut v: Vec<f64> = rows.iter().map(|r| r[i]).collect();
        v.sort_by(f64::total_cmp);
        let median = v[v.len() / 2];
        println!("{label:<34} {median:>10.3} {:>10.0}", 100.0 / median);
    }
}

/// The state persisted by [`large_artifact`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Large {
    data: Vec<u8>,
}

fn artifact_child() {
    use flow_core::datastore::{ObjectStore, RunStore};
    let root = std::env::var_os("FLOW_BENCH_ROOT").expect("FLOW_BENCH_ROOT");
    let dir = tempfile::tempdir_in(root).expect("temp dir").keep();
    // Different bytes every run, so no blob is deduplicated and no page is shared.
    let seed = std::process::id() as u8;
    let state = Large {
        data: (0..100_000_000u32).map(|i| (i as u8) ^ seed).collect(),
    };
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    let raw = {
        use std::io::Write;
        let bytes = flow_core::artifacts::encode_value(&state.data).unwrap();
        let started = Instant::now();
        let mut f = std::fs::File::create(dir.join("raw")).unwrap();
        f.write_all(&bytes).unwrap();
        f.sync_all().unwrap();
        started.elapsed().as_secs_f64()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (write, read) = runtime.block_on(async {
        let object_store: std::sync::Arc<dyn ObjectStore> =
            std::sync::Arc::new(flow_local::FsStore::new(&dir));
        let store = RunStore::new(object_store.clone(), "Large");
        let run = flow_core::RunId::new("bench").unwrap();
        let task = flow_core::TaskId::new("start", flow_core::IndexPath::root());
        let started = Instant::now();
        let artifacts = store.save_state(&run, &task, &state).await.unwrap();
        let record = flow_core::datastore::TaskRecord {
            task: task.clone(),
            status: flow_core::datastore::TaskStatus::Succeeded,
            attempts: Vec::new(),
            artifacts,
            foreach_count: None,
            switch_next: None,
            error: None,
            cloned_from: None,
        };
        store.commit_task(&run, &record).await.unwrap();
        // The group commit a successor would wait for; durable like the fsync above.
        object_store.flush().await.unwrap();
        let write = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let back: Large = store.load_state(&run, &record).await.unwrap();
        let read = started.elapsed().as_secs_f64();
        assert_eq!(back.data.len(), state.data.len());
        (write, read)
    });
    println!("ARTIFACT {raw} {write} {read}");
}

/// Runs one measured run in a child process of this binary.
fn spawn(flow: &str, items: usize) -> Sample {
    let output = Command::new(std::env::current_exe().expect("bench binary"))
        .env("FLOW_BENCH_CHILD", format!("{flow}:{items}"))
        .output()
        .expect("bench child starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench child {flow}:{items} failed: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SAMPLE "))
        .expect("child prints a sample");
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    Sample {
        secs: f[0],
        max_rss_kb: f[1] as u64,
        store_bytes: f[2] as u64,
        store_files: f[3] as u64,
    }
}

fn child(spec: &str) {
    let (flow, items) = spec.split_once(':').expect("FLOW:ITEMS");
    if flow == "Artifact" {
        return artifact_child();
    }
    let count: u32 = items.parse().expect("item count");
    // Datastores are deleted only when every run is done (with the parent's temporary
    // directory). Deleting one between runs slows the next: for a few seconds after a mass
    // delete, ext4's inode allocator re-reads inode tables to skip recently deleted inodes
    // (`recently_deleted` was 30% of a run's profile), which measures the file system's
    // bookkeeping, not this crate.
    let root = std::env::var_os("FLOW_BENCH_ROOT").expect("FLOW_BENCH_ROOT");
    let dir = tempfile::tempdir_in(root).expect("temp dir").keep();
    // Earlier runs' dirty pages are written back now, not during this run.
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let params = BenchParams {
        count,
        inherit_bytes: INHERIT_BYTES,
    };
    let expected: u64 = (0..u64::from(count)).sum();
    let secs = runtime.block_on(async {
        let started = Instant::now();
        let total = match flow {
            "KeepList" => {
                let run = flow_local::Runner::<KeepList>::new()
                    .datastore(&dir)
                    .max_num_splits(usize::MAX)
                    .params(params)
                    .run()
                    .await
                    .expect("run starts");
                assert!(run.succeeded(), "{:?}", run.error());
                run.end_state().await.expect("end state").total
            }
            "Inherit" => {
                let run = flow_local::Runner::<Inherit>::new()
                    .datastore(&dir)
                    .max_num_splits(usize::MAX)
                    .params(params)
                    .run()
                    .await
                    .expect("run starts");
                assert!(run.succeeded(), "{:?}", run.error());
                run.end_state().await.expect("end state").total
            }
            _ => {
                let run = flow_local::Runner::<DropList>::new()
                    .datastore(&dir)
                    .max_num_splits(usize::MAX)
                    .params(params)
                    .run()
                    .await
                    .expect("run starts");
                assert!(run.succeeded(), "{:?}", run.error());
                run.end_state().await.expect("end state").total
            }
        };
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(total, expected);
        secs
    });
    let (bytes, files) = tree_size(&dir);
    println!("SAMPLE {secs} {} {bytes} {files}", max_rss_kb());
}

fn max_rss_kb() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    usage.ru_maxrss as u64 // kilobytes on Linux
}

fn tree_size(dir: &std::path::Path) -> (u64, u64) {
    let mut stack = vec![dir.to_path_buf()];
    let (mut bytes, mut files) = (0, 0);
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                bytes += meta.len();
                files += 1;
            }
        }
    }
    (bytes, files)
}
