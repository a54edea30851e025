//! The flow options about how a run starts and ends: `trigger_on_finish`, `trigger(...)`
//! (turned into EventBridge event patterns here), `on_failure` / `on_success` hook methods
//! and the run's `timeout`, each checked at the span the user wrote.

use crate::ast::FlowImpl;
use crate::attr::{FlowArgs, TriggerArgs};
use crate::ctxt::Ctxt;
use flow_graph::parse_duration;
use serde_json::{json, Map, Value};
use syn::{FnArg, ImplItem, ImplItemFn, LitStr, ReturnType};

/// The longest a standard Step Functions workflow runs (one year), so the longest run
/// timeout that means the same on both backends.
const MAX_RUN_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

/// The upstream flows of `trigger_on_finish`: flow names, not this flow, each once.
pub fn upstream_flows(flow: &FlowImpl, args: &FlowArgs, ctxt: &Ctxt) -> Vec<String> {
    let this = flow.self_ident.to_string();
    let mut names: Vec<String> = Vec::new();
    for lit in &args.trigger_on_finish {
        let name = lit.value();
        if !is_flow_name(&name) {
            ctxt.error_spanned_by(
                lit,
                format!(
                    "`{name}` is not a flow name: `trigger_on_finish` names the struct of another \
                     flow, e.g. `trigger_on_finish = \"UpstreamFlow\"`"
                ),
            );
        } else if name == this {
            ctxt.error_spanned_by(
                lit,
                format!(
                    "flow `{this}` cannot be triggered by its own runs finishing: every run would \
                     start the next one forever; name another flow"
                ),
            );
        } else if names.contains(&name) {
            ctxt.error_spanned_by(lit, format!("`{name}` is listed twice; keep one"));
        } else {
            names.push(name);
        }
    }
    names
}

fn is_flow_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The EventBridge event pattern (JSON text) of one `trigger(...)`, or `None` after
/// reporting what is wrong with it.
pub fn event_pattern(trigger: &TriggerArgs, ctxt: &Ctxt) -> Option<String> {
    let custom = trigger.source.is_some() || trigger.detail_type.is_some();
    let kinds = [trigger.s3.is_some(), custom, trigger.pattern.is_some()];
    let forms = "`trigger(s3(bucket = \"b\", prefix = \"in/\"))`, `trigger(source = \"com.acme\", \
                 detail_type = \"Order Placed\")` or `trigger(pattern = r#\"{...}\"#)`";
    match kinds.iter().filter(|k| **k).count() {
        0 => {
            ctxt.error_spanned_by(
                &trigger.tokens,
                format!("this trigger says no event to start on; write one of {forms}"),
            );
            return None;
        }
        1 => {}
        _ => {
            ctxt.error_spanned_by(
                &trigger.tokens,
                format!(
                    "a trigger is one kind of event: an S3 object (`s3(...)`), a custom event \
                     (`source`, `detail_type`) or a raw `pattern`; write each as its own \
                     `trigger(...)`: {forms}"
                ),
            );
            return None;
        }
    }
    if let Some(s3) = &trigger.s3 {
        return s3_pattern(trigger, s3, ctxt);
    }
    if let Some(pattern) = &trigger.pattern {
        return raw_pattern(pattern, ctxt);
    }
    let mut pattern = Map::new();
    for (key, lit) in [
        ("source", &trigger.source),
        ("detail-type", &trigger.detail_type),
    ] {
        if let Some(lit) = lit {
            if lit.value().trim().is_empty() {
                ctxt.error_spanned_by(lit, format!("the event's `{key}` cannot be empty"));
                return None;
            }
            pattern.insert(key.to_string(), json!([lit.value()]));
        }
    }
    Some(Value::Object(pattern).to_string())
}

