//! A flow of a project (`#[flow(project = "demo")]`): `run --branch NAME` and `run
//! --production` store its runs apart, and `runs`, `dump` and `resume` take the same flags.
//! The test of local branches drives it.
//!
//! ```text
//! cargo run -p flow-local --example project_branches -- run --branch fix-1 --label a
//! cargo run -p flow-local --example project_branches -- runs --branch fix-1
//! ```

use flow_core::prelude::*;
use std::process::ExitCode;

/// Keeps the label it was run with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProjectBranches {
    /// The `--label` param, copied by `start`.
    pub seen: String,
}

/// The params.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct BranchParams {
    /// A label telling the runs apart.
    pub label: String,
}

#[flow(params = BranchParams, project = "demo")]
impl ProjectBranches {
    #[step(next = end)]
    fn start(&mut self, ctx: &Ctx<BranchParams>) {
        self.seen = ctx.params.label.clone();
    }

    #[step]
    fn end(&mut self) {}
}

// Tests include this file as a module for the flow type.
#[allow(dead_code)]
fn main() -> ExitCode {
    flow_local::main::<ProjectBranches>()
}
