//! Validating a large graph: generated flows of about 500 and 5,000 steps.
//!
//! ```text
//! cargo bench -p flow-graph --bench validate
//! ```
//!
//! The graph repeats one block of ten steps: a linear step, a static split into three
//! branches and its join, a foreach with its body and join, and two more linear steps, so
//! every pass of [`validate`] (targets, cycles and reachability, split/join structure) has
//! real work at every step.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use flow_graph::{validate, FlowGraph, StepSpec};
use std::time::Duration;

/// A valid flow of `start`, `blocks` blocks of ten steps, and `end`.
fn generated(blocks: usize) -> FlowGraph {
    let mut steps = Vec::with_capacity(blocks * 10 + 2);
    steps.push(StepSpec::next("start", "a0"));
    for i in 0..blocks {
        let after = if i + 1 == blocks {
            "end".to_string()
        } else {
            format!("a{}", i + 1)
        };
        let branches = [format!("b{i}"), format!("c{i}"), format!("d{i}")];
        let targets: Vec<&str> = branches.iter().map(String::as_str).collect();
        steps.push(StepSpec::split(format!("a{i}"), &targets));
        for branch in &branches {
            steps.push(StepSpec::next(branch, format!("j{i}")));
        }
        steps.push(StepSpec::next(format!("j{i}"), format!("f{i}")).join());
        steps.push(StepSpec::foreach(format!("f{i}"), "items", format!("g{i}")));
        steps.push(StepSpec::next(format!("g{i}"), format!("h{i}")));
        steps.push(StepSpec::next(format!("h{i}"), format!("k{i}")).join());
        steps.push(StepSpec::next(format!("k{i}"), format!("m{i}")));
        steps.push(StepSpec::next(format!("m{i}"), after));
    }
    steps.push(StepSpec::end());
    FlowGraph::new("GeneratedFlow", steps)
}

fn validate_large(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for blocks in [50, 500] {
        let graph = generated(blocks);
        let steps = graph.steps.len();
        if let Err(errors) = validate(&graph) {
            panic!("the generated graph is invalid: {errors:?}");
        }
        group.throughput(Throughput::Elements(steps as u64));
        group.bench_with_input(BenchmarkId::new("steps", steps), &graph, |b, g| {
            b.iter(|| validate(black_box(g)).expect("valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, validate_large);
criterion_main!(benches);
