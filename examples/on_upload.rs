//! A flow started by an upload: on Step Functions, each object created under `uploads/` in
//! the bucket `flowrs-uploads` (whose EventBridge notifications are on) starts a run with the
//! object's key as the `key` param (`#[param(from_event = "detail.object.key")]`). Its
//! `on_success` hook writes a receipt line, its `on_failure` hook an alert.
//!
//! Two ways to see the hooks at work: a key containing `crash` makes the `check` step abort
//! its process, as a Batch job killed mid-step, which records nothing (the failure hook then
//! records the run as failed); with `UPLOAD_RECEIPT_FAILS` set, the success hook fails, which
//! leaves the run succeeded.
//!
//! ```text
//! cargo run --example on_upload -- run --key uploads/2026-12-04.csv
//! cargo run --example on_upload -- run --event s3-object-created.json
//! ```

use flow_core::prelude::*;

/// Parameters of [`UploadFlow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Params)]
pub struct UploadParams {
    /// The key of the uploaded object.
    #[param(from_event = "detail.object.key")]
    pub key: String,
}

impl Default for UploadParams {
    fn default() -> Self {
        UploadParams {
            key: "uploads/example.csv".into(),
        }
    }
}

/// Checks an uploaded object's key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UploadFlow {
    /// The object's key.
    pub key: String,
    /// Its extension (after the last `.`), or empty.
    pub extension: String,
}

#[flow(
    params = UploadParams,
    trigger(s3(bucket = "flowrs-uploads", prefix = "uploads/")),
    on_success = receipt,
    on_failure = alert
)]
impl UploadFlow {
    /// Takes the key.
    #[step(next = check)]
    fn start(&mut self, ctx: &Ctx<UploadParams>) -> Result<(), String> {
        if ctx.params.key.is_empty() {
            return Err("no key: give --key, or start the run by an upload".into());
        }
        self.key = ctx.params.key.clone();
        Ok(())
    }

    /// Finds the extension (a key containing `crash` aborts the process).
    #[step(next = end)]
    fn check(&mut self) {
        if self.key.contains("crash") {
            eprintln!("crashing on {}", self.key);
            std::process::abort();
        }
        self.extension = self
            .key
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_string())
            .unwrap_or_default();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}

    /// Writes a receipt (fails when `UPLOAD_RECEIPT_FAILS` is set).
    fn receipt(run: &RunEnd) -> Result<(), String> {
        if std::env::var_os("UPLOAD_RECEIPT_FAILS").is_some() {
            return Err(format!("no receipt for {run}: UPLOAD_RECEIPT_FAILS is set"));
        }
        eprintln!("RECEIPT {run}");
        Ok(())
    }

    /// Reports a failed run.
    fn alert(run: &RunEnd) {
        eprintln!("ALERT {run}");
    }
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<UploadFlow>()
}
