use super::*;
use flow_graph::{StepSpec, Transition};

fn graph() -> FlowGraph {
    FlowGraph::new(
        "HelloFlow",
        vec![
            StepSpec::new("start", Transition::Next("hello".into())),
            StepSpec::new("hello", Transition::Next("end".into())),
            StepSpec::new("end", Transition::End),
        ],
    )
}

#[test]
fn the_template_is_deterministic_and_has_the_outputs_create_needs() {
    let settings = InfraSettings::new("Hello", Compute::Ec2);
    let template = template(&graph(), &settings).unwrap();
    assert_eq!(super::template(&graph(), &settings).unwrap(), template);
    let outputs = template["Outputs"].as_object().unwrap();
    // Every output `create --stack` requires, so a stack made from this template serves it.
    for name in crate::config::stack::REQUIRED_OUTPUTS {
        assert!(outputs.contains_key(name), "{name}");
    }
    assert_eq!(outputs["Compute"]["Value"], "ec2");
    assert!(!outputs.contains_key("ExecutionRoleArn"));
    assert!(!outputs.contains_key("ScheduleRoleArn"));
    let resources = template["Resources"].as_object().unwrap();
    assert_eq!(
        resources["ComputeEnvironment"]["Properties"]["ComputeResources"]["AllocationStrategy"],
        "BEST_FIT_PROGRESSIVE"
    );
    assert!(resources.contains_key("InstanceProfile"));
    assert!(!resources.contains_key("ScheduleRole"));
    assert_eq!(
        resources["DatastoreBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]["Prefix"],
        "HelloFlow/sfn-map-results/"
    );
}

#[test]
fn each_compute_kind_gets_its_environment() {
    for compute in Compute::ALL {
        let template = template(&graph(), &InfraSettings::new("Hello", compute)).unwrap();
        let resources = template["Resources"].as_object().unwrap();
        let environment = &resources["ComputeEnvironment"]["Properties"]["ComputeResources"];
        assert_eq!(environment["Type"], compute.batch_type());
        assert_eq!(
            resources.contains_key("InstanceRole"),
            !compute.is_fargate()
        );
        assert_eq!(
            resources.contains_key("ExecutionRole"),
            compute.is_fargate()
        );
        assert_eq!(
            template["Outputs"]
                .as_object()
                .unwrap()
                .contains_key("ExecutionRoleArn"),
            compute.is_fargate()
        );
        if compute == Compute::Spot {
            assert_eq!(environment["AllocationStrategy"], "SPOT_CAPACITY_OPTIMIZED");
        }
        if compute.is_fargate() {
            assert!(environment.get("InstanceRole").is_none());
        }
    }
}

#[test]
fn a_scheduled_flow_gets_a_schedule_role() {
    let mut graph = graph();
    graph.schedule = Some("rate(1 hour)".into());
    let template = template(&graph, &InfraSettings::new("Hello", Compute::Ec2)).unwrap();
    let role = &template["Resources"]["ScheduleRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "events.amazonaws.com"
    );
    assert!(template["Outputs"].get("ScheduleRoleArn").is_some());
}

#[test]
fn repository_names_fit_ecr() {
    assert_eq!(repository_name("MovieFlow"), "flowrs/movieflow");
    assert_eq!(repository_name("_My__flow-_2_"), "flowrs/my-flow-2");
    assert_eq!(repository_name("__"), "flowrs/flow");
}

#[test]
fn bad_settings_are_refused() {
    let error = template(&graph(), &InfraSettings::new("has space", Compute::Ec2)).unwrap_err();
    assert!(matches!(error, InfraError::StateMachineName(_)), "{error}");
    let mut settings = InfraSettings::new("Hello", Compute::Ec2);
    settings.kms_key_arn = Some("alias/mine".into());
    let error = template(&graph(), &settings).unwrap_err();
    assert!(error.to_string().contains("--kms-key"), "{error}");
    let mut graph = graph();
    graph.steps[1].options.resources.memory_mb = Some(100);
    let error = template(&graph, &InfraSettings::new("Hello", Compute::Fargate)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "flow `HelloFlow` cannot run on `--compute fargate`"
    );
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(
        source.starts_with("step `hello` asks for 1 vCPU(s) with 100 MiB"),
        "{source}"
    );
}

#[test]
fn a_kms_key_encrypts_the_bucket_and_reaches_the_policies() {
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let mut settings = InfraSettings::new("Hello", Compute::Ec2);
    settings.kms_key_arn = Some(key.into());
    let template = template(&graph(), &settings).unwrap();
    let encryption = &template["Resources"]["DatastoreBucket"]["Properties"]["BucketEncryption"]
        ["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"],
        key
    );
    let job = template["Resources"]["JobRole"].to_string();
    assert!(job.contains("kms:Decrypt") && job.contains(key), "{job}");
}
