//! Validation: builds the `flow_graph::FlowGraph` from the parsed steps, checks per-step
//! rules that need the whole flow (which steps are foreach bodies), runs the shared graph
//! rules of `flow_graph::validate`, and maps each error back to the span the user wrote.

use crate::ast::{FlowArgs, FlowImpl, ParamKind, Step, TransitionArg};
use crate::errors::Errors;
use flow_graph::{
    parse_duration, BatchOverrides, ErrorSite, FlowGraph, Resources, Retry, StepOptions, StepSpec,
    Transition,
};
use proc_macro2::Span;
use std::collections::BTreeMap;
use syn::spanned::Spanned;

/// The graph, and for each foreach body the field it iterates.
pub struct Checked {
    pub graph: FlowGraph,
    /// body step name -> foreach field ident
    pub foreach_fields: BTreeMap<String, syn::Ident>,
}

fn transition(step: &Step, errors: &mut Errors) -> Transition {
    let a = &step.args;
    let name = step.name();
    match (&a.next, &a.foreach, &a.switch) {
        (Some(_), _, Some(targets)) => {
            errors.push(syn::Error::new(
                targets.first().map_or(step.ident.span(), |t| t.span),
                format!(
                    "step `{name}` has both `next` and `switch`; a step has exactly one transition: \
                     keep `switch = [...]` to choose at run time, or `next` to always go on"
                ),
            ));
            Transition::End
        }
        (_, Some(field), Some(targets)) => {
            errors.push(syn::Error::new(
                targets.first().map_or(field.span(), |t| t.span),
                format!("step `{name}` has both `foreach` and `switch`; keep one transition"),
            ));
            Transition::End
        }
        (None, Some(field), _) | (Some(TransitionArg::Split(_)), Some(field), _) => {
            errors.push(syn::Error::new(
                field.span(),
                format!(
                    "the foreach of step `{name}` needs one body step: write \
                     `foreach = {field}, next = <body step>`"
                ),
            ));
            Transition::End
        }
        (Some(TransitionArg::Next(body)), Some(field), None) => Transition::Foreach {
            over: field.to_string(),
            body: body.name.clone(),
        },
        (Some(TransitionArg::Next(to)), None, None) => Transition::Next(to.name.clone()),
        (Some(TransitionArg::Split(to)), None, None) => {
            Transition::Split(to.iter().map(|t| t.name.clone()).collect())
        }
        (None, None, Some(to)) => Transition::Switch(to.iter().map(|t| t.name.clone()).collect()),
        (None, None, None) => Transition::End,
    }
}

fn options(step: &Step, errors: &mut Errors) -> StepOptions {
    let a = &step.args;
    let name = step.name();
    let int = |lit: &Option<syn::LitInt>, errors: &mut Errors, what: &str, max: u64| {
        lit.as_ref().and_then(|l| match l.base10_parse::<u64>() {
            Ok(v) if v <= max => Some(v),
            Ok(_) | Err(_) => {
                errors.push(syn::Error::new(
                    l.span(),
                    format!("`{what}` of step `{name}` must be a whole number from 0 to {max}"),
                ));
                None
            }
        })
    };
    let duration = |lit: &Option<syn::LitStr>, errors: &mut Errors, what: &str| {
        lit.as_ref().and_then(|l| match parse_duration(&l.value()) {
            Ok(ms) => Some(ms),
            Err(e) => {
                errors.push(syn::Error::new(
                    l.span(),
                    format!("`{what}` of step `{name}`: {e}"),
                ));
                None
            }
        })
    };
    let retry = match (
        int(&a.retry_times, errors, "retry times", 100),
        duration(&a.retry_backoff, errors, "retry backoff"),
    ) {
        (Some(times), backoff) => Some(Retry {
            times: times as u32,
            backoff_ms: backoff.unwrap_or(0),
        }),
        (None, Some(_)) => {
            errors.push(syn::Error::new(
                a.retry_backoff.span(),
                format!("step `{name}` sets a retry backoff but no `times`: write `retry(times = 3, backoff = \"2s\")`"),
            ));
            None
        }
        (None, None) => None,
    };
    let timeout_secs = duration(&a.timeout, errors, "timeout").and_then(|ms| {
        if ms == 0 || ms % 1000 != 0 {
            errors.push(syn::Error::new(
                a.timeout.span(),
                format!("the timeout of step `{name}` must be a positive whole number of seconds, e.g. \"90s\" or \"10m\""),
            ));
            None
        } else {
            Some(ms / 1000)
        }
    });
    StepOptions {
        retry,
        timeout_secs,
        catch: a.catch.unwrap_or(false),
        resources: Resources {
            cpu: int(&a.cpu, errors, "cpu", 4096).map(|v| v as u32),
            memory_mb: int(&a.memory, errors, "memory", 16 * 1024 * 1024),
            gpu: int(&a.gpu, errors, "gpu", 64).map(|v| v as u32),
        },
        batch: BatchOverrides {
            image: a.image.as_ref().map(syn::LitStr::value),
            queue: a.queue.as_ref().map(syn::LitStr::value),
            job_role: a.job_role.as_ref().map(syn::LitStr::value),
        },
    }
}

