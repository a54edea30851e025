use super::*;
use crate::compile::compile_graph;
use crate::config::{DeployConfig, S3Root};
use flow_graph::{FlowGraph, Retry, StepSpec, Transition};
use serde_json::json;

#[test]
fn job_definitions_are_recognised_by_name() {
    assert!(is_ours("MovieFlow-0a1b2c3d", "MovieFlow"));
    assert!(!is_ours("MovieFlow-0a1b2c3", "MovieFlow"));
    assert!(!is_ours("MovieFlowX-0a1b2c3d", "MovieFlow"));
    assert!(!is_ours("Other-0a1b2c3d", "MovieFlow"));
}

#[test]
fn every_field_the_compiler_emits_is_sent() {
    let mut retried = StepSpec::new("work", Transition::Next("end".into()));
    retried.options.retry = Some(Retry {
        times: 2,
        backoff_ms: 0,
    });
    retried.options.timeout_secs = Some(120);
    let graph = FlowGraph::new(
        "Flow",
        vec![
            StepSpec::new("start", Transition::Next("work".into())),
            retried,
            StepSpec::new("end", Transition::End),
        ],
    );
    let config = DeployConfig::new(
        "Flow",
        S3Root::parse("s3://bucket").unwrap(),
        "image:1",
        "queue",
        "flow",
    );
    let deployment = compile_graph(&graph, &config).unwrap();
    for definition in &deployment.job_definitions {
        assert_eq!(unsupported_field(definition), None, "{definition}");
    }
    // Fargate's job definitions too.
    let mut fargate = config.clone();
    fargate.compute = crate::infra::Compute::FargateSpot;
    fargate.fargate = Some(crate::infra::fargate::FargateJobSettings {
        execution_role_arn: "arn:aws:iam::123456789012:role/exec".into(),
        assign_public_ip: false,
        platform_version: None,
        log_group: Some("logs".into()),
    });
    let deployment = compile_graph(&graph, &fargate).unwrap();
    for definition in &deployment.job_definitions {
        assert_eq!(definition["platformCapabilities"], json!(["FARGATE"]));
        assert_eq!(unsupported_field(definition), None, "{definition}");
    }
    let unknown = json!({"type": "container", "containerProperties": {"volumes": []}});
    assert_eq!(
        unsupported_field(&unknown).as_deref(),
        Some("containerProperties.volumes")
    );
}
