use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
}

#[flow]
impl F {
    #[step(foreach = items, next = body, max_concurrency = 0)]
    fn start(&mut self) {}
    #[step(next = join, max_concurrency = 4)]
    fn body(&mut self, item: &u32) {
        let _ = item;
    }
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        let _ = inputs;
    }
    #[step]
    fn end(&mut self) {}
}

fn main() {}
