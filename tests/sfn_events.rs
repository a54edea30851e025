//! Event-driven flows end to end on the AWS emulator (its EventBridge: Step Functions status
//! changes and S3 Object Created events on the default bus, rules starting a state machine
//! through their input transformer): `upstream` and `downstream` deployed with
//! `step-functions create`, then, side by side on one emulator,
//! * an upstream run triggered by hand succeeds and a downstream run starts by itself, reads
//!   the upstream run's numbers through `ctx.trigger()` and the client API, and succeeds;
//! * an object put under `incoming/` in the EventBridge-enabled bucket `flowrs-inbox` starts
//!   a downstream run whose `key` param is the object's key;
//! * a downstream run told to fail runs its `on_failure` hook as a Batch task, the execution
//!   ends FAILED with the step's error, and `run.json` records the run as failed with it;
//! * an upload whose run's Batch job dies (its process aborts) still ends with `run.json`
//!   recording the run as failed, by the failure hook's task; a failing success hook leaves
//!   its run SUCCEEDED.

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/downstream.rs"]
mod downstream;
#[path = "../examples/on_upload.rs"]
mod on_upload;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{EventBridgeConfiguration, NotificationConfiguration};
use downstream::DownstreamFlow;
use emulator::{runtime, Aws};
use flow_core::client::Client;
use flow_core::datastore::{RunRecord, RunStatus};
use flow_core::{Flow, RunId, Trigger};
use flow_sfn::aws::operate::{list_runs, RunSummary};
use std::time::{Duration, Instant};

/// The bucket and prefix of `downstream`'s `trigger(s3(...))`.
const INBOX: &str = "flowrs-inbox";
const KEY: &str = "incoming/2026-12-04.csv";
/// The bucket of `on_upload`'s trigger, and keys under its `uploads/` prefix: one whose run's
/// `check` step aborts its process (a Batch job that dies, recording nothing), one whose run
/// succeeds with a failing success hook.
const UPLOADS: &str = "flowrs-uploads";
const CRASH_KEY: &str = "uploads/crash.csv";
const RECEIPT_KEY: &str = "uploads/receipt.json";
/// How long a run started by an event may take to start and finish (each of its tasks is a
/// Batch job running the example binary; four jobs run at once).
const WAIT: Duration = Duration::from_secs(150);

/// The executions of the state machine `flow` (a flow's default name), newest first.
fn runs_of(aws: &Aws, flow: &str) -> Vec<RunSummary> {
    let arn = format!(
        "arn:aws:states:{}:123456789012:stateMachine:{flow}",
        aws.emulator.region
    );
    let clients = aws.clients();
    runtime()
        .block_on(list_runs(&clients, &arn, None))
        .unwrap_or_else(|e| panic!("ListExecutions of {flow}: {e}"))
}

/// The run's `run.json`, if the run has written it yet.
fn record<F: Flow>(aws: &Aws, run_id: &str) -> Option<RunRecord> {
    let id = RunId::new(run_id.to_string()).unwrap();
    let client = Client::<F>::new(aws.store());
    runtime().block_on(async { client.run(&id).await.ok().map(|r| r.record().clone()) })
}

/// The run's end artifacts, read from the S3 datastore.
fn end_state<F: Flow>(aws: &Aws, id: &RunId) -> F {
    let client = Client::<F>::new(aws.store());
    runtime().block_on(async { client.run(id).await.unwrap().end_state().await.unwrap() })
}

