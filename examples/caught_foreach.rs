//! A foreach step whose failure is caught: the run goes on, the foreach fans out over no
//! items, and its join gets no inputs, locally and on Step Functions alike.
//!
//! ```text
//! cargo run --example caught_foreach -- run
//! ```

use flow_core::prelude::*;

/// Squares a list of numbers that cannot be listed today.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaughtForeachFlow {
    /// Set in `start`.
    pub label: String,
    /// The items `fan` listed before it failed.
    pub items: Vec<u32>,
    /// The item one `square` task got, squared.
    pub square: u32,
    /// How many inputs `join` got.
    pub joined: usize,
    /// The squares, merged in `join`.
    pub squares: Vec<u32>,
}

#[flow]
impl CaughtForeachFlow {
    /// Names the run.
    #[step(next = fan)]
    fn start(&mut self) {
        self.label = "squares".to_string();
    }

    /// Lists the items, then fails; `catch` lets the run go on without them.
    #[step(foreach = items, next = square, catch)]
    fn fan(&mut self) -> Result<(), String> {
        self.items = vec![1, 2, 3];
        Err("the item source is down".to_string())
    }

    /// Squares one item (never runs: the foreach fanned out over none).
    #[step(next = join)]
    fn square(&mut self, item: &u32) {
        self.square = item * item;
    }

    /// Gathers the squares of the items that ran.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.joined = inputs.len();
        self.squares = inputs.iter().map(|i| i.square).collect();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<CaughtForeachFlow>()
}
