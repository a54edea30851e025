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
    #[step(foreach = names, next = by_ref)]
    fn start(&mut self) {}
    #[step(next = join)]
    fn by_ref(&mut self, name: &String) { self.x = name.len() as u32; }
    #[step(next = again)]
    fn join(&mut self, inputs: Inputs<Self>) {}
    #[step(foreach = items, next = by_value)]
    fn again(&mut self) {}
    #[step(next = join2)]
    fn by_value(&mut self, item: u32) { self.x = item; }
    #[step(next = end)]
    fn join2(&mut self, inputs: Inputs<Self>) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {
    assert_eq!(F { items: vec![1, 2], ..F::default() }.foreach_len("again"), Some(2));
}
