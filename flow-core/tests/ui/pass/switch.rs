use flow_core::prelude::*;
use flow_core::graph::Transition;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    names: Vec<String>,
    x: u32,
}

#[flow]
impl F {
    #[step(switch = [high, low, end])]
    fn start(&mut self) -> StartNext { if self.x > 1 { StartNext::High } else { StartNext::Low } }
    #[step(next = report)]
    fn high(&mut self) {}
    #[step(next = report)]
    fn low(&mut self) {}
    #[step(next = end)]
    fn report(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {
    assert_eq!(StartNext::Low.step_name(), "low");
}
