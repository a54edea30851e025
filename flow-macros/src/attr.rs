//! The options of `#[flow(...)]` and `#[step(...)]`: what they parse into, and one table per
//! attribute (and per `group(...)` in it) read by `option_table.rs`. Every bad option is
//! reported (unknown, given twice, a value of the wrong shape), not only the first. Values
//! are only parsed here; whether a duration or a number is in range is `check.rs`'s.

use crate::ctxt::Ctxt;
use crate::option_table::{
    bad, group, ident, ident_list, is_bare, lit_bool, lit_int, lit_str, value, value_as, Bad,
    OptionList, Place, Spec, Table,
};
use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, Parser};
use syn::{token, Attribute, Expr, Ident, LitInt, LitStr, Meta, Type};

/// An option's value with the tokens of the whole option (`next = [a, b]`), which errors
/// about the option underline.
pub struct Given<T> {
    /// What the option says.
    pub value: T,
    /// `name = value` as written.
    pub tokens: TokenStream,
}

impl<T> Given<T> {
    fn new(meta: &ParseNestedMeta, written: &impl ToTokens, value: T) -> Self {
        let path = &meta.path;
        Given {
            value,
            tokens: quote!(#path = #written),
        }
    }
}

/// `#[flow(params = T, schedule = "...", tags = ["..."], trigger_on_finish = "Up",
/// trigger(...), on_failure = f, on_success = f, timeout = "6h")]`.
#[derive(Default)]
pub struct FlowArgs {
    pub params: Option<Type>,
    pub schedule: Option<LitStr>,
    pub tags: Vec<LitStr>,
    /// Upstream flow names.
    pub trigger_on_finish: Vec<LitStr>,
    /// One per `trigger(...)`.
    pub triggers: Vec<TriggerArgs>,
    pub on_failure: Option<Ident>,
    pub on_success: Option<Ident>,
    pub timeout: Option<LitStr>,
    pub project: Option<LitStr>,
}

/// One `trigger(...)`: an S3 object created (`s3(bucket = "b", prefix = "in/")`), a custom
/// event (`source = "...", detail_type = "..."`), or a raw EventBridge `pattern`.
#[derive(Default)]
pub struct TriggerArgs {
    /// `trigger(...)` as written, which errors about the whole trigger underline.
    pub tokens: TokenStream,
    /// `s3(...)` as written, when given.
    pub s3: Option<TokenStream>,
    pub bucket: Option<LitStr>,
    pub prefix: Option<LitStr>,
    pub suffix: Option<LitStr>,
    pub source: Option<LitStr>,
    pub detail_type: Option<LitStr>,
    pub pattern: Option<LitStr>,
}

/// Where `next` goes: one step, or every step of a split.
pub enum Next {
    Step(Ident),
    Split(Vec<Ident>),
}

/// Everything written inside one `#[step(...)]`.
#[derive(Default)]
pub struct StepArgs {
    pub next: Option<Given<Next>>,
    pub foreach: Option<Given<Ident>>,
    pub switch: Option<Given<Vec<Ident>>>,
    pub retry_times: Option<LitInt>,
    pub retry_backoff: Option<LitStr>,
    pub timeout: Option<LitStr>,
    pub catch: Option<bool>,
    pub cpu: Option<LitInt>,
    pub memory: Option<LitInt>,
    pub gpu: Option<LitInt>,
    pub image: Option<LitStr>,
    pub queue: Option<LitStr>,
    pub job_role: Option<LitStr>,
    pub max_concurrency: Option<LitInt>,
    /// `env(KEY = "value", ...)`: each variable's name and value.
    pub env: Vec<(Ident, LitStr)>,
    /// `secrets("arn", NAME = "arn", ...)`: each secret's ARN, and its variable if named.
    pub secrets: Vec<(Option<Ident>, LitStr)>,
    /// An error left the step's transition unknown, so the graph rules are not checked:
    /// they would report the consequences of the mistake rather than the mistake.
    pub transition_unknown: bool,
}

impl FlowArgs {
    /// The arguments of `#[flow(...)]`; what is wrong goes to `ctxt`.
    pub fn parse(tokens: TokenStream, ctxt: &Ctxt) -> FlowArgs {
        let mut args = FlowArgs::default();
        let mut list = OptionList::new(&FLOW, ctxt);
        let parser = syn::meta::parser(|meta| list.option(&mut args, meta));
        if let Err(e) = parser.parse2(tokens) {
            ctxt.syn_error(e);
        }
        args
    }
}

impl StepArgs {
    /// The options of one `#[step]` attribute; what is wrong goes to `ctxt`.
    pub fn parse(attr: &Attribute, ctxt: &Ctxt) -> StepArgs {
        let mut args = StepArgs::default();
        match &attr.meta {
            Meta::Path(_) => {}
            Meta::NameValue(_) => {
                ctxt.error_spanned_by(
                    attr,
                    "write a step's options in parentheses: `#[step(next = end)]`",
                );
                args.transition_unknown = true;
            }
            Meta::List(_) => {
                let mut list = OptionList::new(&STEP, ctxt);
                let parsed = attr.parse_nested_meta(|meta| list.option(&mut args, meta));
                if let Err(e) = parsed {
                    ctxt.syn_error(e);
                    list.transition_unknown = true;
                }
                // An unknown option may be a misspelled transition, but only if none was given.
                let no_transition =
                    args.next.is_none() && args.foreach.is_none() && args.switch.is_none();
                args.transition_unknown =
                    list.transition_unknown || (list.unknown_given && no_transition);
            }
        }
        args
    }
}

const FLOW: Table<FlowArgs> = Table {
    place: Place::Flow,
    specs: &[
        Spec {
            name: "params",
            takes: "the flow's params type: `params = MyParams`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.params = Some(value_as::<Type>(meta)?);
                Ok(())
            },
        },
        Spec {
            name: "schedule",
            takes: "a schedule expression as a string: `schedule = \"cron(0 6 * * ? *)\"`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.schedule = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "tags",
            takes: "a list of strings: `tags = [\"nightly\"]`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                let expr = value(meta)?;
                let Expr::Array(list) = &expr else {
                    return Err(bad(&expr));
                };
                args.tags = list.elems.iter().map(lit_str).collect::<Result<_, _>>()?;
                Ok(())
            },
        },
        Spec {
            name: "trigger_on_finish",
            takes: "the flow(s) whose successful runs start this one: \
                    `trigger_on_finish = \"Upstream\"` or `trigger_on_finish = [\"A\", \"B\"]`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                let expr = value(meta)?;
                args.trigger_on_finish = match &expr {
                    Expr::Array(list) => {
                        list.elems.iter().map(lit_str).collect::<Result<_, _>>()?
                    }
                    _ => vec![lit_str(&expr)?],
                };
                Ok(())
            },
        },
        Spec {
            name: "trigger",
            takes: "an event that starts a run: `trigger(s3(bucket = \"b\", prefix = \"in/\"))`, \
                    `trigger(source = \"com.acme\", detail_type = \"Order Placed\")` or \
                    `trigger(pattern = r#\"{...}\"#)`",
            transition: false,
            repeatable: true,
            parse: |args, meta, ctxt| {
                if !meta.input.peek(token::Paren) {
                    return Err(match value(meta) {
                        Ok(expr) => bad(&expr),
                        Err(bad) => bad,
                    });
                }
                let path = &meta.path;
                let group_tokens = meta.input.fork().parse::<TokenTree>().ok();
                let mut trigger = TriggerArgs {
                    tokens: quote!(#path #group_tokens),
                    ..TriggerArgs::default()
                };
                let empty =
                    matches!(&group_tokens, Some(TokenTree::Group(g)) if g.stream().is_empty());
                if empty {
                    // `trigger()`: reported with the trigger as a whole, in `events.rs`.
                    meta.input.parse::<TokenTree>()?;
                } else {
                    let mut list = OptionList::new(&TRIGGER, ctxt);
                    let parsed = meta.parse_nested_meta(|inner| list.option(&mut trigger, inner));
                    if let Err(e) = parsed {
                        ctxt.syn_error(e);
                    }
                }
                args.triggers.push(trigger);
                Ok(())
            },
        },
        Spec {
            name: "on_failure",
            takes: "a method of this impl block: `on_failure = alert`, with \
                    `fn alert(run: &RunEnd) -> Result<(), E>`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.on_failure = Some(ident(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "on_success",
            takes: "a method of this impl block: `on_success = report`, with \
                    `fn report(run: &RunEnd) -> Result<(), E>`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.on_success = Some(ident(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "timeout",
            takes: "the whole run's time limit as a duration string: `timeout = \"6h\"`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.timeout = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "project",
            takes: "the project's name as a string: `project = \"recs\"`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.project = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
    ],
};

