//! Step Functions where the real services are stricter than plain moto: each test turns on
//! the emulator's AWS behaviour or fault (tests/support/aws-emulator) that a defect depends
//! on, and proves the deploy and operate commands handle it.
//!
//! * EventBridge rule names are 1 to 64 characters; a deployment's rule is its own (tagged)
//!   and `delete` leaves a user's rule of the same name alone.
//! * DescribeExecution is eventually consistent, and an execution started right after
//!   UpdateStateMachine may run the previous definition: runs start on the published version.
//! * `resume` clones before the execution starts and needs nothing from the origin's
//!   execution (Step Functions forgets it after 90 days).
//! * Without `s3:ListBucket`, S3 answers 403 for a missing key.
//! * AWS errors print operation, code and message; tags reach every resource.
//! * The schedule starts runs as its own role, never the state machine's.

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/resume.rs"]
mod resume;

use emulator::{runtime, Aws};
use flow_core::client::Client;
use flow_core::datastore::TaskStatus;
use flow_core::RunId;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The EventBridge rules of the emulator: name -> ARN.
fn rules(aws: &Aws) -> BTreeMap<String, String> {
    let clients = aws.clients();
    runtime().block_on(async {
        let out = clients.events.list_rules().send().await.expect("ListRules");
        out.rules()
            .iter()
            .map(|r| {
                (
                    r.name().unwrap_or_default().to_string(),
                    r.arn().unwrap_or_default().to_string(),
                )
            })
            .collect()
    })
}

/// The tags of an EventBridge rule.
fn rule_tags(aws: &Aws, rule_arn: &str) -> BTreeMap<String, String> {
    let clients = aws.clients();
    runtime().block_on(async {
        let out = clients
            .events
            .list_tags_for_resource()
            .resource_arn(rule_arn)
            .send()
            .await
            .expect("ListTagsForResource");
        out.tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    })
}

