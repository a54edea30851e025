//! Parsing the impl block: each `#[step]` method's options (through `attr.rs`) and its
//! signature, into plain data that keeps the user's tokens for errors. Nothing here judges
//! the graph; see `check.rs`.

use crate::attr::StepArgs;
use crate::ctxt::Ctxt;
use syn::{Attribute, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, PatType, Type};

/// What a step's parameter is, judged from its type.
pub enum ParamKind {
    /// `ctx: &Ctx<P>`
    Ctx,
    /// `inputs: Inputs<Self>`: the step is a join.
    Inputs,
    /// Anything else: the foreach item; `by_ref` when written `&T`.
    Item { by_ref: bool },
}

/// One parameter of a step besides `&mut self`.
pub struct StepParam {
    /// What the step takes it for.
    pub kind: ParamKind,
    /// As written (`item: &u32`), for errors about the parameter as a whole.
    pub arg: PatType,
}

impl StepParam {
    /// The parameter's type as written.
    pub fn ty(&self) -> &Type {
        &self.arg.ty
    }

    /// The parameter's name, or `_` for a pattern.
    pub fn name(&self) -> String {
        match &*self.arg.pat {
            Pat::Ident(p) => p.ident.to_string(),
            _ => "_".to_string(),
        }
    }
}

/// One `#[step]` method.
pub struct Step {
    /// The method's name, which is the step's name.
    pub ident: Ident,
    /// The method's doc comment.
    pub doc: String,
    /// What its `#[step(...)]` says.
    pub args: StepArgs,
    /// Its parameters besides `&mut self`.
    pub params: Vec<StepParam>,
    /// Whether it is an `async fn`.
    pub is_async: bool,
    /// The declared return type; `None` for `()` written as nothing.
    pub output: Option<Type>,
}

impl Step {
    /// The step's name.
    pub fn name(&self) -> String {
        self.ident.to_string()
    }

    /// Whether the step is a switch (and not also given `next`, which is reported).
    pub fn is_switch(&self) -> bool {
        self.args.switch.is_some() && self.args.next.is_none()
    }

    /// Whether it takes `Inputs<Self>`, which makes it a join.
    pub fn is_join(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p.kind, ParamKind::Inputs))
    }
}

/// The `#[flow]` impl block, parsed; `item` no longer has the `#[step]` attributes.
pub struct FlowImpl {
    /// The impl block, re-emitted as the user wrote it otherwise.
    pub item: ItemImpl,
    /// The flow struct's name.
    pub self_ident: Ident,
    /// The impl block's doc comment, the flow's description.
    pub doc: String,
    /// Its `#[step]` methods, in order.
    pub steps: Vec<Step>,
}

/// The doc comment of an item, its lines joined.
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

fn parse_step(method: &mut ImplItemFn, attr_index: usize, ctxt: &Ctxt) -> Step {
    let attr = method.attrs.remove(attr_index);
    let args = StepArgs::parse(&attr, ctxt);
    let sig = &method.sig;
    let mut params = Vec::new();
    let mut has_receiver = false;
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => {
                has_receiver = true;
                if r.reference.is_none() || r.mutability.is_none() {
                    ctxt.error_spanned_by(r, format!("step `{}` must take `&mut self`", sig.ident));
                }
            }
            FnArg::Typed(arg) => params.push(StepParam {
                kind: classify(&arg.ty),
                arg: arg.clone(),
            }),
        }
    }
    if !has_receiver {
        ctxt.syn_error(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "step `{}` must take `&mut self`: steps read and write the flow's artifacts",
                sig.ident
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        ctxt.error_spanned_by(
            &sig.generics,
            format!("step `{}` cannot be generic", sig.ident),
        );
    }
    for (kind, what) in [
        (ParamKind::Ctx, "context"),
        (ParamKind::Inputs, "`Inputs<Self>`"),
        (ParamKind::Item { by_ref: false }, "foreach item"),
    ] {
        let same =
            |p: &&StepParam| std::mem::discriminant(&p.kind) == std::mem::discriminant(&kind);
        for extra in params.iter().filter(same).skip(1) {
            ctxt.error_spanned_by(
                &extra.arg,
                format!(
                    "step `{}` takes more than one {what}; a step takes at most one context \
                     (`&Ctx<P>`), one `Inputs<Self>` and one foreach item",
                    sig.ident
                ),
            );
        }
    }
    let output = match &sig.output {
        syn::ReturnType::Default => None,
        syn::ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    Step {
        output,
        doc: doc_of(&method.attrs),
        is_async: sig.asyncness.is_some(),
        ident: sig.ident.clone(),
        args,
        params,
    }
}

impl FlowImpl {
    /// The impl block's steps, with their `#[step]` attributes taken off the item; `None`
    /// when the block is not the inherent impl of a named type.
    pub fn parse(mut item: ItemImpl, ctxt: &Ctxt) -> Option<FlowImpl> {
        let self_ident = match &*item.self_ty {
            Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.clone()),
            _ => None,
        };
        let Some(self_ident) = self_ident else {
            ctxt.error_spanned_by(
                &item.self_ty,
                "#[flow] goes on the inherent impl block of a flow struct: `impl MyFlow { ... }`",
            );
            return None;
        };
        if let Some((_, path, _)) = &item.trait_ {
            ctxt.error_spanned_by(
                path,
                "#[flow] goes on the inherent impl block of the flow struct, not on a trait impl",
            );
            return None;
        }
        if !item.generics.params.is_empty() {
            ctxt.error_spanned_by(&item.generics, "a flow struct cannot be generic");
        }
        let mut steps = Vec::new();
        for impl_item in &mut item.items {
            let ImplItem::Fn(method) = impl_item else {
                continue;
            };
            let is_step = |a: &Attribute| a.path().is_ident("step");
            let Some(first) = method.attrs.iter().position(is_step) else {
                continue;
            };
            // Reported, then dropped, so the rest of the step is still checked.
            while let Some(extra) = method.attrs.iter().skip(first + 1).position(is_step) {
                let extra = method.attrs.remove(first + 1 + extra);
                ctxt.error_spanned_by(
                    &extra,
                    format!(
                        "step `{}` has two #[step] attributes; merge them into one",
                        method.sig.ident
                    ),
                );
            }
            steps.push(parse_step(method, first, ctxt));
        }
        Some(FlowImpl {
            doc: doc_of(&item.attrs),
            item,
            self_ident,
            steps,
        })
    }
}
