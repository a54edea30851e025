use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {}

#[flow(on_failure = alert, on_success = report)]
impl F {
    #[step(next = end)]
    fn start(&mut self) {}
    #[step]
    fn end(&mut self) {}

    fn alert(&self, run: &RunEnd) {
        eprintln!("{run}");
    }

    async fn report(run: &RunEnd, extra: u32) {
        eprintln!("{run} {extra}");
    }
}

fn main() {}
