//! Text, Mermaid and Graphviz DOT renderings of a flow graph.

use crate::{format_duration, FlowGraph, StepSpec, Transition};
use std::fmt::Write;

/// One line per step: its transition and its options.
pub fn render_text(graph: &FlowGraph) -> String {
    let mut out = format!("{}\n", graph.name);
    if !graph.doc.is_empty() {
        let _ = writeln!(out, "  {}", graph.doc.lines().next().unwrap_or_default());
    }
    let width = graph.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for step in &graph.steps {
        let arrow = match &step.transition {
            Transition::End => String::new(),
            Transition::Next(t) => format!("-> {t}"),
            Transition::Split(ts) => format!("-> split [{}]", ts.join(", ")),
            Transition::Foreach { over, body } => format!("-> foreach {over} -> {body}"),
            Transition::Switch(ts) => format!("-> switch [{}]", ts.join(", ")),
        };
        let mut tags = Vec::new();
        if step.join {
            tags.push("join".to_string());
        }
        if step.is_async {
            tags.push("async".to_string());
        }
        tags.extend(option_tags(step));
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!("  ({})", tags.join(", "))
        };
        let line = format!("  {:width$}  {arrow}{tags}", step.name);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if !graph.params.is_empty() {
        out.push_str("params\n");
        for p in &graph.params {
            let from_event = p
                .from_event
                .as_ref()
                .map(|path| format!("  from event {path}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  --{} <{}>  default {}{from_event}",
                p.flag(),
                p.type_name,
                p.default
            );
        }
    }
    if let Some(t) = graph.timeout_secs {
        let _ = writeln!(out, "timeout {}", format_duration(t * 1000));
    }
    for upstream in &graph.trigger_on_finish {
        let _ = writeln!(out, "triggered by {upstream} succeeding");
    }
    for pattern in &graph.event_triggers {
        let _ = writeln!(out, "triggered by event {pattern}");
    }
    if let Some(hook) = &graph.hooks.on_failure {
        let _ = writeln!(out, "on failure {hook}");
    }
    if let Some(hook) = &graph.hooks.on_success {
        let _ = writeln!(out, "on success {hook}");
    }
    if let Some(schedule) = &graph.schedule {
        let _ = writeln!(out, "schedule {schedule}");
    }
    if !graph.tags.is_empty() {
        let _ = writeln!(out, "tags {}", graph.tags.join(", "));
    }
    out
}

fn option_tags(step: &StepSpec) -> Vec<String> {
    let o = &step.options;
    let mut tags = Vec::new();
    if let Some(r) = o.retry {
        tags.push(format!(
            "retry {} every {}",
            r.times,
            format_duration(r.backoff_ms)
        ));
    }
    if let Some(t) = o.timeout_secs {
        tags.push(format!("timeout {}", format_duration(t * 1000)));
    }
    if let Some(n) = o.max_concurrency {
        tags.push(format!("max concurrency {n}"));
    }
    if o.catch {
        tags.push("catch".into());
    }
    if let Some(c) = o.resources.cpu {
        tags.push(format!("cpu {c}"));
    }
    if let Some(m) = o.resources.memory_mb {
        tags.push(format!("memory {m} MiB"));
    }
    if let Some(g) = o.resources.gpu {
        tags.push(format!("gpu {g}"));
    }
    if let Some(i) = &o.batch.image {
        tags.push(format!("image {i}"));
    }
    if let Some(q) = &o.batch.queue {
        tags.push(format!("queue {q}"));
    }
    if let Some(r) = &o.batch.job_role {
        tags.push(format!("job role {r}"));
    }
    tags
}

/// A Mermaid `flowchart TD`. Node ids are prefixed because `end` is a Mermaid keyword.
pub fn render_mermaid(graph: &FlowGraph) -> String {
    let id = |name: &str| format!("step_{name}");
    let mut out = String::from("flowchart TD\n");
    for step in &graph.steps {
        let n = &step.name;
        let shape = match (&step.transition, step.join) {
            _ if n == crate::START || n == crate::END => format!("([\"{n}\"])"),
            (Transition::Switch(_), _) => format!("{{\"{n}\"}}"),
            (_, true) => format!("[[\"{n}\"]]"),
            _ => format!("[\"{n}\"]"),
        };
        let _ = writeln!(out, "    {}{shape}", id(n));
    }
    for step in &graph.steps {
        let from = id(&step.name);
        match &step.transition {
            Transition::End => {}
            Transition::Next(t) => {
                let _ = writeln!(out, "    {from} --> {}", id(t));
            }
            Transition::Split(ts) => {
                for t in ts {
                    let _ = writeln!(out, "    {from} -->|split| {}", id(t));
                }
            }
            Transition::Foreach { over, body } => {
                let _ = writeln!(out, "    {from} ==>|\"foreach {over}\"| {}", id(body));
            }
            Transition::Switch(ts) => {
                for t in ts {
                    let _ = writeln!(out, "    {from} -.->|switch| {}", id(t));
                }
            }
        }
    }
    out
}

/// A Graphviz `digraph`.
pub fn render_dot(graph: &FlowGraph) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n    rankdir=TB;\n    node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
        graph.name.replace('"', "\\\"")
    );
    for step in &graph.steps {
        let n = &step.name;
        let shape = match (&step.transition, step.join) {
            _ if n == crate::START || n == crate::END => "shape=oval",
            (Transition::Switch(_), _) => "shape=diamond, style=\"\"",
            (_, true) => "shape=box, style=\"rounded,bold\"",
            _ => "shape=box",
        };
        let _ = writeln!(out, "    \"{n}\" [{shape}];");
    }
    for step in &graph.steps {
        let from = &step.name;
        match &step.transition {
            Transition::End => {}
            Transition::Next(t) => {
                let _ = writeln!(out, "    \"{from}\" -> \"{t}\";");
            }
            Transition::Split(ts) => {
                for t in ts {
                    let _ = writeln!(out, "    \"{from}\" -> \"{t}\" [label=\"split\"];");
                }
            }
            Transition::Foreach { over, body } => {
                let _ = writeln!(
                    out,
                    "    \"{from}\" -> \"{body}\" [label=\"foreach {over}\", style=bold];"
                );
            }
            Transition::Switch(ts) => {
                for t in ts {
                    let _ = writeln!(
                        out,
                        "    \"{from}\" -> \"{t}\" [label=\"switch\", style=dashed];"
                    );
                }
            }
        }
    }
    out.push_str("}\n");
    out
}