#[test]
fn eventbridge_rules_are_bounded_owned_and_left_alone_when_not_ours() {
    let aws = Aws::start(&[], &[]);
    // Step Functions allows 80 characters, EventBridge rule names 64.
    let long = format!("ParamsFlow-{}", "x".repeat(69));
    assert_eq!(long.len(), 80);
    let arn = aws
        .ok(
            "params",
            &[
                "step-functions",
                "create",
                "--state-machine",
                &long,
                "--aws-tag",
                "team=data",
            ],
        )
        .trim()
        .to_string();
    assert!(arn.ends_with(&format!(":stateMachine:{long}")), "{arn}");
    let found = rules(&aws);
    assert_eq!(found.len(), 1, "{found:?}");
    let (rule, rule_arn) = found.into_iter().next().unwrap();
    assert!(
        rule.len() <= 64 && rule.starts_with("ParamsFlow-x"),
        "{rule}"
    );
    let tags = rule_tags(&aws, &rule_arn);
    assert_eq!(
        tags.get("flowrs:state-machine"),
        Some(&arn),
        "the rule is tagged as this deployment's: {tags:?}"
    );
    assert_eq!(
        tags.get("team").map(String::as_str),
        Some("data"),
        "{tags:?}"
    );
    // Deploying again finds the same rule; delete removes it with the state machine.
    aws.ok(
        "params",
        &["step-functions", "create", "--state-machine", &long],
    );
    assert_eq!(rules(&aws).keys().collect::<Vec<_>>(), vec![&rule]);
    aws.ok(
        "params",
        &["step-functions", "delete", "--state-machine", &long],
    );
    assert!(rules(&aws).is_empty(), "{:?}", rules(&aws));

    // A rule of the user's that has a deployment's rule name is never touched.
    aws.ok("linear", &["step-functions", "create"]);
    let clients = aws.clients();
    runtime().block_on(async {
        clients
            .events
            .put_rule()
            .name("LinearFlow")
            .schedule_expression("rate(1 day)")
            .send()
            .await
            .expect("PutRule")
    });
    let out = aws.cli("linear", &["step-functions", "delete"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("left the EventBridge rule `LinearFlow` alone"),
        "{stderr}"
    );
    assert!(rules(&aws).contains_key("LinearFlow"));
    // ... nor replaced by a deployment that would want its name.
    let stderr = aws.fails(
        "params",
        &["step-functions", "create", "--state-machine", "LinearFlow"],
    );
    assert!(
        stderr.contains("EventBridge rule `LinearFlow`")
            && stderr.contains("not this deployment's"),
        "{stderr}"
    );
    let kept = rules(&aws);
    assert_eq!(
        rule_tags(&aws, &kept["LinearFlow"]).get("flowrs:state-machine"),
        None
    );
}

/// EventBridge assumes the schedule's role to start a run, so it must be a role trusted by
/// `events.amazonaws.com` (EventBridge User Guide, "Using resource-based policies for Amazon
/// EventBridge": targets other than Lambda, SNS, SQS and CloudWatch Logs need a role): the
/// state machine's own role, trusted by `states.amazonaws.com`, would never start a run.
#[test]
fn the_schedule_starts_runs_as_its_own_role() {
    let aws = Aws::start(&[], &[]);
    let schedule_role = "arn:aws:iam::123456789012:role/flowrs-schedule";
    aws.ok(
        "params",
        &["step-functions", "create", "--schedule-role", schedule_role],
    );
    let clients = aws.clients();
    let targets = runtime().block_on(async {
        clients
            .events
            .list_targets_by_rule()
            .rule("ParamsFlow")
            .send()
            .await
            .expect("ListTargetsByRule")
    });
    let target = &targets.targets()[0];
    assert_eq!(target.role_arn(), Some(schedule_role));
    assert_ne!(target.role_arn(), Some(aws.emulator.role_arn.as_str()));
    aws.ok("params", &["step-functions", "delete"]);

    // Without a schedule role nothing is deployed, and the error says how to give one.
    let out = aws.cli_with_env(
        "params",
        &["step-functions", "create"],
        &[("FLOW_SFN_SCHEDULE_ROLE", "")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("--schedule-role")
            && stderr.contains("FLOW_SFN_SCHEDULE_ROLE")
            && stderr.contains("events.amazonaws.com"),
        "{stderr}"
    );
    assert!(rules(&aws).is_empty(), "{:?}", rules(&aws));
    let machines = runtime().block_on(async {
        clients
            .sfn
            .list_state_machines()
            .send()
            .await
            .expect("ListStateMachines")
    });
    assert!(
        machines.state_machines().is_empty(),
        "{:?}",
        machines.state_machines()
    );
}

#[test]
fn runs_start_on_the_published_version_and_tolerate_describe_lag() {
    // The first DescribeExecution of every execution says it does not exist, and for a
    // minute after UpdateStateMachine an execution on the unqualified ARN runs the previous
    // definition: both as AWS documents them.
    let aws = Aws::start(
        &[],
        &[
            ("MOTO_SFN_DESCRIBE_LAG", "1"),
            ("MOTO_SFN_UPDATE_LAG", "60"),
        ],
    );
    // A first deployment whose jobs cannot start, then the right one.
    aws.ok(
        "linear",
        &[
            "step-functions",
            "create",
            "--binary-name",
            "no-such-binary",
        ],
    );
    aws.ok("linear", &["step-functions", "create"]);
    let run = aws
        .ok("linear", &["step-functions", "trigger", "--wait"])
        .trim()
        .to_string();

    // `status` right after `trigger`, before DescribeExecution knows the run.
    let second = aws
        .ok("linear", &["step-functions", "trigger"])
        .trim()
        .to_string();
    let status = aws.ok("linear", &["step-functions", "status", &second]);
    assert!(status.contains(&format!("run {second}: ")), "{status}");

    // Runs started on the alias are the state machine's runs.
    let listed = aws.ok("linear", &["step-functions", "list-runs"]);
    assert!(
        listed.contains(&run) && listed.contains(&second),
        "{listed}"
    );

    // An unknown run is still a clear error, and a fast one.
    let started = Instant::now();
    let stderr = aws.fails("linear", &["step-functions", "status", "no-such-run"]);
    assert!(stderr.contains("no run `no-such-run`"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );

    // Step Functions keeps at most 1,000 versions: `create` prunes all but the newest.
    let mut arn = String::new();
    for _ in 0..11 {
        arn = aws
            .ok("linear", &["step-functions", "create"])
            .trim()
            .to_string();
    }
    let clients = aws.clients();
    let (versions, live) = runtime().block_on(async {
        let versions = clients
            .sfn
            .list_state_machine_versions()
            .state_machine_arn(&arn)
            .send()
            .await
            .expect("ListStateMachineVersions");
        let alias = clients
            .sfn
            .describe_state_machine_alias()
            .state_machine_alias_arn(format!("{arn}:live"))
            .send()
            .await
            .expect("DescribeStateMachineAlias");
        let versions: Vec<String> = versions
            .state_machine_versions()
            .iter()
            .map(|v| v.state_machine_version_arn().to_string())
            .collect();
        let live = alias.routing_configuration()[0]
            .state_machine_version_arn()
            .to_string();
        (versions, live)
    });
    assert_eq!(versions.len(), 10, "{versions:?}");
    assert_eq!(live, versions[0], "the alias points at the newest version");
    assert!(live.ends_with(":13"), "{live}");

    // A state machine deployed before aliases: runs start on it, and say how to fix that.
    runtime().block_on(async {
        clients
            .sfn
            .delete_state_machine_alias()
            .state_machine_alias_arn(format!("{arn}:live"))
            .send()
            .await
            .expect("DeleteStateMachineAlias")
    });
    let out = aws.cli("linear", &["step-functions", "trigger", "--wait"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("has no `live` alias") && stderr.contains("step-functions create"),
        "{stderr}"
    );
}

#[test]
fn resume_clones_before_the_execution_and_reads_the_origin_from_the_datastore() {
    let work = tempfile::tempdir().unwrap();
    let outage = work.path().join("outage");
    let trace = work.path().join("trace");
    std::fs::write(&outage, "down").unwrap();
    let job_env = [
        ("FRAGILE_FAIL_IF_EXISTS", outage.to_str().unwrap()),
        ("RESUME_TRACE", trace.to_str().unwrap()),
    ];
    let aws = Aws::start(&job_env, &[]);
    aws.ok("resume", &["step-functions", "create"]);

    // The origin has a run record and tasks in the datastore but no execution, as after
    // Step Functions deleted its history: a local run on the same S3 datastore.
    let out = aws.cli_with_env("resume", &["run", "--datastore", &aws.datastore], &job_env);
    assert!(
        !out.status.success(),
        "the origin should fail while the outage lasts: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client = Client::<resume::ResumeFlow>::new(aws.store());
    let origin = runtime()
        .block_on(async { client.latest().await.unwrap().id().clone() })
        .to_string();

    std::fs::remove_file(&outage).unwrap();
    let resumed = aws
        .ok("resume", &["step-functions", "resume", &origin, "--wait"])
        .trim()
        .to_string();
    runtime().block_on(async {
        let run = client
            .run(&RunId::new(resumed.clone()).unwrap())
            .await
            .unwrap();
        for step in ["start", "left", "right", "merge"] {
            let task = run.task(step, &[]).await.unwrap();
            assert_eq!(
                task.record().cloned_from.as_ref().map(|r| r.to_string()),
                Some(origin.clone()),
                "{step}"
            );
        }
        let fragile = run.task("fragile", &[]).await.unwrap();
        assert!(!fragile.was_cloned());
        assert_eq!(fragile.record().status, TaskStatus::Succeeded);
        assert_eq!(run.end_state().await.unwrap().doubled, 110);
        assert_eq!(
            run.record().origin_run_id.as_ref().map(|r| r.to_string()),
            Some(origin.clone())
        );
    });
    // Every step before `fragile` ran once, in the origin; `fragile` twice there, once now.
    let ran = std::fs::read_to_string(&trace).unwrap();
    for step in ["start/0", "left/0", "right/0", "merge/0"] {
        assert_eq!(
            ran.lines().filter(|l| l == &step).count(),
            1,
            "{step}:\n{ran}"
        );
    }
    assert_eq!(
        ran.lines().filter(|l| *l == "fragile/0").count(),
        3,
        "{ran}"
    );
    // `resume` cloned the tasks before the execution started: no Batch job had to.
    for entry in std::fs::read_dir(&aws.emulator.log_dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            !text.contains("cloned from run"),
            "a Batch job cloned a task ({}):\n{text}",
            path.display()
        );
    }

    // From a step: that step and every step after it run again, even though they finished.
    let again = aws
        .ok(
            "resume",
            &[
                "step-functions",
                "resume",
                &resumed,
                "--step",
                "merge",
                "--wait",
            ],
        )
        .trim()
        .to_string();
    runtime().block_on(async {
        let run = client
            .run(&RunId::new(again.clone()).unwrap())
            .await
            .unwrap();
        assert_eq!(run.record().resume_step.as_deref(), Some("merge"));
        for step in ["start", "left", "right"] {
            assert!(run.task(step, &[]).await.unwrap().was_cloned(), "{step}");
        }
        for step in ["merge", "fragile", "end"] {
            assert!(!run.task(step, &[]).await.unwrap().was_cloned(), "{step}");
        }
        assert_eq!(run.end_state().await.unwrap().doubled, 110);
    });
    let ran = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(ran.lines().filter(|l| *l == "merge/0").count(), 2, "{ran}");
    assert_eq!(ran.lines().filter(|l| *l == "left/0").count(), 1, "{ran}");
}

#[test]
fn a_403_on_a_read_names_the_missing_s3_permissions() {
    // Without s3:ListBucket, S3 answers 403 AccessDenied for a key that does not exist.
    let aws = Aws::start(&[], &[("MOTO_S3_DENY_LIST", "1")]);
    let stderr = aws.fails(
        "linear",
        &["dump", "no-such-run", "--datastore", &aws.datastore],
    );
    for needed in [
        "s3:ListBucket",
        "s3:GetObject",
        "arn:aws:s3:::flowrs-e2e",
        "runs/LinearFlow/runs/no-such-run/run.json",
        "403",
    ] {
        assert!(stderr.contains(needed), "{needed} missing:\n{stderr}");
    }
}

#[test]
fn aws_errors_print_operation_code_and_message_and_tags_reach_every_resource() {
    let aws = Aws::start(&[], &[]);
    // A role ARN this client accepts but Step Functions does not: an error no branch of
    // ours handles, printed as the service said it.
    let stderr = aws.fails(
        "linear",
        &[
            "step-functions",
            "create",
            "--role-arn",
            "arn:aws:iam::123:role/short",
        ],
    );
    assert!(
        stderr.contains(
            "CreateStateMachine: InvalidArn: Invalid Role Arn: 'arn:aws:iam::123:role/short'"
        ),
        "{stderr}"
    );
    for debug in [
        "extensions_1x",
        "ServiceError {",
        "raw: Response",
        "DispatchFailure(",
    ] {
        assert!(!stderr.contains(debug), "a Debug dump ({debug}):\n{stderr}");
    }

    // The flow's tags and --aws-tag tag the state machine and the job definitions.
    let arn = aws
        .ok(
            "options",
            &[
                "step-functions",
                "create",
                "--aws-tag",
                "team=data",
                "--aws-tag",
                "cost-center=42",
            ],
        )
        .trim()
        .to_string();
    let clients = aws.clients();
    let expected = [
        ("example", ""),
        ("options", ""),
        ("team", "data"),
        ("cost-center", "42"),
        ("flowrs:flow", "OptionsFlow"),
    ];
    let machine: BTreeMap<String, String> = runtime().block_on(async {
        let out = clients
            .sfn
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .expect("ListTagsForResource");
        out.tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    });
    for (key, value) in expected {
        assert_eq!(
            machine.get(key).map(String::as_str),
            Some(value),
            "{machine:?}"
        );
    }
    let definitions = runtime().block_on(async {
        clients
            .batch
            .describe_job_definitions()
            .status("ACTIVE")
            .send()
            .await
            .expect("DescribeJobDefinitions")
    });
    let ours: Vec<_> = definitions
        .job_definitions()
        .iter()
        .filter(|d| {
            d.job_definition_name()
                .unwrap_or_default()
                .starts_with("OptionsFlow-")
        })
        .collect();
    assert!(!ours.is_empty());
    for definition in ours {
        let tags = definition.tags().cloned().unwrap_or_default();
        for (key, value) in expected {
            assert_eq!(tags.get(key).map(String::as_str), Some(value), "{tags:?}");
        }
        assert_eq!(definition.propagate_tags(), Some(true));
    }

    // A tag AWS would refuse is refused before any AWS call, saying why.
    for (tag, why) in [
        ("aws:owner=me", "aws:"),
        ("=empty-key", "key"),
        ("no-equals-sign", "KEY=VALUE"),
    ] {
        let stderr = aws.fails("options", &["step-functions", "create", "--aws-tag", tag]);
        assert!(
            stderr.contains(tag) && stderr.contains(why),
            "{tag}: {stderr}"
        );
    }
}
