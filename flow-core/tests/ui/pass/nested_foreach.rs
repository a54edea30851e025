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
    #[step(foreach = items, next = outer)]
    fn start(&mut self) {}
    #[step(foreach = names, next = inner)]
    fn outer(&mut self, i: &u32) {}
    #[step(next = inner_join)]
    fn inner(&mut self, n: &String) {}
    #[step(next = outer_join)]
    fn inner_join(&mut self, inputs: Inputs<Self>) {}
    #[step(next = end)]
    fn outer_join(&mut self, inputs: Inputs<Self>) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {
    assert_eq!(F::analysis().foreach_depth(F::graph().index_of("inner").unwrap()), 2);
}
