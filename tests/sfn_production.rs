//! Production conditions all at once, on the strict emulator: SubmitJob throttled to a few
//! calls per second, a Spot reclaim of every few jobs' first attempt, and DescribeExecution's
//! eventual consistency. Four flows are created and run side by side with `trigger --wait`:
//! a nested foreach with a split inside, a 60-item foreach, a caught foreach, and a step whose
//! first attempt hangs past its 61 s timeout and then succeeds. Each must SUCCEED with the
//! end state a local run of the same flow leaves; one runs under an 80-character state
//! machine name (the EventBridge and naming limits of the real services).

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/caught_foreach.rs"]
mod caught_foreach;
#[path = "../examples/foreach.rs"]
mod foreach;
#[path = "../examples/split_in_foreach.rs"]
mod split_in_foreach;
#[path = "../examples/timeout_retry.rs"]
mod timeout_retry;

use emulator::{examples_dir, runtime, Aws};
use flow_core::client::Client;
use flow_core::datastore::ObjectStore;
use flow_core::{Flow, RunId};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// What a hanging attempt of `timeout_retry` blocks for: past its steps' 61 s timeout.
const HANG: (&str, &str) = ("TIMEOUT_RETRY_HANG_SECS", "75");

/// The end state of a stored run, as JSON.
fn end_state<F: Flow>(store: Arc<dyn ObjectStore>, run: &str) -> serde_json::Value {
    let client = Client::<F>::new(store);
    let run = RunId::new(run.to_string()).unwrap();
    runtime().block_on(async {
        let end = client.run(&run).await.unwrap().end_state().await.unwrap();
        serde_json::to_value(end).unwrap()
    })
}

