//! The simplest flow: three steps in a line, each reading what the one before wrote.
//!
//! ```text
//! cargo run --example linear -- run
//! cargo run --example linear -- show --format mermaid
//! ```

use flow_core::prelude::*;

/// Greets someone, one step at a time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LinearFlow {
    /// Set in `start`.
    pub greeting: String,
    /// Set in `shout` from `greeting`.
    pub shouted: String,
    /// How many steps touched the state.
    pub steps_seen: u32,
}

#[flow]
impl LinearFlow {
    /// Writes the greeting.
    #[step(next = shout)]
    fn start(&mut self) {
        self.greeting = "hello, flow".to_string();
        self.steps_seen += 1;
    }

    /// Upper-cases it.
    #[step(next = end)]
    fn shout(&mut self) {
        self.shouted = self.greeting.to_uppercase();
        self.steps_seen += 1;
    }

    /// Done.
    #[step]
    fn end(&mut self) {
        self.steps_seen += 1;
    }
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<LinearFlow>()
}
