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
    #[step(next = end)]
    fn a(&mut self, item: &u32) { self.x = *item; }
    #[step]
    fn end(&mut self) {}
}

fn main() {}
