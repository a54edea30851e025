use super::*;
use flow_graph::{StepSpec, Transition};

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-xyz";

fn graph() -> FlowGraph {
    let mut start = StepSpec::new("start", Transition::Next("end".into()));
    start.options.env.insert("MODE".into(), "fast".into());
    start.options.secrets.insert("DB_XYZ".into(), ARN.into());
    FlowGraph::new(
        "EnvFlow",
        vec![start, StepSpec::new("end", Transition::End)],
    )
}

#[test]
fn a_local_run_gets_each_steps_env_and_secrets_by_name_or_arn() {
    let by_name = BTreeMap::from([("DB_XYZ".to_string(), "s3cr3t".to_string())]);
    let env = RunEnvironment::local(&graph(), &by_name).unwrap();
    assert_eq!(env.get("start", "MODE"), Some("fast"));
    assert_eq!(env.get("start", "DB_XYZ"), Some("s3cr3t"));
    // Only what the step declares.
    assert_eq!(env.get("end", "MODE"), None);
    assert_eq!(env.get("start", "PATH"), None);
    let by_arn = BTreeMap::from([(ARN.to_string(), "other".to_string())]);
    let env = RunEnvironment::local(&graph(), &by_arn).unwrap();
    assert_eq!(env.get("start", "DB_XYZ"), Some("other"));
}

#[test]
fn a_missing_secret_is_an_error_naming_how_to_give_it() {
    let err = RunEnvironment::local(&graph(), &BTreeMap::new()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("step `start` reads secret `DB_XYZ`"),
        "{text}"
    );
    assert!(text.contains("--secret DB_XYZ=VALUE"), "{text}");
}

#[test]
fn debug_never_shows_a_value() {
    let secrets = BTreeMap::from([("DB_XYZ".to_string(), "s3cr3t".to_string())]);
    let env = RunEnvironment::local(&graph(), &secrets).unwrap();
    let debug = format!("{env:?}");
    assert!(
        debug.contains("DB_XYZ") && !debug.contains("s3cr3t"),
        "{debug}"
    );
}
