use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct P(u32, String);

#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub enum Mode {
    #[default]
    Fast,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    x: u32,
}

// The flow that names `P` adds no error of its own.
#[flow(params = P)]
impl F {
    #[step(next = end)]
    fn start(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
