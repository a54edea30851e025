use super::*;
use flow_graph::{validate, StepSpec};

fn lay_out(steps: Vec<StepSpec>) -> (FlowGraph, GraphLayout) {
    let graph = FlowGraph::new("TestFlow", steps);
    let analysis = validate(&graph).expect("valid graph");
    let sizes: Vec<NodeSize> = graph
        .steps
        .iter()
        .map(|s| NodeSize {
            width: 60.0 + 8.0 * s.name.len() as f64,
            height: 40.0,
        })
        .collect();
    let layout = layout(&graph, &analysis, &sizes);
    (graph, layout)
}

fn node<'a>(graph: &FlowGraph, layout: &'a GraphLayout, name: &str) -> &'a NodeBox {
    &layout.nodes[graph.index_of(name).unwrap()]
}

fn overlaps(a: &NodeBox, b: &NodeBox) -> bool {
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.bottom() && b.y < a.bottom()
}

/// Invariants every layout keeps: boxes inside the drawing and apart, edges pointing
/// down from their source to their target and never through another step.
fn check_invariants(graph: &FlowGraph, layout: &GraphLayout) {
    for (i, a) in layout.nodes.iter().enumerate() {
        assert!(a.x >= MARGIN - 1e-6 && a.y >= MARGIN - 1e-6, "{i}: {a:?}");
        assert!(a.x + a.width <= layout.width && a.bottom() <= layout.height);
        for b in &layout.nodes[i + 1..] {
            assert!(!overlaps(a, b), "{a:?} overlaps {b:?}");
        }
    }
    let targets: usize = graph.steps.iter().map(|s| s.successors().len()).sum();
    assert_eq!(layout.edges.len(), targets);
    for e in &layout.edges {
        let (from, to) = (&layout.nodes[e.from], &layout.nodes[e.to]);
        assert!(to.layer > from.layer);
        assert_eq!(e.points[0], (from.center_x(), from.bottom()));
        assert_eq!(*e.points.last().unwrap(), (to.center_x(), to.y));
        assert!(e.points.windows(2).all(|w| w[1].1 >= w[0].1), "{e:?}");
        for &(x, y) in &e.points[1..e.points.len() - 1] {
            for n in &layout.nodes {
                let inside = x > n.x && x < n.x + n.width && y > n.y && y < n.bottom();
                assert!(!inside, "edge {e:?} runs through {n:?}");
            }
        }
    }
}

#[test]
fn a_chain_is_one_straight_column() {
    let (graph, layout) = lay_out(vec![
        StepSpec::next("start", "middle"),
        StepSpec::next("middle", "end"),
        StepSpec::end(),
    ]);
    check_invariants(&graph, &layout);
    let xs: Vec<f64> = layout.nodes.iter().map(NodeBox::center_x).collect();
    assert!(xs.iter().all(|x| (x - xs[0]).abs() < 1e-6), "{xs:?}");
    let layers: Vec<usize> = layout.nodes.iter().map(|n| n.layer).collect();
    assert_eq!(layers, [0, 1, 2]);
    assert!(layout.frames.is_empty());
}

#[test]
fn a_split_fans_out_symmetrically_and_its_join_sits_under_it() {
    let (graph, layout) = lay_out(vec![
        StepSpec::split("start", &["a", "b", "c"]),
        StepSpec::next("a", "join"),
        StepSpec::next("b", "join"),
        StepSpec::next("c", "join"),
        StepSpec::next("join", "end").join(),
        StepSpec::end(),
    ]);
    check_invariants(&graph, &layout);
    let start = node(&graph, &layout, "start");
    let [a, b, c] = ["a", "b", "c"].map(|s| node(&graph, &layout, s));
    assert!(a.y == b.y && b.y == c.y);
    // Declared order, left to right, centred under `start`.
    assert!(a.center_x() < b.center_x() && b.center_x() < c.center_x());
    assert!((b.center_x() - start.center_x()).abs() < 1e-6);
    let join = node(&graph, &layout, "join");
    assert!((join.center_x() - start.center_x()).abs() < 1e-6);
}

