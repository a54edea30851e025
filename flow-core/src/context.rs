//! What a running step knows about itself: params, run and task ids, attempt; and where it
//! attaches cards to its task.

use crate::card::Cards;
use crate::ids::{RunId, TaskId};
use crate::params::NoParams;
use std::sync::Arc;

/// The context a step receives when it takes `ctx: &Ctx<P>`.
#[derive(Debug, Clone)]
pub struct Ctx<P = NoParams> {
    /// The flow's typed parameters.
    pub params: Arc<P>,
    /// The run this task belongs to.
    pub run_id: RunId,
    /// This task's id (step and foreach index path).
    pub task_id: TaskId,
    /// Attempt number, 0 for the first try.
    pub attempt: u32,
    /// Item counts of the enclosing foreaches, outermost first (parallel to the index path).
    pub foreach_counts: Vec<usize>,
    /// The cards this attempt added (see [`Ctx::card`]); the runner stores them with the task.
    pub cards: Cards,
}

impl<P> Ctx<P> {
    /// The step's name.
    pub fn step(&self) -> &str {
        &self.task_id.step
    }

    /// The item index in the innermost enclosing foreach, if any.
    pub fn foreach_index(&self) -> Option<usize> {
        self.task_id.index.innermost()
    }

    /// The number of items in the innermost enclosing foreach, if any.
    pub fn foreach_count(&self) -> Option<usize> {
        self.foreach_counts.last().copied()
    }

    /// Attaches content to this task: `ctx.card().markdown("# Fit")`, `.table(...)`,
    /// `.image_png(...)`, `.svg(...)`, `.chart(...)`. The cards of the attempt that ends the
    /// task are stored with it and shown under it in the run report.
    pub fn card(&self) -> &Cards {
        &self.cards
    }
}
