use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
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
    #[step(next = other_join)]
    fn c(&mut self) {}
    #[step(next = other_join)]
    fn join(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = end)]
    fn other_join(&mut self, _inputs: Inputs<Self>) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