/// Polls until one of `F`'s executions is finished and `matches` its run record; fails
/// naming `what` and showing every execution and the emulator's logs after [`WAIT`].
fn wait_for_run<F: Flow>(
    aws: &Aws,
    what: &str,
    matches: impl Fn(&RunRecord) -> bool,
) -> (RunSummary, RunRecord) {
    let flow = F::graph().name.clone();
    let deadline = Instant::now() + WAIT;
    loop {
        let runs = runs_of(aws, &flow);
        for run in runs.iter().filter(|r| r.status.as_str() != "RUNNING") {
            if let Some(record) = record::<F>(aws, &run.run_id).filter(|r| matches(r)) {
                return (run.clone(), record);
            }
        }
        if Instant::now() > deadline {
            let listed: Vec<String> = runs
                .iter()
                .map(|r| {
                    let record = record::<F>(aws, &r.run_id);
                    let record = record
                        .as_ref()
                        .map(|c| (&c.status, &c.trigger, c.params.to_string(), &c.error));
                    format!("{} {} {record:?}", r.run_id, r.status.as_str())
                })
                .collect();
            panic!(
                "{what}: no such finished run of {flow} within {} s; its executions:\n{}\n\
                 emulator logs:\n{}",
                WAIT.as_secs(),
                listed.join("\n"),
                aws.emulator.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Creates `bucket` with its EventBridge notifications on and puts `keys` in it.
fn upload(aws: &Aws, bucket: &str, keys: &[&str]) {
    let clients = aws.clients();
    runtime()
        .block_on(async {
            clients.s3.create_bucket().bucket(bucket).send().await?;
            clients
                .s3
                .put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(
                    NotificationConfiguration::builder()
                        .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                        .build(),
                )
                .send()
                .await?;
            for key in keys {
                clients
                    .s3
                    .put_object()
                    .bucket(bucket)
                    .key(*key)
                    .body(ByteStream::from_static(b"1,2,3\n"))
                    .send()
                    .await?;
            }
            anyhow::Ok(())
        })
        .unwrap_or_else(|e| panic!("the bucket {bucket}, its notifications and uploads: {e:?}"));
}

/// The names of the states an execution exited, in order.
fn states_exited(aws: &Aws, execution_arn: &str) -> Vec<String> {
    let clients = aws.clients();
    runtime().block_on(async {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = clients
                .sfn
                .get_execution_history()
                .execution_arn(execution_arn)
                .set_next_token(token)
                .send()
                .await
                .expect("GetExecutionHistory");
            names.extend(
                page.events()
                    .iter()
                    .filter_map(|e| e.state_exited_event_details().map(|d| d.name().to_string())),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return names;
            }
        }
    })
}

/// Whether some Batch job log of the emulator holds `text`.
fn logs_contain(aws: &Aws, text: &str) -> bool {
    std::fs::read_dir(&aws.emulator.log_dir)
        .unwrap()
        .flatten()
        .any(|entry| {
            std::fs::read_to_string(entry.path())
                .unwrap_or_default()
                .contains(text)
        })
}

#[test]
fn upstream_success_s3_upload_and_a_failure_each_start_or_end_a_downstream_run() {
    let started = Instant::now();
    // on_upload's success hook fails in every job of this emulator (only it reads this).
    let aws = Aws::start(&[("UPLOAD_RECEIPT_FAILS", "1")], &[]);
    aws.ok("upstream", &["step-functions", "create"]);
    let created = aws.ok("downstream", &["step-functions", "create"]);
    eprintln!("{created}");
    aws.ok("on_upload", &["step-functions", "create"]);

    // The inboxes send their events to EventBridge (S3 sends none for a bucket without it).
    // An object outside the prefix starts nothing; one under it starts one run.
    upload(&aws, INBOX, &["elsewhere/ignored.csv", KEY]);
    upload(&aws, UPLOADS, &[CRASH_KEY, RECEIPT_KEY]);

    // A run told to fail, started by hand.
    let failing = aws
        .ok(
            "downstream",
            &["step-functions", "trigger", "--fail-on", "2"],
        )
        .trim()
        .to_string();

    // The upstream run, by hand, to its end.
    let upstream = aws
        .ok(
            "upstream",
            &["step-functions", "trigger", "--wait", "--count", "4"],
        )
        .trim()
        .to_string();
    let upstream_id = RunId::new(upstream.clone()).unwrap();

    // (a) Its success started a downstream run that read its numbers.
    let expected = Trigger {
        flow: "UpstreamFlow".into(),
        run_id: upstream_id.clone(),
    };
    let (triggered, record_a) = wait_for_run::<DownstreamFlow>(
        &aws,
        &format!("the run started by UpstreamFlow/{upstream} succeeding"),
        |r| r.trigger.as_ref() == Some(&expected),
    );
    assert_eq!(
        triggered.status.as_str(),
        "SUCCEEDED",
        "the triggered run: {record_a:?}"
    );
    assert_eq!(record_a.status, RunStatus::Succeeded);
    let id = RunId::new(triggered.run_id.clone()).unwrap();
    let end: DownstreamFlow = end_state(&aws, &id);
    assert_eq!(end.upstream, format!("UpstreamFlow/{upstream}"));
    assert_eq!(end.numbers, vec![1, 2, 3, 4]);
    assert_eq!(end.results, vec![2, 4, 6, 8]);
    assert_eq!(end.key, "");
    // Its start task recorded what started it and the Batch job it ran in.
    assert_eq!(
        record_a.tags.get("started_by"),
        Some(&format!("trigger_on_finish:UpstreamFlow/{upstream}")),
        "{record_a:?}"
    );
    assert!(
        record_a.tags["host"].starts_with("aws-batch:")
            && record_a.tags.contains_key("flowrs_version"),
        "{record_a:?}"
    );

    // (b) The upload under the prefix started a run with the key as its param, and the event.
    let (uploaded, record_b) =
        wait_for_run::<DownstreamFlow>(&aws, &format!("the run started by {KEY}"), |r| {
            r.params["key"] == KEY
        });
    assert_eq!(
        uploaded.status.as_str(),
        "SUCCEEDED",
        "the upload's run: {record_b:?}"
    );
    let event = record_b.event.as_ref().expect("the run records its event");
    assert_eq!(event["source"], "aws.s3");
    assert_eq!(event["detail-type"], "Object Created");
    assert_eq!(event["detail"]["bucket"]["name"], INBOX);
    assert_eq!(record_b.trigger, None);
    assert_eq!(
        record_b.tags.get("started_by").map(String::as_str),
        Some("event:aws.s3"),
        "{record_b:?}"
    );
    // The system tags filter the listing like any tag.
    let listed = aws.ok(
        "downstream",
        &[
            "step-functions",
            "list-runs",
            "--tag",
            "started_by=event:aws.s3",
        ],
    );
    assert!(
        listed.contains(&uploaded.run_id) && !listed.contains(&triggered.run_id),
        "{listed}"
    );
    let id = RunId::new(uploaded.run_id.clone()).unwrap();
    let end: DownstreamFlow = end_state(&aws, &id);
    assert_eq!(end.key, KEY);
    assert_eq!(end.results, vec![2, 4, 6]);

    // (c) The failing run ran its hook as a Batch task, ended FAILED with the step's error,
    // and its run.json says so.
    let (failed, record_c) =
        wait_for_run::<DownstreamFlow>(&aws, &format!("the failing run {failing}"), |r| {
            r.run_id.as_str() == failing
        });
    assert_eq!(failed.status.as_str(), "FAILED", "{record_c:?}");
    assert_eq!(record_c.status, RunStatus::Failed, "{record_c:?}");
    let error = record_c.error.clone().unwrap_or_default();
    assert!(error.contains("asked to fail on 2"), "{record_c:?}");
    assert!(record_c.finished_at_ms.is_some(), "{record_c:?}");
    // `trigger` wrote its record, with its own system tags, and the start task kept it.
    assert!(
        record_c.tags.contains_key("flowrs_version") && !record_c.tags.contains_key("started_by"),
        "{record_c:?}"
    );
    let exited = states_exited(&aws, &failed.execution_arn);
    assert!(
        exited.iter().any(|s| s == "run-failed-hook"),
        "the failure hook's task state did not run to its end: {exited:?}"
    );
    let status = aws.ok("downstream", &["step-functions", "status", &failing]);
    assert!(
        status.contains(&format!("run {failing}: FAILED")),
        "{status}"
    );
    assert!(
        logs_contain(
            &aws,
            &format!("ALERT run {failing} of DownstreamFlow failed")
        ),
        "the hook `alert` printed nothing in the Batch job logs:\n{}",
        aws.emulator.logs()
    );

    // Triggers start runs as the schedule's role: without one, `create` deploys nothing and
    // says how to give it.
    let out = aws.cli_with_env(
        "downstream",
        &["step-functions", "create"],
        &[("FLOW_SFN_SCHEDULE_ROLE", "")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("has triggers")
            && stderr.contains("--schedule-role")
            && stderr.contains("FLOW_SFN_SCHEDULE_ROLE"),
        "{stderr}"
    );

    // (d) A Batch job that died (the process aborted) recorded nothing; the failure hook's
    // task recorded the run as failed with the error Step Functions caught.
    let (crashed, record_d) = wait_for_run::<on_upload::UploadFlow>(
        &aws,
        &format!("the run started by {CRASH_KEY}"),
        |r| r.params["key"] == CRASH_KEY,
    );
    assert_eq!(crashed.status.as_str(), "FAILED", "{record_d:?}");
    assert_eq!(record_d.status, RunStatus::Failed, "{record_d:?}");
    assert!(record_d.finished_at_ms.is_some(), "{record_d:?}");
    let error = record_d.error.clone().unwrap_or_default();
    assert!(error.contains("States.TaskFailed"), "{record_d:?}");
    assert!(
        logs_contain(
            &aws,
            &format!("ALERT run {} of UploadFlow failed", crashed.run_id)
        ),
        "the hook `alert` of {} printed nothing in the Batch job logs:\n{}",
        crashed.run_id,
        aws.emulator.logs()
    );

    // (e) A success hook that fails leaves the run succeeded: the execution SUCCEEDED and
    // run.json says so.
    let (receipted, record_e) = wait_for_run::<on_upload::UploadFlow>(
        &aws,
        &format!("the run started by {RECEIPT_KEY}"),
        |r| r.params["key"] == RECEIPT_KEY,
    );
    assert_eq!(receipted.status.as_str(), "SUCCEEDED", "{record_e:?}");
    assert_eq!(record_e.status, RunStatus::Succeeded, "{record_e:?}");
    let id = RunId::new(receipted.run_id.clone()).unwrap();
    let end: on_upload::UploadFlow = end_state(&aws, &id);
    assert_eq!(end.extension, "json");
    let exited = states_exited(&aws, &receipted.execution_arn);
    assert!(
        exited.iter().any(|s| s == "run-succeeded-hook"),
        "the success hook's task did not run: {exited:?}"
    );
    assert!(
        logs_contain(&aws, "UPLOAD_RECEIPT_FAILS is set"),
        "the success hook did not fail:\n{}",
        aws.emulator.logs()
    );
    assert_eq!(runs_of(&aws, "UploadFlow").len(), 2);

    // Exactly three downstream runs: the object outside the prefix and the downstream runs'
    // own status changes started none.
    let runs = runs_of(&aws, "DownstreamFlow");
    assert_eq!(runs.len(), 3, "{runs:?}");
    eprintln!(
        "event-driven runs checked after {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
