//! Helpers shared by flow-local's integration tests.
#![allow(dead_code)]

use flow_test_support::example_binary;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A `slow_foreach` command on datastore `store`, tracing to `trace` if given.
pub fn slow_foreach(store: &Path, trace: Option<&Path>, args: &[&str]) -> Command {
    let mut command = Command::new(example_binary("slow_foreach"));
    command
        .args(args)
        .env("FLOW_DATASTORE", store)
        .env_remove("SLOW_FOREACH_TRACE");
    if let Some(trace) = trace {
        command.env("SLOW_FOREACH_TRACE", trace);
    }
    command
}

/// Runs `slow_foreach` with `args` on datastore `store`; returns its output.
pub fn cli(store: &Path, args: &[&str]) -> Output {
    slow_foreach(store, None, args)
        .output()
        .expect("slow_foreach runs")
}

/// Stdout and stderr of a finished command, for assertion messages.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every file under `dir` with its bytes, by path relative to `dir`.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("readable file");
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

/// Asserts that no file of `before` changed or vanished and that every new file is under
/// one of `new_dirs` (relative to the datastore), e.g. the directory of a run the command
/// legitimately created.
pub fn assert_unchanged(
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
    new_dirs: &[PathBuf],
    what: &str,
) {
    for (path, bytes) in before {
        match after.get(path) {
            None => panic!("{what}: {} vanished", path.display()),
            Some(now) => assert!(now == bytes, "{what}: {} changed", path.display()),
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        assert!(
            new_dirs.iter().any(|d| path.starts_with(d)),
            "{what}: new file {} outside {new_dirs:?}",
            path.display()
        );
    }
}

/// The run ids of flow `flow` in datastore `store`.
pub fn run_ids(store: &Path, flow: &str) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(store.join(flow).join("runs"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}
