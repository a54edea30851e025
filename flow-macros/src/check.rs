//! Validation: builds the `flow_graph::FlowGraph` from the parsed steps, checks per-step
//! rules that need the whole flow (which steps are foreach bodies), runs the shared graph
//! rules of `flow_graph::validate`, and maps each error back to the tokens the user wrote.

use crate::ast::{FlowImpl, ParamKind, Step};
use crate::attr::{FlowArgs, Given, Next};
use crate::ctxt::Ctxt;
use flow_graph::{
    parse_duration, BatchOverrides, ErrorSite, FlowGraph, Resources, Retry, StepOptions, StepSpec,
    Transition,
};
use proc_macro2::TokenStream;
use quote::ToTokens;
use std::collections::BTreeMap;

/// The graph, and for each foreach body the field it iterates.
pub struct Checked {
    /// The flow's graph, embedded as JSON by `expand.rs`.
    pub graph: FlowGraph,
    /// body step name -> foreach field ident
    pub foreach_fields: BTreeMap<String, syn::Ident>,
    /// The hook methods (`on_failure`, `on_success`), each once.
    pub hooks: Vec<syn::ImplItemFn>,
}

fn transition(step: &Step, ctxt: &Ctxt) -> Transition {
    let a = &step.args;
    let name = step.name();
    match (&a.next, &a.foreach, &a.switch) {
        (Some(_), _, Some(switch)) => {
            ctxt.error_spanned_by(
                &switch.tokens,
                format!(
                    "step `{name}` has both `next` and `switch`; a step has exactly one transition: \
                     keep `switch = [...]` to choose at run time, or `next` to always go on"
                ),
            );
            Transition::End
        }
        (_, Some(_), Some(switch)) => {
            ctxt.error_spanned_by(
                &switch.tokens,
                format!("step `{name}` has both `foreach` and `switch`; keep one transition"),
            );
            Transition::End
        }
        (None, Some(foreach), _)
        | (
            Some(Given {
                value: Next::Split(_),
                ..
            }),
            Some(foreach),
            _,
        ) => {
            let field = &foreach.value;
            ctxt.error_spanned_by(
                &foreach.tokens,
                format!(
                    "the foreach of step `{name}` needs one body step: write \
                     `foreach = {field}, next = <body step>`"
                ),
            );
            Transition::End
        }
        (Some(next), foreach, None) => match (&next.value, foreach) {
            (Next::Step(body), Some(field)) => Transition::Foreach {
                over: field.value.to_string(),
                body: body.to_string(),
            },
            (Next::Step(to), None) => Transition::Next(to.to_string()),
            (Next::Split(to), _) => Transition::Split(to.iter().map(|t| t.to_string()).collect()),
        },
        (None, None, Some(switch)) => {
            Transition::Switch(switch.value.iter().map(|t| t.to_string()).collect())
        }
        (None, None, None) => Transition::End,
    }
}

fn options(step: &Step, ctxt: &Ctxt) -> StepOptions {
    let a = &step.args;
    let name = step.name();
    let int = |lit: &Option<syn::LitInt>, what: &str, max: u64| {
        lit.as_ref().and_then(|l| match l.base10_parse::<u64>() {
            Ok(v) if v <= max => Some(v),
            Ok(_) | Err(_) => {
                ctxt.error_spanned_by(
                    l,
                    format!("`{what}` of step `{name}` must be a whole number from 0 to {max}"),
                );
                None
            }
        })
    };
    let duration = |lit: &Option<syn::LitStr>, what: &str| {
        lit.as_ref().and_then(|l| match parse_duration(&l.value()) {
            Ok(ms) => Some(ms),
            Err(e) => {
                ctxt.error_spanned_by(l, format!("`{what}` of step `{name}`: {e}"));
                None
            }
        })
    };
    let retry = match (
        int(&a.retry_times, "retry times", 100),
        duration(&a.retry_backoff, "retry backoff"),
    ) {
        (Some(times), backoff) => Some(Retry {
            times: times as u32,
            backoff_ms: backoff.unwrap_or(0),
        }),
        (None, Some(_)) => {
            ctxt.error_spanned_by(
                &a.retry_backoff,
                format!(
                    "step `{name}` sets a retry backoff but no `times`: write \
                     `retry(times = 3, backoff = \"2s\")`"
                ),
            );
            None
        }
        (None, None) => None,
    };
    let timeout_secs = duration(&a.timeout, "timeout").and_then(|ms| {
        if ms == 0 || ms % 1000 != 0 {
            ctxt.error_spanned_by(
                &a.timeout,
                format!(
                    "the timeout of step `{name}` must be a positive whole number of seconds, \
                     e.g. \"90s\" or \"10m\""
                ),
            );
            None
        } else {
            Some(ms / 1000)
        }
    });
    let (env, secrets) = crate::environment::step_environment(step, ctxt);
    StepOptions {
        retry,
        timeout_secs,
        catch: a.catch.unwrap_or(false),
        resources: Resources {
            cpu: int(&a.cpu, "cpu", 4096).map(|v| v as u32),
            memory_mb: int(&a.memory, "memory", 16 * 1024 * 1024),
            gpu: int(&a.gpu, "gpu", 64).map(|v| v as u32),
        },
        batch: BatchOverrides {
            image: a.image.as_ref().map(syn::LitStr::value),
            queue: a.queue.as_ref().map(syn::LitStr::value),
            job_role: a.job_role.as_ref().map(syn::LitStr::value),
        },
        max_concurrency: max_concurrency(step, ctxt),
        env,
        secrets,
    }
}

