use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {}

#[flow(on_failure = alart, on_success = start)]
impl F {
    #[step(next = end)]
    fn start(&mut self) {}
    #[step]
    fn end(&mut self) {}

    fn alert(run: &RunEnd) {
        eprintln!("{run}");
    }
}

fn main() {}
