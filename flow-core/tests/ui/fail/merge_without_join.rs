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
    #[step(next = merge)]
    fn a(&mut self) {}
    #[step(next = merge)]
    fn b(&mut self) {}
    #[step(next = end)]
    fn merge(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
