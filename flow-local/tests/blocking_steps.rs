//! A sync step may block on the runtime (`Handle::current().block_on(...)`) to call async
//! code in every task, also once its tasks are fast enough to run on the scheduler's own
//! thread: that thread is a runtime worker, and a plain call there would make `block_on`
//! panic ("Cannot start a runtime from within a runtime"); the step runs in
//! `block_in_place`, which tells the runtime the thread blocks.

use flow_core::prelude::*;
use flow_local::Runner;

const ITEMS: u64 = 3000;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BlocksOnRuntime {
    pub items: Vec<u64>,
    pub value: u64,
    pub total: u64,
}

#[flow]
impl BlocksOnRuntime {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.items = (0..ITEMS).collect();
    }

    /// Trivial and fast, and it blocks on the runtime for an async value.
    #[step(next = join)]
    fn body(&mut self, item: &u64) {
        self.value = tokio::runtime::Handle::current().block_on(async { *item * 2 });
    }

    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.total = inputs.iter().map(|i| i.value).sum();
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_sync_step_may_block_on_the_runtime_in_every_task() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<BlocksOnRuntime>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let end = run.end_state().await.unwrap();
    assert_eq!(end.total, ITEMS * (ITEMS - 1));
}
