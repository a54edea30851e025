//! `#[derive(Params)]`: one `ParamSpec` per field (doc comment = help, `Default` = default),
//! and per-field parsing so a bad value names its parameter and type.

use crate::ast::doc_of;
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

pub fn derive(input: DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
            Fields::Unit => Vec::new(),
            Fields::Unnamed(u) => {
                return syn::Error::new(
                    u.span(),
                    "#[derive(Params)] needs named fields: each field is a `--flag`",
                )
                .to_compile_error()
            }
        },
        _ => {
            return syn::Error::new(
                input.ident.span(),
                "#[derive(Params)] goes on a struct with named fields",
            )
            .to_compile_error()
        }
    };
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
    quote! {
        impl ::flow_core::__private::Params for #ident {
            fn specs() -> ::flow_core::__private::Vec<::flow_core::__private::ParamSpec> {
                let __defaults = <Self as ::core::default::Default>::default();
                ::flow_core::__private::Vec::from([
                    #(::flow_core::__private::ParamSpec {
                        name: ::flow_core::__private::ToString::to_string(#names),
                        type_name: ::flow_core::__private::ToString::to_string(#type_names),
                        help: ::flow_core::__private::ToString::to_string(#helps),
                        default: ::flow_core::__private::default_json(&__defaults.#idents),
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
