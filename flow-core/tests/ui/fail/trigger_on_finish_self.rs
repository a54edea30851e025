use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Nightly {}

#[flow(trigger_on_finish = ["Ingest", "Nightly", "Ingest", "not a flow"])]
impl Nightly {
    #[step(next = end)]
    fn start(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
