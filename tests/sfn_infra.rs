//! `step-functions infra` through every example's own binary, for every `--compute` kind:
//! it prints a template, and cfn-lint finds nothing in it. The examples are found in
//! `examples/`, so a new one is checked without being listed anywhere
//! (`flow-sfn/tests/infra.rs` checks the library's templates further: YAML, parliament,
//! the emulator).

mod common;

use common::{example_names, run_example};
use flow_test_support::tool;
use std::path::PathBuf;
use std::process::Command;

const COMPUTE: [&str; 4] = ["ec2", "spot", "fargate", "fargate-spot"];

#[test]
fn every_example_prints_a_template_cfn_lint_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for example in example_names() {
        for compute in COMPUTE {
            let out = run_example(
                &example,
                &["step-functions", "infra", "--compute", compute],
                dir.path(),
            );
            assert!(
                out.status.success(),
                "{example} step-functions infra --compute {compute} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let template: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{example} on {compute}: not JSON: {e}"));
            assert_eq!(
                template["Resources"]["ComputeEnvironment"]["Properties"]["ComputeResources"]
                    ["Type"],
                compute.to_uppercase().replace('-', "_"),
                "{example} on {compute}"
            );
            let path = dir.path().join(format!("{example}-{compute}.json"));
            std::fs::write(&path, &out.stdout).unwrap();
            files.push(path);
        }
    }
    // Exit status 0: no error and no warning.
    let output = Command::new(tool("FLOW_CFN_LINT"))
        .arg("--")
        .args(&files)
        .output()
        .expect("cfn-lint runs");
    assert!(
        output.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
