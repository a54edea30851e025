//! A flow a team deploys once per branch: `project = "recs"` names its deployments
//! (`recs.prod.TeamFlow`, `recs.user.alice.TeamFlow`, `recs.test.exp.TeamFlow`), its runs
//! carry tags, and its `start` step reads an environment variable and a secret.
//!
//! ```text
//! cargo run --example team -- run --tag team=recs --secret DB_PASSWORD=...
//! cargo run --example team -- step-functions create --branch exp
//! cargo run --example team -- step-functions trigger --branch exp --tag team=recs --wait
//! ```
//!
//! Locally the secret's value comes from `--secret` or `--secrets-file`, or else from
//! Secrets Manager with the standard AWS credentials; on AWS Batch, from Secrets Manager
//! (the job definition's `secrets`). The step never stores or prints
//! the value: only its length.

use flow_core::prelude::*;
use std::collections::BTreeMap;

/// The secret `start` reads, as `DB_PASSWORD`.
pub const DB_PASSWORD_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:flowrs-team-db-password";

/// What the run saw.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TeamFlow {
    /// The run's tags, as `start` read them.
    pub tags: BTreeMap<String, String>,
    /// `MODE`, from the step's `env`.
    pub mode: String,
    /// The length of `DB_PASSWORD` (never the value).
    pub password_len: usize,
    /// Whether a variable the step does not declare is hidden from `ctx.env`.
    pub undeclared_hidden: bool,
}

#[flow(project = "recs")]
impl TeamFlow {
    #[step(
        next = end,
        env(MODE = "batch-scoring"),
        secrets(DB_PASSWORD = "arn:aws:secretsmanager:us-east-1:123456789012:secret:flowrs-team-db-password")
    )]
    fn start(&mut self, ctx: &Ctx) -> Result<(), String> {
        self.tags = ctx.tags().clone();
        self.mode = ctx.env("MODE").ok_or("MODE is not set")?.to_string();
        let password = ctx.env("DB_PASSWORD").ok_or("DB_PASSWORD is not set")?;
        self.password_len = password.len();
        self.undeclared_hidden = ctx.env("PATH").is_none();
        println!(
            "connecting in {} mode with a {}-character password",
            self.mode, self.password_len
        );
        Ok(())
    }

    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<TeamFlow>()
}
