//! A flow whose `start` step reads an environment variable and a secret (`ctx.env`). The
//! tests of `run --secret`, `--secrets-file` and `Runner::secret` drive it, and check that
//! the secret's value reaches no output, log or stored file.
//!
//! ```text
//! cargo run -p flow-local --example secret_env -- run --secret DB_PASSWORD=hunter2
//! ```

use flow_core::prelude::*;
use std::process::ExitCode;

/// The ARN `start` declares its secret with (a `--secrets-file` may name the value by it).
pub const DB_PASSWORD_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-env-db-password";

/// What `start` saw: never the secret's value, only its length.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecretEnv {
    /// `MODE`, from the step's `env`.
    pub mode: String,
    /// The length of `DB_PASSWORD`.
    pub password_len: usize,
    /// Whether `end`, which declares nothing, sees no `DB_PASSWORD`.
    pub hidden_from_end: bool,
}

/// Params: `--fail` makes `start` fail after reading the secret.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct SecretEnvParams {
    /// Fail `start` after reading the secret.
    pub fail: bool,
}

#[flow(params = SecretEnvParams)]
impl SecretEnv {
    #[step(
        next = end,
        env(MODE = "offline"),
        secrets(DB_PASSWORD = "arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-env-db-password")
    )]
    fn start(&mut self, ctx: &Ctx<SecretEnvParams>) -> Result<(), String> {
        self.mode = ctx.env("MODE").ok_or("MODE is not set")?.to_string();
        let password = ctx.env("DB_PASSWORD").ok_or("DB_PASSWORD is not set")?;
        self.password_len = password.len();
        println!("read a {}-character password", self.password_len);
        if ctx.params.fail {
            return Err(format!(
                "could not connect with the {}-character password",
                password.len()
            ));
        }
        Ok(())
    }

    #[step]
    fn end(&mut self, ctx: &Ctx<SecretEnvParams>) {
        self.hidden_from_end = ctx.env("DB_PASSWORD").is_none();
    }
}

// Tests include this file as a module for the flow type.
#[allow(dead_code)]
fn main() -> ExitCode {
    flow_local::main::<SecretEnv>()
}
