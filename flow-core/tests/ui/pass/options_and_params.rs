use flow_core::prelude::*;
use flow_core::graph::Transition;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    names: Vec<String>,
    x: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Params)]
pub struct P {
    /// How many.
    count: usize,
    /// Who.
    name: String,
}
impl Default for P {
    fn default() -> Self { P { count: 3, name: "x".into() } }
}

#[flow(params = P, schedule = "rate(1 day)", tags = ["a", "b"])]
impl F {
    #[step(next = end, retry(times = 3, backoff = "2s"), timeout = "10m", catch,
           resources(cpu = 2, memory = 4096, gpu = 1),
           batch(image = "img", queue = "q", job_role = "arn:aws:iam::1:role/r"))]
    fn start(&mut self, ctx: &Ctx<P>) { self.x = ctx.params.count as u32; }
    #[step(retry = 1)]
    fn end(&mut self) {}
}

fn main() {
    let s = F::graph().step("start").unwrap(); assert_eq!(s.options.timeout_secs, Some(600)); assert_eq!(s.options.retry.unwrap().backoff_ms, 2000); assert_eq!(F::graph().params.len(), 2); assert_eq!(F::graph().tags, vec!["a", "b"]);
}
