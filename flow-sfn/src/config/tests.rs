use super::*;

#[test]
fn s3_roots() {
    let root = S3Root::parse("s3://my-bucket/some/prefix/").unwrap();
    assert_eq!(root.bucket(), "my-bucket");
    assert_eq!(root.prefix(), "some/prefix");
    assert_eq!(
        root.key("F/runs/r/run.json"),
        "some/prefix/F/runs/r/run.json"
    );
    assert_eq!(root.to_string(), "s3://my-bucket/some/prefix");
    let bare = S3Root::parse("s3://bucket").unwrap();
    assert_eq!(bare.key("k"), "k");
    assert_eq!(bare.to_string(), "s3://bucket");
}

#[test]
fn bad_s3_roots_say_what_is_wrong() {
    let cases = [
        ("/tmp/flow", "in S3"),
        ("s3://", "bucket name"),
        ("s3://UPPER", "bucket name"),
        ("s3://ab", "bucket name"),
        ("s3://-bucket", "bucket name"),
        ("s3://bucket//double", "prefix"),
        ("s3://bucket/../up", "prefix"),
        ("s3://bucket/quote'd", "prefix"),
        ("s3://bucket/{brace}", "prefix"),
    ];
    for (uri, expected) in cases {
        let message = S3Root::parse(uri).unwrap_err().to_string();
        assert!(message.contains(expected), "{uri}: {message}");
        assert!(
            message.contains("--datastore / FLOW_SFN_DATASTORE"),
            "{message}"
        );
    }
}

fn args() -> SfnArgs {
    SfnArgs {
        image: Some("repo/flow:1".into()),
        job_queue: Some("queue".into()),
        datastore: Some("s3://bucket/flows".into()),
        binary_name: Some("movie".into()),
        cpu: DEFAULT_CPU,
        memory_mb: DEFAULT_MEMORY_MB,
        max_foreach_concurrency: DEFAULT_MAX_FOREACH_CONCURRENCY,
        ..SfnArgs::default()
    }
}

#[test]
fn resolves_with_defaults() {
    let config = args().resolve("MovieFlow").unwrap();
    assert_eq!(config.state_machine_name, "MovieFlow");
    assert_eq!(config.binary_name, "movie");
    assert_eq!(config.default_cpu, 1);
    assert!(config.require_role_arn().is_err());
}

#[test]
fn a_missing_setting_names_flag_and_variable() {
    type Clear = fn(&mut SfnArgs);
    let cases: [(Clear, &str, &str); 3] = [
        (|a| a.image = None, "--image", "FLOW_SFN_IMAGE"),
        (|a| a.job_queue = None, "--job-queue", "FLOW_SFN_JOB_QUEUE"),
        (
            |a| a.datastore = Some(" ".into()),
            "--datastore",
            "FLOW_SFN_DATASTORE",
        ),
    ];
    for (clear, flag, env) in cases {
        let mut a = args();
        clear(&mut a);
        let message = a.resolve("F").unwrap_err().to_string();
        assert!(message.contains(flag) && message.contains(env), "{message}");
    }
    let message = args()
        .resolve("F")
        .unwrap()
        .require_role_arn()
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "missing the IAM role ARN of the state machine: pass `--role-arn` or set `FLOW_SFN_ROLE_ARN`"
    );
}

#[test]
fn aws_tags_follow_the_aws_rules() {
    assert_eq!(
        AwsTag::parse("team=data science").unwrap(),
        AwsTag {
            key: "team".into(),
            value: "data science".into()
        }
    );
    assert_eq!(AwsTag::parse("url=a=b").unwrap().value, "a=b");
    assert_eq!(AwsTag::parse("empty=").unwrap().value, "");
    for (bad, why) in [
        ("no-equals", "KEY=VALUE"),
        ("=v", "1 to 128"),
        ("AWS:owner=me", "reserved"),
        ("k=semi;colon", "`;`"),
        (&format!("{}=v", "k".repeat(129)), "1 to 128"),
        (&format!("k={}", "v".repeat(257)), "at most 256"),
    ] {
        let message = AwsTag::parse(bad).unwrap_err().to_string();
        assert!(
            message.contains(why) && message.contains("--aws-tag"),
            "{bad}: {message}"
        );
    }
    assert_eq!(AwsTag::from_flow_tag("nightly").unwrap().value, "");
    assert!(AwsTag::from_flow_tag("aws:x").is_err());
}

