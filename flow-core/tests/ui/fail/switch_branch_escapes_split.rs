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
    #[step(switch = [x, y])]
    fn a(&mut self) -> ANext { ANext::X }
    #[step(next = join)]
    fn x(&mut self) {}
    #[step(next = end)]
    fn y(&mut self) {}
    #[step(next = join)]
    fn b(&mut self) {}
    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
