//! End to end on an AWS emulator (moto, with the project's launcher and local Batch runner):
//! every example is deployed with `step-functions create`, triggered, and runs to SUCCEEDED
//! through the emulated Step Functions execution, each Batch job running the example's own
//! binary (`step`) against an S3 datastore on the same emulator; its end artifacts, read
//! back through the client API, equal those of a local run with the same params.

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/foreach.rs"]
mod foreach;
#[path = "../examples/linear.rs"]
mod linear;
#[path = "../examples/nested_foreach.rs"]
mod nested_foreach;
#[path = "../examples/resume.rs"]
mod resume;
#[path = "../examples/split_in_foreach.rs"]
mod split_in_foreach;
#[path = "../examples/split_join.rs"]
mod split_join;
#[path = "../examples/switch.rs"]
mod switch;

use emulator::{runtime, Aws};
use flow_core::client::Client;
use flow_core::datastore::TaskStatus;
use flow_core::{Flow, RunId};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The end state of an S3 run, through the client API.
fn end_state<F: Flow>(aws: &Aws, run: &str) -> F {
    let run = RunId::new(run.trim().to_string()).unwrap();
    let client = Client::<F>::new(aws.store());
    runtime().block_on(async { client.run(&run).await.unwrap().end_state().await.unwrap() })
}

/// The end state of a local run with the same params.
fn local_end_state<F: Flow>(params: F::Params, dir: &Path) -> F {
    runtime().block_on(async {
        let run = flow_local::Runner::<F>::new()
            .datastore(dir)
            .params(params)
            .run()
            .await
            .unwrap();
        assert!(run.succeeded(), "local run failed: {:?}", run.error());
        run.end_state().await.unwrap()
    })
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}

/// Deploys, triggers and waits; returns the run id.
fn deploy_and_run(aws: &Aws, example: &str, params: &[&str]) -> String {
    aws.ok(example, &["step-functions", "create"]);
    let mut args = vec!["step-functions", "trigger", "--wait"];
    args.extend(params);
    aws.ok(example, &args).trim().to_string()
}

