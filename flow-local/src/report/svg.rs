//! The flow's graph as SVG: one box per step, coloured by its outcome and captioned with
//! its task count, duration and failures; foreach bodies framed; the branches a switch took
//! drawn solid and the others dashed. Each box links to the step's section of the page.

use super::format::{count, duration, escape, plural};
use super::layout::{layout, GraphLayout, NodeSize};
use super::model::{Outcome, Report, StepReport};
use flow_core::graph::{validate, Transition};
use std::collections::HashMap;
use std::fmt::Write;

/// Height of a step's box.
const NODE_HEIGHT: f64 = 48.0;
/// Width of one character of a step name (13px bold monospace), generously.
const NAME_CHAR: f64 = 8.0;
/// Width of one character of a caption (11px sans-serif), generously.
const CAPTION_CHAR: f64 = 6.4;
/// Space left of the text for the status icon, and right of it.
const ICON_SPACE: f64 = 34.0;
const RIGHT_PAD: f64 = 14.0;
/// The narrowest box.
const MIN_WIDTH: f64 = 120.0;

/// The line under a step's name: how many tasks, how long, what went wrong.
pub fn caption(step: &StepReport) -> String {
    let c = &step.counts;
    let mut parts = Vec::new();
    match (c.total, &step.durations) {
        (0, _) => parts.push(step.outcome.label().to_string()),
        (1, Some(d)) => parts.push(duration(d.max)),
        (n, Some(d)) => {
            parts.push(plural(n, "task"));
            parts.push(format!("p50 {}", duration(d.p50)));
        }
        (n, None) => parts.push(plural(n, "task")),
    }
    if c.failed > 0 && c.total > 1 {
        parts.push(format!("{} failed", count(c.failed)));
    }
    if c.caught > 0 {
        parts.push(format!("{} caught", count(c.caught)));
    }
    if c.cloned > 0 && c.cloned == c.total {
        parts.push("cloned".into());
    } else if c.cloned > 0 {
        parts.push(format!("{} cloned", count(c.cloned)));
    }
    if c.retried > 0 {
        parts.push(format!("{} retried", count(c.retried)));
    }
    parts.join(" · ")
}

/// The graph of `report` as an inline `<svg>` element, and its natural width.
pub fn graph_svg(report: &Report) -> (String, f64) {
    let graph = &report.graph;
    let Ok(analysis) = validate(graph) else {
        // The report only holds validated graphs; say so rather than draw half a graph.
        let text = "<p class=\"muted\">The graph is not valid, so it is not drawn.</p>";
        return (text.into(), 0.0);
    };
    let steps: HashMap<&str, &StepReport> =
        report.steps.iter().map(|s| (s.name.as_str(), s)).collect();
    let captions: Vec<String> = graph
        .steps
        .iter()
        .map(|s| {
            steps
                .get(s.name.as_str())
                .map(|r| caption(r))
                .unwrap_or_default()
        })
        .collect();
    let sizes: Vec<NodeSize> = graph
        .steps
        .iter()
        .zip(&captions)
        .map(|(s, caption)| {
            let text = (s.name.chars().count() as f64 * NAME_CHAR)
                .max(caption.chars().count() as f64 * CAPTION_CHAR);
            NodeSize {
                width: (text + ICON_SPACE + RIGHT_PAD).max(MIN_WIDTH).ceil(),
                height: NODE_HEIGHT,
            }
        })
        .collect();
    let drawing = layout(graph, &analysis, &sizes);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"graph\" viewBox=\"0 0 {w:.0} {h:.0}\" \
         width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\" aria-label=\"{label}\">",
        w = drawing.width,
        h = drawing.height,
        label = escape(&format!("graph of {}", graph.name)),
    );
    svg.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"#868e96\"/></marker><marker id=\"arrow-dim\" viewBox=\"0 0 10 10\" refX=\"9\" \
         refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path \
         d=\"M0,0 L10,5 L0,10 z\" fill=\"#ced4da\"/></marker></defs>",
    );
    frames(&mut svg, &drawing);
    edges(&mut svg, report, &drawing, &steps);
    for (i, spec) in graph.steps.iter().enumerate() {
        let Some(step) = steps.get(spec.name.as_str()) else {
            continue;
        };
        node(&mut svg, step, &captions[i], &drawing, i);
    }
    svg.push_str("</svg>");
    (svg, drawing.width)
}

fn frames(svg: &mut String, drawing: &GraphLayout) {
    for frame in &drawing.frames {
        let _ = write!(
            svg,
            "<rect class=\"frame\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" \
             rx=\"12\" fill=\"#f4f6fb\" stroke=\"#b4bccc\" stroke-dasharray=\"5 4\"/>",
            x = frame.x,
            y = frame.y,
            w = frame.width,
            h = frame.height,
        );
    }
}

