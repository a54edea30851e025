//! Shape (a): ten steps in a line. Twin of `bench/metaflow/linear.py`.

use flow_core::prelude::*;

/// Parameters of [`BenchLinearFlow`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct LinearParams {
    /// MiB of random bytes set in start and read in every step.
    pub payload: usize,
}

/// Ten trivial steps, each reading what the one before wrote.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BenchLinearFlow {
    /// The payload, set in `start`.
    pub blob: Vec<u8>,
    /// The payload's expected length.
    pub expected: usize,
    /// How many steps ran.
    pub count: u32,
}

impl BenchLinearFlow {
    fn touch(&mut self) {
        assert_eq!(self.blob.len(), self.expected, "the payload arrived whole");
        self.count += 1;
    }
}

#[flow(params = LinearParams)]
impl BenchLinearFlow {
    /// Sets the payload.
    #[step(next = s1)]
    fn start(&mut self, ctx: &Ctx<LinearParams>) {
        self.blob = crate::payload(ctx.params.payload);
        self.expected = self.blob.len();
        self.count = 1;
    }

    /// Step 2.
    #[step(next = s2)]
    fn s1(&mut self) {
        self.touch();
    }

    /// Step 3.
    #[step(next = s3)]
    fn s2(&mut self) {
        self.touch();
    }

    /// Step 4.
    #[step(next = s4)]
    fn s3(&mut self) {
        self.touch();
    }

    /// Step 5.
    #[step(next = s5)]
    fn s4(&mut self) {
        self.touch();
    }

    /// Step 6.
    #[step(next = s6)]
    fn s5(&mut self) {
        self.touch();
    }

    /// Step 7.
    #[step(next = s7)]
    fn s6(&mut self) {
        self.touch();
    }

    /// Step 8.
    #[step(next = s8)]
    fn s7(&mut self) {
        self.touch();
    }

    /// Step 9.
    #[step(next = end)]
    fn s8(&mut self) {
        self.touch();
    }

    /// Step 10.
    #[step]
    fn end(&mut self) {
        self.touch();
        assert_eq!(self.count, 10);
    }
}