#[test]
fn a_short_branch_is_routed_around_a_long_one() {
    let (graph, layout) = lay_out(vec![
        StepSpec::split("start", &["long_a", "short"]),
        StepSpec::next("long_a", "long_b"),
        StepSpec::next("long_b", "long_c"),
        StepSpec::next("long_c", "join"),
        StepSpec::next("short", "join"),
        StepSpec::next("join", "end").join(),
        StepSpec::end(),
    ]);
    check_invariants(&graph, &layout);
    let short = graph.index_of("short").unwrap();
    let route = layout.edges.iter().find(|e| e.from == short).unwrap();
    // Two virtual layers, two points each, plus both ends; straight down from `short`.
    assert_eq!(route.points.len(), 6);
    let x = route.points[0].0;
    assert!(
        route.points[..5].iter().all(|p| (p.0 - x).abs() < 1e-6),
        "{route:?}"
    );
    assert_eq!(
        node(&graph, &layout, "join").layer,
        node(&graph, &layout, "long_c").layer + 1
    );
}

#[test]
fn a_foreach_body_is_framed_and_nested_frames_nest() {
    let (graph, layout) = lay_out(vec![
        StepSpec::foreach("start", "items", "outer"),
        StepSpec::foreach("outer", "items", "inner"),
        StepSpec::next("inner", "inner_join"),
        StepSpec::next("inner_join", "outer_join").join(),
        StepSpec::next("outer_join", "end").join(),
        StepSpec::end(),
    ]);
    check_invariants(&graph, &layout);
    assert_eq!(layout.frames.len(), 2);
    let (outer, inner) = (layout.frames[0], layout.frames[1]);
    assert_eq!(outer.foreach, graph.index_of("start").unwrap());
    assert_eq!((outer.depth, inner.depth), (0, 1));
    let contains = |f: &FrameBox, n: &NodeBox| {
        f.x <= n.x && f.y <= n.y && n.x + n.width <= f.x + f.width && n.bottom() <= f.y + f.height
    };
    let inside_outer = ["outer", "inner", "inner_join"];
    for name in inside_outer {
        assert!(contains(&outer, node(&graph, &layout, name)), "{name}");
    }
    assert!(contains(&inner, node(&graph, &layout, "inner")));
    for name in ["start", "outer_join", "end"] {
        let n = node(&graph, &layout, name);
        assert!(!contains(&outer, n), "{name} is outside the body");
    }
    for name in ["outer", "inner_join"] {
        assert!(!contains(&inner, node(&graph, &layout, name)), "{name}");
    }
    assert!(
        outer.x < inner.x
            && outer.y < inner.y
            && inner.x + inner.width < outer.x + outer.width
            && inner.y + inner.height < outer.y + outer.height
    );
}

#[test]
fn switch_branches_share_a_layer_and_converge() {
    let (graph, layout) = lay_out(vec![
        StepSpec::next("start", "decide"),
        StepSpec::switch("decide", &["high", "low"]),
        StepSpec::next("high", "report"),
        StepSpec::next("low", "report"),
        StepSpec::next("report", "end"),
        StepSpec::end(),
    ]);
    check_invariants(&graph, &layout);
    let (high, low) = (node(&graph, &layout, "high"), node(&graph, &layout, "low"));
    assert_eq!(high.layer, low.layer);
    assert!(high.center_x() < low.center_x());
}

#[test]
fn a_split_beside_a_foreach_keeps_its_steps_out_of_the_frame() {
    let (graph, layout) = lay_out(vec![
        StepSpec::split("start", &["items", "other"]),
        StepSpec::foreach("items", "items", "item"),
        StepSpec::next("item", "items_join"),
        StepSpec::next("items_join", "join").join(),
        StepSpec::next("other", "join"),
        StepSpec::next("join", "end").join(),
        StepSpec::end(),
    ]);
    check_invariants(&graph, &layout);
    let frame = layout.frames[0];
    for n in &layout.nodes {
        let inside = n.x < frame.x + frame.width
            && frame.x < n.x + n.width
            && n.y < frame.y + frame.height
            && frame.y < n.bottom();
        let body = layout.nodes[graph.index_of("item").unwrap()] == *n;
        assert_eq!(inside, body, "{n:?} against {frame:?}");
    }
}

#[test]
fn the_same_graph_always_gets_the_same_layout() {
    let steps = vec![
        StepSpec::split("start", &["a", "b"]),
        StepSpec::next("a", "join"),
        StepSpec::next("b", "c"),
        StepSpec::next("c", "join"),
        StepSpec::next("join", "end").join(),
        StepSpec::end(),
    ];
    assert_eq!(lay_out(steps.clone()).1, lay_out(steps).1);
}