fn edges(
    svg: &mut String,
    report: &Report,
    drawing: &GraphLayout,
    steps: &HashMap<&str, &StepReport>,
) {
    for edge in &drawing.edges {
        let from = &report.graph.steps[edge.from];
        let to = &report.graph.steps[edge.to];
        let source = steps.get(from.name.as_str());
        let mut label = None;
        let mut dim = false;
        match &from.transition {
            Transition::Foreach { over, .. } => {
                let items = source.map_or(0, |s| s.foreach_items);
                label = Some(if items > 0 {
                    format!("{over} ×{}", count(items))
                } else {
                    format!("each of {over}")
                });
            }
            Transition::Switch(_) => {
                let ran = source.is_some_and(|s| s.counts.total > 0);
                let chosen = source
                    .and_then(|s| s.switch_choices.get(&to.name))
                    .copied()
                    .unwrap_or(0);
                if ran && chosen == 0 {
                    dim = true;
                } else if chosen > 0 {
                    let total = source.map_or(0, |s| s.counts.total);
                    label = Some(if total == 1 {
                        "chosen".to_string()
                    } else {
                        format!("chosen ×{}", count(chosen))
                    });
                }
            }
            _ => {}
        }
        let mut d = String::new();
        let p = &edge.points;
        let _ = write!(d, "M{:.1},{:.1}", p[0].0, p[0].1);
        for w in p.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if (x0 - x1).abs() < 0.5 {
                let _ = write!(d, " L{x1:.1},{y1:.1}");
            } else {
                let my = (y0 + y1) / 2.0;
                let _ = write!(d, " C{x0:.1},{my:.1} {x1:.1},{my:.1} {x1:.1},{y1:.1}");
            }
        }
        let (stroke, marker, dash) = if dim {
            ("#ced4da", "arrow-dim", " stroke-dasharray=\"5 4\"")
        } else {
            ("#868e96", "arrow", "")
        };
        let _ = write!(
            svg,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1.6\"{dash} \
             marker-end=\"url(#{marker})\"/>"
        );
        if let Some(label) = label {
            // Beside the first stretch of the edge, on the side it bends towards.
            let (x0, y0) = p[0];
            let (x1, y1) = p[1];
            let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0 + 4.0);
            let (x, anchor) = if x1 < x0 - 0.5 {
                (mx - 8.0, "end")
            } else {
                (mx + 8.0, "start")
            };
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"{my:.1}\" text-anchor=\"{anchor}\" class=\"edge-label\">{}</text>",
                escape(&label)
            );
        }
    }
}

fn node(svg: &mut String, step: &StepReport, caption: &str, drawing: &GraphLayout, i: usize) {
    let b = drawing.nodes[i];
    let (fill, stroke, icon) = step.outcome.colours();
    let dashed = matches!(step.outcome, Outcome::Skipped | Outcome::NotRun);
    let width = if step.outcome == Outcome::Failed {
        2.2
    } else {
        1.4
    };
    let title = format!(
        "{} — {}{}",
        step.name,
        step.outcome.label(),
        if caption.is_empty() {
            String::new()
        } else {
            format!(" — {caption}")
        }
    );
    let _ = write!(
        svg,
        "<a href=\"#step-{id}\" class=\"node\"><title>{title}</title>\
         <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"9\" fill=\"{fill}\" \
         stroke=\"{stroke}\" stroke-width=\"{width}\"{dash}/>",
        id = escape(&step.name),
        title = escape(&title),
        x = b.x,
        y = b.y,
        w = b.width,
        h = b.height,
        dash = if dashed { " stroke-dasharray=\"5 4\"" } else { "" },
    );
    let (cx, cy) = (b.x + 17.0, b.y + b.height / 2.0);
    status_icon(svg, step.outcome, cx, cy, icon);
    let tx = b.x + ICON_SPACE;
    let _ = write!(
        svg,
        "<text x=\"{tx:.1}\" y=\"{ny:.1}\" class=\"node-name{muted}\">{name}</text>\
         <text x=\"{tx:.1}\" y=\"{cy2:.1}\" class=\"node-caption\">{caption}</text>",
        ny = b.y + 20.0,
        cy2 = b.y + 36.0,
        muted = if dashed { " muted" } else { "" },
        name = escape(&step.name),
        caption = escape(caption),
    );
    svg.push_str("</a>");
}

/// A filled circle with a mark: a tick, a cross, an exclamation mark, or nothing.
fn status_icon(svg: &mut String, outcome: Outcome, cx: f64, cy: f64, colour: &str) {
    let mark = match outcome {
        Outcome::Succeeded | Outcome::Cloned => "M-3.6,0.2 L-1.1,2.8 L3.8,-2.6",
        Outcome::Failed => "M-3,-3 L3,3 M3,-3 L-3,3",
        Outcome::Caught => "M0,-3.8 L0,0.8 M0,3.2 L0,3.6",
        Outcome::Running => "M-3,0 L3,0",
        Outcome::Pending | Outcome::Skipped | Outcome::NotRun => "",
    };
    if mark.is_empty() {
        let _ = write!(
            svg,
            "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"7.5\" fill=\"#fff\" stroke=\"{colour}\" \
             stroke-width=\"1.6\"/>"
        );
    } else {
        let _ = write!(
            svg,
            "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"8.5\" fill=\"{colour}\"/>\
             <path d=\"{mark}\" transform=\"translate({cx:.1} {cy:.1})\" fill=\"none\" \
             stroke=\"#fff\" stroke-width=\"2\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/>"
        );
    }
}