/// Runs `example` locally in a datastore under `dir`; returns the end state as JSON.
fn local_end_state<F: Flow>(example: &str, args: &[&str], dir: &Path) -> serde_json::Value {
    let out = Command::new(examples_dir().join(example))
        .args(["run", "-q", "--datastore"])
        .arg(dir)
        .args(args)
        .env(HANG.0, HANG.1)
        .env_remove("FLOW_DATASTORE")
        .output()
        .expect("the example runs");
    assert!(
        out.status.success(),
        "local {example} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = String::from_utf8(out.stdout).unwrap().trim().to_string();
    end_state::<F>(Arc::new(flow_local::FsStore::new(dir)), &run)
}

/// Creates and triggers `example` (under `state_machine`, when given) and waits for it;
/// returns the run id and the end state of the run, read from the S3 datastore.
fn remote_run<F: Flow>(
    aws: &Aws,
    example: &str,
    params: &[&str],
    state_machine: Option<&str>,
) -> (String, serde_json::Value) {
    let named: Vec<&str> = state_machine
        .map(|name| vec!["--state-machine", name])
        .unwrap_or_default();
    let mut create = vec!["step-functions", "create"];
    create.extend(&named);
    aws.ok(example, &create);
    let mut trigger = vec!["step-functions", "trigger", "--wait"];
    trigger.extend(&named);
    trigger.extend(params);
    let run = aws.ok(example, &trigger).trim().to_string();
    let end = end_state::<F>(aws.store(), &run);
    (run, end)
}

/// Creates, triggers and waits for `example`; returns the end state of its run.
fn remote_end_state<F: Flow>(
    aws: &Aws,
    example: &str,
    params: &[&str],
    state_machine: Option<&str>,
) -> serde_json::Value {
    remote_run::<F>(aws, example, params, state_machine).1
}

#[test]
fn four_flows_succeed_under_throttling_spot_reclaims_and_describe_lag_as_locally() {
    let aws = Aws::start(
        &[HANG],
        &[
            ("MOTO_BATCH_SUBMIT_TPS", "4"),
            ("MOTO_BATCH_HOST_FAILURE_EVERY", "5"),
            ("MOTO_SFN_DESCRIBE_LAG", "1"),
        ],
    );
    let long_name = format!("Production-{}", "x".repeat(80 - "Production-".len()));
    assert_eq!(long_name.len(), 80);
    let local_dir = tempfile::tempdir().unwrap();
    let local = |name: &str| local_dir.path().join(name);

    std::thread::scope(|scope| {
        let nested = scope.spawn(|| {
            let remote = remote_end_state::<split_in_foreach::WordsFlow>(
                &aws,
                "split_in_foreach",
                &[],
                Some(&long_name),
            );
            let local = local_end_state::<split_in_foreach::WordsFlow>(
                "split_in_foreach",
                &[],
                &local("nested"),
            );
            ("split_in_foreach", remote, local)
        });
        let wide = scope.spawn(|| {
            let (run, remote) =
                remote_run::<foreach::MovieFlow>(&aws, "foreach", &["--count", "60"], None);
            // The run's report, read from the S3 datastore by the same binary.
            let page = aws.dir.path().join("foreach-report.html");
            let page_arg = page.to_str().unwrap();
            let datastore = aws.datastore.as_str();
            let written = aws.ok(
                "foreach",
                &["report", &run, "--datastore", datastore, "-o", page_arg],
            );
            assert!(written.contains("foreach-report.html"), "{written}");
            let html = std::fs::read_to_string(&page).unwrap();
            for step in ["start", "measure", "join", "end"] {
                assert!(html.contains(&format!(">{step}<")), "step {step} missing");
            }
            assert!(
                html.contains(&run) && html.contains(">60<"),
                "run or count missing"
            );
            let local = local_end_state::<foreach::MovieFlow>(
                "foreach",
                &["--count", "60"],
                &local("wide"),
            );
            assert_eq!(remote["lengths"].as_array().map(Vec::len), Some(60));
            ("foreach", remote, local)
        });
        let caught = scope.spawn(|| {
            let remote = remote_end_state::<caught_foreach::CaughtForeachFlow>(
                &aws,
                "caught_foreach",
                &[],
                None,
            );
            let local = local_end_state::<caught_foreach::CaughtForeachFlow>(
                "caught_foreach",
                &[],
                &local("caught"),
            );
            ("caught_foreach", remote, local)
        });
        let timeout = scope.spawn(|| {
            let remote = remote_end_state::<timeout_retry::TimeoutRetryFlow>(
                &aws,
                "timeout_retry",
                &[],
                None,
            );
            let local = local_end_state::<timeout_retry::TimeoutRetryFlow>(
                "timeout_retry",
                &[],
                &local("timeout"),
            );
            assert_eq!(remote["retried_on"], 1, "{remote}");
            assert_eq!(remote["caught_finished"], false, "{remote}");
            ("timeout_retry", remote, local)
        });
        for flow in [nested, wide, caught, timeout] {
            let (example, remote, local) = flow.join().expect("the flow's thread");
            assert_eq!(
                remote, local,
                "{example}: Step Functions and local runs differ"
            );
        }
    });

    // The faults really happened: submissions were throttled and first attempts reclaimed.
    let log = std::fs::read_to_string(aws.emulator.log_dir.join("moto-server.log")).unwrap();
    let throttled = log
        .lines()
        .filter(|l| l.contains("/v1/submitjob") && l.contains("\" 429 "))
        .count();
    assert!(throttled > 0, "no SubmitJob was throttled");
    let reclaimed = std::fs::read_dir(&aws.emulator.log_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with("-2.log"))
        .count();
    assert!(reclaimed > 0, "no job needed a second Batch attempt");
}

/// Every Batch Task state of `machine` (branches and map bodies included).
fn batch_tasks(machine: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    let Some(states) = machine["States"].as_object() else {
        return;
    };
    for state in states.values() {
        if state["Resource"] == "arn:aws:states:::batch:submitJob.sync" {
            out.push(state.clone());
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            batch_tasks(branch, out);
        }
        batch_tasks(&state["ItemProcessor"], out);
    }
}

#[test]
fn the_printed_deployment_shows_the_spot_retry_and_the_throttle_retry() {
    let out = Command::new(examples_dir().join("split_in_foreach"))
        .args([
            "step-functions",
            "create",
            "--only-json",
            "--job-definitions",
        ])
        .args(["--image", "img", "--job-queue", "q"])
        .args(["--datastore", "s3://flowrs-bucket/runs"])
        .env_remove("FLOW_SFN_STATE_MACHINE")
        .output()
        .expect("the example runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let definitions = printed["job_definitions"].as_array().unwrap();
    assert!(!definitions.is_empty());
    for definition in definitions {
        // Batch retries a Spot reclaim (its status reason) and nothing else.
        let strategy = &definition["retryStrategy"];
        assert!(strategy["attempts"].as_u64().unwrap() > 1, "{strategy}");
        let conditions = strategy["evaluateOnExit"].as_array().unwrap();
        assert_eq!(conditions[0]["onStatusReason"], "Host EC2*", "{strategy}");
        assert_eq!(
            conditions[0]["action"].as_str().unwrap().to_uppercase(),
            "RETRY"
        );
        let last = conditions.last().unwrap();
        assert_eq!(last["onReason"], "*", "{strategy}");
        assert_eq!(last["action"].as_str().unwrap().to_uppercase(), "EXIT");
    }

    let mut tasks = Vec::new();
    batch_tasks(&printed["definition"], &mut tasks);
    // start, word_start, length, letters, letter, letters_join, word_join, join, end; start
    // once more for a triggered and for an event-started run; the failure hook's two tasks.
    assert_eq!(tasks.len(), 9 + 2 + 2);
    for task in tasks {
        // The first retrier (retriers match in order) absorbs SubmitJob throttling.
        let throttle = &task["Retry"][0];
        let errors = throttle["ErrorEquals"].as_array().unwrap();
        assert!(errors.contains(&"Batch.AWSBatchException".into()), "{task}");
        assert!(errors.contains(&"Batch.ServerException".into()), "{task}");
        assert!(throttle["MaxAttempts"].as_u64().unwrap() >= 10, "{task}");
        assert!(
            throttle["MaxDelaySeconds"].as_u64().unwrap() >= 120,
            "{task}"
        );
        assert_eq!(throttle["JitterStrategy"], "FULL", "{task}");
    }
}
