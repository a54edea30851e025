//! A conditional switch: the step returns the enum `#[flow]` generates from its declared
//! successors, so it can only choose one of them.
//!
//! ```text
//! cargo run --example switch -- run --value 80
//! ```

use flow_core::prelude::*;

/// Parameters of [`SwitchFlow`].
#[derive(Debug, Clone, Serialize, Deserialize, Params)]
pub struct SwitchParams {
    /// The value to classify.
    pub value: i64,
    /// Values above this are high.
    pub threshold: i64,
}

impl Default for SwitchParams {
    fn default() -> Self {
        SwitchParams {
            value: 7,
            threshold: 50,
        }
    }
}

/// Routes a value to one of two handlers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SwitchFlow {
    /// The value being classified.
    pub value: i64,
    /// Which handler ran.
    pub route: String,
    /// The final message.
    pub message: String,
}

#[flow(params = SwitchParams)]
impl SwitchFlow {
    /// Reads the value.
    #[step(next = decide)]
    fn start(&mut self, ctx: &Ctx<SwitchParams>) {
        self.value = ctx.params.value;
    }

    /// Chooses a handler.
    #[step(switch = [high, low])]
    fn decide(&mut self, ctx: &Ctx<SwitchParams>) -> DecideNext {
        if self.value > ctx.params.threshold {
            DecideNext::High
        } else {
            DecideNext::Low
        }
    }

    /// Handles high values.
    #[step(next = report)]
    fn high(&mut self) {
        self.route = "high".into();
    }

    /// Handles low values.
    #[step(next = report)]
    fn low(&mut self) {
        self.route = "low".into();
    }

    /// Where the branches converge.
    #[step(next = end)]
    fn report(&mut self) {
        self.message = format!("{} is {}", self.value, self.route);
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<SwitchFlow>()
}