/// Where an error about this site goes.
fn span_of(flow: &FlowImpl, site: &ErrorSite) -> Span {
    let step = |name: &str| flow.steps.iter().find(|s| s.name() == name);
    match site {
        ErrorSite::Flow => flow.item.self_ty.span(),
        ErrorSite::Step(name) => step(name).map_or(flow.item.self_ty.span(), |s| s.ident.span()),
        ErrorSite::Target { step: name, target } => {
            let Some(s) = step(name) else {
                return flow.item.self_ty.span();
            };
            let targets: Vec<&crate::ast::Named> = match (&s.args.next, &s.args.switch) {
                (Some(TransitionArg::Next(t)), _) => vec![t],
                (Some(TransitionArg::Split(ts)), _) => ts.iter().collect(),
                (_, Some(ts)) => ts.iter().collect(),
                _ => Vec::new(),
            };
            targets
                .iter()
                .rev()
                .find(|t| &t.name == target)
                .map_or(s.ident.span(), |t| t.span)
        }
    }
}

pub fn check(flow: &FlowImpl, args: &FlowArgs, errors: &mut Errors) -> Checked {
    let mut steps = Vec::new();
    let mut foreach_fields = BTreeMap::new();
    let mut graph_known = true;
    for step in &flow.steps {
        let before = errors.len();
        let transition = transition(step, errors);
        graph_known &= !step.args.broken && errors.len() == before;
        if let (Transition::Foreach { body, .. }, Some(field)) = (&transition, &step.args.foreach) {
            foreach_fields.insert(body.clone(), field.clone());
        }
        steps.push(StepSpec {
            name: step.name(),
            doc: step.doc.clone(),
            transition,
            join: step.is_join(),
            is_async: step.is_async,
            options: options(step, errors),
        });
    }
    // A foreach item parameter only makes sense on a foreach body.
    for step in &flow.steps {
        for p in &step.params {
            if matches!(p.kind, ParamKind::Item { .. })
                && !foreach_fields.contains_key(&step.name())
            {
                errors.push(syn::Error::new(
                    p.ty.span(),
                    format!(
                        "step `{}` takes `{}`, but it is not the body of a foreach, so there is no item \
                         to pass; a step takes `&mut self`, optionally `ctx: &Ctx<P>`, `inputs: Inputs<Self>` \
                         (a join), or the item (only the step named in `foreach = <field>, next = <step>`)",
                        step.name(),
                        p.name
                    ),
                ));
            }
        }
    }
    let mut graph = FlowGraph::new(flow.self_ident.to_string(), steps);
    graph.doc = flow.doc.clone();
    graph.schedule = args.schedule.as_ref().map(syn::LitStr::value);
    graph.tags = args.tags.iter().map(syn::LitStr::value).collect();
    if graph_known {
        if let Err(graph_errors) = flow_graph::validate(&graph) {
            for e in graph_errors {
                errors.push(syn::Error::new(span_of(flow, &e.site), e.message));
            }
        }
    }
    Checked {
        graph,
        foreach_fields,
    }
}