/// S3's "Object Created" event for a bucket, optionally under a key prefix or suffix (both
/// become one `wildcard`, since the entries of a list match as alternatives).
fn s3_pattern(trigger: &TriggerArgs, s3: &proc_macro2::TokenStream, ctxt: &Ctxt) -> Option<String> {
    let Some(bucket) = &trigger.bucket else {
        ctxt.error_spanned_by(
            s3,
            "`s3(...)` needs the bucket: `s3(bucket = \"my-bucket\", prefix = \"in/\")`",
        );
        return None;
    };
    let name = bucket.value();
    let valid_bucket = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !valid_bucket {
        ctxt.error_spanned_by(
            bucket,
            format!(
                "`{name}` is not an S3 bucket name: 3 to 63 lowercase letters, digits, `-` and `.`"
            ),
        );
        return None;
    }
    let mut detail = json!({ "bucket": { "name": [name] } });
    let key = match (&trigger.prefix, &trigger.suffix) {
        (None, None) => None,
        (Some(prefix), None) => Some(json!([{ "prefix": prefix.value() }])),
        (None, Some(suffix)) => Some(json!([{ "suffix": suffix.value() }])),
        (Some(prefix), Some(suffix)) => {
            for lit in [prefix, suffix] {
                if lit.value().contains(['*', '\\']) {
                    ctxt.error_spanned_by(
                        lit,
                        "with both a prefix and a suffix the key is matched by a wildcard, so \
                         neither may hold `*` or `\\`",
                    );
                    return None;
                }
            }
            Some(json!([{ "wildcard": format!("{}*{}", prefix.value(), suffix.value()) }]))
        }
    };
    if let Some(key) = key {
        detail["object"] = json!({ "key": key });
    }
    let pattern = json!({
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": detail,
    });
    Some(pattern.to_string())
}

/// A raw pattern: a JSON object whose every leaf is a list of values to match (the shape
/// EventBridge accepts), re-serialized compactly.
fn raw_pattern(lit: &LitStr, ctxt: &Ctxt) -> Option<String> {
    let text = lit.value();
    let value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            ctxt.error_spanned_by(
                lit,
                format!(
                    "this event pattern is not JSON: {e}; write a JSON object, e.g. \
                         r#\"{{\"source\": [\"com.acme\"]}}\"#"
                ),
            );
            return None;
        }
    };
    let Value::Object(map) = &value else {
        ctxt.error_spanned_by(
            lit,
            "an event pattern is a JSON object of event fields to lists of values, e.g. \
             r#\"{\"source\": [\"com.acme\"]}\"#",
        );
        return None;
    };
    if map.is_empty() {
        ctxt.error_spanned_by(
            lit,
            "this event pattern is empty, so it would match every event; name at least one field",
        );
        return None;
    }
    if let Some(path) = first_bad_leaf(&value, "") {
        ctxt.error_spanned_by(
            lit,
            format!(
                "in this event pattern `{path}` is not a list of values to match: EventBridge \
                 matches each field against a list, e.g. `\"source\": [\"com.acme\"]`"
            ),
        );
        return None;
    }
    Some(value.to_string())
}

/// The first field of a pattern that is neither an object nor a non-empty list.
fn first_bad_leaf(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::Object(map) => map.iter().find_map(|(key, v)| {
            let path = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            match v {
                Value::Object(_) => first_bad_leaf(v, &path),
                Value::Array(items) if !items.is_empty() => None,
                _ => Some(path),
            }
        }),
        _ => Some(at.to_string()),
    }
}

/// `timeout = "6h"`: a positive whole number of seconds, at most a year.
pub fn run_timeout(args: &FlowArgs, ctxt: &Ctxt) -> Option<u64> {
    let lit = args.timeout.as_ref()?;
    match parse_duration(&lit.value()) {
        Err(e) => {
            ctxt.error_spanned_by(lit, format!("the flow's `timeout`: {e}"));
            None
        }
        Ok(ms) if ms == 0 || ms % 1000 != 0 || ms / 1000 > MAX_RUN_TIMEOUT_SECS => {
            ctxt.error_spanned_by(
                lit,
                "the flow's `timeout` must be a positive whole number of seconds, at most a year \
                 (the longest a Step Functions standard workflow runs), e.g. \"6h\" or \"90m\"",
            );
            None
        }
        Ok(ms) => Some(ms / 1000),
    }
}

