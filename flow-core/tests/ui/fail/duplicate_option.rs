use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    x: u32,
}

#[flow]
impl F {
    #[step(next = end, timeout = "1m", timeout = "2m")]
    fn start(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
