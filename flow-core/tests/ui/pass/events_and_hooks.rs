use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    items: Vec<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Params)]
pub struct P {
    /// The object's key.
    #[param(from_event = "detail.object.key")]
    key: String,
    /// The detail type.
    #[param(from_event = "detail-type")]
    kind: String,
}

#[flow(
    params = P,
    trigger_on_finish = ["Ingest", "Clean"],
    trigger(s3(bucket = "inbox", prefix = "in/", suffix = ".csv")),
    trigger(source = "com.acme", detail_type = "Order Placed"),
    trigger(pattern = r#"{"source": ["com.acme"], "detail": {"state": ["ready"]}}"#),
    on_failure = alert,
    on_success = report,
    timeout = "6h"
)]
impl F {
    #[step(foreach = items, next = body, max_concurrency = 20)]
    fn start(&mut self) {}
    #[step(next = join)]
    fn body(&mut self, item: &u32) {
        let _ = item;
    }
    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        let _ = inputs;
    }
    #[step]
    fn end(&mut self) {}

    fn alert(run: &RunEnd) -> Result<(), String> {
        Err(format!("{run}"))
    }

    fn report(_run: &flow_core::RunEnd) {}
}

fn main() {
    let g = F::graph();
    assert_eq!(g.trigger_on_finish, vec!["Ingest", "Clean"]);
    assert_eq!(g.event_triggers.len(), 3);
    let s3: serde_json::Value = serde_json::from_str(&g.event_triggers[0]).unwrap();
    assert_eq!(s3["detail"]["object"]["key"][0]["wildcard"], "in/*.csv");
    assert_eq!(s3["detail"]["bucket"]["name"][0], "inbox");
    let custom: serde_json::Value = serde_json::from_str(&g.event_triggers[1]).unwrap();
    assert_eq!(custom["detail-type"][0], "Order Placed");
    assert_eq!(g.hooks.on_failure.as_deref(), Some("alert"));
    assert_eq!(g.hooks.on_success.as_deref(), Some("report"));
    assert_eq!(g.timeout_secs, Some(6 * 3600));
    assert_eq!(g.step("start").unwrap().options.max_concurrency, Some(20));
    assert_eq!(g.params[0].from_event.as_deref(), Some("detail.object.key"));
    assert_eq!(g.params[1].from_event.as_deref(), Some("detail-type"));
    let end = RunEnd {
        flow: "F".into(),
        run_id: flow_core::RunId::new("r-1").unwrap(),
        outcome: RunOutcome::Failed,
        failed_step: None,
        error: None,
        duration: std::time::Duration::ZERO,
        trigger: None,
    };
    assert!(F::call_hook("alert", &end).unwrap_err().message.contains("r-1"));
    assert!(F::call_hook("report", &end).is_ok());
    assert!(F::call_hook("nope", &end).is_err());
}
