use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {}

#[flow(timeout = "6 hours")]
impl F {
    #[step(next = end)]
    fn start(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct G {}

#[flow(timeout = "1500ms")]
impl G {
    #[step(next = end)]
    fn start(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
