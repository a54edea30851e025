//! Where each step of a flow's graph is drawn: a layered layout, top to bottom.
//!
//! A step sits one layer below its deepest predecessor, so every edge points down and the
//! branches of a split, foreach or switch share a layer. An edge that skips layers (a short
//! branch beside a long one) is routed through one virtual point per layer it crosses, so it
//! goes around the steps in between instead of through them. The order within each layer
//! starts from a depth-first walk (which keeps each branch's steps together, in declaration
//! order) and is then improved by barycenter sweeps while that removes crossings. Finally
//! each layer's x positions are the least-squares fit to "centred over what it connects to"
//! under the minimum spacing, so splits fan out symmetrically and joins sit under their
//! branches; a long edge then runs straight where its neighbours leave room. The body of
//! each foreach gets a frame around it.
//!
//! Pure geometry: sizes in, positions out; the SVG is drawn elsewhere.
//!
//! Longer than most modules because it is one cohesive thing: the graph layout: layering, ordering within a layer, and edge routing depend on each other.

use flow_graph::{Analysis, FlowGraph, FrameKind, Transition};
use std::collections::{BTreeSet, HashMap};

/// Space around the whole drawing.
pub const MARGIN: f64 = 16.0;
/// Vertical space between two layers (room for edge labels).
pub const LAYER_GAP: f64 = 52.0;
/// Minimum horizontal space between two neighbouring steps.
pub const NODE_GAP: f64 = 36.0;
/// Space between a foreach frame and what it encloses, left, right and below.
pub const FRAME_PAD: f64 = 14.0;
/// Space between a foreach frame's top and what it encloses.
pub const FRAME_PAD_TOP: f64 = 14.0;
/// The width a virtual point of a long edge takes in its layer.
const VIRTUAL_WIDTH: f64 = 12.0;
/// Rounds of x refinement (each one a downward and an upward sweep).
const REFINE_ROUNDS: usize = 12;
/// Rounds of crossing reduction.
const ORDER_ROUNDS: usize = 8;

/// The size a step's box needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeSize {
    /// Width in pixels.
    pub width: f64,
    /// Height in pixels.
    pub height: f64,
}

/// A step's box: top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeBox {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
    /// The layer (0 for `start`).
    pub layer: usize,
}

impl NodeBox {
    /// The horizontal centre.
    pub fn center_x(&self) -> f64 {
        self.x + self.width / 2.0
    }

    /// The bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }
}

/// The route of one edge, from the bottom of its source to the top of its target, through
/// the virtual points of the layers it crosses (two per layer, at its top and bottom, so the
/// edge runs straight down beside the steps of that layer).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRoute {
    /// The source step's index in the graph.
    pub from: usize,
    /// The target step's index in the graph.
    pub to: usize,
    /// Which of the source's successors this is (its position in the transition).
    pub branch: usize,
    /// The points, top to bottom; at least two.
    pub points: Vec<(f64, f64)>,
}

/// The frame around the body of a foreach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameBox {
    /// The foreach step's index in the graph.
    pub foreach: usize,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
    /// How many foreach frames enclose this one.
    pub depth: usize,
}

/// A laid-out graph.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphLayout {
    /// Width of the whole drawing.
    pub width: f64,
    /// Height of the whole drawing.
    pub height: f64,
    /// One box per step, indexed like the graph's steps.
    pub nodes: Vec<NodeBox>,
    /// One route per transition target, in step then target order.
    pub edges: Vec<EdgeRoute>,
    /// One frame per foreach, outermost first.
    pub frames: Vec<FrameBox>,
}

/// One item of a layer: a step or a virtual point of a long edge.
struct Item {
    layer: usize,
    width: f64,
    /// The foreach steps whose body holds this item.
    frames: BTreeSet<usize>,
}

