use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    x: u32,
}

// With a mistake in the flow, code that uses the flow, its steps and its switch enum still
// resolves: the build shows the mistake alone, with no further error or warning.
#[flow]
impl F {
    #[step(next = chose)]
    fn start(&mut self) {}
    #[step(switch = [a, end])]
    fn choose(&mut self) -> ChooseNext {
        if self.x > 1 { ChooseNext::A } else { ChooseNext::End }
    }
    #[step(next = end)]
    fn a(&mut self, item: &u32) { self.x = *item; }
    #[step]
    fn end(&mut self) {}
}

fn main() {
    let graph = F::graph();
    println!("{} {}", graph.name, ChooseNext::A.step_name());
}
