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
    #[step(foreach = items, next = fan)]
    fn start(&mut self) {}
    #[step(next = [a, b])]
    fn fan(&mut self, i: &u32) {}
    #[step(next = ab)]
    fn a(&mut self) {}
    #[step(foreach = names, next = n)]
    fn b(&mut self) {}
    #[step(next = nj)]
    fn n(&mut self, name: &String) {}
    #[step(next = ab)]
    fn nj(&mut self, inputs: Inputs<Self>) {}
    #[step(next = join)]
    fn ab(&mut self, inputs: Inputs<Self>) {}
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {
    assert_eq!(F::analysis().join_of.len(), 3);
}
