//! Typed parameters: `--name`, `--repeat`, `--scale`, `--loud` and `--sizes` on the command
//! line, with help text from the doc comments and defaults from `Default`; execution input
//! on Step Functions.
//!
//! ```text
//! cargo run --example params -- run --help
//! cargo run --example params -- run --name Ada --repeat 2 --sizes [1,2,3]
//! ```

use flow_core::prelude::*;

/// Parameters of [`ParamsFlow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Params)]
pub struct GreetParams {
    /// Who to greet.
    pub name: String,
    /// How many times.
    pub repeat: usize,
    /// A factor applied to every size.
    pub scale: f64,
    /// Shout the greeting.
    pub loud: bool,
    /// Sizes to scale.
    pub sizes: Vec<u32>,
}

impl Default for GreetParams {
    fn default() -> Self {
        GreetParams {
            name: "world".into(),
            repeat: 1,
            scale: 1.5,
            loud: false,
            sizes: vec![2, 4],
        }
    }
}

/// Greets with typed parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ParamsFlow {
    /// The greeting.
    pub greeting: String,
    /// The scaled sizes.
    pub scaled: Vec<f64>,
}

#[flow(params = GreetParams, schedule = "cron(0 6 * * ? *)")]
impl ParamsFlow {
    /// Builds the greeting from the params.
    #[step(next = end)]
    fn start(&mut self, ctx: &Ctx<GreetParams>) {
        let p = &ctx.params;
        let one = format!("hello, {}", p.name);
        let one = if p.loud { one.to_uppercase() } else { one };
        self.greeting = vec![one; p.repeat].join(" ");
        self.scaled = p.sizes.iter().map(|s| f64::from(*s) * p.scale).collect();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<ParamsFlow>()
}
