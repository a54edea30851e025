use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {}

#[flow(
    trigger(pattern = r#"{"source": ["com.acme"]"#),
    trigger(pattern = r#"{"source": "com.acme"}"#),
    trigger(pattern = r#"["com.acme"]"#),
    trigger(s3(prefix = "in/")),
    trigger(s3(bucket = "Bad_Bucket")),
    trigger(s3(bucket = "b-1"), source = "com.acme"),
    trigger()
)]
impl F {
    #[step(next = end)]
    fn start(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {}