/// The hook methods `on_failure` and `on_success` name, each checked: a plain method of
/// this impl block (no `#[step]`, no `self`, not async) taking the run's summary. Types are
/// left to rustc, at the parameter and the return type (see `expand.rs`).
pub fn hooks(flow: &FlowImpl, args: &FlowArgs, ctxt: &Ctxt) -> Vec<ImplItemFn> {
    let mut found: Vec<ImplItemFn> = Vec::new();
    for (option, name) in [
        ("on_failure", &args.on_failure),
        ("on_success", &args.on_success),
    ] {
        let Some(name) = name else {
            continue;
        };
        if found.iter().any(|m| m.sig.ident == *name) {
            continue;
        }
        if let Some(method) = hook_method(flow, option, name, ctxt) {
            found.push(method.clone());
        }
    }
    found
}

fn hook_method<'f>(
    flow: &'f FlowImpl,
    option: &str,
    name: &syn::Ident,
    ctxt: &Ctxt,
) -> Option<&'f ImplItemFn> {
    let signature = format!("fn {name}(run: &RunEnd) -> Result<(), E>");
    let methods: Vec<&ImplItemFn> = flow
        .item
        .items
        .iter()
        .filter_map(|item| match item {
            ImplItem::Fn(f) => Some(f),
            _ => None,
        })
        .collect();
    let Some(method) = methods.iter().find(|m| m.sig.ident == *name) else {
        let names = methods
            .iter()
            .filter(|m| !flow.steps.iter().any(|s| s.ident == m.sig.ident))
            .map(|m| m.sig.ident.to_string())
            .collect::<Vec<_>>();
        let hint = flow_graph::closest(&name.to_string(), names.iter().map(String::as_str))
            .map(|near| format!("did you mean `{near}`? "))
            .unwrap_or_default();
        ctxt.error_spanned_by(
            name,
            format!(
                "`{option}` names `{name}`, but this impl block has no method `{name}`; {hint}\
                 write the hook beside the steps: `{signature}`"
            ),
        );
        return None;
    };
    if flow.steps.iter().any(|s| s.ident == *name) {
        ctxt.error_spanned_by(
            name,
            format!(
                "`{name}` is a step, and `{option}` needs a method that runs once when the run \
                 ends: write a plain method `{signature}`"
            ),
        );
        return None;
    }
    let sig = &method.sig;
    let before = ctxt.len();
    if let Some(asyncness) = &sig.asyncness {
        ctxt.error_spanned_by(
            asyncness,
            format!("hook `{name}` must be a plain `fn`, not async: `{signature}`"),
        );
    }
    if !sig.generics.params.is_empty() {
        ctxt.error_spanned_by(
            &sig.generics,
            format!("hook `{name}` cannot be generic: `{signature}`"),
        );
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        ctxt.error_spanned_by(
            receiver,
            format!(
                "hook `{name}` runs once the run has ended, when there is no flow state to take: \
                 drop `self`: `{signature}`"
            ),
        );
    } else if sig.inputs.len() != 1 {
        let what: &dyn quote::ToTokens = if sig.inputs.is_empty() {
            &sig.ident
        } else {
            &sig.inputs
        };
        ctxt.error_spanned_by(
            what,
            format!("hook `{name}` takes one parameter, the run's summary: `{signature}`"),
        );
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if matches!(**ty, syn::Type::ImplTrait(_)) {
            ctxt.error_spanned_by(
                ty,
                format!("hook `{name}` returns `()` or `Result<(), E>`: `{signature}`"),
            );
        }
    }
    (ctxt.len() == before).then_some(*method)
}
