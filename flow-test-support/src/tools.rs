//! External checkers the tests run, found by their `FLOW_*` variables.

use std::path::PathBuf;
use std::process::Command;

/// The external tool named by the environment variable `var` (`FLOW_ASL_VALIDATOR`,
/// `FLOW_DOT`, `FLOW_MERMAID_CHECK`, `FLOW_CHROMIUM`, `FLOW_CFN_LINT`, `FLOW_PARLIAMENT`,
/// `FLOW_MOTO_PYTHON`); panics, pointing at `scripts/install-test-tools.sh`, when it is
/// missing.
pub fn tool(var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return PathBuf::from(path);
    }
    // Where a tool has a known place without the variable, use it: the environment file
    // only adds a convenience, and a fresh shell should not fail these tests for nothing.
    let fallback = match var {
        "FLOW_ASL_VALIDATOR" => tools_cache()
            .map(|cache| cache.join("node/node_modules/.bin/asl-validator"))
            .filter(|path| path.exists()),
        "FLOW_CHROMIUM" => on_path("chromium"),
        _ => None,
    };
    fallback.unwrap_or_else(|| {
        panic!(
            "{var} is not set: run `scripts/install-test-tools.sh` and \
             `source ~/.cache/flowrs-tools/env.sh` (or run the suite with `scripts/test.sh`)"
        )
    })
}

/// The cache `scripts/install-test-tools.sh` installs into.
fn tools_cache() -> Option<PathBuf> {
    std::env::var_os("FLOW_TOOLS_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/flowrs-tools"))
        })
}

/// `program` when it runs from `PATH` (its `--version` succeeds).
fn on_path(program: &str) -> Option<PathBuf> {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
        .then(|| PathBuf::from(program))
}

#[cfg(test)]
mod tests {
    #[test]
    #[should_panic(expected = "FLOW_NO_SUCH_TOOL is not set: run `scripts/install-test-tools.sh`")]
    fn a_missing_tool_names_its_variable_and_the_installer() {
        super::tool("FLOW_NO_SUCH_TOOL");
    }
}