/// The most child executions a Distributed Map runs at once, and so the largest
/// `max_concurrency` that means the same on Step Functions as locally.
const MAX_CONCURRENCY: u64 = 10_000;

/// `max_concurrency` of a foreach step: from 1 to [`MAX_CONCURRENCY`].
fn max_concurrency(step: &Step, ctxt: &Ctxt) -> Option<u32> {
    let lit = step.args.max_concurrency.as_ref()?;
    let name = step.name();
    if step.args.foreach.is_none() {
        ctxt.error_spanned_by(
            lit,
            format!(
                "`max_concurrency` limits the items of a foreach in flight, and step `{name}` is \
                 no foreach; put it on the step that fans out: \
                 `#[step(foreach = items, next = body, max_concurrency = 20)]`"
            ),
        );
        return None;
    }
    match lit.base10_parse::<u64>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Some(n as u32),
        _ => {
            ctxt.error_spanned_by(
                lit,
                format!(
                    "`max_concurrency` of step `{name}` must be a whole number from 1 to \
                     {MAX_CONCURRENCY} (items in flight at once; leave it out for no limit)"
                ),
            );
            None
        }
    }
}

/// What an error about this site underlines.
fn tokens_of(flow: &FlowImpl, site: &ErrorSite) -> TokenStream {
    let self_ty = flow.item.self_ty.to_token_stream();
    let step = |name: &str| flow.steps.iter().find(|s| s.ident == name);
    match site {
        ErrorSite::Flow => self_ty,
        ErrorSite::Step(name) => step(name).map_or(self_ty, |s| s.ident.to_token_stream()),
        ErrorSite::Target { step: name, target } => {
            let Some(s) = step(name) else {
                return self_ty;
            };
            let targets: Vec<&syn::Ident> = match (&s.args.next, &s.args.switch) {
                (Some(next), _) => match &next.value {
                    Next::Step(t) => vec![t],
                    Next::Split(ts) => ts.iter().collect(),
                },
                (_, Some(switch)) => switch.value.iter().collect(),
                _ => Vec::new(),
            };
            // The last mention, so a repeated target is underlined where it repeats.
            targets
                .iter()
                .rev()
                .find(|t| **t == target)
                .map_or(s.ident.to_token_stream(), |t| t.to_token_stream())
        }
    }
}

/// Builds and validates the graph, reporting every broken rule to `ctxt`.
pub fn check(flow: &FlowImpl, args: &FlowArgs, ctxt: &Ctxt) -> Checked {
    let mut steps = Vec::new();
    let mut foreach_fields = BTreeMap::new();
    let mut graph_known = true;
    for step in &flow.steps {
        let before = ctxt.len();
        let transition = transition(step, ctxt);
        graph_known &= !step.args.transition_unknown && ctxt.len() == before;
        if let (Transition::Foreach { body, .. }, Some(field)) = (&transition, &step.args.foreach) {
            foreach_fields.insert(body.clone(), field.value.clone());
        }
        steps.push(StepSpec {
            name: step.name(),
            doc: step.doc.clone(),
            transition,
            join: step.is_join(),
            is_async: step.is_async,
            options: options(step, ctxt),
        });
    }
    // A foreach item parameter only makes sense on a foreach body.
    for step in &flow.steps {
        for p in &step.params {
            if matches!(p.kind, ParamKind::Item { .. })
                && !foreach_fields.contains_key(&step.name())
            {
                ctxt.error_spanned_by(
                    &p.arg,
                    format!(
                        "step `{}` takes `{}`, but it is not the body of a foreach, so there is \
                         no item to pass; a step takes `&mut self`, optionally `ctx: &Ctx<P>`, \
                         `inputs: Inputs<Self>` (a join), or the item (only the step named in \
                         `foreach = <field>, next = <step>`)",
                        step.name(),
                        p.name()
                    ),
                );
            }
        }
    }
    let mut graph = FlowGraph::new(flow.self_ident.to_string(), steps);
    graph.doc = flow.doc.clone();
    graph.schedule = args.schedule.as_ref().map(syn::LitStr::value);
    graph.tags = args.tags.iter().map(syn::LitStr::value).collect();
    graph.trigger_on_finish = crate::events::upstream_flows(flow, args, ctxt);
    graph.event_triggers = args
        .triggers
        .iter()
        .filter_map(|t| crate::events::event_pattern(t, ctxt))
        .collect();
    graph.timeout_secs = crate::events::run_timeout(args, ctxt);
    graph.project = crate::environment::project(args, ctxt);
    let hooks = crate::events::hooks(flow, args, ctxt);
    graph.hooks = flow_graph::Hooks {
        on_failure: args.on_failure.as_ref().map(ToString::to_string),
        on_success: args.on_success.as_ref().map(ToString::to_string),
    };
    if graph_known {
        if let Err(graph_errors) = flow_graph::validate(&graph) {
            for e in graph_errors {
                ctxt.error_spanned_by(tokens_of(flow, &e.site), e.message);
            }
        }
    }
    Checked {
        graph,
        foreach_fields,
        hooks,
    }
}