fn parity<F: Flow>(aws: &Aws, example: &str, cli_params: &[&str], params: F::Params) {
    let started = Instant::now();
    let run = deploy_and_run(aws, example, cli_params);
    let remote: F = end_state(aws, &run);
    let local: F = local_end_state(params, aws.dir.path());
    assert_eq!(
        json(&remote),
        json(&local),
        "{example}: Step Functions and local runs differ"
    );
    eprintln!(
        "{example}: parity after {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn every_example_runs_to_success_on_step_functions_with_local_parity() {
    let aws = Aws::start(&[], &[]);
    parity::<linear::LinearFlow>(&aws, "linear", &[], Default::default());
    parity::<split_join::SplitJoinFlow>(&aws, "split_join", &[], Default::default());
    parity::<foreach::MovieFlow>(
        &aws,
        "foreach",
        &["--count", "5"],
        foreach::MovieParams { count: 5 },
    );
    parity::<nested_foreach::GridFlow>(
        &aws,
        "nested_foreach",
        &["--size", "2"],
        nested_foreach::GridParams { size: 2 },
    );
    parity::<split_in_foreach::WordsFlow>(&aws, "split_in_foreach", &[], Default::default());
    for (value, route) in [("80", "high"), ("3", "low")] {
        let params = switch::SwitchParams {
            value: value.parse().unwrap(),
            threshold: 50,
        };
        parity::<switch::SwitchFlow>(&aws, "switch", &["--value", value], params);
        let run = aws.ok("switch", &["step-functions", "list-runs"]);
        assert!(run.contains("SUCCEEDED"));
        let latest = Client::<switch::SwitchFlow>::new(aws.store());
        let end =
            runtime().block_on(async { latest.latest().await.unwrap().end_state().await.unwrap() });
        assert_eq!(end.route, route);
    }
    // Runs are listed newest first, each SUCCEEDED.
    let listed = aws.ok(
        "switch",
        &["step-functions", "list-runs", "--status", "succeeded"],
    );
    assert_eq!(listed.lines().count(), 3, "{listed}");
}

#[test]
fn a_failing_step_is_retried_then_fails_and_resume_clones_what_succeeded() {
    let work = tempfile::tempdir().unwrap();
    let outage = work.path().join("outage");
    let trace = work.path().join("trace");
    std::fs::write(&outage, "down").unwrap();
    let aws = Aws::start(
        &[
            ("FRAGILE_FAIL_IF_EXISTS", outage.to_str().unwrap()),
            ("RESUME_TRACE", trace.to_str().unwrap()),
        ],
        &[],
    );
    aws.ok("resume", &["step-functions", "create"]);
    let out = aws.cli("resume", &["step-functions", "trigger", "--wait"]);
    assert!(
        !out.status.success(),
        "the run should fail while the outage lasts"
    );
    let failed = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("failed after"), "{stderr}");

    // `status` names the step and the reason, from Step Functions, Batch and the datastore.
    let status = aws.ok("resume", &["step-functions", "status", &failed]);
    assert!(
        status.contains(&format!("run {failed}: FAILED")),
        "{status}"
    );
    assert!(status.contains("failed: step `fragile`"), "{status}");
    // The step's retry: one job run twice by Batch, or (retries made by Step Functions) two
    // jobs, each failing once; the trace below shows that the step ran twice either way.
    assert!(
        status.contains("attempts: 2") || status.matches("failed: step `fragile`").count() == 2,
        "the step should have been tried twice:\n{status}"
    );
    assert!(status.contains("the dependency is down"), "{status}");
    let ran = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(
        ran.lines().filter(|l| *l == "fragile/0").count(),
        2,
        "{ran}"
    );

    // Fix the cause and resume: a new execution that clones the tasks that succeeded.
    std::fs::remove_file(&outage).unwrap();
    let resumed = aws
        .ok("resume", &["step-functions", "resume", &failed, "--wait"])
        .trim()
        .to_string();
    assert_ne!(resumed, failed);
    let client = Client::<resume::ResumeFlow>::new(aws.store());
    runtime().block_on(async {
        let run = client
            .run(&RunId::new(resumed.clone()).unwrap())
            .await
            .unwrap();
        for step in ["start", "left", "right", "merge"] {
            let task = run.task(step, &[]).await.unwrap();
            assert_eq!(
                task.record().cloned_from.as_ref().map(|r| r.to_string()),
                Some(failed.clone()),
                "{step}"
            );
        }
        let fragile = run.task("fragile", &[]).await.unwrap();
        assert!(!fragile.was_cloned());
        assert_eq!(fragile.record().status, TaskStatus::Succeeded);
        assert_eq!(run.end_state().await.unwrap().doubled, 110);
    });
    // Nothing that succeeded ran again: each step before `fragile` ran once, in all.
    let ran = std::fs::read_to_string(&trace).unwrap();
    for step in ["start/0", "left/0", "right/0", "merge/0"] {
        assert_eq!(
            ran.lines().filter(|l| l == &step).count(),
            1,
            "{step} re-ran:\n{ran}"
        );
    }
    assert_eq!(
        ran.lines().filter(|l| *l == "fragile/0").count(),
        3,
        "{ran}"
    );
}

