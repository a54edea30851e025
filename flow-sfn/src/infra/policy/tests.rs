use super::*;
use flow_graph::{StepSpec, Transition};

fn graph() -> FlowGraph {
    let mut graph = FlowGraph::new(
        "MovieFlow",
        vec![
            StepSpec::new(
                "start",
                Transition::Foreach {
                    over: "titles".into(),
                    body: "measure".into(),
                },
            ),
            StepSpec::new("measure", Transition::Next("join".into())),
            StepSpec::new("join", Transition::Next("end".into())).join(),
            StepSpec::new("end", Transition::End),
        ],
    );
    graph.steps[1].options.batch.queue = Some("gpu-queue".into());
    graph
}

fn account() -> AccountResources {
    AccountResources {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account_id: Some("123456789012".into()),
        bucket: "flows".into(),
        job_queue: "flows-queue".into(),
        state_machine_role_arn: "arn:aws:iam::123456789012:role/sm".into(),
        job_role_arn: Some("arn:aws:iam::123456789012:role/job".into()),
        schedule_role_arn: None,
        execution_role_arn: None,
        repository: None,
        log_group: None,
    }
}

#[test]
fn every_placeholder_in_the_table_is_known_and_every_sid_is_unique_per_principal() {
    for p in PERMISSIONS {
        assert!(
            p.sid.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{}",
            p.sid
        );
        let patterns = p
            .resources
            .iter()
            .chain(p.condition.iter().flat_map(|c| c.values.iter()));
        for pattern in patterns {
            let mut rest = *pattern;
            while let Some(start) = rest.find("${") {
                let end = start + rest[start..].find('}').expect("closed placeholder");
                let name = &rest[start + 2..end];
                assert!(PLACEHOLDERS.contains(&name), "{}: `{name}`", p.sid);
                rest = &rest[end + 1..];
            }
        }
        assert_eq!(
            permissions_of(p.principal)
                .filter(|q| q.sid == p.sid)
                .count(),
            1,
            "{} twice",
            p.sid
        );
        if p.resources.contains(&ANY_RESOURCE) {
            assert!(p.is_on_any_resource(), "{}: `*` mixed with others", p.sid);
            assert!(p.why.contains("no resource-level permission"), "{}", p.sid);
        }
    }
}

#[test]
fn account_bindings_name_the_flows_own_resources() {
    let scope = PolicyScope::new(&graph(), "Movies", "team/runs", Compute::Ec2, None);
    let bindings = Bindings::account(&scope, &account());
    let policy = policy_document(Principal::StateMachine, &scope, &bindings)
        .unwrap()
        .unwrap();
    let statement = |sid: &str| {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
            .unwrap_or_else(|| panic!("no {sid}"))
    };
    assert_eq!(
        statement("SubmitFlowJobs")["Resource"],
        json!([
            "arn:aws:batch:us-east-1:123456789012:job-definition/Movies-*",
            "arn:aws:batch:us-east-1:123456789012:job-queue/flows-queue",
            "arn:aws:batch:us-east-1:123456789012:job-queue/gpu-queue",
            "arn:aws:batch:us-east-1:123456789012:job/*",
        ])
    );
    assert_eq!(
        statement("WriteMapResults")["Resource"],
        "arn:aws:s3:::flows/team/runs/MovieFlow/sfn-map-results/*"
    );
    assert_eq!(
        statement("ListFlowObjects")["Condition"],
        json!({"StringLikeIfExists": {"s3:prefix": "team/runs/MovieFlow/*"}})
    );
    assert_eq!(
        statement("WatchChildExecutions")["Resource"][0],
        "arn:aws:states:us-east-1:123456789012:execution:Movies/*"
    );
    assert!(policy.to_string().find("kms:").is_none(), "no key, no KMS");
}

