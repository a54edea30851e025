use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    x: u32,
}

#[flow]
impl F {
    #[step(next = [a, b])]
    fn start(&mut self) {}
    #[step(foreach = items, next = item)]
    fn a(&mut self) {}
    #[step(next = join)]
    fn item(&mut self, _i: &u32) {}
    #[step(next = join)]
    fn b(&mut self) {}
    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
