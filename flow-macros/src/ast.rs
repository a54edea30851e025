//! Parsing: the `#[flow(...)]` arguments, each `#[step(...)]` and each step's signature,
//! into plain data with spans. Nothing here judges the graph; see `check.rs`.

use crate::errors::Errors;
use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    bracketed, parenthesized, Attribute, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, LitBool,
    LitInt, LitStr, Pat, Token, Type,
};

/// `#[flow(params = T, schedule = "...", tags = ["..."])]`.
#[derive(Default)]
pub struct FlowArgs {
    pub params: Option<Type>,
    pub schedule: Option<LitStr>,
    pub tags: Vec<LitStr>,
}

impl FlowArgs {
    pub fn parse(tokens: TokenStream, errors: &mut Errors) -> FlowArgs {
        let mut args = FlowArgs::default();
        let parser = |input: ParseStream| {
            while !input.is_empty() {
                let key: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                match key.to_string().as_str() {
                    "params" if args.params.is_none() => args.params = Some(input.parse()?),
                    "schedule" if args.schedule.is_none() => args.schedule = Some(input.parse()?),
                    "tags" if args.tags.is_empty() => {
                        let content;
                        bracketed!(content in input);
                        let tags = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                        args.tags = tags.into_iter().collect();
                    }
                    "params" | "schedule" | "tags" => {
                        return Err(syn::Error::new(
                            key.span(),
                            format!("`{key}` is given twice in #[flow(...)]; keep one"),
                        ))
                    }
                    _ => {
                        return Err(syn::Error::new(
                            key.span(),
                            format!(
                                "unknown flow option `{key}`; the options are `params = Type`, \
                                 `schedule = \"cron(...)\"` and `tags = [\"...\"]`"
                            ),
                        ))
                    }
                }
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
            }
            Ok(())
        };
        if let Err(e) = syn::parse::Parser::parse2(parser, tokens) {
            errors.push(e);
        }
        args
    }
}

/// A name with the span where the user wrote it.
#[derive(Clone)]
pub struct Named {
    pub name: String,
    pub span: Span,
}

impl From<&Ident> for Named {
    fn from(ident: &Ident) -> Self {
        Named {
            name: ident.to_string(),
            span: ident.span(),
        }
    }
}

/// The transition part of a `#[step(...)]`.
pub enum TransitionArg {
    Next(Named),
    Split(Vec<Named>),
}

/// Everything written inside one `#[step(...)]`.
#[derive(Default)]
pub struct StepArgs {
    pub next: Option<TransitionArg>,
    pub foreach: Option<Ident>,
    pub switch: Option<Vec<Named>>,
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
    /// The attribute's span, for errors about the step as a whole.
    pub span: Option<Span>,
    /// The attribute did not parse: its transition is unknown, so graph rules are not checked.
    pub broken: bool,
}

const STEP_OPTIONS: &str =
    "`next`, `foreach`, `switch`, `retry`, `timeout`, `catch`, `resources` and `batch`";

