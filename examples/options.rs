//! Per-step options: retry with backoff, timeout, catch, resources and Batch overrides.
//!
//! ```text
//! cargo run --example options -- run
//! cargo run --example options -- show
//! ```

use flow_core::prelude::*;

/// Shows what each step option does.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OptionsFlow {
    /// The attempt on which `flaky` succeeded (it fails the first time).
    pub flaky_attempt: u32,
    /// Set by `heavy`.
    pub heavy_done: bool,
    /// Set by `risky` before it fails; kept because `risky` has `catch`.
    pub risky_started: bool,
}

#[flow(tags = ["example", "options"])]
impl OptionsFlow {
    /// Starts.
    #[step(next = flaky)]
    fn start(&mut self) {}

    /// Fails on its first attempt and succeeds on the retry.
    #[step(next = heavy, retry(times = 2, backoff = "10ms"))]
    fn flaky(&mut self, ctx: &Ctx) -> Result<(), String> {
        if ctx.attempt == 0 {
            return Err("the first attempt always fails".into());
        }
        self.flaky_attempt = ctx.attempt;
        Ok(())
    }

    /// Asks for more resources and runs on its own image and queue on AWS Batch.
    #[step(
        next = risky,
        timeout = "10m",
        resources(cpu = 2, memory = 4096),
        batch(image = "public.ecr.aws/docker/library/debian:stable-slim", queue = "large-jobs")
    )]
    fn heavy(&mut self) {
        self.heavy_done = true;
    }

    /// Always fails; `catch` records the error and the flow goes on.
    #[step(next = end, catch)]
    fn risky(&mut self) -> Result<(), String> {
        self.risky_started = true;
        Err("risky step failed as designed".into())
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<OptionsFlow>()
}
