use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    x: u32,
}

#[flow]
impl F {
    #[step(foreach = items, next = item)]
    fn start(&mut self) {}
    #[step(next = join)]
    fn item(&mut self, _i: &String) {}
    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