fn set<T>(slot: &mut Option<T>, value: T, key: &Ident) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("step option `{key}` is given twice; keep one"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn names(input: ParseStream) -> syn::Result<Vec<Named>> {
    let content;
    bracketed!(content in input);
    let idents = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
    Ok(idents.iter().map(Named::from).collect())
}

/// `key = value, key = value` inside parentheses, for `retry(...)`, `resources(...)`, `batch(...)`.
fn nested(
    input: ParseStream,
    group: &Ident,
    known: &[&str],
    mut each: impl FnMut(&Ident, ParseStream) -> syn::Result<()>,
) -> syn::Result<()> {
    let content;
    parenthesized!(content in input);
    let mut seen: Vec<String> = Vec::new();
    while !content.is_empty() {
        let key: Ident = content.parse()?;
        if !known.contains(&key.to_string().as_str()) {
            return Err(syn::Error::new(
                key.span(),
                format!(
                    "unknown option `{key}` in `{group}(...)`; expected {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if seen.contains(&key.to_string()) {
            return Err(syn::Error::new(
                key.span(),
                format!("`{key}` is given twice in `{group}(...)`; keep one"),
            ));
        }
        seen.push(key.to_string());
        content.parse::<Token![=]>()?;
        each(&key, &content)?;
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    Ok(())
}

impl Parse for StepArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = StepArgs::default();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            match key.to_string().as_str() {
                "next" => {
                    input.parse::<Token![=]>()?;
                    let value = if input.peek(syn::token::Bracket) {
                        TransitionArg::Split(names(input)?)
                    } else {
                        TransitionArg::Next(Named::from(&input.parse::<Ident>()?))
                    };
                    set(&mut args.next, value, &key)?;
                }
                "foreach" => {
                    input.parse::<Token![=]>()?;
                    let field: Ident = input.parse()?;
                    set(&mut args.foreach, field, &key)?;
                }
                "switch" => {
                    input.parse::<Token![=]>()?;
                    let targets = names(input)?;
                    set(&mut args.switch, targets, &key)?;
                }
                "retry" => {
                    if input.peek(Token![=]) {
                        input.parse::<Token![=]>()?;
                        let times: LitInt = input.parse()?;
                        set(&mut args.retry_times, times, &key)?;
                    } else {
                        if args.retry_times.is_some() {
                            return Err(syn::Error::new(
                                key.span(),
                                "step option `retry` is given twice; keep one",
                            ));
                        }
                        nested(input, &key, &["times", "backoff"], |k, v| {
                            if k == "times" {
                                args.retry_times = Some(v.parse()?);
                            } else {
                                args.retry_backoff = Some(v.parse()?);
                            }
                            Ok(())
                        })?;
                    }
                }
                "timeout" => {
                    input.parse::<Token![=]>()?;
                    let value: LitStr = input.parse()?;
                    set(&mut args.timeout, value, &key)?;
                }
                "catch" => {
                    let value = if input.peek(Token![=]) {
                        input.parse::<Token![=]>()?;
                        input.parse::<LitBool>()?.value
                    } else {
                        true
                    };
                    set(&mut args.catch, value, &key)?;
                }
                "resources" => nested(input, &key, &["cpu", "memory", "gpu"], |k, v| {
                    let value: LitInt = v.parse()?;
                    match k.to_string().as_str() {
                        "cpu" => args.cpu = Some(value),
                        "memory" => args.memory = Some(value),
                        _ => args.gpu = Some(value),
                    }
                    Ok(())
                })?,
                "batch" => nested(input, &key, &["image", "queue", "job_role"], |k, v| {
                    let value: LitStr = v.parse()?;
                    match k.to_string().as_str() {
                        "image" => args.image = Some(value),
                        "queue" => args.queue = Some(value),
                        _ => args.job_role = Some(value),
                    }
                    Ok(())
                })?,
                _ => {
                    let hint = flow_graph::closest(
                        &key.to_string(),
                        [
                            "next",
                            "foreach",
                            "switch",
                            "retry",
                            "timeout",
                            "catch",
                            "resources",
                            "batch",
                        ],
                    )
                    .map(|near| format!("did you mean `{near}`? "))
                    .unwrap_or_default();
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown step option `{key}`; {hint}the options are {STEP_OPTIONS}"
                        ),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// What a step's parameter is, judged from its type.
pub enum ParamKind {
    /// `ctx: &Ctx<P>`
    Ctx,
    /// `inputs: Inputs<Self>`: the step is a join.
    Inputs,
    /// Anything else: the foreach item; `by_ref` when written `&T`.
    Item { by_ref: bool },
}

pub struct StepParam {
    pub kind: ParamKind,
    pub ty: Type,
    pub name: String,
}

/// One `#[step]` method.
pub struct Step {
    pub ident: Ident,
    pub doc: String,
    pub args: StepArgs,
    pub params: Vec<StepParam>,
    pub is_async: bool,
    /// Where return-type errors go: the return type, or the name when it returns `()`.
    pub output_span: Span,
}

impl Step {
    pub fn name(&self) -> String {
        self.ident.to_string()
    }

    /// Whether the step is a switch (and not also given `next`, which is reported).
    pub fn is_switch(&self) -> bool {
        self.args.switch.is_some() && self.args.next.is_none()
    }

    pub fn is_join(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p.kind, ParamKind::Inputs))
    }
}

/// The `#[flow]` impl block, parsed.
pub struct FlowImpl {
    pub item: ItemImpl,
    pub self_ident: Ident,
    pub doc: String,
    pub steps: Vec<Step>,
}

pub fn doc_of(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_string()
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        _ => false,
    }
}

fn classify(ty: &Type) -> ParamKind {
    match ty {
        Type::Reference(r) if last_segment_is(&r.elem, "Ctx") => ParamKind::Ctx,
        t if last_segment_is(t, "Inputs") => ParamKind::Inputs,
        Type::Reference(_) => ParamKind::Item { by_ref: true },
        _ => ParamKind::Item { by_ref: false },
    }
}

fn parse_step(method: &mut ImplItemFn, attr_index: usize, errors: &mut Errors) -> Step {
    let attr = method.attrs.remove(attr_index);
    let mut args = match &attr.meta {
        syn::Meta::Path(_) => StepArgs::default(),
        _ => attr.parse_args::<StepArgs>().unwrap_or_else(|e| {
            errors.push(e);
            StepArgs {
                broken: true,
                ..StepArgs::default()
            }
        }),
    };
    args.span = Some(attr.span());
    let sig = &method.sig;
    let mut params = Vec::new();
    let mut receiver_ok = false;
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => {
                receiver_ok = r.reference.is_some() && r.mutability.is_some();
                if !receiver_ok {
                    errors.push(syn::Error::new(
                        r.span(),
                        format!("step `{}` must take `&mut self`", sig.ident),
                    ));
                    receiver_ok = true;
                }
            }
            FnArg::Typed(t) => {
                let name = match &*t.pat {
                    Pat::Ident(p) => p.ident.to_string(),
                    _ => "_".to_string(),
                };
                params.push(StepParam {
                    kind: classify(&t.ty),
                    ty: (*t.ty).clone(),
                    name,
                });
            }
        }
    }
    if !receiver_ok {
        errors.push(syn::Error::new(
            sig.ident.span(),
            format!(
                "step `{}` must take `&mut self`: steps read and write the flow's artifacts",
                sig.ident
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new(
            sig.generics.span(),
            format!("step `{}` cannot be generic", sig.ident),
        ));
    }
    for kind in ["Ctx", "Inputs", "item"] {
        let same: Vec<&StepParam> = params
            .iter()
            .filter(|p| match p.kind {
                ParamKind::Ctx => kind == "Ctx",
                ParamKind::Inputs => kind == "Inputs",
                ParamKind::Item { .. } => kind == "item",
            })
            .collect();
        if same.len() > 1 {
            errors.push(syn::Error::new(
                same[1].ty.span(),
                format!(
                    "step `{}` takes more than one {}; a step takes at most one context \
                     (`&Ctx<P>`), one `Inputs<Self>` and one foreach item",
                    sig.ident,
                    if kind == "item" { "foreach item" } else { kind }
                ),
            ));
        }
    }
    let output_span = match &sig.output {
        syn::ReturnType::Default => sig.ident.span(),
        syn::ReturnType::Type(_, ty) => ty.span(),
    };
    Step {
        output_span,
        doc: doc_of(&method.attrs),
        is_async: sig.asyncness.is_some(),
        ident: sig.ident.clone(),
        args,
        params,
    }
}

impl FlowImpl {
    pub fn parse(mut item: ItemImpl, errors: &mut Errors) -> Option<FlowImpl> {
        let self_ident = match &*item.self_ty {
            Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.clone()),
            _ => None,
        };
        let Some(self_ident) = self_ident else {
            errors.push(syn::Error::new(
                item.self_ty.span(),
                "#[flow] goes on the inherent impl block of a flow struct: `impl MyFlow { ... }`",
            ));
            return None;
        };
        if let Some((_, path, _)) = &item.trait_ {
            errors.push(syn::Error::new(
                path.span(),
                "#[flow] goes on the inherent impl block of the flow struct, not on a trait impl",
            ));
            return None;
        }
        if !item.generics.params.is_empty() {
            errors.push(syn::Error::new(
                item.generics.span(),
                "a flow struct cannot be generic",
            ));
        }
        let mut steps = Vec::new();
        for impl_item in &mut item.items {
            if let ImplItem::Fn(method) = impl_item {
                let step_attrs: Vec<usize> = method
                    .attrs
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.path().is_ident("step"))
                    .map(|(i, _)| i)
                    .collect();
                if let Some(&extra) = step_attrs.get(1) {
                    errors.push(syn::Error::new(
                        method.attrs[extra].span(),
                        format!(
                            "step `{}` has two #[step] attributes; merge them into one",
                            method.sig.ident
                        ),
                    ));
                    method.attrs.remove(extra);
                }
                if let Some(&first) = step_attrs.first() {
                    steps.push(parse_step(method, first, errors));
                }
            }
        }
        Some(FlowImpl {
            doc: doc_of(&item.attrs),
            item,
            self_ident,
            steps,
        })
    }
}