#[test]
fn operate_commands_and_their_errors() {
    let aws = Aws::start(&[], &[]);
    // Never created: a clear error, no AWS resource made.
    let out = aws.cli("linear", &["step-functions", "trigger"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not exist") && err.contains("step-functions create"),
        "{err}"
    );

    // create twice: the second updates, nothing is duplicated.
    let first = aws.ok("nested_foreach", &["step-functions", "create"]);
    let out = aws.cli("nested_foreach", &["step-functions", "create"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("updated state machine"));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), first);

    // A bad param is refused before any AWS call.
    let out = aws.cli(
        "nested_foreach",
        &["step-functions", "trigger", "--size", "big"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--size") && err.contains("u32"), "{err}");

    // terminate a running run; status shows it aborted.
    let run = aws
        .ok(
            "nested_foreach",
            &["step-functions", "trigger", "--size", "3"],
        )
        .trim()
        .to_string();
    aws.ok("nested_foreach", &["step-functions", "terminate", &run]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = aws.ok("nested_foreach", &["step-functions", "status", &run]);
        if status.contains(&format!("run {run}: ABORTED")) {
            break;
        }
        assert!(Instant::now() < deadline, "not aborted:\n{status}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let listed = aws.ok(
        "nested_foreach",
        &["step-functions", "list-runs", "--status", "aborted"],
    );
    assert!(listed.contains(&run), "{listed}");

    // Unknown run id.
    let out = aws.cli(
        "nested_foreach",
        &["step-functions", "status", "no-such-run"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no run `no-such-run`"), "{err}");

    // A flow with a schedule gets an EventBridge rule that starts its state machine; delete
    // removes both.
    aws.ok("params", &["step-functions", "create"]);
    let clients = aws.clients();
    let rules = |clients: &flow_sfn::aws::AwsClients| {
        runtime().block_on(async {
            let rules = clients.events.list_rules().send().await.unwrap();
            rules
                .rules()
                .iter()
                .map(|r| {
                    (
                        r.name().unwrap_or_default().to_string(),
                        r.schedule_expression().unwrap_or_default().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        rules(&clients),
        vec![("ParamsFlow".to_string(), "cron(0 6 * * ? *)".to_string())]
    );
    let targets = runtime().block_on(async {
        clients
            .events
            .list_targets_by_rule()
            .rule("ParamsFlow")
            .send()
            .await
            .unwrap()
    });
    // Scheduled runs start on the version `create` published, through its alias.
    assert!(targets.targets()[0]
        .arn()
        .ends_with(":stateMachine:ParamsFlow:live"));
    // A run started with the rule's own input records that the schedule started it; a
    // plain StartExecution records that, and nothing about a schedule.
    let schedule_input: serde_json::Value =
        serde_json::from_str(targets.targets()[0].input().expect("the target's input")).unwrap();
    assert_eq!(
        schedule_input,
        serde_json::json!({"params": {}, "origin_run_id": null, "schedule": "cron(0 6 * * ? *)"})
    );
    let state_machine = targets.targets()[0]
        .arn()
        .trim_end_matches(":live")
        .to_string();
    let started_by = |name: &str, input: &serde_json::Value| {
        runtime().block_on(async {
            clients
                .sfn
                .start_execution()
                .state_machine_arn(&state_machine)
                .name(name)
                .input(input.to_string())
                .send()
                .await
                .expect("StartExecution");
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let status = aws.ok("params", &["step-functions", "status", name]);
            if status.contains(&format!("run {name}: SUCCEEDED")) {
                break;
            }
            assert!(
                !status.contains("FAILED") && Instant::now() < deadline,
                "run {name} did not succeed:\n{status}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        let store = flow_core::datastore::RunStore::new(aws.store(), "ParamsFlow");
        let run = RunId::new(name.to_string()).unwrap();
        let record = runtime().block_on(async { store.run(&run).await.expect("run.json") });
        record.tags.get("started_by").cloned()
    };
    assert_eq!(
        started_by("scheduled-run", &schedule_input).as_deref(),
        Some("schedule:cron(0 6 * * ? *)")
    );
    assert_eq!(
        started_by("plain-run", &serde_json::json!({"params": {}})).as_deref(),
        Some("start_execution")
    );
    let listed = aws.ok(
        "params",
        &[
            "step-functions",
            "list-runs",
            "--tag",
            "started_by=schedule:cron(0 6 * * ? *)",
        ],
    );
    assert!(
        listed.contains("scheduled-run") && !listed.contains("plain-run"),
        "{listed}"
    );
    aws.ok("params", &["step-functions", "delete"]);
    assert!(rules(&clients).is_empty());

    // delete removes the state machine; a trigger afterwards says to create it.
    let out = aws.cli("nested_foreach", &["step-functions", "delete"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("deregistered"));
    let out = aws.cli("nested_foreach", &["step-functions", "trigger"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn missing_region_credentials_and_unreachable_endpoint_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(emulator::examples_dir().join("linear"));
        cmd.args(["step-functions", "list-runs"])
            .current_dir(dir.path());
        for k in [
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_PROFILE",
            "FLOW_SFN_REGION",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("AWS_CONFIG_FILE", dir.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd.envs(env.iter().copied());
        let started = Instant::now();
        let out = cmd.output().unwrap();
        (out, started.elapsed())
    };
    let (out, _) = run(&[
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no AWS region"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (out, _) = run(&[("AWS_REGION", "us-east-1")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no AWS credentials"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A closed port on this machine: refused quickly, reported as unreachable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let (out, took) = run(&[
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ENDPOINT_URL", &endpoint),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach AWS") && err.contains(&endpoint),
        "{err}"
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
}
