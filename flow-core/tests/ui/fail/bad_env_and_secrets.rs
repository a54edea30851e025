use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {}

#[flow]
impl F {
    #[step(next = work, env(AWS_BATCH_MODE = "x", GOOD = "y"), secrets("db-password"))]
    fn start(&mut self) {}
    #[step(
        next = end,
        env(DB = "local"),
        secrets(DB = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db")
    )]
    fn work(&mut self) {}
    #[step(env("no name"))]
    fn end(&mut self) {}
}

fn main() {}
