use flow_core::prelude::*;
use flow_core::graph::Transition;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
    names: Vec<String>,
    x: u32,
}

#[derive(Debug)]
struct MyError;
impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("my error") }
}

#[flow]
impl F {
    #[step(next = a)]
    async fn start(&mut self) {}
    #[step(next = b)]
    fn a(&mut self) -> Result<(), MyError> { Ok(()) }
    #[step(next = c)]
    async fn b(&mut self, ctx: &Ctx) -> Result<(), String> { Ok(()) }
    #[step(switch = [d, end])]
    async fn c(&mut self) -> Result<CNext, std::io::Error> { Ok(CNext::D) }
    #[step(next = end)]
    fn d(&mut self) -> anyhow_like::Result<()> { Ok(()) }
    #[step]
    fn end(&mut self) {}
}

mod anyhow_like {
    pub type Result<T> = std::result::Result<T, String>;
}

fn main() {
    assert!(F::graph().step("b").unwrap().is_async);
}
