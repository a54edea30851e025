//! What `#[flow]` emits when it found errors: the user's impl block, the switch enums and
//! an `impl Flow` whose methods are never run, beside the errors. Code that uses the flow
//! still resolves, so the user sees the macro's errors and not a cascade of unresolved
//! names; and nothing here calls a step, so no warning is added to the errors either.

use crate::ast::FlowImpl;
use crate::attr::FlowArgs;
use crate::expand::{params_assoc, switch_enum};
use proc_macro2::TokenStream;
use quote::quote;
use syn::ImplItem;

/// The impl block, the switch enums and a stub `impl Flow`, to go beside the errors.
pub fn expand(flow: &FlowImpl, args: &FlowArgs) -> TokenStream {
    let mut item = flow.item.clone();
    for impl_item in &mut item.items {
        if let ImplItem::Fn(method) = impl_item {
            // No `call_step` calls the steps (nor `call_hook` the hooks) here; the build
            // fails on the errors anyway, and "never used" warnings would only hide them.
            let is_hook = [&args.on_failure, &args.on_success]
                .into_iter()
                .flatten()
                .any(|hook| *hook == method.sig.ident);
            if is_hook || flow.steps.iter().any(|s| s.ident == method.sig.ident) {
                method.attrs.push(syn::parse_quote!(#[allow(dead_code)]));
            }
        }
    }
    // Only the steps' own code names the enums, and the steps are not called here.
    let allow_unused = quote!(#[allow(dead_code)]);
    let enums = flow
        .steps
        .iter()
        .map(|s| switch_enum(s, &flow.self_ident, &allow_unused));
    let self_ty = &item.self_ty;
    let params_assoc = params_assoc(args);
    quote! {
        #item

        #(#enums)*

        impl ::flow_core::__private::Flow for #self_ty {
            #params_assoc

            fn graph() -> &'static ::flow_core::__private::FlowGraph {
                ::core::unreachable!("#[flow] reported errors")
            }

            fn analysis() -> &'static ::flow_core::__private::Analysis {
                ::core::unreachable!("#[flow] reported errors")
            }

            fn foreach_len(&self, _step: &str) -> ::flow_core::__private::Option<usize> {
                ::core::unreachable!("#[flow] reported errors")
            }

            fn call_step(
                self,
                _step: &str,
                _input: ::flow_core::__private::StepInput<Self>,
            ) -> ::flow_core::__private::StepCall<Self> {
                ::core::unreachable!("#[flow] reported errors")
            }
        }
    }
}