/// Lays out `graph` (valid, as `analysis` says) with step `i` drawn `sizes[i]` large.
pub fn layout(graph: &FlowGraph, analysis: &Analysis, sizes: &[NodeSize]) -> GraphLayout {
    let n = graph.steps.len();
    assert_eq!(sizes.len(), n, "one size per step");
    let index: HashMap<&str, usize> = graph
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let successors: Vec<Vec<usize>> = graph
        .steps
        .iter()
        .map(|s| s.successors().iter().map(|t| index[t]).collect())
        .collect();

    // Layers: the longest path from `start`.
    let mut layer_of = vec![0usize; n];
    for &v in &analysis.topological_order {
        for &u in &analysis.predecessors[v] {
            layer_of[v] = layer_of[v].max(layer_of[u] + 1);
        }
    }
    let foreach_frames = |step: usize| -> BTreeSet<usize> {
        analysis.frames[step]
            .iter()
            .filter(|f| f.kind == FrameKind::Foreach)
            .map(|f| f.step)
            .collect()
    };
    let mut items: Vec<Item> = (0..n)
        .map(|i| Item {
            layer: layer_of[i],
            width: sizes[i].width,
            frames: foreach_frames(i),
        })
        .collect();

    // Long edges become chains through virtual items; `down[i]` are the items right below
    // item `i` that it connects to, in branch order.
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut chains: Vec<(usize, usize, usize, Vec<usize>)> = Vec::new();
    for (u, targets) in successors.iter().enumerate() {
        for (branch, &v) in targets.iter().enumerate() {
            let shared: BTreeSet<usize> = items[u]
                .frames
                .intersection(&items[v].frames)
                .copied()
                .collect();
            let mut chain = Vec::new();
            let mut previous = u;
            for layer in layer_of[u] + 1..layer_of[v] {
                let k = items.len();
                items.push(Item {
                    layer,
                    width: VIRTUAL_WIDTH,
                    frames: shared.clone(),
                });
                down.push(Vec::new());
                down[previous].push(k);
                chain.push(k);
                previous = k;
            }
            down[previous].push(v);
            chains.push((u, v, branch, chain));
        }
    }
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    for (u, targets) in down.iter().enumerate() {
        for &v in targets {
            up[v].push(u);
        }
    }

    let layer_count = layer_of.iter().max().map_or(0, |m| m + 1);
    let mut layers = initial_order(&items, &down, layer_count, index[flow_graph::START]);
    reduce_crossings(&mut layers, &up, &down);

    let mut center = place_horizontally(&items, &layers, &up, &down);
    straighten_long_edges(&items, &layers, &chains, &mut center);

    // Vertical positions: each layer as tall as its tallest step.
    let mut layer_height = vec![0.0f64; layer_count];
    for (i, size) in sizes.iter().enumerate() {
        layer_height[layer_of[i]] = layer_height[layer_of[i]].max(size.height);
    }
    let mut layer_top = Vec::with_capacity(layer_count);
    let mut y = MARGIN + FRAME_PAD_TOP;
    for h in &layer_height {
        layer_top.push(y);
        y += h + LAYER_GAP;
    }

    // Shift so that the leftmost box, frames included, starts at the margin.
    let depth_of = |i: usize| items[i].frames.len() as f64;
    let left = (0..items.len())
        .map(|i| center[i] - items[i].width / 2.0 - FRAME_PAD * depth_of(i))
        .fold(f64::INFINITY, f64::min);
    let shift = MARGIN - left;
    let x_of = |i: usize| center[i] + shift;

    let nodes: Vec<NodeBox> = (0..n)
        .map(|i| {
            let l = layer_of[i];
            NodeBox {
                x: x_of(i) - sizes[i].width / 2.0,
                y: layer_top[l] + (layer_height[l] - sizes[i].height) / 2.0,
                width: sizes[i].width,
                height: sizes[i].height,
                layer: l,
            }
        })
        .collect();

    let edges: Vec<EdgeRoute> = chains
        .iter()
        .map(|(u, v, branch, chain)| {
            let mut points = vec![(nodes[*u].center_x(), nodes[*u].bottom())];
            for &k in chain {
                let l = items[k].layer;
                points.push((x_of(k), layer_top[l]));
                points.push((x_of(k), layer_top[l] + layer_height[l]));
            }
            points.push((nodes[*v].center_x(), nodes[*v].y));
            EdgeRoute {
                from: *u,
                to: *v,
                branch: *branch,
                points,
            }
        })
        .collect();

    let frames = frame_boxes(graph, &items, &nodes, &chains, &x_of, &layer_top);

    let right = nodes
        .iter()
        .map(|b| b.x + b.width)
        .chain(frames.iter().map(|f| f.x + f.width))
        .chain(edges.iter().flat_map(|e| e.points.iter().map(|p| p.0)))
        .fold(0.0f64, f64::max);
    let bottom = nodes
        .iter()
        .map(NodeBox::bottom)
        .chain(frames.iter().map(|f| f.y + f.height))
        .fold(0.0f64, f64::max);
    GraphLayout {
        width: right + MARGIN,
        height: bottom + MARGIN,
        nodes,
        edges,
        frames,
    }
}

