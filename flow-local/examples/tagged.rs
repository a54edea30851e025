//! A flow that records what it knows about how it was started: its tags (`ctx.tags()`).
//! The tests of `run --tag`, `runs --tag` and `Client::runs().tagged(..)` drive it.
//!
//! ```text
//! cargo run -p flow-local --example tagged -- run --tag team=recs --tag stage=dev
//! cargo run -p flow-local --example tagged -- runs --tag team=recs
//! ```

use flow_core::prelude::*;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// Copies the run's tags into an artifact, so tests can see what a step saw.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tagged {
    /// The tags `start` read with `ctx.tags()`.
    pub tags: BTreeMap<String, String>,
}

#[flow]
impl Tagged {
    #[step(next = end)]
    fn start(&mut self, ctx: &Ctx) {
        self.tags = ctx.tags().clone();
    }

    #[step]
    fn end(&mut self) {}
}

// Tests include this file as a module for the flow type.
#[allow(dead_code)]
fn main() -> ExitCode {
    flow_local::main::<Tagged>()
}
