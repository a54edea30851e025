use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    x: u32,
}

impl F {
    #[step(next = end)]
    fn start(&mut self) {}
}

fn main() {}
