//! Every example compiles to a Step Functions definition and Batch job definitions that are
//! byte-for-byte stable (insta snapshots) and that `asl-validator` accepts.

mod common;

use common::{example_names, run_example};
use flow_test_support::asl_validator;

const SETTINGS: [&str; 10] = [
    "--image",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/flows:1",
    "--job-queue",
    "flows-queue",
    "--datastore",
    "s3://flows-bucket/runs",
    "--role-arn",
    "arn:aws:iam::123456789012:role/flows-states",
    "--execution-role",
    "arn:aws:iam::123456789012:role/flows-batch-execution",
];

fn compile(example: &str, dir: &std::path::Path) -> String {
    let mut args = vec![
        "step-functions",
        "create",
        "--only-json",
        "--job-definitions",
    ];
    args.extend(SETTINGS);
    args.extend(["--binary-name", example]);
    // A project's flow is compiled as its production deployment: without --branch or
    // --production it would be the user's, named after $USER.
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{example}.rs"));
    if std::fs::read_to_string(source)
        .unwrap()
        .contains("project = \"")
    {
        args.push("--production");
    }
    let out = run_example(example, &args, dir);
    assert!(
        out.status.success(),
        "{example} step-functions create --only-json failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_example_compiles_to_a_stable_definition() {
    let dir = tempfile::tempdir().unwrap();
    for example in example_names() {
        let bundle = compile(&example, dir.path());
        assert_eq!(
            compile(&example, dir.path()),
            bundle,
            "{example}: output differs between runs"
        );
        insta::assert_snapshot!(format!("sfn_{example}"), bundle);
    }
}

#[test]
fn every_example_definition_passes_asl_validator() {
    let dir = tempfile::tempdir().unwrap();
    for example in example_names() {
        let bundle: serde_json::Value =
            serde_json::from_str(&compile(&example, dir.path())).unwrap();
        if let Err(output) = asl_validator(&example, &bundle["definition"]) {
            panic!("asl-validator rejected {example}:\n{output}");
        }
    }
}
