//! Parsing an attribute's options against a table, with `syn::meta::parse_nested_meta`.
//! Each option is looked up by name, checked for repeats and parsed; whatever is wrong is
//! reported in the `Ctxt` and the rest of that option skipped, so the next one is still
//! read and the user sees every mistake at once. The tables themselves are in `attr.rs`.

use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream};
use syn::{token, Expr, Ident, Lit, LitBool, LitInt, LitStr, Token};

/// One option of an attribute: its name, what its value looks like (for the error when it
/// is wrong), and how to parse it into the attribute's arguments.
pub struct Spec<A: 'static> {
    /// As written in the attribute.
    pub name: &'static str,
    /// What its value looks like, completing "step option `x` takes ...".
    pub takes: &'static str,
    /// Whether it decides the step's transition.
    pub transition: bool,
    /// Whether it may be given more than once (each adds one, like `trigger(...)`).
    pub repeatable: bool,
    /// Reads the value into the arguments; options inside a group report to the `Ctxt`.
    pub parse: fn(&mut A, &ParseNestedMeta, &Ctxt) -> Result<(), Bad>,
}

/// Every option of one attribute, or of one `group(...)` inside it.
pub struct Table<A: 'static> {
    /// Where the options are written.
    pub place: Place,
    /// Every option accepted there.
    pub specs: &'static [Spec<A>],
}

/// Where an option is written, for the wording of errors.
#[derive(Clone, Copy)]
pub enum Place {
    Step,
    Flow,
    Group(&'static str),
}

impl Place {
    fn subject(self, key: &str) -> String {
        match self {
            Place::Step => format!("step option `{key}`"),
            Place::Flow => format!("flow option `{key}`"),
            Place::Group(group) => format!("option `{key}` in `{group}(...)`"),
        }
    }
}

/// A value of the wrong shape: what to underline.
pub enum Bad {
    /// The whole value (or the option's name when the value is missing).
    Tokens(TokenStream),
    /// Where a parser stopped.
    At(Span),
    /// What follows a good value without a comma between.
    Trailing(TokenStream),
}

impl From<syn::Error> for Bad {
    fn from(e: syn::Error) -> Bad {
        Bad::At(e.span())
    }
}

/// A bad value, underlined whole.
pub fn bad(tokens: &impl ToTokens) -> Bad {
    Bad::Tokens(tokens.to_token_stream())
}

/// Parses the options of one list against a table. Every callback returns `Ok`, having
/// reported what was wrong and skipped to the next comma, so `parse_nested_meta` goes on.
pub struct OptionList<'a, A: 'static> {
    table: &'a Table<A>,
    ctxt: &'a Ctxt,
    seen: Vec<&'static str>,
    /// A transition option was wrong, or something that may have hidden one.
    pub transition_unknown: bool,
    /// An option not in the table was given.
    pub unknown_given: bool,
}

impl<'a, A> OptionList<'a, A> {
    /// A list not read yet.
    pub fn new(table: &'a Table<A>, ctxt: &'a Ctxt) -> Self {
        OptionList {
            table,
            ctxt,
            seen: Vec::new(),
            transition_unknown: false,
            unknown_given: false,
        }
    }

