//! `#[derive(Params)]`: one `ParamSpec` per field (doc comment = help, `Default` = default),
//! and per-field parsing so a bad value names its parameter and type.

use crate::ast::doc_of;
use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Field, Fields, Generics};

/// `impl Params` for the struct, or the errors beside a stub impl.
pub fn derive(input: DeriveInput) -> TokenStream {
    let ctxt = Ctxt::new();
    let fields = fields(&input, &ctxt);
    let from_event: Vec<Option<String>> = fields.iter().map(|f| from_event(f, &ctxt)).collect();
    let generics = with_bounds(&input, &fields);
    match ctxt.check() {
        Ok(()) => expand(&input, &generics, &fields, &from_event),
        Err(errors) => {
            let mut out = fallback(&input, &generics);
            out.extend(errors.into_compile_error());
            out
        }
    }
}

/// The named fields of a struct; each is a `--flag`.
fn fields<'a>(input: &'a DeriveInput, ctxt: &Ctxt) -> Vec<&'a Field> {
    let ident = &input.ident;
    match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => return named.named.iter().collect(),
            Fields::Unit => {}
            Fields::Unnamed(unnamed) => ctxt.error_spanned_by(
                unnamed,
                "#[derive(Params)] needs named fields: each field is a `--flag`",
            ),
        },
        Data::Enum(e) => {
            let keyword = e.enum_token;
            ctxt.error_spanned_by(
                quote!(#keyword #ident),
                "#[derive(Params)] goes on a struct with named fields",
            );
        }
        Data::Union(u) => {
            let keyword = u.union_token;
            ctxt.error_spanned_by(
                quote!(#keyword #ident),
                "#[derive(Params)] goes on a struct with named fields",
            );
        }
    }
    Vec::new()
}

/// The struct's generics with what the impl needs of them. A generic params struct gets
/// `Params` wherever the struct has `Params`' supertraits and its fields can be parsed and
/// shown, so the derive asks for exactly that rather than guessing bounds on each
/// parameter; a struct without generics gets no bounds, as its types are known.
fn with_bounds(input: &DeriveInput, fields: &[&Field]) -> Generics {
    let mut generics = input.generics.clone();
    if generics.params.is_empty() {
        return generics;
    }
    let ident = &input.ident;
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let where_clause = generics.make_where_clause();
    where_clause.predicates.push(syn::parse_quote! {
        #ident #ty_generics: ::flow_core::__private::Serialize
            + ::flow_core::__private::DeserializeOwned
            + ::core::default::Default
            + ::core::clone::Clone
            + ::core::marker::Send
            + ::core::marker::Sync
            + 'static
    });
    for field in fields {
        let ty = &field.ty;
        where_clause.predicates.push(syn::parse_quote! {
            #ty: ::flow_core::__private::Serialize + ::flow_core::__private::DeserializeOwned
        });
    }
    generics
}

/// The top-level fields of an EventBridge event, where a `from_event` path starts.
const EVENT_FIELDS: &[&str] = &[
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
];

/// What a field's `#[param(...)]` attributes say: the event path it is read from, if any.
fn from_event(field: &Field, ctxt: &Ctxt) -> Option<String> {
    let mut path = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("param")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("from_event") {
                ctxt.error_spanned_by(
                    &meta.path,
                    "unknown option in `#[param(...)]`; the option is `from_event = \"detail.object.key\"`",
                );
                // Skip the rest of this option.
                if meta.input.peek(syn::Token![=]) {
                    let _ = meta.value()?.parse::<syn::Expr>()?;
                }
                return Ok(());
            }
            let lit: syn::LitStr = meta.value()?.parse()?;
            match check_event_path(&lit.value()) {
                Ok(()) if path.is_some() => {
                    ctxt.error_spanned_by(&lit, "`from_event` is given twice; keep one")
                }
                Ok(()) => path = Some(lit.value()),
                Err(why) => ctxt.error_spanned_by(&lit, why),
            }
            Ok(())
        });
        if let Err(e) = parsed {
            ctxt.syn_error(syn::Error::new(
                e.span(),
                "`#[param(...)]` takes `from_event = \"detail.object.key\"`: a dotted path into \
                 the event that starts a run",
            ));
        }
    }
    path
}

