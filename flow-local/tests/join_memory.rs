//! A join's memory budget: branches arriving past it are held encoded (each distinct blob
//! once) and decoded when the join reads them. Whatever the budget, a join sees the same
//! inputs, merges the same way, and the run stores the same results.

use flow_core::prelude::*;
use flow_local::Runner;

const ITEMS: u32 = 40;
const PAYLOAD: usize = 64 * 1024;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BigParentFlow {
    /// Inherited unchanged by every item and branch.
    pub payload: Vec<u8>,
    pub items: Vec<u32>,
    pub doubled: u32,
    pub results: Vec<u32>,
    /// How many of the foreach join's inputs were held as states.
    pub held: usize,
    /// The same for the static split's join.
    pub split_held: usize,
    pub left: u32,
    pub right: u32,
    pub sides: Vec<u32>,
}

#[flow]
impl BigParentFlow {
    #[step(foreach = items, next = double)]
    fn start(&mut self) {
        self.payload = (0..PAYLOAD).map(|i| (i % 251) as u8).collect();
        self.items = (0..ITEMS).collect();
    }

    #[step(next = gather)]
    fn double(&mut self, item: &u32) {
        assert_eq!(self.payload.len(), PAYLOAD);
        self.doubled = item * 2;
    }

    #[step(next = [left, right])]
    fn gather(&mut self, inputs: Inputs<Self>) {
        self.held = inputs.held_as_states();
        self.results = inputs.iter().map(|i| i.doubled).collect();
        // Every input carries the payload, unchanged: merging keeps it.
        inputs
            .merge_artifacts(self, &["doubled", "held", "results"])
            .expect("the inputs agree on the payload");
    }

    #[step(next = sides)]
    fn left(&mut self) {
        self.left = self.payload.iter().map(|&b| u32::from(b)).sum();
    }

    #[step(next = sides)]
    fn right(&mut self) {
        self.right = self.payload.len() as u32;
    }

    #[step(next = end)]
    fn sides(&mut self, inputs: Inputs<Self>) {
        self.split_held = inputs.held_as_states();
        let left = inputs.from_step("left").expect("left arrived");
        let right = inputs.from_step("right").expect("right arrived");
        self.sides = vec![left.left, right.right];
        inputs
            .merge_artifacts(self, &["left", "right", "sides", "split_held"])
            .expect("the branches agree on everything else");
    }

    #[step]
    fn end(&mut self) {}
}

async fn run_with(join_memory: Option<u64>) -> BigParentFlow {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = Runner::<BigParentFlow>::new()
        .datastore(dir.path())
        .max_workers(2);
    if let Some(bytes) = join_memory {
        runner = runner.join_memory(bytes);
    }
    let run = runner.run().await.unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    // What the run stored is what the scheduler returned.
    let stored = run.stored().await.unwrap().end_state().await.unwrap();
    let end = run.end_state().await.unwrap();
    assert_eq!(stored.results, end.results);
    assert_eq!(stored.payload, end.payload);
    end
}

fn check(end: &BigParentFlow) {
    let expected: Vec<u32> = (0..ITEMS).map(|i| i * 2).collect();
    assert_eq!(end.results, expected);
    assert_eq!(end.payload.len(), PAYLOAD, "merged from the inputs");
    let sum: u32 = (0..PAYLOAD).map(|i| (i % 251) as u32).sum();
    assert_eq!(end.sides, vec![sum, PAYLOAD as u32]);
}

#[tokio::test]
async fn the_default_budget_holds_small_joins_as_states() {
    let end = run_with(None).await;
    check(&end);
    assert_eq!(end.held, ITEMS as usize);
    assert_eq!(end.split_held, 2);
}

#[tokio::test]
async fn a_zero_budget_holds_every_input_encoded_and_the_join_sees_the_same() {
    let end = run_with(Some(0)).await;
    check(&end);
    assert_eq!(end.held, 0);
    assert_eq!(end.split_held, 0);
}

#[tokio::test]
async fn past_the_budget_later_inputs_are_held_encoded() {
    // Room for about five item states (each a bit over the payload).
    let budget = 5 * PAYLOAD as u64 + PAYLOAD as u64 / 2;
    let end = run_with(Some(budget)).await;
    check(&end);
    assert_eq!(end.held, 5);
}
