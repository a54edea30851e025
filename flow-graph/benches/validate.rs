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
use flow_graph::{validate, FlowGraph, StepSpec, Transition};
use std::time::Duration;

/// A valid flow of `start`, `blocks` blocks of ten steps, and `end`.
fn generated(blocks: usize) -> FlowGraph {
    let next = |name: String, to: String| StepSpec::new(name, Transition::Next(to));
    let mut steps = Vec::with_capacity(blocks * 10 + 2);
    steps.push(next("start".into(), "a0".into()));
    for i in 0..blocks {
        let after = if i + 1 == blocks {
            "end".to_string()
        } else {
            format!("a{}", i + 1)
        };
        steps.push(StepSpec::new(
            format!("a{i}"),
            Transition::Split(vec![format!("b{i}"), format!("c{i}"), format!("d{i}")]),
        ));
        for branch in ["b", "c", "d"] {
            steps.push(next(format!("{branch}{i}"), format!("j{i}")));
        }
        steps.push(next(format!("j{i}"), format!("f{i}")).join());
        steps.push(StepSpec::new(
            format!("f{i}"),
            Transition::Foreach {
                over: "items".into(),
                body: format!("g{i}"),
            },
        ));
        steps.push(next(format!("g{i}"), format!("h{i}")));
        steps.push(next(format!("h{i}"), format!("k{i}")).join());
        steps.push(next(format!("k{i}"), format!("m{i}")));
        steps.push(next(format!("m{i}"), after));
    }
    steps.push(StepSpec::new("end", Transition::End));
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