#[test]
fn resource_tags_merge_flow_tags_and_aws_tags() {
    let mut graph = FlowGraph::new("F", Vec::new());
    graph.tags = vec!["nightly".into(), "team=ml".into()];
    let mut a = args();
    a.aws_tags = vec!["team=data".into(), "cost=42".into()];
    let tags = a.resolve("F").unwrap().resource_tags(&graph, 1).unwrap();
    let pairs: Vec<(&str, &str)> = tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("cost", "42"),
            ("flowrs:flow", "F"),
            ("nightly", ""),
            ("team", "data")
        ]
    );
    let mut a = args();
    a.aws_tags = (0..48).map(|i| format!("k{i}=v")).collect();
    let config = a.resolve("F").unwrap();
    assert!(config
        .resource_tags(&FlowGraph::new("F", Vec::new()), 1)
        .is_ok());
    let message = config
        .resource_tags(&FlowGraph::new("F", Vec::new()), 2)
        .unwrap_err()
        .to_string();
    assert!(message.contains("50 tags"), "{message}");
}

#[test]
fn invalid_settings_are_rejected() {
    let mut a = args();
    a.state_machine = Some("has space".into());
    assert!(a
        .resolve("F")
        .unwrap_err()
        .to_string()
        .contains("state machine name"));
    let mut a = args();
    a.job_role_arn = Some("not-an-arn".into());
    assert!(a
        .resolve("F")
        .unwrap_err()
        .to_string()
        .contains("FLOW_SFN_JOB_ROLE_ARN"));
    let mut a = args();
    a.max_foreach_concurrency = 20_000;
    assert!(a.resolve("F").unwrap_err().to_string().contains("10000"));
    let mut a = args();
    a.binary_name = Some("bin/flow".into());
    assert!(a
        .resolve("F")
        .unwrap_err()
        .to_string()
        .contains("binary name"));
    let mut a = args();
    a.role_arn = Some("arn:aws:iam::123456789012:role/sfn".into());
    let config = a.resolve("F").unwrap();
    assert_eq!(
        config.require_role_arn().unwrap(),
        "arn:aws:iam::123456789012:role/sfn"
    );
}

#[test]
fn fargate_settings_need_an_execution_role_and_a_valid_log_group() {
    let mut a = args();
    a.compute = Some(Compute::Fargate);
    let message = a.resolve("F").unwrap_err().to_string();
    assert!(
        message.contains("--execution-role") && message.contains("FLOW_SFN_EXECUTION_ROLE"),
        "{message}"
    );
    // An empty variable is no role.
    a.execution_role = Some(String::new());
    assert!(a.resolve("F").is_err());
    a.execution_role = Some("exec".into());
    let message = a.resolve("F").unwrap_err().to_string();
    assert!(message.contains("invalid IAM role ARN `exec`"), "{message}");
    a.execution_role = Some("arn:aws:iam::123456789012:role/exec".into());
    a.log_group = Some("bad group".into());
    let message = a.resolve("F").unwrap_err().to_string();
    assert!(message.contains("FLOW_SFN_LOG_GROUP"), "{message}");
    a.log_group = Some("/flows/movie".into());
    a.assign_public_ip = true;
    let config = a.resolve("F").unwrap();
    assert_eq!(config.compute, Compute::Fargate);
    let fargate = config.fargate.unwrap();
    assert_eq!(
        fargate.execution_role_arn,
        "arn:aws:iam::123456789012:role/exec"
    );
    assert_eq!(fargate.log_group.as_deref(), Some("/flows/movie"));
    assert!(fargate.assign_public_ip);
    // EC2 kinds ignore the Fargate settings.
    a.compute = Some(Compute::Spot);
    assert_eq!(a.resolve("F").unwrap().fargate, None);
    assert_eq!(args().resolve("F").unwrap().compute, Compute::Ec2);
}

#[test]
fn a_schedule_role_is_required_only_when_asked_for() {
    let message = args()
        .resolve("F")
        .unwrap()
        .require_schedule_role_arn()
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("--schedule-role")
            && message.contains("FLOW_SFN_SCHEDULE_ROLE")
            && message.contains("events.amazonaws.com")
            && message.contains("ScheduleRoleArn"),
        "{message}"
    );
    let mut a = args();
    a.schedule_role = Some(" ".into());
    assert!(a.resolve("F").unwrap().schedule_role_arn.is_none());
    a.schedule_role = Some("arn:aws:iam::123456789012:role/schedule".into());
    assert_eq!(
        a.resolve("F").unwrap().require_schedule_role_arn().unwrap(),
        "arn:aws:iam::123456789012:role/schedule"
    );
}
