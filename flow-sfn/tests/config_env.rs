//! Environment-variable fallbacks of the `step-functions` settings. One test in its own
//! binary, because it changes the process environment.

use clap::{Args, Command, FromArgMatches};
use flow_sfn::SfnArgs;

fn parse(argv: &[&str]) -> SfnArgs {
    let command = SfnArgs::augment_args(Command::new("create"));
    let matches = command.try_get_matches_from(argv).unwrap();
    SfnArgs::from_arg_matches(&matches).unwrap()
}

#[test]
fn flags_win_over_variables_and_missing_settings_name_both() {
    for var in [
        "FLOW_SFN_IMAGE",
        "FLOW_SFN_JOB_QUEUE",
        "FLOW_SFN_DATASTORE",
        "FLOW_SFN_ROLE_ARN",
        "FLOW_SFN_REGION",
        "AWS_REGION",
        "FLOW_SFN_STATE_MACHINE",
        "FLOW_SFN_BINARY_NAME",
        "FLOW_SFN_CPU",
    ] {
        std::env::remove_var(var);
    }
    let message = parse(&["create"]).resolve("F").unwrap_err().to_string();
    assert_eq!(
        message,
        "missing the container image of the Batch jobs: pass `--image` or set `FLOW_SFN_IMAGE`"
    );

    std::env::set_var("FLOW_SFN_IMAGE", "env-image:1");
    std::env::set_var("FLOW_SFN_JOB_QUEUE", "env-queue");
    let message = parse(&["create"]).resolve("F").unwrap_err().to_string();
    assert!(
        message.contains("`--datastore`") && message.contains("`FLOW_SFN_DATASTORE`"),
        "{message}"
    );

    std::env::set_var("FLOW_SFN_DATASTORE", "s3://env-bucket/p");
    std::env::set_var("FLOW_SFN_CPU", "2");
    std::env::set_var("FLOW_SFN_BINARY_NAME", "env-bin");
    std::env::set_var("AWS_REGION", "eu-west-1");
    let config = parse(&["create"]).resolve("F").unwrap();
    assert_eq!(config.image, "env-image:1");
    assert_eq!(config.job_queue, "env-queue");
    assert_eq!(config.datastore.to_string(), "s3://env-bucket/p");
    assert_eq!(config.default_cpu, 2);
    assert_eq!(config.binary_name, "env-bin");
    assert_eq!(config.state_machine_name, "F");
    assert_eq!(config.require_region().unwrap(), "eu-west-1");

    std::env::set_var("FLOW_SFN_REGION", "us-west-2");
    let config = parse(&[
        "create",
        "--image",
        "flag-image:2",
        "--state-machine",
        "Prod",
    ])
    .resolve("F")
    .unwrap();
    assert_eq!(config.image, "flag-image:2");
    assert_eq!(config.state_machine_name, "Prod");
    assert_eq!(
        config.require_region().unwrap(),
        "us-west-2",
        "FLOW_SFN_REGION beats AWS_REGION"
    );

    std::env::remove_var("FLOW_SFN_BINARY_NAME");
    let config = parse(&["create"]).resolve("F").unwrap();
    let exe = std::env::current_exe().unwrap();
    assert_eq!(
        config.binary_name,
        exe.file_name().unwrap().to_str().unwrap()
    );
}
