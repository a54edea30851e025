//! Helpers shared by the workspace-level tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The path of a built example binary (`cargo test` builds every example first).
pub fn example_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test> -> target/debug/examples/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("examples");
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "example binary {} is missing: run the tests with `cargo test --workspace` (which \
         builds the examples; `--all-targets` builds them as tests instead), or \
         `cargo build --examples` first",
        bin.display()
    );
    bin
}

/// Runs an example with arguments in `cwd`; returns its output.
pub fn run_example(name: &str, args: &[&str], cwd: &std::path::Path) -> Output {
    Command::new(example_bin(name))
        .args(args)
        .current_dir(cwd)
        .env_remove("FLOW_DATASTORE")
        .output()
        .expect("example runs")
}

/// The names of every example in `examples/`.
pub fn example_names() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("examples dir")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "rs").then_some(stem)
        })
        .collect();
    names.sort();
    names
}

/// A tool the test suite needs, from the environment `scripts/install-test-tools.sh` writes.
/// Fails (never skips) when it is missing.
pub fn tool(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run `scripts/install-test-tools.sh` and \
             `source ~/.cache/flowrs-tools/env.sh` (or run the suite with `scripts/test.sh`)"
        )
    })
}
