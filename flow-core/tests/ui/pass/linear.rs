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
    #[step(next = a)]
    fn start(&mut self) {}
    #[step(next = end)]
    fn a(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {
    assert!(matches!(F::graph().step("a").unwrap().transition, Transition::Next(_)));
}
