use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    x: u32,
}

// Every bad option is reported at once, each underlined whole; the good ones are still read.
#[flow]
impl F {
    #[step(retyr = 3, next = end, timeout = 10 * 60, catch = "yes", timeout = "1m",
           resources(cpu = 2, cpus = 4, memory = "4 GiB"), batch = "image")]
    fn start(&mut self) {}
    #[step(next = [a, b.c], switch = a)]
    fn a(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
