//! `flow_sfn::Deployment` on the emulator: the foreach example deployed, triggered, waited
//! for, its end step's artifacts read from the S3 datastore, resumed, its runs listed and the
//! flow deleted, entirely through the Rust API; and its errors: a missing setting names its
//! variable, and triggering a flow that is not deployed says to create it.

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/foreach.rs"]
mod foreach;

use emulator::Aws;
use flow_sfn::deployment::ExecutionStatus;
use flow_sfn::Deployment;
use foreach::{MovieFlow, MovieParams};

#[test]
fn deployment_api_creates_triggers_waits_reads_lists_and_deletes() {
    let aws = Aws::start(&[], &[]);
    // One emulator for this binary and one test: the process environment is its settings.
    for (key, value) in aws.env() {
        std::env::set_var(key, value);
    }
    std::env::remove_var("FLOW_SFN_STATE_MACHINE");
    std::env::remove_var("FLOW_DATASTORE");
    // The Batch jobs run the example's binary, not this test's.
    std::env::set_var("FLOW_SFN_BINARY_NAME", "foreach");

    // A setting `create` needs that is missing is named with its flag and variable.
    let queue = std::env::var("FLOW_SFN_JOB_QUEUE").unwrap();
    std::env::remove_var("FLOW_SFN_JOB_QUEUE");
    let error = Deployment::<MovieFlow>::from_env()
        .err()
        .expect("from_env without a job queue is refused")
        .to_string();
    assert!(
        error.contains("FLOW_SFN_JOB_QUEUE") && error.contains("--job-queue"),
        "{error}"
    );
    std::env::set_var("FLOW_SFN_JOB_QUEUE", &queue);

    let deployment = Deployment::<MovieFlow>::from_env().expect("settings from the environment");
    emulator::runtime().block_on(async {
        // Not deployed yet: triggering says so and how to fix it.
        let error = match deployment.trigger(MovieParams { count: 3 }).await {
            Ok(run) => panic!("run {} started on a flow that is not deployed", run.id()),
            Err(e) => e.to_string(),
        };
        assert!(
            error.contains("`MovieFlow` does not exist") && error.contains("`Deployment::create`"),
            "{error}"
        );

        let created = deployment.create().await.expect("create");
        let arn = &created.deployed.state_machine_arn;
        assert!(arn.ends_with(":stateMachine:MovieFlow"), "{arn}");
        assert!(created.deployed.created);
        assert_eq!(created.compiled.state_machine_name, "MovieFlow");
        assert_eq!(
            created.deployed.registered_job_definitions.len(),
            created.compiled.job_definitions.len(),
        );

        let run = deployment
            .trigger(MovieParams { count: 3 })
            .await
            .expect("trigger");
        assert!(run.started().is_some_and(|s| s.on_alias));
        let ended = run.wait().await.expect("wait");
        assert_eq!(
            ended.summary.status,
            ExecutionStatus::Succeeded,
            "{ended:?}\n{}",
            aws.emulator.logs()
        );
        assert_eq!(
            run.status().await.unwrap().summary.status,
            ExecutionStatus::Succeeded
        );

        // The end step's artifacts, from the S3 datastore.
        let client = run.client().await.expect("client");
        let stored = client
            .run(run.id())
            .await
            .expect("the run in the datastore");
        assert_eq!(stored.params().unwrap().count, 3);
        let end = stored.end_state().await.expect("end state");
        assert_eq!(end.lengths, vec![5, 6, 10]);
        assert_eq!(end.titles, vec!["Alien", "Brazil", "Casablanca"]);

        // A finished run cannot be stopped.
        let error = run.terminate().await.unwrap_err().to_string();
        assert!(
            error.contains("is not running (it is SUCCEEDED)"),
            "{error}"
        );

        // Resumed from `join`: `start` and the three `measure` tasks are cloned.
        let resumed = deployment
            .resume(run.id().clone(), Some("join"), None)
            .await
            .expect("resume");
        assert_eq!(resumed.cloned, 4);
        assert_eq!(resumed.resume_step.as_deref(), Some("join"));
        let ended = resumed.run.wait().await.expect("wait for the resumed run");
        assert_eq!(
            ended.summary.status,
            ExecutionStatus::Succeeded,
            "{ended:?}"
        );
        let again = client.run(resumed.run.id()).await.unwrap();
        assert_eq!(again.end_state().await.unwrap().lengths, vec![5, 6, 10]);

        let runs = deployment.list_runs(None).await.expect("list_runs");
        let mut listed: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
        listed.sort();
        let mut expected = vec![run.id().as_str(), resumed.run.id().as_str()];
        expected.sort();
        assert_eq!(listed, expected);
        // The same deployment built in code lists the same runs.
        let built = Deployment::<MovieFlow>::builder()
            .datastore(&aws.datastore)
            .build();
        let runs_again = built.list_runs(None).await.expect("list_runs (builder)");
        assert_eq!(runs_again, runs);
        let failed = deployment
            .list_runs(Some(ExecutionStatus::Failed))
            .await
            .unwrap();
        assert!(failed.is_empty(), "{failed:?}");

        let deleted = deployment.delete().await.expect("delete");
        assert_eq!(&deleted.state_machine_arn, arn);
        assert_eq!(
            deleted.deregistered_job_definitions,
            created.compiled.job_definitions.len()
        );
        let error = deployment.list_runs(None).await.unwrap_err().to_string();
        assert!(error.contains("does not exist"), "{error}");
    });
}
