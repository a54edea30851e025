use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {}

#[flow(on_failure = alert, on_success = report)]
impl F {
    #[step(next = end)]
    fn start(&mut self) {}
    #[step]
    fn end(&mut self) {}

    fn alert(run: &String) {
        eprintln!("{run}");
    }

    fn report(run: &RunEnd) -> u32 {
        run.run_id.as_str().len() as u32
    }
}

fn main() {}
