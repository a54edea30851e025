//! `SfnArgs::default()` is what the `step-functions` commands give with no flag and no
//! variable, so a `Deployment::new(SfnArgs { .., ..SfnArgs::default() })` compiles job
//! definitions with the commands' default vCPUs and memory. One test in its own binary,
//! because it clears the process environment's `FLOW_SFN_*` variables.

#[path = "../../examples/linear.rs"]
mod linear;

use clap::FromArgMatches;
use flow_core::Flow;
use flow_sfn::config::{DEFAULT_CPU, DEFAULT_MAX_FOREACH_CONCURRENCY, DEFAULT_MEMORY_MB};
use flow_sfn::{Deployment, SfnArgs};
use linear::LinearFlow;
use serde_json::json;

#[test]
fn the_default_settings_are_the_commands_defaults_and_compile_default_resources() {
    for (key, _) in std::env::vars() {
        if key.starts_with("FLOW_SFN_") {
            std::env::remove_var(key);
        }
    }
    let default = SfnArgs::default();
    assert_eq!(
        (
            default.cpu,
            default.memory_mb,
            default.max_foreach_concurrency
        ),
        (
            DEFAULT_CPU,
            DEFAULT_MEMORY_MB,
            DEFAULT_MAX_FOREACH_CONCURRENCY
        )
    );
    // Every field, against what the commands parse from no flag at all.
    for subcommand in ["create", "delete", "list-runs"] {
        let matches = flow_sfn::step_functions_command()
            .try_get_matches_from(["step-functions", subcommand])
            .unwrap_or_else(|e| panic!("step-functions {subcommand}: {e}"));
        let (name, sub) = matches.subcommand().unwrap();
        assert_eq!(name, subcommand);
        let parsed = SfnArgs::from_arg_matches(sub).unwrap();
        assert_eq!(default, parsed, "step-functions {subcommand}");
    }

    // What `create` compiles for a deployment built from the defaults and the settings it
    // needs: the steps' jobs get the default vCPUs and memory.
    let deployment = Deployment::<LinearFlow>::new(SfnArgs {
        image: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/flows:latest".into()),
        job_queue: Some("flows".into()),
        datastore: Some("s3://flows-bucket/flows".into()),
        binary_name: Some("linear".into()),
        ..SfnArgs::default()
    });
    let graph = LinearFlow::graph();
    let config = deployment
        .settings()
        .resolve_flow(graph)
        .expect("the default settings resolve");
    assert_eq!(
        (
            config.default_cpu,
            config.default_memory_mb,
            config.max_foreach_concurrency
        ),
        (
            DEFAULT_CPU,
            DEFAULT_MEMORY_MB,
            DEFAULT_MAX_FOREACH_CONCURRENCY
        )
    );
    let compiled =
        flow_sfn::compile(graph, LinearFlow::analysis(), &config).expect("the flow compiles");
    assert!(!compiled.job_definitions.is_empty());
    for definition in &compiled.job_definitions {
        assert_eq!(
            definition["containerProperties"]["resourceRequirements"],
            json!([
                {"type": "VCPU", "value": DEFAULT_CPU.to_string()},
                {"type": "MEMORY", "value": DEFAULT_MEMORY_MB.to_string()}
            ]),
            "{definition}"
        );
    }
}
