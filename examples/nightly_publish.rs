//! A project flow triggered by another: each branch's `NightlyPublish` starts when the same
//! branch's `NightlyReport` succeeds, and reads that run's numbers from the branch's folder.
//!
//! ```text
//! cargo run --example nightly_publish -- step-functions create --branch fix-1 --enable-triggers
//! cargo run --example nightly_report -- step-functions trigger --branch fix-1
//! ```

#[path = "nightly_report.rs"]
mod nightly_report;

use flow_core::client::Client;
use flow_core::prelude::*;
pub use nightly_report::NightlyReport;

/// What the run published.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NightlyPublish {
    /// The report run that started this one, as `Flow/RUN_ID`, or empty.
    pub upstream: String,
    /// Its row count.
    pub rows: u32,
}

#[flow(project = "recs", trigger_on_finish = "NightlyReport")]
impl NightlyPublish {
    /// Reads the report run that started this one.
    #[step(next = end)]
    async fn start(&mut self, ctx: &Ctx) -> anyhow::Result<()> {
        let (Some(trigger), Some(store)) = (ctx.trigger(), ctx.datastore()) else {
            return Ok(());
        };
        self.upstream = trigger.to_string();
        let run = Client::<NightlyReport>::new(store.clone())
            .run(&trigger.run_id)
            .await?;
        self.rows = run.end_state().await?.rows;
        Ok(())
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<NightlyPublish>()
}
