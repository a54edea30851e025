//! The `#[flow]`, `#[step]` and `#[derive(Params)]` macros. Use them through `flow-core`,
//! which re-exports them; the generated code names everything through
//! `::flow_core::__private`.
//!
//! `#[flow]` runs three passes over the impl block: parse (`ast.rs`, with the attribute
//! options in `attr.rs`), check (`check.rs`, which runs the graph rules of `flow-graph`, the
//! same ones the runtime validator uses) and expand (`expand.rs`). Every error is collected
//! in a `Ctxt` and reported at once, each underlining all of what it is about; with errors,
//! `fallback.rs` emits the impl block and a stub `impl Flow` instead, so one mistake does
//! not cascade.

mod ast;
mod attr;
mod check;
mod ctxt;
mod environment;
mod events;
mod expand;
mod fallback;
mod option_table;
mod params;

use ctxt::Ctxt;

use proc_macro::TokenStream;

/// Turns an impl block whose `#[step]` methods form a flow into `impl Flow`, checking the
/// graph at compile time.
///
/// Flow options: `params = Type`, `schedule = "cron(...)"`, `tags = ["..."]`,
/// `trigger_on_finish = "Upstream"` (or a list), `trigger(s3(bucket = "b", prefix = "in/"))`,
/// `trigger(source = "...", detail_type = "...")`, `trigger(pattern = r#"{...}"#)` (each
/// `trigger` once per event pattern), `on_failure = method`, `on_success = method` (hooks:
/// `fn method(run: &RunEnd) -> Result<(), E>`), `timeout = "6h"`.
/// Step options: `next = step`, `next = [a, b]` (split), `foreach = field, next = body`,
/// `switch = [a, b]`, `retry(times = 3, backoff = "2s")`, `timeout = "10m"`, `catch`,
/// `max_concurrency = 20` (on a foreach step),
/// `resources(cpu = 2, memory = 4096, gpu = 1)`, `batch(image = "...", queue = "...",
/// job_role = "...")`.
#[proc_macro_attribute]
pub fn flow(attr: TokenStream, item: TokenStream) -> TokenStream {
    let ctxt = Ctxt::new();
    let args = attr::FlowArgs::parse(attr.into(), &ctxt);
    let item = match syn::parse::<syn::ItemImpl>(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            ctxt.syn_error(syn::Error::new(
                proc_macro2::Span::call_site(),
                "#[flow] goes on the impl block of a flow struct: `#[flow] impl MyFlow { ... }`",
            ));
            return with_errors(item.into(), ctxt);
        }
    };
    let Some(flow) = ast::FlowImpl::parse(item.clone(), &ctxt) else {
        return with_errors(quote::quote!(#item), ctxt);
    };
    let checked = check::check(&flow, &args, &ctxt);
    match ctxt.check() {
        Ok(()) => expand::expand(&flow, &args, &checked).into(),
        Err(errors) => {
            let mut out = fallback::expand(&flow, &args);
            out.extend(errors.into_compile_error());
            out.into()
        }
    }
}

/// `tokens` followed by every error of `ctxt`.
fn with_errors(mut tokens: proc_macro2::TokenStream, ctxt: Ctxt) -> TokenStream {
    if let Err(errors) = ctxt.check() {
        tokens.extend(errors.into_compile_error());
    }
    tokens.into()
}

/// Marks a method of a `#[flow]` impl block as a step. `#[flow]` consumes it; on its own it
/// is an error.
#[proc_macro_attribute]
pub fn step(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut out = proc_macro2::TokenStream::from(item);
    out.extend(
        syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[step] only works on methods of an impl block marked #[flow]; add #[flow] to the \
             impl block: `#[flow] impl MyFlow { ... }`",
        )
        .to_compile_error(),
    );
    out.into()
}

/// Derives `Params` for a struct of flow parameters: each field is a `--flag`, its doc
/// comment the help text, and `Default` gives the defaults. `#[param(from_event =
/// "detail.object.key")]` on a field fills it from the event that starts a run.
#[proc_macro_derive(Params, attributes(param))]
pub fn derive_params(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => params::derive(input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
