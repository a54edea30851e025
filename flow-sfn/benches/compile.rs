//! Compiling a 500-step linear flow to an Amazon States Language definition, with
//! [`compile_graph`] (validation, job definitions, the state machine, the history budget
//! and the size checks).
//!
//! ```text
//! cargo bench -p flow-sfn --bench compile
//! ```

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use flow_graph::FlowGraph;
use flow_sfn::{compile_graph, DeployConfig, S3Root};
use std::time::Duration;

fn compile_linear(c: &mut Criterion) {
    // `start`, 498 steps and `end`.
    let graph = FlowGraph::linear(498);
    let config = DeployConfig::new(
        "LinearFlow",
        S3Root::parse("s3://bench-bucket/flows").expect("a valid root"),
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/flows:1",
        "bench-queue",
        "linear-flow",
    );
    let deployment = compile_graph(&graph, &config).unwrap_or_else(|e| panic!("{e}"));
    assert!(deployment.report.state_count >= 500);

    let mut group = c.benchmark_group("compile_graph");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(graph.steps.len() as u64));
    group.bench_function("linear 500 steps", |b| {
        b.iter(|| compile_graph(black_box(&graph), black_box(&config)).expect("compiles"))
    });
    group.finish();
}

criterion_group!(benches, compile_linear);
criterion_main!(benches);
