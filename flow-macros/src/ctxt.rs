//! Collects every error of one macro call, so the user sees all mistakes at once, each at
//! the whole span of what it is about (serde_derive's `internals/ctxt.rs`).

use quote::ToTokens;
use std::cell::RefCell;
use std::fmt::Display;
use std::thread;

/// The errors found so far. Shared by reference across the passes; consumed by `check`,
/// and a `Ctxt` dropped unchecked panics, so no error can be forgotten.
pub struct Ctxt {
    // `None` once checked.
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    /// No errors yet.
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// An error underlining every token of `tokens`, not only the first one.
    pub fn error_spanned_by<A: ToTokens, T: Display>(&self, tokens: A, message: T) {
        self.syn_error(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// An error that is already a `syn::Error` (from a parser, or spanned by the caller).
    pub fn syn_error(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("errors are added before `check`")
            .push(error);
    }

    /// How many errors so far; a pass compares it before and after a step to learn whether
    /// that step was sound.
    pub fn len(&self) -> usize {
        self.errors.borrow().as_ref().map_or(0, Vec::len)
    }

    /// Every error, combined into one that reports each at its own span.
    pub fn check(self) -> syn::Result<()> {
        let mut errors = self
            .errors
            .borrow_mut()
            .take()
            .expect("`check` is called once")
            .into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for rest in errors {
            combined.combine(rest);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !thread::panicking() && self.errors.borrow().is_some() {
            panic!("a Ctxt was dropped without `check`: its errors would be lost");
        }
    }
}