/// A dotted path into an EventBridge event: names of letters, digits, `_` and `-`, starting
/// at one of the event's own fields.
fn check_event_path(path: &str) -> Result<(), String> {
    let example = "e.g. `detail.object.key` (S3) or `detail.order_id`";
    let names: Vec<&str> = path.split('.').collect();
    if let Some(bad) = names.iter().find(|n| {
        n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        return Err(format!(
            "`{path}` is not a dotted path into the event: `{bad}` is not a field name (letters, \
             digits, `_` and `-`, separated by `.`); {example}"
        ));
    }
    if !EVENT_FIELDS.contains(&names[0]) {
        let fields: Vec<String> = EVENT_FIELDS.iter().map(|f| format!("`{f}`")).collect();
        return Err(format!(
            "`{path}` does not start at a field of an EventBridge event, which are {}; {example}",
            fields.join(", ")
        ));
    }
    Ok(())
}

fn expand(
    input: &DeriveInput,
    generics: &Generics,
    fields: &[&Field],
    from_event: &[Option<String>],
) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let names: Vec<String> = fields
        .iter()
        .map(|f| f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default())
        .collect();
    let idents: Vec<&syn::Ident> = fields.iter().filter_map(|f| f.ident.as_ref()).collect();
    let types: Vec<&syn::Type> = fields.iter().map(|f| &f.ty).collect();
    let type_names: Vec<String> = types
        .iter()
        .map(|t| quote!(#t).to_string().replace(' ', ""))
        .collect();
    let helps: Vec<String> = fields.iter().map(|f| doc_of(&f.attrs)).collect();
    let from_event = from_event.iter().map(|path| match path {
        Some(path) => quote!(::core::option::Option::Some(
            ::flow_core::__private::ToString::to_string(#path)
        )),
        None => quote!(::core::option::Option::None),
    });
    quote! {
        impl #impl_generics ::flow_core::__private::Params for #ident #ty_generics #where_clause {
            fn specs() -> ::flow_core::__private::Vec<::flow_core::__private::ParamSpec> {
                let __defaults = <Self as ::core::default::Default>::default();
                ::flow_core::__private::Vec::from([
                    #(::flow_core::__private::ParamSpec {
                        name: ::flow_core::__private::ToString::to_string(#names),
                        type_name: ::flow_core::__private::ToString::to_string(#type_names),
                        help: ::flow_core::__private::ToString::to_string(#helps),
                        default: ::flow_core::__private::default_json(&__defaults.#idents),
                        from_event: #from_event,
                    },)*
                ])
            }

            fn parse_field(
                name: &str,
                raw: &str,
            ) -> ::flow_core::__private::Result<::flow_core::__private::Value, ::flow_core::__private::ParamError> {
                match name {
                    #(#names => ::flow_core::__private::parse_value::<#types>(#names, #type_names, raw),)*
                    _ => ::flow_core::__private::Result::Err(::flow_core::__private::unknown::<Self>(name)),
                }
            }

            fn check_field(
                name: &str,
                value: &::flow_core::__private::Value,
            ) -> ::flow_core::__private::Result<(), ::flow_core::__private::ParamError> {
                match name {
                    #(#names => ::flow_core::__private::check_value::<#types>(#names, #type_names, value),)*
                    _ => ::flow_core::__private::Result::Err(::flow_core::__private::unknown::<Self>(name)),
                }
            }
        }
    }
}

/// With errors: an `impl Params` that is never run, so a flow naming this type as its
/// params does not add errors of its own (thiserror's `fallback.rs`).
fn fallback(input: &DeriveInput, generics: &Generics) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        impl #impl_generics ::flow_core::__private::Params for #ident #ty_generics #where_clause {
            fn specs() -> ::flow_core::__private::Vec<::flow_core::__private::ParamSpec> {
                ::core::unreachable!("#[derive(Params)] reported errors")
            }

            fn parse_field(
                _name: &str,
                _raw: &str,
            ) -> ::flow_core::__private::Result<::flow_core::__private::Value, ::flow_core::__private::ParamError> {
                ::core::unreachable!("#[derive(Params)] reported errors")
            }

            fn check_field(
                _name: &str,
                _value: &::flow_core::__private::Value,
            ) -> ::flow_core::__private::Result<(), ::flow_core::__private::ParamError> {
                ::core::unreachable!("#[derive(Params)] reported errors")
            }
        }
    }
}
