use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct P {
    #[param(from_event = "detail..key")]
    key: String,
    #[param(from_event = "object.key")]
    other: String,
    #[param(from = "detail.x")]
    third: String,
}

fn main() {}