#[test]
fn needs_follow_the_graph_and_settings() {
    let mut plain = graph();
    plain.steps[0].transition = Transition::Next("measure".into());
    let scope = PolicyScope::new(&plain, "Movies", "", Compute::Ec2, None);
    let bindings = Bindings::account(&scope, &account());
    let policy = policy_document(Principal::StateMachine, &scope, &bindings)
        .unwrap()
        .unwrap()
        .to_string();
    assert!(!policy.contains("states:StartExecution"), "{policy}");
    assert!(!policy.contains("sfn-map-results"), "{policy}");
    assert!(
        policy.contains("arn:aws:s3:::flows/MovieFlow/*"),
        "{policy}"
    );
    assert_eq!(
        policy_document(Principal::Schedule, &scope, &bindings).unwrap(),
        None
    );
    assert!(!scope.has(Principal::Execution) && !scope.has(Principal::Schedule));

    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let scope = PolicyScope::new(&plain, "Movies", "", Compute::Fargate, Some(key));
    let bindings = Bindings::account(&scope, &account());
    let job = policy_document(Principal::Job, &scope, &bindings)
        .unwrap()
        .unwrap();
    assert!(job.to_string().contains(key), "{job}");
    assert!(scope.has(Principal::Execution));
}

#[test]
fn the_deployer_passes_exactly_the_flows_roles() {
    let mut graph = graph();
    graph.schedule = Some("rate(1 day)".into());
    graph.steps[1].options.batch.job_role = Some("arn:aws:iam::123456789012:role/gpu".into());
    let scope = PolicyScope::new(&graph, "Movies", "", Compute::Ec2, None);
    let mut account = account();
    account.schedule_role_arn = Some("arn:aws:iam::123456789012:role/schedule".into());
    let policy = policy_document(
        Principal::Deployer,
        &scope,
        &Bindings::account(&scope, &account),
    )
    .unwrap()
    .unwrap();
    let passes: Vec<(Value, Value)> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"] == "iam:PassRole")
        .map(|s| {
            (
                s["Resource"].clone(),
                s["Condition"]["StringEquals"]["iam:PassedToService"].clone(),
            )
        })
        .collect();
    assert_eq!(
        passes,
        [
            (
                json!("arn:aws:iam::123456789012:role/sm"),
                json!("states.amazonaws.com")
            ),
            (
                json!([
                    "arn:aws:iam::123456789012:role/job",
                    "arn:aws:iam::123456789012:role/gpu"
                ]),
                json!("batch.amazonaws.com")
            ),
            (
                json!("arn:aws:iam::123456789012:role/schedule"),
                json!("events.amazonaws.com")
            ),
        ]
    );
}

#[test]
fn template_bindings_reference_the_templates_resources() {
    let scope = PolicyScope::new(&graph(), "Movies", "", Compute::Fargate, None);
    let bindings = Bindings::template(&scope);
    let policy = policy_document(Principal::StateMachine, &scope, &bindings)
        .unwrap()
        .unwrap();
    let submit = &policy["Statement"][0]["Resource"];
    assert_eq!(
        submit,
        &json!([
            {"Fn::Sub": "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job-definition/Movies-*"},
            {"Fn::Sub": "${JobQueue}"},
            {"Fn::Sub": "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job-queue/gpu-queue"},
            {"Fn::Sub": "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job/*"},
        ])
    );
    let execution = policy_document(Principal::Execution, &scope, &bindings)
        .unwrap()
        .unwrap();
    assert!(execution.to_string().contains("repository/${Repository}"));
}

#[test]
fn an_unknown_account_id_is_a_wildcard() {
    let scope = PolicyScope::new(&graph(), "Movies", "", Compute::Ec2, None);
    let mut account = account();
    account.account_id = None;
    let policy = policy_document(
        Principal::Schedule,
        &PolicyScope {
            scheduled: true,
            ..scope.clone()
        },
        &Bindings::account(&scope, &account),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        policy["Statement"][0]["Resource"][0],
        "arn:aws:states:us-east-1:*:stateMachine:Movies"
    );
}

#[test]
fn the_table_shows_resources_from_their_resource_part() {
    assert_eq!(
        short_resource(JOB_DEFINITIONS_ARN),
        "job-definition/${StateMachine}-*"
    );
    assert_eq!(
        short_resource(FLOW_OBJECTS_ARN),
        "${Bucket}/${FlowPrefix}/*"
    );
    assert_eq!(
        short_resource(STATE_MACHINE_QUALIFIED_ARN),
        "stateMachine:${StateMachine}:*"
    );
    assert_eq!(short_resource("${JobQueues}"), "${JobQueues}");
}

