//! Helpers shared by the workspace-level tests.
#![allow(dead_code)]

use flow_test_support::example_binary;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs an example with arguments in `cwd`; returns its output.
pub fn run_example(name: &str, args: &[&str], cwd: &std::path::Path) -> Output {
    Command::new(example_binary(name))
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
