use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    x: u32,
}

#[flow]
impl F {
    #[step(next = a)]
    fn start(&mut self) {}
    #[step(next = b)]
    fn a(&mut self) {}
    #[step(switch = [a, end])]
    fn b(&mut self) -> BNext { BNext::End }
    #[step]
    fn end(&mut self) {}
}

fn main() {}
