//! A flow started by another flow's run or by an event, with hooks: the flow the tests of
//! `run --triggered-by`, `run --event`, `step --triggered-by` and the `hook` command drive.
//!
//! ```text
//! cargo run -p flow-local --example triggered -- run --triggered-by Upstream/<RUN_ID>
//! cargo run -p flow-local --example triggered -- run --event event.json
//! ```
//!
//! `start` reads the numbers of the [`Upstream`] run that started the run (`ctx.trigger()`)
//! through the client API, from the run's own datastore. `--fail` fails `start`;
//! `--fail-hook` also makes the `on_failure` hook fail. Each hook prints `HOOK <name>: <run>`
//! on stderr.

use flow_core::client::Client;
use flow_core::prelude::*;
use std::process::ExitCode;

/// Produces numbers; its runs start [`Triggered`] (tests run it through the Rust API).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Upstream {
    /// 1, 2, 3.
    pub numbers: Vec<u32>,
}

#[flow]
impl Upstream {
    /// Produces the numbers.
    #[step(next = end)]
    fn start(&mut self) {
        self.numbers = vec![1, 2, 3];
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

/// Parameters of [`Triggered`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct TriggeredParams {
    /// The key of the S3 object whose creation started the run.
    #[param(from_event = "detail.object.key")]
    pub key: String,
    /// Fail `start`.
    pub fail: bool,
    /// Make the `on_failure` hook fail too.
    pub fail_hook: bool,
}

/// Reads what started it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Triggered {
    /// `Flow/RUN_ID` of the upstream run, or empty.
    pub upstream: String,
    /// The upstream run's numbers.
    pub upstream_numbers: Vec<u32>,
    /// The `key` param.
    pub key: String,
    /// The event's `source`, if an event started the run.
    pub source: String,
}

#[flow(
    params = TriggeredParams,
    trigger_on_finish = "Upstream",
    trigger(s3(bucket = "flowrs-inbox", prefix = "incoming/")),
    on_failure = alert,
    on_success = report
)]
impl Triggered {
    /// Reads the upstream run's artifacts and the event.
    #[step(next = end)]
    async fn start(&mut self, ctx: &Ctx<TriggeredParams>) -> anyhow::Result<()> {
        self.key = ctx.params.key.clone();
        if let Some(event) = ctx.event() {
            self.source = event["source"].as_str().unwrap_or_default().to_string();
        }
        if let (Some(trigger), Some(store)) = (ctx.trigger(), ctx.datastore()) {
            self.upstream = trigger.to_string();
            let run = Client::<Upstream>::new(store.clone())
                .run(&trigger.run_id)
                .await?;
            self.upstream_numbers = run.end_state().await?.numbers;
        }
        if ctx.params.fail {
            let also = if ctx.params.fail_hook {
                " (fail the hook too)"
            } else {
                ""
            };
            anyhow::bail!("start failed on purpose{also}");
        }
        Ok(())
    }

    /// Done.
    #[step]
    fn end(&mut self) {}

    /// Runs when a run fails or times out.
    fn alert(run: &RunEnd) -> Result<(), String> {
        eprintln!("HOOK alert: {run}");
        match &run.error {
            Some(error) if error.contains("fail the hook too") => {
                Err("the alert could not be sent".to_string())
            }
            _ => Ok(()),
        }
    }

    /// Runs when a run succeeds.
    fn report(run: &RunEnd) {
        eprintln!("HOOK report: {run}");
    }
}

// Tests include this file as a module for the flow types.
#[allow(dead_code)]
fn main() -> ExitCode {
    flow_local::main::<Triggered>()
}
