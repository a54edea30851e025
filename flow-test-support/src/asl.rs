//! The npm `asl-validator` on Amazon States Language definitions.

use crate::tool;
use serde_json::Value;
use std::process::Command;

/// Runs `asl-validator` on `definition`: `Ok` when it accepts it, else the validator's
/// output; `name` names the file it reads, for its messages.
pub fn asl_validator(name: &str, definition: &Value) -> Result<(), String> {
    let validator = tool("FLOW_ASL_VALIDATOR");
    assert!(
        validator.exists(),
        "asl-validator not found at {}: run `scripts/install-test-tools.sh` (or set \
         FLOW_ASL_VALIDATOR)",
        validator.display()
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(format!("{name}.asl.json"));
    std::fs::write(&path, definition.to_string()).expect("the definition is written");
    let output = Command::new(&validator)
        .arg("--json-path")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", validator.display()));
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
