//! Flow graphs of every shape the compiler supports, built with flow-graph's own
//! constructors, and a fixed deployment config, shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use flow_graph::{BatchOverrides, FlowGraph, Resources, Retry, StepOptions, StepSpec};
use flow_sfn::compile::Deployment;
use flow_sfn::{compile_graph, DeployConfig, S3Root};

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

/// start -> hello -> end.
pub fn hello() -> FlowGraph {
    FlowGraph::new(
        "HelloFlow",
        vec![
            StepSpec::next("start", "hello"),
            StepSpec::next("hello", "end"),
            StepSpec::end(),
        ],
    )
}

/// The design's MovieFlow: a foreach with per-step options on its body.
pub fn movie() -> FlowGraph {
    let mut measure = StepSpec::next("measure", "join");
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
        ..StepOptions::default()
    };
    FlowGraph::new(
        "MovieFlow",
        vec![
            StepSpec::foreach("start", "titles", "measure"),
            measure,
            StepSpec::next("join", "end").join(),
            StepSpec::end(),
        ],
    )
}

/// start splits into `n` branches b_0..b_{n-1}, closed by `join`.
pub fn wide_split(n: usize) -> FlowGraph {
    let branches: Vec<String> = (0..n).map(|i| format!("b_{i}")).collect();
    let refs: Vec<&str> = branches.iter().map(String::as_str).collect();
    let mut steps = vec![StepSpec::split("start", &refs)];
    steps.extend(branches.iter().map(|b| StepSpec::next(b, "join")));
    steps.push(StepSpec::next("join", "end").join());
    steps.push(StepSpec::end());
    FlowGraph::new(format!("Split{n}Flow"), steps)
}

/// start switches to `high` or `low`, which converge on `report`.
pub fn switch_flow() -> FlowGraph {
    FlowGraph::new(
        "SwitchFlow",
        vec![
            StepSpec::switch("start", &["high", "low"]),
            StepSpec::next("high", "report"),
            StepSpec::next("low", "report"),
            StepSpec::next("report", "end"),
            StepSpec::end(),
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
        steps.push(StepSpec::foreach(opener(l), format!("items_{l}"), &body));
    }
    steps.push(StepSpec::next("body", format!("join_{}", levels - 1)));
    for l in (0..levels).rev() {
        let to = if l == 0 {
            "end".to_string()
        } else {
            format!("join_{}", l - 1)
        };
        steps.push(StepSpec::next(format!("join_{l}"), &to).join());
    }
    steps.push(StepSpec::end());
    FlowGraph::new(format!("Nested{levels}Flow"), steps)
}

/// A foreach whose body is a static split.
pub fn split_in_foreach() -> FlowGraph {
    FlowGraph::new(
        "SplitInForeachFlow",
        vec![
            StepSpec::foreach("start", "items", "fan"),
            StepSpec::split("fan", &["left", "right"]),
            StepSpec::next("left", "join_branches"),
            StepSpec::next("right", "join_branches"),
            StepSpec::next("join_branches", "join_items").join(),
            StepSpec::next("join_items", "end").join(),
            StepSpec::end(),
        ],
    )
}

/// A static split one of whose branches is a foreach.
pub fn foreach_in_split() -> FlowGraph {
    FlowGraph::new(
        "ForeachInSplitFlow",
        vec![
            StepSpec::split("start", &["per_item", "once"]),
            StepSpec::foreach("per_item", "items", "item"),
            StepSpec::next("item", "join_items"),
            StepSpec::next("join_items", "join").join(),
            StepSpec::next("once", "join"),
            StepSpec::next("join", "end").join(),
            StepSpec::end(),
        ],
    )
}

/// A split whose first branch switches between doing more work and going straight to
/// the join.
pub fn switch_to_join() -> FlowGraph {
    FlowGraph::new(
        "SwitchToJoinFlow",
        vec![
            StepSpec::split("start", &["decide", "other"]),
            StepSpec::switch("decide", &["extra", "join"]),
            StepSpec::next("extra", "join"),
            StepSpec::next("other", "join"),
            StepSpec::next("join", "end").join(),
            StepSpec::end(),
        ],
    )
}

/// Every shape with its own settings: retry, timeout, catch, resources, batch overrides.
pub fn options_flow() -> FlowGraph {
    let mut gpu = StepSpec::next("train", "end");
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
        ..StepOptions::default()
    };
    let mut prepare = StepSpec::next("prepare", "train");
    prepare.options.retry = Some(Retry {
        times: 1,
        backoff_ms: 0,
    });
    FlowGraph::new(
        "OptionsFlow",
        vec![
            StepSpec::next("start", "prepare"),
            prepare,
            gpu,
            StepSpec::end(),
        ],
    )
}

/// A foreach flow with every run-level option: hooks, a timeout, a foreach's
/// `max_concurrency`, a trigger and an event pattern.
pub fn run_options_flow() -> FlowGraph {
    let mut graph = movie();
    graph.name = "RunOptionsFlow".into();
    graph.hooks.on_failure = Some("alert".into());
    graph.hooks.on_success = Some("celebrate".into());
    graph.timeout_secs = Some(6 * 3600);
    graph.steps[0].options.max_concurrency = Some(20);
    graph.trigger_on_finish = vec!["UpstreamFlow".into()];
    graph.event_triggers = vec![r#"{"source":["aws.s3"],"detail-type":["Object Created"]}"#.into()];
    graph
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
        ("run_options", run_options_flow()),
    ]
}