/// Each layer's items in the order a depth-first walk from `start` first reaches them, so
/// that a branch's steps stay together and branches keep their declared order.
fn initial_order(
    items: &[Item],
    down: &[Vec<usize>],
    layer_count: usize,
    start: usize,
) -> Vec<Vec<usize>> {
    let mut layers = vec![Vec::new(); layer_count];
    let mut seen = vec![false; items.len()];
    let mut stack = vec![start];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        layers[items[i].layer].push(i);
        // Reversed, so the first branch is walked first.
        stack.extend(down[i].iter().rev().filter(|&&j| !seen[j]));
    }
    // Steps a valid graph cannot have (unreachable ones) still get a place.
    for (i, item) in items.iter().enumerate() {
        if !seen[i] {
            layers[item.layer].push(i);
        }
    }
    layers
}

/// Barycenter sweeps, keeping the order with the fewest crossings (the first one on ties,
/// so a walk order without crossings is kept as it is).
fn reduce_crossings(layers: &mut [Vec<usize>], up: &[Vec<usize>], down: &[Vec<usize>]) {
    let mut best = layers.to_vec();
    let mut best_crossings = total_crossings(layers, down);
    for round in 0..ORDER_ROUNDS {
        if best_crossings == 0 {
            break;
        }
        if round % 2 == 0 {
            for l in 1..layers.len() {
                let (above, rest) = layers.split_at_mut(l);
                sort_by_barycenter(&mut rest[0], &above[l - 1], up);
            }
        } else {
            for l in (0..layers.len().saturating_sub(1)).rev() {
                let (head, below) = layers.split_at_mut(l + 1);
                sort_by_barycenter(&mut head[l], &below[0], down);
            }
        }
        let crossings = total_crossings(layers, down);
        if crossings < best_crossings {
            best_crossings = crossings;
            best = layers.to_vec();
        }
    }
    layers.clone_from_slice(&best);
}

