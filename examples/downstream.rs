//! The downstream half of an event-driven pair. A run starts when a run of
//! [`upstream`](../upstream.rs) succeeds (`trigger_on_finish`), and reads that run's artifacts
//! through `ctx.trigger()`; or when an object is created under `incoming/` in the bucket
//! `flowrs-inbox` (`trigger(s3(...))`), with the object's key as the `key` param. It doubles
//! the numbers, at most two at a time (`max_concurrency`), within an hour (`timeout`); its
//! `on_failure` hook runs once if a run fails or times out.
//!
//! ```text
//! cargo run --example downstream -- show
//! cargo run --example downstream -- run --triggered-by UpstreamFlow/<RUN_ID>
//! cargo run --example downstream -- run --event s3-object-created.json
//! ```

#[path = "upstream.rs"]
mod upstream;

use flow_core::client::Client;
use flow_core::prelude::*;
#[allow(unused_imports)]
pub use upstream::{UpstreamFlow, UpstreamParams};

/// Parameters of [`DownstreamFlow`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Params)]
pub struct DownstreamParams {
    /// The S3 key of the object that started the run, if one did.
    #[param(from_event = "detail.object.key")]
    pub key: String,
    /// Fail the `double` step of this number (to see the hook run).
    pub fail_on: u32,
}

/// Doubles what the upstream run produced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DownstreamFlow {
    /// The upstream run, as `Flow/RUN_ID`, or empty.
    pub upstream: String,
    /// The key of the S3 object that started the run, or empty.
    pub key: String,
    /// The upstream run's numbers.
    pub numbers: Vec<u32>,
    /// One number, doubled, per foreach item.
    pub doubled: u32,
    /// Every number doubled.
    pub results: Vec<u32>,
}

#[flow(
    params = DownstreamParams,
    trigger_on_finish = "UpstreamFlow",
    trigger(s3(bucket = "flowrs-inbox", prefix = "incoming/")),
    on_failure = alert,
    timeout = "1h"
)]
impl DownstreamFlow {
    /// Reads the numbers of the upstream run that started this one (or 1, 2, 3).
    #[step(foreach = numbers, next = double, max_concurrency = 2)]
    async fn start(&mut self, ctx: &Ctx<DownstreamParams>) -> anyhow::Result<()> {
        self.key = ctx.params.key.clone();
        let (Some(trigger), Some(store)) = (ctx.trigger(), ctx.datastore()) else {
            self.numbers = vec![1, 2, 3];
            return Ok(());
        };
        self.upstream = trigger.to_string();
        let run = Client::<UpstreamFlow>::new(store.clone())
            .run(&trigger.run_id)
            .await?;
        self.numbers = run.end_state().await?.numbers;
        Ok(())
    }

    /// Doubles one number.
    #[step(next = join)]
    fn double(&mut self, number: &u32, ctx: &Ctx<DownstreamParams>) -> Result<(), String> {
        if *number == ctx.params.fail_on {
            return Err(format!("asked to fail on {number}"));
        }
        self.doubled = number * 2;
        Ok(())
    }

    /// Gathers the doubled numbers (the join starts from the state `start` left).
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.results = inputs.iter().map(|i| i.doubled).collect();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}

    /// Reports a failed or timed-out run.
    fn alert(run: &RunEnd) -> Result<(), String> {
        eprintln!("ALERT {run}");
        Ok(())
    }
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<DownstreamFlow>()
}
