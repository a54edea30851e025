//! Every generated definition must pass the npm `asl-validator` (4.x). The validator is a
//! test tool installed by `scripts/install-test-tools.sh`; without it this test fails
//! rather than skips, so a missing install never passes for a green run.

mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn validator() -> PathBuf {
    if let Some(path) = std::env::var_os("FLOW_ASL_VALIDATOR") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("FLOW_TOOLS_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/flowrs-tools")))
        .expect("HOME or FLOW_TOOLS_CACHE is set");
    cache.join("node/node_modules/.bin/asl-validator")
}

/// Runs the validator on one definition; `Ok` when it accepts, else its output.
fn validate(name: &str, definition: &Value, dir: &tempfile::TempDir) -> Result<(), String> {
    let tool = validator();
    assert!(
        tool.exists(),
        "asl-validator not found at {}: run scripts/install-test-tools.sh (or set FLOW_ASL_VALIDATOR)",
        tool.display()
    );
    let path = dir.path().join(format!("{name}.asl.json"));
    std::fs::write(&path, definition.to_string()).unwrap();
    let output = Command::new(&tool)
        .arg("--json-path")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn every_generated_definition_passes_asl_validator() {
    let dir = tempfile::tempdir().unwrap();
    let mut graphs = common::shapes();
    graphs.push(("linear_500", common::linear(500)));
    graphs.push(("split_100", common::wide_split(100)));
    let mut failures = Vec::new();
    for (name, graph) in &graphs {
        let deployment = common::compile_ok(graph);
        if let Err(output) = validate(name, &deployment.definition, &dir) {
            failures.push(format!("{name}:\n{output}"));
        }
    }
    assert!(
        failures.is_empty(),
        "asl-validator rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_validator_rejects_a_broken_definition() {
    // Without this, a validator that accepts anything would make the test above vacuous.
    let dir = tempfile::tempdir().unwrap();
    let mut definition = common::compile_ok(&common::hello()).definition;
    definition["States"]["end"]
        .as_object_mut()
        .unwrap()
        .remove("End");
    assert!(validate("broken", &definition, &dir).is_err());
}
