//! Timeouts with retry and catch: one branch overruns its timeout on its first attempt and
//! succeeds on the retry; the other overruns it and its failure is caught. Both overrun
//! only when `TIMEOUT_RETRY_HANG_SECS` is set (how long a hanging attempt blocks its thread).
//!
//! ```text
//! TIMEOUT_RETRY_HANG_SECS=75 cargo run --example timeout_retry -- run   # about 62 s
//! ```

use flow_core::prelude::*;

/// Blocks the step's thread when asked to, as a call that never answers would.
fn hang() {
    let secs = std::env::var("TIMEOUT_RETRY_HANG_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    std::thread::sleep(std::time::Duration::from_secs(secs));
}

/// Two branches that race their timeouts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TimeoutRetryFlow {
    /// The attempt on which `retried` finished.
    pub retried_on: u32,
    /// Whether `caught` finished within its timeout.
    pub caught_finished: bool,
    /// Set in `join` from both branches.
    pub summary: String,
}

#[flow]
impl TimeoutRetryFlow {
    /// Starts both branches.
    #[step(next = [retried, caught])]
    fn start(&mut self) {}

    /// Overruns its timeout on its first attempt, then finishes on the retry.
    #[step(next = join, timeout = "61s", retry(times = 1, backoff = "1s"))]
    fn retried(&mut self, ctx: &Ctx) {
        if ctx.attempt == 0 {
            hang();
        }
        self.retried_on = ctx.attempt;
    }

    /// Overruns its timeout on its only attempt; the run goes on from its input.
    #[step(next = join, timeout = "61s", catch)]
    fn caught(&mut self) {
        hang();
        self.caught_finished = true;
    }

    /// Combines what the branches left.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.retried_on = inputs.iter().map(|b| b.retried_on).max().unwrap_or(0);
        self.caught_finished = inputs.iter().any(|b| b.caught_finished);
        self.summary = format!(
            "retried finished on attempt {}; caught {}",
            self.retried_on,
            if self.caught_finished {
                "finished"
            } else {
                "timed out"
            }
        );
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<TimeoutRetryFlow>()
}
