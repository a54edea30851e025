//! Step Functions + Batch under the faults and limits of the real services, on the strict
//! emulator (tests/support/aws-emulator): each test turns on the behaviour a defect depends
//! on and proves the run ends as it does locally.
//!
//! * Batch never retries a job it stopped for its timeout: a step's timeout fires in the
//!   job first and Step Functions retries it, as a local run does.
//! * A caught foreach fans out over no items, on Step Functions as locally.
//! * A Spot reclaim fails a job attempt after its task may have committed: Batch retries it,
//!   and the second attempt does not run the step again.
//! * Batch allows 50 SubmitJob per second: a wide foreach is throttled and still succeeds.
//! * A resumed run submits Batch jobs only for the tasks that run again.

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/caught_foreach.rs"]
mod caught_foreach;
#[path = "../examples/foreach.rs"]
mod foreach;
#[path = "../examples/resume.rs"]
mod resume;
#[path = "../examples/timeout_retry.rs"]
mod timeout_retry;

use emulator::{examples_dir, runtime, Aws};
use flow_core::client::Client;
use flow_core::datastore::{ObjectStore, TaskStatus};
use flow_core::{Flow, RunId, StepErrorKind};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// Runs `example` locally (its `run` command, in its own process) with `env`, in a datastore
/// under `dir`; returns the run id and the datastore.
fn run_locally(
    example: &str,
    args: &[&str],
    env: &[(&str, &str)],
    dir: &Path,
) -> (String, Arc<dyn ObjectStore>) {
    let out = Command::new(examples_dir().join(example))
        .args(["run", "-q", "--datastore"])
        .arg(dir)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("FLOW_DATASTORE")
        .output()
        .expect("the example runs");
    assert!(
        out.status.success(),
        "local {example} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = String::from_utf8(out.stdout).unwrap().trim().to_string();
    (run, Arc::new(flow_local::FsStore::new(dir)))
}

/// The end state of a stored run, as JSON.
fn end_state<F: Flow>(store: Arc<dyn ObjectStore>, run: &str) -> serde_json::Value {
    let client = Client::<F>::new(store);
    let run = RunId::new(run.to_string()).unwrap();
    runtime().block_on(async {
        let end = client.run(&run).await.unwrap().end_state().await.unwrap();
        serde_json::to_value(end).unwrap()
    })
}

/// The attempts Batch made of each job, from the emulator's job logs
/// (`<jobId>-<attempt>.log`).
fn batch_attempts(aws: &Aws) -> BTreeMap<String, BTreeSet<u32>> {
    let mut jobs: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for entry in std::fs::read_dir(&aws.emulator.log_dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some((job, attempt)) = name
            .strip_suffix(".log")
            .and_then(|stem| stem.rsplit_once('-'))
        else {
            continue;
        };
        if let Ok(attempt) = attempt.parse::<u32>() {
            jobs.entry(job.to_string()).or_default().insert(attempt);
        }
    }
    jobs
}

/// The Batch job name (`<flow>-<step>`) of each job id.
fn job_names(aws: &Aws, ids: &[String]) -> Vec<String> {
    let clients = aws.clients();
    let mut names = Vec::new();
    for chunk in ids.chunks(100) {
        let out = runtime().block_on(async {
            clients
                .batch
                .describe_jobs()
                .set_jobs(Some(chunk.to_vec()))
                .send()
                .await
                .expect("DescribeJobs")
        });
        names.extend(
            out.jobs()
                .iter()
                .map(|j| j.job_name().unwrap_or_default().to_string()),
        );
    }
    names.sort();
    names
}

#[test]
fn a_timed_out_attempt_is_retried_and_a_caught_timeout_goes_on_as_locally() {
    // Each hanging attempt blocks its thread 75 s, past the steps' 61 s timeout. Batch gives
    // up on an attempt only at its own timeout (in the job definition, past the step's), and
    // never retries such an attempt: the step's timeout must end the attempt first.
    let hang = [("TIMEOUT_RETRY_HANG_SECS", "75")];
    let aws = Aws::start(&hang, &[]);
    let local_dir = tempfile::tempdir().unwrap();
    let local = std::thread::scope(|scope| {
        let local = scope.spawn(|| run_locally("timeout_retry", &[], &hang, local_dir.path()));
        aws.ok("timeout_retry", &["step-functions", "create"]);
        let run = aws
            .ok("timeout_retry", &["step-functions", "trigger", "--wait"])
            .trim()
            .to_string();
        (run, local.join().expect("the local run"))
    });
    let (remote, (local_run, local_store)) = local;
    type Flow = timeout_retry::TimeoutRetryFlow;
    let remote_end = end_state::<Flow>(aws.store(), &remote);
    assert_eq!(
        remote_end,
        end_state::<Flow>(local_store.clone(), &local_run)
    );
    assert_eq!(remote_end["retried_on"], 1);
    assert_eq!(remote_end["caught_finished"], false);

    // The same attempts ended the same way: `retried` timed out on attempt 0 (its log says
    // so) and finished on attempt 1; `caught` timed out and was caught with the same error.
    let records = |store: Arc<dyn ObjectStore>, run: &str| {
        let client = Client::<Flow>::new(store);
        let run = RunId::new(run.to_string()).unwrap();
        runtime().block_on(async {
            let run = client.run(&run).await.unwrap();
            let retried = run.task("retried", &[]).await.unwrap();
            let caught = run.task("caught", &[]).await.unwrap();
            let logs = retried.logs().await.unwrap();
            (retried.record().clone(), caught.record().clone(), logs)
        })
    };
    let (remote_retried, remote_caught, remote_logs) = records(aws.store(), &remote);
    let (local_retried, local_caught, local_logs) = records(local_store, &local_run);
    for (retried, logs) in [
        (&remote_retried, &remote_logs),
        (&local_retried, &local_logs),
    ] {
        assert_eq!(retried.status, TaskStatus::Succeeded);
        assert_eq!(retried.attempts.last().unwrap().attempt, 1);
        let first = &logs
            .iter()
            .find(|(n, _)| *n == 0)
            .expect("attempt 0's log")
            .1;
        assert!(
            first.contains("ran longer than its timeout of 61 s"),
            "{first}"
        );
    }
    assert_eq!(remote_caught.status, TaskStatus::Caught);
    assert_eq!(remote_caught.error, local_caught.error);
    assert_eq!(
        remote_caught.error.as_ref().unwrap().kind,
        StepErrorKind::Timeout
    );
    // Step Functions retried `retried` with a new job; Batch retried nothing.
    let jobs = batch_attempts(&aws);
    assert!(jobs.values().all(|a| a.len() == 1), "{jobs:?}");
    let ids: Vec<String> = jobs.keys().cloned().collect();
    let names = job_names(&aws, &ids);
    let retried_jobs = names
        .iter()
        .filter(|n| *n == "TimeoutRetryFlow-retried")
        .count();
    assert_eq!(retried_jobs, 2, "{names:?}");
}

#[test]
fn a_caught_foreach_fans_out_over_no_items_as_locally() {
    let aws = Aws::start(&[], &[]);
    aws.ok("caught_foreach", &["step-functions", "create"]);
    let remote = aws
        .ok("caught_foreach", &["step-functions", "trigger", "--wait"])
        .trim()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let (local, local_store) = run_locally("caught_foreach", &[], &[], dir.path());
    type Flow = caught_foreach::CaughtForeachFlow;
    let remote_end = end_state::<Flow>(aws.store(), &remote);
    assert_eq!(remote_end, end_state::<Flow>(local_store, &local));
    assert_eq!(remote_end["joined"], 0);
    assert_eq!(remote_end["items"], serde_json::json!([1, 2, 3]));
    // No item ran: no `square` job.
    let ids: Vec<String> = batch_attempts(&aws).keys().cloned().collect();
    let names = job_names(&aws, &ids);
    assert!(!names.iter().any(|n| n.ends_with("-square")), "{names:?}");
}

#[test]
fn a_spot_reclaim_is_retried_by_batch_and_the_second_attempt_runs_nothing_again() {
    // The first attempt of every job is reclaimed after its process ran (and committed).
    let work = tempfile::tempdir().unwrap();
    let trace = work.path().join("trace");
    let aws = Aws::start(
        &[("RESUME_TRACE", trace.to_str().unwrap())],
        &[("MOTO_BATCH_HOST_FAILURE_EVERY", "1")],
    );
    aws.ok("resume", &["step-functions", "create"]);
    let run = aws
        .ok("resume", &["step-functions", "trigger", "--wait"])
        .trim()
        .to_string();
    assert_eq!(
        end_state::<resume::ResumeFlow>(aws.store(), &run)["doubled"],
        110
    );
    // Every job was reclaimed once and retried by Batch.
    let jobs = batch_attempts(&aws);
    assert_eq!(jobs.len(), 6, "one job per step: {jobs:?}");
    for (job, attempts) in &jobs {
        assert_eq!(attempts, &BTreeSet::from([1, 2]), "job {job}");
        let first = std::fs::read_to_string(aws.emulator.log_dir.join(format!("{job}-1.log")))
            .unwrap_or_default();
        assert!(first.contains("Host EC2"), "job {job}: {first}");
    }
    // Each step ran once: the second attempt found its task committed.
    let ran = std::fs::read_to_string(&trace).unwrap();
    for step in ["start", "left", "right", "merge", "fragile", "end"] {
        let task = format!("{step}/0");
        assert_eq!(
            ran.lines().filter(|l| *l == task).count(),
            1,
            "{step}:\n{ran}"
        );
    }
}

#[test]
fn a_wide_foreach_throttled_at_submission_still_succeeds() {
    // Two SubmitJob per second, and the foreach's 60 items all start at once.
    let aws = Aws::start(&[], &[("MOTO_BATCH_SUBMIT_TPS", "2")]);
    aws.ok("foreach", &["step-functions", "create"]);
    let run = aws
        .ok(
            "foreach",
            &["step-functions", "trigger", "--wait", "--count", "60"],
        )
        .trim()
        .to_string();
    let end = end_state::<foreach::MovieFlow>(aws.store(), &run);
    assert_eq!(end["lengths"].as_array().unwrap().len(), 60);
    // Submissions were throttled (HTTP 429) and retried until each got through.
    let log = std::fs::read_to_string(aws.emulator.log_dir.join("moto-server.log")).unwrap();
    let throttled = log
        .lines()
        .filter(|l| l.contains("/v1/submitjob") && l.contains("\" 429 "))
        .count();
    assert!(
        throttled > 0,
        "no submission was throttled: the test proves nothing"
    );
    assert_eq!(
        batch_attempts(&aws).len(),
        63,
        "the foreach (start), 60 items, join, end"
    );
}

#[test]
fn a_resumed_run_submits_jobs_only_for_the_tasks_that_run_again() {
    let work = tempfile::tempdir().unwrap();
    let outage = work.path().join("outage");
    std::fs::write(&outage, "down").unwrap();
    let aws = Aws::start(&[("FRAGILE_FAIL_IF_EXISTS", outage.to_str().unwrap())], &[]);
    aws.ok("resume", &["step-functions", "create"]);
    let out = aws.cli("resume", &["step-functions", "trigger", "--wait"]);
    assert!(
        !out.status.success(),
        "the run should fail during the outage"
    );
    let failed = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let before: BTreeSet<String> = batch_attempts(&aws).into_keys().collect();

    std::fs::remove_file(&outage).unwrap();
    let resumed = aws
        .ok("resume", &["step-functions", "resume", &failed, "--wait"])
        .trim()
        .to_string();
    assert_eq!(
        end_state::<resume::ResumeFlow>(aws.store(), &resumed)["doubled"],
        110
    );
    // start, left, right and merge were cloned before the execution started: the state
    // machine found them in the new run and submitted no job for them.
    let new: Vec<String> = batch_attempts(&aws)
        .into_keys()
        .filter(|job| !before.contains(job))
        .collect();
    assert_eq!(
        job_names(&aws, &new),
        ["ResumeFlow-end", "ResumeFlow-fragile"]
    );
}