/// Orders `layer` by the mean position of each item's neighbours in `fixed`; an item with
/// none keeps its own position.
fn sort_by_barycenter(layer: &mut [usize], fixed: &[usize], neighbours: &[Vec<usize>]) {
    let position: HashMap<usize, usize> = fixed.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    let mut keyed: Vec<(f64, usize)> = layer
        .iter()
        .enumerate()
        .map(|(p, &i)| {
            let ps: Vec<f64> = neighbours[i]
                .iter()
                .filter_map(|j| position.get(j).map(|&p| p as f64))
                .collect();
            let key = if ps.is_empty() {
                p as f64
            } else {
                ps.iter().sum::<f64>() / ps.len() as f64
            };
            (key, i)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (slot, (_, i)) in layer.iter_mut().zip(keyed) {
        *slot = i;
    }
}

/// How many pairs of edges cross between consecutive layers.
fn total_crossings(layers: &[Vec<usize>], down: &[Vec<usize>]) -> usize {
    let mut total = 0;
    for pair in layers.windows(2) {
        let below: HashMap<usize, usize> =
            pair[1].iter().enumerate().map(|(p, &i)| (i, p)).collect();
        let edges: Vec<(usize, usize)> = pair[0]
            .iter()
            .enumerate()
            .flat_map(|(p, &i)| {
                down[i]
                    .iter()
                    .filter_map(|j| below.get(j))
                    .map(move |&q| (p, q))
            })
            .collect();
        for (a, e) in edges.iter().enumerate() {
            for f in &edges[a + 1..] {
                if (e.0 < f.0 && e.1 > f.1) || (e.0 > f.0 && e.1 < f.1) {
                    total += 1;
                }
            }
        }
    }
    total
}

/// The horizontal centre of every item: alternately pulled towards the mean of its
/// neighbours above and below, each layer placed as close to those wishes as the spacing
/// allows.
fn place_horizontally(
    items: &[Item],
    layers: &[Vec<usize>],
    up: &[Vec<usize>],
    down: &[Vec<usize>],
) -> Vec<f64> {
    // Neighbours in different foreach frames need room for the frames between them.
    let gap = |a: usize, b: usize| {
        let apart = items[a]
            .frames
            .symmetric_difference(&items[b].frames)
            .count();
        (items[a].width + items[b].width) / 2.0 + NODE_GAP + FRAME_PAD * apart as f64
    };
    let mut center = vec![0.0f64; items.len()];
    for layer in layers {
        let mut x = 0.0;
        for (p, &i) in layer.iter().enumerate() {
            if p > 0 {
                x += gap(layer[p - 1], i);
            }
            center[i] = x;
        }
        let mid = x / 2.0;
        for &i in layer {
            center[i] -= mid;
        }
    }
    let wish = |center: &[f64], i: usize, neighbours: &[usize]| {
        if neighbours.is_empty() {
            center[i]
        } else {
            neighbours.iter().map(|&j| center[j]).sum::<f64>() / neighbours.len() as f64
        }
    };
    for _ in 0..REFINE_ROUNDS {
        for layer in layers.iter().skip(1) {
            let wishes: Vec<f64> = layer.iter().map(|&i| wish(&center, i, &up[i])).collect();
            fit_layer(layer, &wishes, &gap, &mut center);
        }
        for layer in layers.iter().rev().skip(1) {
            let wishes: Vec<f64> = layer.iter().map(|&i| wish(&center, i, &down[i])).collect();
            fit_layer(layer, &wishes, &gap, &mut center);
        }
    }
    center
}

/// The least distance between the centres of neighbours `a` and `b` of a layer: neighbours
/// in different foreach frames need room for the frames between them.
fn gap(items: &[Item], a: usize, b: usize) -> f64 {
    let apart = items[a]
        .frames
        .symmetric_difference(&items[b].frames)
        .count();
    (items[a].width + items[b].width) / 2.0 + NODE_GAP + FRAME_PAD * apart as f64
}

/// Runs each long edge straight down from its source (or straight up from its target)
/// where its neighbours leave room, instead of drifting between the two.
fn straighten_long_edges(
    items: &[Item],
    layers: &[Vec<usize>],
    chains: &[(usize, usize, usize, Vec<usize>)],
    center: &mut [f64],
) {
    let mut slot = vec![(0, 0); items.len()];
    for (l, layer) in layers.iter().enumerate() {
        for (p, &i) in layer.iter().enumerate() {
            slot[i] = (l, p);
        }
    }
    for (u, v, _, chain) in chains {
        if chain.is_empty() {
            continue;
        }
        for x in [center[*u], center[*v]] {
            let fits = chain.iter().all(|&k| {
                let (l, p) = slot[k];
                let layer = &layers[l];
                let left_ok =
                    p == 0 || x - center[layer[p - 1]] >= gap(items, layer[p - 1], k) - 1e-6;
                let right_ok = p + 1 == layer.len()
                    || center[layer[p + 1]] - x >= gap(items, k, layer[p + 1]) - 1e-6;
                left_ok && right_ok
            });
            if fits {
                for &k in chain {
                    center[k] = x;
                }
                break;
            }
        }
    }
}

/// Places one layer's items as close as possible (least squares) to `wishes` while keeping
/// their order and spacing: with `o` the cumulative minimum offsets, `x - o` must not
/// decrease, which pool-adjacent-violators solves exactly.
fn fit_layer(
    layer: &[usize],
    wishes: &[f64],
    gap: &impl Fn(usize, usize) -> f64,
    center: &mut [f64],
) {
    let mut offsets = Vec::with_capacity(layer.len());
    let mut o = 0.0;
    for (p, &i) in layer.iter().enumerate() {
        if p > 0 {
            o += gap(layer[p - 1], i);
        }
        offsets.push(o);
    }
    // Blocks of (sum, count) whose means increase.
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for (w, o) in wishes.iter().zip(&offsets) {
        blocks.push((w - o, 1));
        while blocks.len() > 1 {
            let (s2, c2) = blocks[blocks.len() - 1];
            let (s1, c1) = blocks[blocks.len() - 2];
            if s1 / c1 as f64 > s2 / c2 as f64 {
                blocks.pop();
                *blocks.last_mut().expect("two blocks") = (s1 + s2, c1 + c2);
            } else {
                break;
            }
        }
    }
    let mut p = 0;
    for (sum, count) in blocks {
        for _ in 0..count {
            center[layer[p]] = sum / count as f64 + offsets[p];
            p += 1;
        }
    }
}

/// The frame of each foreach: around its body's steps and edges, and around the frames of
/// the foreaches nested in it.
fn frame_boxes(
    graph: &FlowGraph,
    items: &[Item],
    nodes: &[NodeBox],
    chains: &[(usize, usize, usize, Vec<usize>)],
    x_of: &impl Fn(usize) -> f64,
    layer_top: &[f64],
) -> Vec<FrameBox> {
    let foreaches: Vec<usize> = graph
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.transition, Transition::Foreach { .. }))
        .map(|(i, _)| i)
        .collect();
    // The depth of a frame is how many foreach bodies hold its foreach step.
    let mut by_depth: Vec<(usize, usize)> = foreaches
        .iter()
        .map(|&f| (items[f].frames.len(), f))
        .collect();
    // Innermost first, so that an outer frame can enclose the inner ones.
    by_depth.sort_by(|a, b| b.cmp(a));
    let mut boxes: Vec<FrameBox> = Vec::new();
    for (depth, f) in by_depth {
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        let mut grow = |a: f64, b: f64, c: f64, d: f64| {
            x0 = x0.min(a);
            y0 = y0.min(b);
            x1 = x1.max(c);
            y1 = y1.max(d);
        };
        for (i, node) in nodes.iter().enumerate() {
            if items[i].frames.contains(&f) {
                grow(node.x, node.y, node.x + node.width, node.bottom());
            }
        }
        for (_, _, _, chain) in chains {
            for &k in chain {
                if items[k].frames.contains(&f) {
                    let x = x_of(k);
                    let top = layer_top[items[k].layer];
                    grow(x - VIRTUAL_WIDTH / 2.0, top, x + VIRTUAL_WIDTH / 2.0, top);
                }
            }
        }
        for inner in &boxes {
            if items[inner.foreach].frames.contains(&f) {
                grow(
                    inner.x,
                    inner.y,
                    inner.x + inner.width,
                    inner.y + inner.height,
                );
            }
        }
        if x0.is_finite() {
            boxes.push(FrameBox {
                foreach: f,
                x: x0 - FRAME_PAD,
                y: y0 - FRAME_PAD_TOP,
                width: x1 - x0 + 2.0 * FRAME_PAD,
                height: y1 - y0 + FRAME_PAD_TOP + FRAME_PAD,
                depth,
            });
        }
    }
    boxes.reverse();
    boxes
}

#[cfg(test)]
mod tests;
