//! Shape (c): a static split into ten branches, then a join. Twin of
//! `bench/metaflow/split.py`.

use flow_core::prelude::*;

/// Parameters of [`BenchSplitFlow`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct SplitParams {
    /// MiB of random bytes set in start and read in every branch.
    pub payload: usize,
}

/// Ten trivial branches.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BenchSplitFlow {
    /// The payload, set in `start`.
    pub blob: Vec<u8>,
    /// The payload's expected length.
    pub expected: usize,
    /// One branch's result.
    pub value: u64,
    /// The sum of the results, set in `join`.
    pub total: u64,
}

impl BenchSplitFlow {
    fn branch(&mut self, value: u64) {
        assert_eq!(self.blob.len(), self.expected, "the payload arrived whole");
        self.value = value;
    }
}

#[flow(params = SplitParams)]
impl BenchSplitFlow {
    /// Sets the payload.
    #[step(next = [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9])]
    fn start(&mut self, ctx: &Ctx<SplitParams>) {
        self.blob = crate::payload(ctx.params.payload);
        self.expected = self.blob.len();
    }

    /// Branch 0.
    #[step(next = join)]
    fn b0(&mut self) {
        self.branch(0);
    }

    /// Branch 1.
    #[step(next = join)]
    fn b1(&mut self) {
        self.branch(1);
    }

    /// Branch 2.
    #[step(next = join)]
    fn b2(&mut self) {
        self.branch(2);
    }

    /// Branch 3.
    #[step(next = join)]
    fn b3(&mut self) {
        self.branch(3);
    }

    /// Branch 4.
    #[step(next = join)]
    fn b4(&mut self) {
        self.branch(4);
    }

    /// Branch 5.
    #[step(next = join)]
    fn b5(&mut self) {
        self.branch(5);
    }

    /// Branch 6.
    #[step(next = join)]
    fn b6(&mut self) {
        self.branch(6);
    }

    /// Branch 7.
    #[step(next = join)]
    fn b7(&mut self) {
        self.branch(7);
    }

    /// Branch 8.
    #[step(next = join)]
    fn b8(&mut self) {
        self.branch(8);
    }

    /// Branch 9.
    #[step(next = join)]
    fn b9(&mut self) {
        self.branch(9);
    }

    /// Sums the results.
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.total = inputs.iter().map(|i| i.value).sum();
    }

    /// Checks the sum.
    #[step]
    fn end(&mut self) {
        assert_eq!(self.total, 45);
    }
}
