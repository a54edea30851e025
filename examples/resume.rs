//! Resume after a failure: `fragile` fails while the file named by `FRAGILE_FAIL_IF_EXISTS`
//! exists (a stand-in for a flaky dependency). Fix the cause (delete the file) and `resume`:
//! the new run clones every task that succeeded and re-runs only from `fragile` on.
//!
//! ```text
//! touch /tmp/outage
//! FRAGILE_FAIL_IF_EXISTS=/tmp/outage cargo run --example resume -- run     # fails in `fragile`
//! rm /tmp/outage
//! FRAGILE_FAIL_IF_EXISTS=/tmp/outage cargo run --example resume -- resume  # clones start, left, right, merge
//! ```
//!
//! Every step appends its task id to the file named by `RESUME_TRACE`, if set, so you can
//! see what actually ran.

use flow_core::prelude::*;
use std::io::Write;

/// Two branches, a join, then a step that can fail.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResumeFlow {
    /// Set in `start`.
    pub numbers: Vec<u64>,
    /// A branch's partial result.
    pub partial: u64,
    /// Sum of the branches, set in `merge`.
    pub total: u64,
    /// Set by `fragile` once it succeeds.
    pub doubled: u64,
}

fn trace(ctx: &Ctx) {
    if let Ok(path) = std::env::var("RESUME_TRACE") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            // One write of the whole line: with O_APPEND it lands whole even when both
            // branches trace at once (`writeln!` may split it into two writes).
            let _ = file.write_all(format!("{}\n", ctx.task_id).as_bytes());
        }
    }
}

#[flow]
impl ResumeFlow {
    /// Prepares the numbers.
    #[step(next = [left, right])]
    fn start(&mut self, ctx: &Ctx) {
        trace(ctx);
        self.numbers = (1..=10).collect();
    }

    /// Sums the odd numbers.
    #[step(next = merge)]
    fn left(&mut self, ctx: &Ctx) {
        trace(ctx);
        self.partial = self.numbers.iter().filter(|n| *n % 2 == 1).sum();
    }

    /// Sums the even numbers.
    #[step(next = merge)]
    fn right(&mut self, ctx: &Ctx) {
        trace(ctx);
        self.partial = self.numbers.iter().filter(|n| *n % 2 == 0).sum();
    }

    /// Adds the branches.
    #[step(next = fragile)]
    fn merge(&mut self, inputs: Inputs<Self>, ctx: &Ctx) {
        trace(ctx);
        self.total = inputs.iter().map(|b| b.partial).sum();
    }

    /// Fails while the outage file exists; retried once first.
    #[step(next = end, retry(times = 1, backoff = "100ms"))]
    fn fragile(&mut self, ctx: &Ctx) -> Result<(), String> {
        trace(ctx);
        if let Ok(path) = std::env::var("FRAGILE_FAIL_IF_EXISTS") {
            if std::path::Path::new(&path).exists() {
                return Err(format!("the dependency is down ({path} exists)"));
            }
        }
        self.doubled = self.total * 2;
        Ok(())
    }

    /// Done.
    #[step]
    fn end(&mut self, ctx: &Ctx) {
        trace(ctx);
    }
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<ResumeFlow>()
}
