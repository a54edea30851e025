//! Every generated definition must pass the npm `asl-validator` (4.x). The validator is a
//! test tool installed by `scripts/install-test-tools.sh`; without it this test fails
//! rather than skips, so a missing install never passes for a green run.

mod common;

use flow_graph::FlowGraph;
use flow_test_support::asl_validator;

#[test]
fn every_generated_definition_passes_asl_validator() {
    let mut graphs = common::shapes();
    graphs.push(("linear_500", FlowGraph::linear(500)));
    graphs.push(("split_100", common::wide_split(100)));
    // A scheduled flow has the states that record a run its schedule started.
    let mut scheduled = common::hello();
    scheduled.schedule = Some("cron(0 3 * * ? *)".into());
    graphs.push(("hello_scheduled", scheduled));
    let mut failures = Vec::new();
    for (name, graph) in &graphs {
        let deployment = common::compile_ok(graph);
        if let Err(output) = asl_validator(name, &deployment.definition) {
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
    let mut definition = common::compile_ok(&common::hello()).definition;
    definition["States"]["run"]["Branches"][0]["States"]["end"]
        .as_object_mut()
        .unwrap()
        .remove("End");
    assert!(asl_validator("broken", &definition).is_err());
}
