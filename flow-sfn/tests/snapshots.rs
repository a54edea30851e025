//! Snapshots of the exact bytes `step-functions create --only-json --job-definitions`
//! prints for each representative shape, plus the compile report.

mod common;

#[test]
fn generated_json_of_every_shape() {
    for (name, graph) in common::shapes() {
        let deployment = common::compile_ok(&graph);
        insta::assert_snapshot!(format!("{name}.bundle"), deployment.bundle_json());
        insta::assert_snapshot!(format!("{name}.report"), deployment.report.to_text());
    }
}