#[test]
fn the_markdown_table_has_a_row_per_permission() {
    let table = markdown_table();
    assert_eq!(table.lines().count(), PERMISSIONS.len() + 2);
    let any = markdown_any_resource_list();
    assert_eq!(
        any.lines().count(),
        PERMISSIONS
            .iter()
            .filter(|p| p.is_on_any_resource())
            .count()
    );
    assert!(any.contains("`batch:DescribeJobs`"), "{any}");
}

#[test]
fn the_execution_role_reads_exactly_the_steps_secrets() {
    let db = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf";
    let api = "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-GhIjKl";
    let mut graph = graph();
    graph.steps[0]
        .options
        .secrets
        .insert("DB".into(), db.into());
    graph.steps[1]
        .options
        .secrets
        .insert("API".into(), api.into());
    graph.steps[2]
        .options
        .secrets
        .insert("DB".into(), db.into());
    let scope = PolicyScope::new(&graph, "Movies", "", Compute::Ec2, None);
    assert_eq!(scope.secrets, vec![api.to_string(), db.to_string()]);
    // On EC2 too the jobs get an execution role, which reads those ARNs and nothing else.
    assert!(scope.has(Principal::Execution));
    let mut account = account();
    account.execution_role_arn = Some("arn:aws:iam::123456789012:role/exec".into());
    let bindings = Bindings::account(&scope, &account);
    let policy = policy_document(Principal::Execution, &scope, &bindings)
        .unwrap()
        .unwrap();
    assert_eq!(
        policy["Statement"],
        json!([{
            "Sid": "ReadStepSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [api, db, format!("{api}-??????"), format!("{db}-??????")],
        }])
    );
    // The deployer passes it to Batch.
    let deployer = policy_document(Principal::Deployer, &scope, &bindings)
        .unwrap()
        .unwrap();
    let pass = deployer["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "PassExecutionRole")
        .expect("the deployer passes the execution role");
    assert_eq!(pass["Resource"], "arn:aws:iam::123456789012:role/exec");
    // In the template, the stack's own execution role.
    let template = policy_document(Principal::Execution, &scope, &Bindings::template(&scope))
        .unwrap()
        .unwrap();
    assert_eq!(template["Statement"][0]["Resource"][1], json!(db));

    // Without secrets, an EC2 flow has no execution role and no such statement.
    let plain = PolicyScope::new(&self::graph(), "Movies", "", Compute::Ec2, None);
    assert!(!plain.has(Principal::Execution));
    let deployer = policy_document(Principal::Deployer, &plain, &Bindings::template(&plain))
        .unwrap()
        .unwrap();
    assert!(!deployer.to_string().contains("PassExecutionRole"));
    let fargate = PolicyScope::new(&self::graph(), "Movies", "", Compute::Fargate, None);
    let execution = policy_document(
        Principal::Execution,
        &fargate,
        &Bindings::template(&fargate),
    )
    .unwrap()
    .unwrap();
    assert!(
        !execution.to_string().contains("secretsmanager"),
        "{execution}"
    );
}

#[test]
fn the_trigger_rules_grant_covers_the_rule_names_of_any_state_machine_name() {
    let mut graph = graph();
    graph.trigger_on_finish = vec!["UpstreamFlow".into()];
    for name in ["Movies".to_string(), "M".repeat(80)] {
        let scope = PolicyScope::new(&graph, &name, "", Compute::Ec2, None);
        let mut account = account();
        account.schedule_role_arn = Some("arn:aws:iam::123456789012:role/schedule".into());
        let bindings = Bindings::account(&scope, &account);
        let policy = policy_document(Principal::Deployer, &scope, &bindings)
            .unwrap()
            .unwrap();
        let statement = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "ManageTriggerRules")
            .cloned()
            .expect("ManageTriggerRules");
        let arn = format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}");
        let rules = crate::aws::triggers::trigger_rules(&graph, &name, &arn).unwrap();
        let granted = statement["Resource"].as_str().unwrap();
        let prefix = granted.strip_suffix('*').unwrap();
        assert_eq!(
            format!(
                "arn:aws:events:us-east-1:123456789012:rule/{}",
                rules[0].name
            )
            .strip_prefix(prefix)
            .map(str::len),
            Some(8),
            "{granted} does not cover {}",
            rules[0].name
        );
    }
}
