//! A foreach whose items each take a little while and leave a trace: the flow that the
//! SIGKILL test kills mid-run and then resumes, and that the command-line tests drive.
//!
//! ```text
//! SLOW_FOREACH_TRACE=/tmp/trace cargo run -p flow-local --example slow_foreach -- run --count 20
//! ```
//!
//! Every task appends its task id to the file named by `SLOW_FOREACH_TRACE` (if set) as it
//! finishes its work, so a test can count how often each task really ran. With
//! `SLOW_FOREACH_SAY=1` each item prints a line with `println!` (which the `step` command
//! keeps in the task's log); `SLOW_FOREACH_FAIL=N` makes item N fail.

use flow_core::prelude::*;
use flow_core::TaskId;
use std::io::Write;
use std::process::ExitCode;

/// Parameters of [`SlowFlow`].
#[derive(Debug, Clone, Serialize, Deserialize, Params)]
pub struct SlowParams {
    /// How many items to fan out over.
    pub count: usize,
    /// How long each item sleeps, in milliseconds.
    pub sleep_ms: u64,
}

impl Default for SlowParams {
    fn default() -> Self {
        SlowParams {
            count: 20,
            sleep_ms: 80,
        }
    }
}

/// Squares numbers slowly, one task per number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SlowFlow {
    /// The numbers fanned out over (a blob once there are more than a dozen).
    pub items: Vec<u64>,
    /// One task's number.
    pub item: u64,
    /// Its square.
    pub square: u64,
    /// Every square, in item order.
    pub squares: Vec<u64>,
    /// Their sum.
    pub total: u64,
}

/// Appends one line to the trace file; a single `write` on an `O_APPEND` file, so lines
/// from concurrent tasks (and processes) never interleave.
fn trace(task: &TaskId) {
    if let Ok(path) = std::env::var("SLOW_FOREACH_TRACE") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("trace file opens");
        file.write_all(format!("{task}\n").as_bytes())
            .expect("trace line written");
    }
}

#[flow(params = SlowParams)]
impl SlowFlow {
    /// Lists the numbers.
    #[step(foreach = items, next = work)]
    fn start(&mut self, ctx: &Ctx<SlowParams>) {
        self.items = (0..ctx.params.count as u64).collect();
        trace(&ctx.task_id);
    }

    /// Squares one number, slowly.
    #[step(next = join)]
    fn work(&mut self, item: &u64, ctx: &Ctx<SlowParams>) -> Result<(), String> {
        std::thread::sleep(std::time::Duration::from_millis(ctx.params.sleep_ms));
        if std::env::var("SLOW_FOREACH_SAY").is_ok() {
            println!("squaring {item}");
        }
        if std::env::var("SLOW_FOREACH_FAIL").is_ok_and(|f| f == item.to_string()) {
            return Err(format!("item {item} was told to fail"));
        }
        self.item = *item;
        self.square = item * item;
        trace(&ctx.task_id);
        Ok(())
    }

    /// Collects the squares.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>, ctx: &Ctx<SlowParams>) {
        self.squares = inputs.iter().map(|i| i.square).collect();
        self.total = self.squares.iter().sum();
        trace(&ctx.task_id);
    }

    /// Done.
    #[step]
    fn end(&mut self, ctx: &Ctx<SlowParams>) {
        trace(&ctx.task_id);
    }
}

// Tests include this file as a module for the flow type.
#[allow(dead_code)]
fn main() -> ExitCode {
    flow_local::main::<SlowFlow>()
}
