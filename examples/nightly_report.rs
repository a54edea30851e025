//! A scheduled flow of a project: production runs it every night, while branches deploy it
//! side by side without a schedule (unless `--enable-triggers`).
//!
//! ```text
//! cargo run --example nightly_report -- step-functions create --production
//! cargo run --example nightly_report -- step-functions create --branch fix-1
//! cargo run --example nightly_report -- step-functions trigger --branch fix-1 --wait
//! ```

use flow_core::prelude::*;

/// The report's numbers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NightlyReport {
    /// The rows counted.
    pub rows: u32,
}

#[flow(project = "recs", schedule = "cron(0 3 * * ? *)")]
impl NightlyReport {
    /// Counts the rows.
    #[step(next = end)]
    fn start(&mut self) {
        self.rows = 42;
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<NightlyReport>()
}
