//! Flow graphs of every shape the compiler supports, built directly with flow-graph types,
//! and a fixed deployment config, shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use flow_graph::{BatchOverrides, FlowGraph, Resources, Retry, StepOptions, StepSpec, Transition};
use flow_sfn::{compile_graph, DeployConfig, Deployment, S3Root};

/// The settings every test compiles with.
pub fn config() -> DeployConfig {
    DeployConfig::new(
        "TestMachine",
        S3Root::parse("s3://flow-bucket/team/flows").unwrap(),
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/flows:1",
        "default-queue",
        "flow-bin",
    )
}

/// Compiles with [`config`], panicking with the error on failure.
pub fn compile_ok(graph: &FlowGraph) -> Deployment {
    compile_graph(graph, &config()).unwrap_or_else(|e| panic!("{}: {e}", graph.name))
}

pub fn next(name: &str, to: &str) -> StepSpec {
    StepSpec::new(name, Transition::Next(to.into()))
}

pub fn split(name: &str, to: &[&str]) -> StepSpec {
    StepSpec::new(
        name,
        Transition::Split(to.iter().map(|s| s.to_string()).collect()),
    )
}

pub fn switch(name: &str, to: &[&str]) -> StepSpec {
    StepSpec::new(
        name,
        Transition::Switch(to.iter().map(|s| s.to_string()).collect()),
    )
}

pub fn foreach(name: &str, over: &str, body: &str) -> StepSpec {
    StepSpec::new(
        name,
        Transition::Foreach {
            over: over.into(),
            body: body.into(),
        },
    )
}

pub fn end() -> StepSpec {
    StepSpec::new("end", Transition::End)
}

/// start -> hello -> end.
pub fn hello() -> FlowGraph {
    FlowGraph::new(
        "HelloFlow",
        vec![next("start", "hello"), next("hello", "end"), end()],
    )
}

/// start -> step_1 -> ... -> step_n -> end.
pub fn linear(n: usize) -> FlowGraph {
    let mut steps = vec![next("start", if n == 0 { "end" } else { "step_1" })];
    for i in 1..=n {
        let to = if i == n {
            "end".to_string()
        } else {
            format!("step_{}", i + 1)
        };
        steps.push(next(&format!("step_{i}"), &to));
    }
    steps.push(end());
    FlowGraph::new("LinearFlow", steps)
}

/// The design's MovieFlow: a foreach with per-step options on its body.
pub fn movie() -> FlowGraph {
    let mut measure = next("measure", "join");
    measure.doc = "Measures one title.\n\nMore text.".into();
    measure.is_async = true;
    measure.options = StepOptions {
        retry: Some(Retry {
            times: 3,
            backoff_ms: 2000,
        }),
        timeout_secs: Some(600),
        catch: false,
        resources: Resources {
            cpu: Some(2),
            memory_mb: Some(4096),
            gpu: None,
        },
        batch: BatchOverrides::default(),
    };
    FlowGraph::new(
        "MovieFlow",
        vec![
            foreach("start", "titles", "measure"),
            measure,
            next("join", "end").join(),
            end(),
        ],
    )
}

/// start splits into `n` branches b_0..b_{n-1}, closed by `join`.
pub fn wide_split(n: usize) -> FlowGraph {
    let branches: Vec<String> = (0..n).map(|i| format!("b_{i}")).collect();
    let refs: Vec<&str> = branches.iter().map(String::as_str).collect();
    let mut steps = vec![split("start", &refs)];
    steps.extend(branches.iter().map(|b| next(b, "join")));
    steps.push(next("join", "end").join());
    steps.push(end());
    FlowGraph::new(format!("Split{n}Flow"), steps)
}

/// start switches to `high` or `low`, which converge on `report`.
pub fn switch_flow() -> FlowGraph {
    FlowGraph::new(
        "SwitchFlow",
        vec![
            switch("start", &["high", "low"]),
            next("high", "report"),
            next("low", "report"),
            next("report", "end"),
            end(),
        ],
    )
}

/// `levels` foreaches nested inside each other: start > level_1 > ... > body.
pub fn nested_foreach(levels: usize) -> FlowGraph {
    assert!(levels >= 1);
    let opener = |l: usize| {
        if l == 0 {
            "start".to_string()
        } else {
            format!("level_{l}")
        }
    };
    let mut steps = Vec::new();
    for l in 0..levels {
        let body = if l + 1 == levels {
            "body".to_string()
        } else {
            opener(l + 1)
        };
        steps.push(foreach(&opener(l), &format!("items_{l}"), &body));
    }
    steps.push(next("body", &format!("join_{}", levels - 1)));
    for l in (0..levels).rev() {
        let to = if l == 0 {
            "end".to_string()
        } else {
            format!("join_{}", l - 1)
        };
        steps.push(next(&format!("join_{l}"), &to).join());
    }
    steps.push(end());
    FlowGraph::new(format!("Nested{levels}Flow"), steps)
}

/// A foreach whose body is a static split.
pub fn split_in_foreach() -> FlowGraph {
    FlowGraph::new(
        "SplitInForeachFlow",
        vec![
            foreach("start", "items", "fan"),
            split("fan", &["left", "right"]),
            next("left", "join_branches"),
            next("right", "join_branches"),
            next("join_branches", "join_items").join(),
            next("join_items", "end").join(),
            end(),
        ],
    )
}

/// A static split one of whose branches is a foreach.
pub fn foreach_in_split() -> FlowGraph {
    FlowGraph::new(
        "ForeachInSplitFlow",
        vec![
            split("start", &["per_item", "once"]),
            foreach("per_item", "items", "item"),
            next("item", "join_items"),
            next("join_items", "join").join(),
            next("once", "join"),
            next("join", "end").join(),
            end(),
        ],
    )
}

/// A split whose first branch switches between doing more work and going straight to
/// the join.
pub fn switch_to_join() -> FlowGraph {
    FlowGraph::new(
        "SwitchToJoinFlow",
        vec![
            split("start", &["decide", "other"]),
            switch("decide", &["extra", "join"]),
            next("extra", "join"),
            next("other", "join"),
            next("join", "end").join(),
            end(),
        ],
    )
}

/// Every shape with its own settings: retry, timeout, catch, resources, batch overrides.
pub fn options_flow() -> FlowGraph {
    let mut gpu = next("train", "end");
    gpu.options = StepOptions {
        retry: Some(Retry {
            times: 9,
            backoff_ms: 0,
        }),
        timeout_secs: Some(3600),
        catch: true,
        resources: Resources {
            cpu: Some(8),
            memory_mb: Some(61_440),
            gpu: Some(1),
        },
        batch: BatchOverrides {
            image: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/flows-gpu:1".into()),
            queue: Some("gpu-queue".into()),
            job_role: Some("arn:aws:iam::123456789012:role/trainer".into()),
        },
    };
    let mut prepare = next("prepare", "train");
    prepare.options.retry = Some(Retry {
        times: 1,
        backoff_ms: 0,
    });
    FlowGraph::new(
        "OptionsFlow",
        vec![next("start", "prepare"), prepare, gpu, end()],
    )
}

/// The representative shapes, by snapshot name.
pub fn shapes() -> Vec<(&'static str, FlowGraph)> {
    vec![
        ("hello", hello()),
        ("movie_foreach", movie()),
        ("split", wide_split(3)),
        ("switch", switch_flow()),
        ("nested_foreach_3", nested_foreach(3)),
        ("split_in_foreach", split_in_foreach()),
        ("foreach_in_split", foreach_in_split()),
        ("switch_to_join", switch_to_join()),
        ("options", options_flow()),
    ]
}
