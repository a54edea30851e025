use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    x: u32,
}

// A wrong return type is underlined whole, for sync, async and switch steps alike.
#[flow]
impl F {
    #[step(next = a)]
    fn start(&mut self) -> Result<u32, String> { Ok(1) }
    #[step(next = b)]
    async fn a(&mut self) -> Option<Vec<u8>> { None }
    #[step(switch = [c, end])]
    fn b(&mut self) -> Result<(), std::io::Error> { Ok(()) }
    #[step(next = end)]
    fn c(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
