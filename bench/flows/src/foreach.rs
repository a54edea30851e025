//! Shape (b): a foreach over `--count` items (default 100), then a join. Twin of
//! `bench/metaflow/foreach.py`.
//!
//! The common pattern of a large fan-out: the items list is a field of the flow, so every
//! item inherits it, and the body is trivial. `--inherit-mib N` also gives `start` a field
//! of `N` MiB that no later step names, so what a task costs can be measured against the
//! size of the fields it inherits unchanged (e.g. `--count 100000 --inherit-mib 50`).

use flow_core::prelude::*;

/// Parameters of [`BenchForeachFlow`].
#[derive(Debug, Clone, Serialize, Deserialize, Params)]
pub struct ForeachParams {
    /// Number of foreach items.
    pub count: usize,
    /// MiB of random bytes set in start and read in every item.
    pub payload: usize,
    /// MiB of random bytes set in start that no later step reads or writes.
    pub inherit_mib: usize,
}

impl Default for ForeachParams {
    fn default() -> Self {
        ForeachParams {
            count: 100,
            payload: 0,
            inherit_mib: 0,
        }
    }
}

/// One trivial task per item.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BenchForeachFlow {
    /// The payload, set in `start`.
    pub blob: Vec<u8>,
    /// The payload's expected length.
    pub expected: usize,
    /// Set in `start` (`--inherit-mib`), inherited by every later task, never named again.
    pub inherited: Vec<u8>,
    /// The items fanned out over.
    pub elems: Vec<u64>,
    /// One item's result.
    pub value: u64,
    /// The sum of the results, set in `join`.
    pub total: u64,
}

#[flow(params = ForeachParams)]
impl BenchForeachFlow {
    /// Sets the payload, the inherited field and the items.
    #[step(foreach = elems, next = body)]
    fn start(&mut self, ctx: &Ctx<ForeachParams>) {
        self.blob = crate::payload(ctx.params.payload);
        self.expected = self.blob.len();
        self.inherited = crate::other_random_bytes(ctx.params.inherit_mib);
        self.elems = (0..ctx.params.count as u64).collect();
    }

    /// One item: reads the payload, doubles the item.
    #[step(next = join)]
    fn body(&mut self, item: &u64) {
        assert_eq!(self.blob.len(), self.expected, "the payload arrived whole");
        self.value = item * 2;
    }

    /// Sums the results.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.total = inputs.iter().map(|i| i.value).sum();
    }

    /// Checks the sum.
    #[step]
    fn end(&mut self) {
        let n = self.elems.len() as u64;
        assert_eq!(self.total, n * n.saturating_sub(1));
    }
}
