//! Placeholder while the macros are written.
use proc_macro::TokenStream;
#[proc_macro_attribute]
pub fn flow(_a: TokenStream, i: TokenStream) -> TokenStream {
    i
}
#[proc_macro_attribute]
pub fn step(_a: TokenStream, i: TokenStream) -> TokenStream {
    i
}
#[proc_macro_derive(Params, attributes(param))]
pub fn params(_i: TokenStream) -> TokenStream {
    TokenStream::new()
}
