//! What the workspace's tests share, in one place so that each thing is found one way.
//!
//! * [`example_binary`]: a built example, by name, with the platform's executable suffix.
//! * [`tool`]: an external checker by its `FLOW_*` variable, as
//!   `scripts/install-test-tools.sh` installs it; a missing tool fails the test, never skips it.
//! * [`asl_validator`]: the npm `asl-validator`'s verdict on one state machine definition.
//! * [`open_in_chromium`]: a page's DOM, console messages and screenshot in headless Chromium.
//! * [`iam`]: an IAM policy evaluator (Allow statements, wildcards, string conditions), to check
//!   logged AWS calls against generated policies.
//!
//! Graph builders are not here: they are constructors of flow-graph itself
//! (`StepSpec::next`, `StepSpec::split`, `StepSpec::foreach`, `StepSpec::switch`,
//! `StepSpec::end`, `FlowGraph::linear`), so that flow-graph's own unit tests can call them
//! too. A dev-dependency of flow-graph on a crate that depends on flow-graph would compile a
//! second copy of its types inside its unit tests, and the two copies would not mix.
//!
//! ```no_run
//! let validator = flow_test_support::tool("FLOW_ASL_VALIDATOR");
//! assert!(validator.exists());
//! ```

mod asl;
mod chromium;
mod example;
pub mod iam;
mod tools;

pub use asl::asl_validator;
pub use chromium::{chromium_run, open_in_chromium, Opened};
pub use example::example_binary;
pub use tools::tool;
