//! The upstream half of an event-driven pair: its successful runs start
//! [`downstream`](../downstream.rs) (`trigger_on_finish = "UpstreamFlow"` there), which reads
//! this run's artifacts. Its `on_success` hook runs once when a run succeeds.
//!
//! ```text
//! cargo run --example upstream -- run --count 4
//! cargo run --example downstream -- run --triggered-by UpstreamFlow/<RUN_ID>
//! ```

use flow_core::prelude::*;

/// Parameters of [`UpstreamFlow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Params)]
pub struct UpstreamParams {
    /// How many numbers to produce.
    pub count: u32,
}

impl Default for UpstreamParams {
    fn default() -> Self {
        UpstreamParams { count: 3 }
    }
}

/// Produces numbers for the downstream flow.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpstreamFlow {
    /// 1..=count.
    pub numbers: Vec<u32>,
    /// Their sum.
    pub total: u32,
}

#[flow(params = UpstreamParams, on_success = announce)]
impl UpstreamFlow {
    /// Produces the numbers.
    #[step(next = end)]
    fn start(&mut self, ctx: &Ctx<UpstreamParams>) {
        self.numbers = (1..=ctx.params.count).collect();
    }

    /// Sums them.
    #[step]
    fn end(&mut self) {
        self.total = self.numbers.iter().sum();
    }

    /// Says which run is ready for the downstream flow.
    fn announce(run: &RunEnd) {
        eprintln!("{run}: its numbers are ready downstream");
    }
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<UpstreamFlow>()
}
