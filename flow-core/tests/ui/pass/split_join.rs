use flow_core::prelude::*;
use flow_core::graph::Transition;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    names: Vec<String>,
    x: u32,
}

#[flow]
impl F {
    #[step(next = [a, b, c])]
    fn start(&mut self) {}
    #[step(next = join)]
    fn a(&mut self) {}
    #[step(next = join)]
    fn b(&mut self) {}
    #[step(next = join)]
    fn c(&mut self) {}
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) { self.x = inputs.iter().map(|i| i.x).sum(); }
    #[step]
    fn end(&mut self) {}
}

fn main() {
    assert!(F::graph().step("join").unwrap().join);
}