const TRIGGER: Table<TriggerArgs> = Table {
    place: Place::Group("trigger"),
    specs: &[
        Spec {
            name: "s3",
            takes: "the bucket and an optional key prefix and suffix: \
                    `s3(bucket = \"b\", prefix = \"in/\", suffix = \".csv\")`",
            transition: false,
            repeatable: false,
            parse: |trigger, meta, ctxt| {
                let path = &meta.path;
                trigger.s3 = Some(quote!(#path));
                group(trigger, meta, ctxt, &S3)
            },
        },
        Spec {
            name: "source",
            takes: "the events' `source` as a string: `source = \"com.acme.orders\"`",
            transition: false,
            repeatable: false,
            parse: |trigger, meta, _| {
                trigger.source = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "detail_type",
            takes: "the events' `detail-type` as a string: `detail_type = \"Order Placed\"`",
            transition: false,
            repeatable: false,
            parse: |trigger, meta, _| {
                trigger.detail_type = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "pattern",
            takes: "an EventBridge event pattern, a JSON object as a string: \
                    `pattern = r#\"{\"source\": [\"com.acme\"]}\"#`",
            transition: false,
            repeatable: false,
            parse: |trigger, meta, _| {
                trigger.pattern = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
    ],
};

const S3: Table<TriggerArgs> = Table {
    place: Place::Group("s3"),
    specs: &[
        Spec {
            name: "bucket",
            takes: "the bucket's name as a string: `bucket = \"my-bucket\"`",
            transition: false,
            repeatable: false,
            parse: |trigger, meta, _| {
                trigger.bucket = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "prefix",
            takes: "a key prefix as a string: `prefix = \"incoming/\"`",
            transition: false,
            repeatable: false,
            parse: |trigger, meta, _| {
                trigger.prefix = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "suffix",
            takes: "a key suffix as a string: `suffix = \".csv\"`",
            transition: false,
            repeatable: false,
            parse: |trigger, meta, _| {
                trigger.suffix = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
    ],
};

const STEP: Table<StepArgs> = Table {
    place: Place::Step,
    specs: &[
        Spec {
            name: "next",
            takes: "the step to go on to, or a list of steps to run in parallel: \
                    `next = end` or `next = [a, b]`",
            transition: true,
            repeatable: false,
            parse: |args, meta, _| {
                let expr = value(meta)?;
                let next = match &expr {
                    Expr::Array(_) => Next::Split(ident_list(&expr)?),
                    _ => Next::Step(ident(&expr)?),
                };
                args.next = Some(Given::new(meta, &expr, next));
                Ok(())
            },
        },
        Spec {
            name: "foreach",
            takes: "a field of the flow to fan out over: `foreach = items, next = body`",
            transition: true,
            repeatable: false,
            parse: |args, meta, _| {
                let expr = value(meta)?;
                let field = ident(&expr)?;
                args.foreach = Some(Given::new(meta, &expr, field));
                Ok(())
            },
        },
        Spec {
            name: "switch",
            takes: "the list of steps it chooses from: `switch = [a, b]`",
            transition: true,
            repeatable: false,
            parse: |args, meta, _| {
                let expr = value(meta)?;
                let targets = ident_list(&expr)?;
                args.switch = Some(Given::new(meta, &expr, targets));
                Ok(())
            },
        },
        Spec {
            name: "retry",
            takes: "a number of retries, or `retry(times = 3, backoff = \"2s\")`",
            transition: false,
            repeatable: false,
            parse: |args, meta, ctxt| {
                if meta.input.peek(token::Paren) {
                    return group(args, meta, ctxt, &RETRY);
                }
                args.retry_times = Some(lit_int(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "timeout",
            takes: "a duration string: `timeout = \"10m\"`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.timeout = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "catch",
            takes: "no value (`catch`), or `catch = true` or `catch = false`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                let catch = is_bare(meta) || lit_bool(&value(meta)?)?.value;
                args.catch = Some(catch);
                Ok(())
            },
        },
        Spec {
            name: "max_concurrency",
            takes: "a whole number of items in flight at once (on a foreach step): \
                    `max_concurrency = 20`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.max_concurrency = Some(lit_int(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "resources",
            takes: "a list: `resources(cpu = 2, memory = 4096, gpu = 1)`",
            transition: false,
            repeatable: false,
            parse: |args, meta, ctxt| group(args, meta, ctxt, &RESOURCES),
        },
        Spec {
            name: "batch",
            takes: "a list: `batch(image = \"...\", queue = \"...\", job_role = \"...\")`",
            transition: false,
            repeatable: false,
            parse: |args, meta, ctxt| group(args, meta, ctxt, &BATCH),
        },
        Spec {
            name: "env",
            takes: "environment variables: `env(DB_HOST = \"db.internal\", MODE = \"fast\")`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                for (key, value) in assignments(meta)? {
                    let key = key.ok_or_else(|| bad(&value))?;
                    args.env.push((key, value));
                }
                Ok(())
            },
        },
        Spec {
            name: "secrets",
            takes: "Secrets Manager ARNs, each optionally named: \
                    `secrets(\"arn:aws:secretsmanager:...:secret:db-xyz\")` or \
                    `secrets(DB_PASSWORD = \"arn:aws:secretsmanager:...\")`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.secrets = assignments(meta)?;
                Ok(())
            },
        },
    ],
};

/// The comma-separated expressions in the parentheses that follow an option's name.
fn parenthesized_exprs(
    meta: &ParseNestedMeta,
) -> syn::Result<syn::punctuated::Punctuated<Expr, token::Comma>> {
    let content;
    syn::parenthesized!(content in meta.input);
    content.parse_terminated(Expr::parse, token::Comma)
}

/// The list of `env(...)` or `secrets(...)`: string literals, each optionally named
/// (`NAME = "..."`).
fn assignments(meta: &ParseNestedMeta) -> Result<Vec<(Option<Ident>, LitStr)>, Bad> {
    if !meta.input.peek(token::Paren) {
        return Err(match value(meta) {
            Ok(expr) => bad(&expr),
            Err(bad) => bad,
        });
    }
    let items = parenthesized_exprs(meta)?;
    items
        .iter()
        .map(|item| match item {
            Expr::Assign(assign) => {
                let name = ident(&assign.left)?;
                Ok((Some(name), lit_str(&assign.right)?))
            }
            other => Ok((None, lit_str(other)?)),
        })
        .collect()
}

const RETRY: Table<StepArgs> = Table {
    place: Place::Group("retry"),
    specs: &[
        Spec {
            name: "times",
            takes: "a whole number: `times = 3`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.retry_times = Some(lit_int(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "backoff",
            takes: "a duration string: `backoff = \"2s\"`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.retry_backoff = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
    ],
};

const RESOURCES: Table<StepArgs> = Table {
    place: Place::Group("resources"),
    specs: &[
        Spec {
            name: "cpu",
            takes: "a whole number of vCPUs: `cpu = 2`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.cpu = Some(lit_int(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "memory",
            takes: "a whole number of MiB: `memory = 4096`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.memory = Some(lit_int(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "gpu",
            takes: "a whole number of GPUs: `gpu = 1`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.gpu = Some(lit_int(&value(meta)?)?);
                Ok(())
            },
        },
    ],
};

const BATCH: Table<StepArgs> = Table {
    place: Place::Group("batch"),
    specs: &[
        Spec {
            name: "image",
            takes: "a container image as a string: `image = \"repo/image:tag\"`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.image = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "queue",
            takes: "a job queue name as a string: `queue = \"my-queue\"`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.queue = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
        Spec {
            name: "job_role",
            takes: "an IAM role ARN as a string: `job_role = \"arn:aws:iam::...\"`",
            transition: false,
            repeatable: false,
            parse: |args, meta, _| {
                args.job_role = Some(lit_str(&value(meta)?)?);
                Ok(())
            },
        },
    ],
};

#[cfg(test)]
mod tests;