    /// Parses one option into `args`; the callback of `parse_nested_meta`.
    pub fn option(&mut self, args: &mut A, meta: ParseNestedMeta) -> syn::Result<()> {
        let place = self.table.place;
        let key = path_text(&meta.path);
        let spec = self.table.specs.iter().find(|s| meta.path.is_ident(s.name));
        let parsed = match spec {
            None => {
                let names = self.table.specs.iter().map(|s| s.name);
                let hint = flow_graph::closest(&key, names.clone())
                    .map(|near| format!("did you mean `{near}`? "))
                    .unwrap_or_default();
                self.ctxt.error_spanned_by(
                    &meta.path,
                    format!(
                        "unknown {}; {hint}the options are {}",
                        place.subject(&key),
                        listed(names)
                    ),
                );
                self.unknown_given = true;
                false
            }
            Some(spec) if !spec.repeatable && self.seen.contains(&spec.name) => {
                self.ctxt.error_spanned_by(
                    &meta.path,
                    format!("{} is given twice; keep one", place.subject(&key)),
                );
                self.transition_unknown |= spec.transition;
                false
            }
            Some(spec) => {
                self.seen.push(spec.name);
                let result = (spec.parse)(args, &meta, self.ctxt);
                let parsed = result.is_ok();
                if let Err(bad) = result {
                    self.ctxt.syn_error(match bad {
                        Bad::Tokens(tokens) => syn::Error::new_spanned(
                            tokens,
                            format!("{} takes {}", place.subject(&key), spec.takes),
                        ),
                        Bad::At(span) => syn::Error::new(
                            span,
                            format!("{} takes {}", place.subject(&key), spec.takes),
                        ),
                        Bad::Trailing(rest) => missing_comma(rest, place, &key),
                    });
                    self.transition_unknown |= spec.transition;
                }
                parsed
            }
        };
        // After an error, what is left of the option is skipped silently: it was reported.
        let rest = skip_to_comma(meta.input);
        if parsed && !rest.is_empty() {
            self.ctxt.syn_error(missing_comma(rest, place, &key));
            self.transition_unknown = true;
        }
        Ok(())
    }
}

fn missing_comma(rest: TokenStream, place: Place, key: &str) -> syn::Error {
    syn::Error::new_spanned(rest, format!("expected `,` after {}", place.subject(key)))
}

/// Consumes what is left of the current option, up to the comma before the next one.
fn skip_to_comma(input: ParseStream) -> TokenStream {
    let mut skipped = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        match input.parse::<TokenTree>() {
            Ok(tree) => skipped.extend([tree]),
            Err(_) => break,
        }
    }
    skipped
}

fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// "`a`, `b` and `c`".
fn listed<'n>(names: impl Iterator<Item = &'n str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// Whether the option has no value: `catch`, not `catch = true`.
pub fn is_bare(meta: &ParseNestedMeta) -> bool {
    meta.input.is_empty() || meta.input.peek(Token![,])
}

/// The value after `=`, as an expression.
pub fn value(meta: &ParseNestedMeta) -> Result<Expr, Bad> {
    value_as(meta)
}

/// The value after `=`, parsed as `T`. It is tried on a fork first, so a parser that fails
/// inside a bracket leaves nothing behind for syn to report again, and the whole value up to
/// the next comma is underlined.
pub fn value_as<T: Parse>(meta: &ParseNestedMeta) -> Result<T, Bad> {
    if is_bare(meta) {
        return Err(bad(&meta.path));
    }
    let input = meta.value()?;
    if input.fork().parse::<T>().is_err() {
        let written = skip_to_comma(input);
        return Err(if written.is_empty() {
            bad(&meta.path)
        } else {
            Bad::Tokens(written)
        });
    }
    let value = input.parse::<T>()?;
    if !is_bare(meta) {
        return Err(Bad::Trailing(skip_to_comma(input)));
    }
    Ok(value)
}

/// A single name: `end`.
pub fn ident(expr: &Expr) -> Result<Ident, Bad> {
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => {
            p.path.get_ident().cloned().ok_or_else(|| bad(expr))
        }
        _ => Err(bad(expr)),
    }
}

/// A list of names: `[a, b]`.
pub fn ident_list(expr: &Expr) -> Result<Vec<Ident>, Bad> {
    match expr {
        Expr::Array(list) => list.elems.iter().map(ident).collect(),
        _ => Err(bad(expr)),
    }
}

/// A string literal.
pub fn lit_str(expr: &Expr) -> Result<LitStr, Bad> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        _ => Err(bad(expr)),
    }
}

/// An integer literal.
pub fn lit_int(expr: &Expr) -> Result<LitInt, Bad> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => Ok(i.clone()),
        _ => Err(bad(expr)),
    }
}

/// `true` or `false`.
pub fn lit_bool(expr: &Expr) -> Result<LitBool, Bad> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.clone()),
        _ => Err(bad(expr)),
    }
}

/// `group(key = value, ...)`, parsed against its own table.
pub fn group<A>(
    args: &mut A,
    meta: &ParseNestedMeta,
    ctxt: &Ctxt,
    table: &Table<A>,
) -> Result<(), Bad> {
    if !meta.input.peek(token::Paren) {
        return Err(match value(meta) {
            Ok(expr) => bad(&expr),
            Err(bad) => bad,
        });
    }
    let mut list = OptionList::new(table, ctxt);
    if let Err(e) = meta.parse_nested_meta(|inner| list.option(args, inner)) {
        ctxt.syn_error(e);
    }
    Ok(())
}
