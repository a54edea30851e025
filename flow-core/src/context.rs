//! What a running step knows about itself: params, run and task ids, attempt; and where it
//! attaches cards to its task.

use crate::card::Cards;
use crate::datastore::{ObjectStore, Trigger};
use crate::ids::{RunId, TaskId};
use crate::params::NoParams;
use std::sync::Arc;

/// What started a run: the upstream run whose success triggered it, or the event; neither
/// for a run started by hand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartedBy {
    /// The upstream flow and run (`trigger_on_finish`, or `run --triggered-by`).
    pub trigger: Option<Trigger>,
    /// The event (`trigger(...)`, or `run --event FILE.json`).
    pub event: Option<Arc<serde_json::Value>>,
    /// The run's tags, system tags included (see [`Ctx::tags`]).
    pub tags: Arc<crate::tags::Tags>,
    /// The steps' variables and secrets (see [`Ctx::env`]); set by the scheduler.
    pub env: Arc<crate::environment::RunEnvironment>,
}

impl StartedBy {
    /// What a run record says started its run.
    pub fn of_run(record: &crate::datastore::RunRecord) -> StartedBy {
        StartedBy {
            trigger: record.trigger.clone(),
            event: record.event.clone().map(Arc::new),
            tags: Arc::new(record.tags.clone()),
            env: Arc::default(),
        }
    }
}

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
    /// What started the run (see [`Ctx::trigger`] and [`Ctx::event`]).
    pub started_by: StartedBy,
    /// The datastore the run is stored in (see [`Ctx::datastore`]).
    pub datastore: Option<Arc<dyn ObjectStore>>,
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

    /// The datastore this run is stored in (a directory, or S3 on Step Functions); `None`
    /// only for a context built outside a run. Other flows' runs are stored there too.
    pub fn datastore(&self) -> Option<&Arc<dyn ObjectStore>> {
        self.datastore.as_ref()
    }

    /// The upstream flow and run whose success started this run (`trigger_on_finish`, or
    /// `run --triggered-by`); `None` for a run started otherwise. Open its artifacts with
    /// `Client::<Upstream>::new(ctx.datastore()?.clone()).run(&trigger.run_id)`
    /// ([`crate::client::Client`]).
    pub fn trigger(&self) -> Option<&Trigger> {
        self.started_by.trigger.as_ref()
    }

    /// The event that started this run (`trigger(...)`, or `run --event FILE.json`).
    pub fn event(&self) -> Option<&serde_json::Value> {
        self.started_by.event.as_deref()
    }

    /// The run's tags (`run --tag k=v`, `step-functions trigger --tag k=v`) and its system
    /// tags (who and what started it: [`crate::tags::SYSTEM_TAG_KEYS`]).
    pub fn tags(&self) -> &crate::tags::Tags {
        &self.started_by.tags
    }

    /// A variable of this step's `env(KEY = "value")` or `secrets(...)` option, on every
    /// backend; `None` for a key the step does not declare. A secret's value is for the
    /// step to use: never log it or store it in an artifact.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.started_by.env.get(&self.task_id.step, key)
    }
}
