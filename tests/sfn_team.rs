//! The team example on the emulator: a step reads its `env` and a secret that Batch resolves
//! from Secrets Manager, the secret's value reaches no definition, history, log, stored
//! object or output, a run whose secret does not exist fails to start its job (as on AWS),
//! and run tags round-trip through `trigger --tag`, `list-runs` (and its `--tag` filter),
//! `status`, `ctx.tags()` and the client. Also: the team's IAM policies read exactly its
//! secret, and parliament finds nothing in them.

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/team.rs"]
mod team;

use emulator::{runtime, Aws};
use flow_core::client::Client;
use flow_core::Flow;
use flow_sfn::infra::policy::{
    policy_document, AccountResources, Bindings, PolicyScope, Principal,
};
use flow_sfn::infra::Compute;
use std::process::Command;
use team::{TeamFlow, DB_PASSWORD_ARN};

/// The secret's value: text nothing else holds.
const SECRET: &str = "team-pw-Vq83kZr1xTt";

/// Creates the team's secret in the emulator's Secrets Manager (by name: its ARN is the
/// step's plus the random suffix AWS adds).
fn create_secret(aws: &Aws) {
    let name = DB_PASSWORD_ARN.rsplit(':').next().unwrap();
    let out = Command::new(flow_test_support::tool("FLOW_MOTO_PYTHON"))
        .args([
            "-c",
            "import boto3, os, sys; print(boto3.client('secretsmanager', \
             region_name=os.environ['AWS_REGION'], endpoint_url=os.environ['AWS_ENDPOINT_URL'])\
             .create_secret(Name=sys.argv[1], SecretString=sys.argv[2])['ARN'])",
            name,
            SECRET,
        ])
        .envs(aws.emulator.env())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "create_secret: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let arn = String::from_utf8_lossy(&out.stdout);
    assert!(arn.starts_with(&format!("{DB_PASSWORD_ARN}-")), "{arn}");
}

/// Every object of the datastore bucket, as text.
fn bucket_objects(aws: &Aws) -> Vec<(String, String)> {
    let clients = aws.clients();
    runtime().block_on(async {
        let listed = clients
            .s3
            .list_objects_v2()
            .bucket(Aws::BUCKET)
            .send()
            .await
            .unwrap();
        let mut objects = Vec::new();
        for object in listed.contents() {
            let key = object.key().unwrap().to_string();
            let body = clients
                .s3
                .get_object()
                .bucket(Aws::BUCKET)
                .key(&key)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
            objects.push((key, String::from_utf8_lossy(&body).into_owned()));
        }
        assert!(!listed.is_truncated().unwrap_or(false));
        objects
    })
}

/// The job definitions, state machines (definitions) and executions (input, output,
/// history) of the account, as text.
fn aws_descriptions(aws: &Aws) -> Vec<(String, String)> {
    let clients = aws.clients();
    runtime().block_on(async {
        let mut out = Vec::new();
        let definitions = clients
            .batch
            .describe_job_definitions()
            .send()
            .await
            .unwrap();
        assert!(!definitions.job_definitions().is_empty());
        for d in definitions.job_definitions() {
            out.push((
                format!(
                    "job definition {}",
                    d.job_definition_name().unwrap_or_default()
                ),
                format!("{d:?}"),
            ));
        }
        let machines = clients.sfn.list_state_machines().send().await.unwrap();
        for m in machines.state_machines() {
            let described = clients
                .sfn
                .describe_state_machine()
                .state_machine_arn(m.state_machine_arn())
                .send()
                .await
                .unwrap();
            out.push((
                format!("state machine {}", m.name()),
                format!("{described:?}"),
            ));
            let executions = clients
                .sfn
                .list_executions()
                .state_machine_arn(m.state_machine_arn())
                .send()
                .await
                .unwrap();
            for e in executions.executions() {
                let described = clients
                    .sfn
                    .describe_execution()
                    .execution_arn(e.execution_arn())
                    .send()
                    .await
                    .unwrap();
                let history = clients
                    .sfn
                    .get_execution_history()
                    .execution_arn(e.execution_arn())
                    .send()
                    .await
                    .unwrap();
                out.push((
                    format!("execution {}", e.name()),
                    format!("{described:?}\n{history:?}"),
                ));
            }
        }
        out
    })
}

/// Every file under the emulator's log directory (server log and each job attempt's log).
fn emulator_logs(aws: &Aws) -> Vec<(String, String)> {
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(&aws.emulator.log_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            logs.push((path.display().to_string(), text));
        }
    }
    logs
}

#[test]
fn team_reads_env_and_secret_on_batch_which_nothing_shows_and_tags_round_trip() {
    let aws = Aws::start(&[], &[]);
    let user = [("USER", "alice")];
    let mut outputs: Vec<String> = Vec::new();
    let mut run = |args: &[&str], ok: bool| -> (String, String) {
        let out = aws.cli_with_env("team", args, &user);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.success(),
            ok,
            "team {args:?}:\n{stdout}\n{stderr}\nemulator logs:\n{}",
            aws.emulator.logs()
        );
        outputs.push(format!("{stdout}\n{stderr}"));
        (stdout, stderr)
    };

    // Batch reads a step's secrets as the execution role: without one, nothing is deployed.
    let (_, missing_role) = run(&["step-functions", "create"], false);
    for said in [
        "secrets(...)",
        "--execution-role",
        "FLOW_SFN_EXECUTION_ROLE",
    ] {
        assert!(missing_role.contains(said), "`{said}`: {missing_role}");
    }
    let role = aws.emulator.role_arn.clone();
    run(
        &["step-functions", "create", "--execution-role", &role],
        true,
    );
    // --tag without the datastore is refused before anything starts.
    let out = aws.cli_with_env(
        "team",
        &["step-functions", "trigger", "--tag", "team=recs"],
        &[("FLOW_SFN_DATASTORE", ""), user[0]],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--tag needs the datastore"), "{stderr}");

    // Before the secret exists, the job fails to start and the run fails, naming it.
    let (stdout, stderr) = run(
        &["step-functions", "trigger", "--tag", "team=ads", "--wait"],
        false,
    );
    let no_secret = stdout.trim().lines().last().unwrap().to_string();
    assert!(stderr.contains("failed"), "{stderr}");
    let (status, _) = run(&["step-functions", "status", &no_secret], true);
    assert!(
        status.contains("unable to pull secrets") && status.contains(DB_PASSWORD_ARN),
        "{status}"
    );

    create_secret(&aws);
    let (stdout, _) = run(
        &[
            "step-functions",
            "trigger",
            "--tag",
            "team=recs",
            "--tag",
            "stage=test",
            "--wait",
        ],
        true,
    );
    let recs = stdout.trim().lines().last().unwrap().to_string();

    // The step saw MODE, the secret (by its length) and the run's tags.
    // Without --branch or --production, a project's runs are the user's own, stored in the
    // namespace's folder of the datastore.
    let root = format!("{}/recs.user.alice", aws.datastore);
    let store = emulator::with_env(&aws.env(), || {
        runtime().block_on(async { flow_sfn::open_s3_store(&root).await.unwrap() })
    });
    let client = Client::<TeamFlow>::new(store);
    let stored = runtime()
        .block_on(client.run(&recs.parse().unwrap()))
        .unwrap();
    let end: TeamFlow = runtime().block_on(stored.end_state()).unwrap();
    assert_eq!(end.mode, "batch-scoring");
    assert_eq!(end.password_len, SECRET.len());
    assert!(end.undeclared_hidden);
    let tags = stored.tags().clone();
    assert_eq!(tags.get("team").map(String::as_str), Some("recs"));
    assert_eq!(tags.get("stage").map(String::as_str), Some("test"));
    assert_eq!(tags.get("user").map(String::as_str), Some("alice"));
    assert!(
        tags.contains_key("host") && tags.contains_key("flowrs_version"),
        "{tags:?}"
    );
    assert_eq!(end.tags, tags, "ctx.tags() is the run's tags");
    let tagged = runtime()
        .block_on(client.runs().tagged("team", "recs").list())
        .unwrap();
    assert_eq!(
        tagged
            .iter()
            .map(|r| r.id().to_string())
            .collect::<Vec<_>>(),
        vec![recs.clone()]
    );

    // list-runs shows the tags and filters by them; status shows them.
    let (all, _) = run(&["step-functions", "list-runs"], true);
    assert!(all.contains("TAGS"), "{all}");
    assert!(all.contains("stage=test,team=recs"), "{all}");
    assert!(
        all.contains("team=ads") && all.contains(&no_secret),
        "{all}"
    );
    let (filtered, _) = run(&["step-functions", "list-runs", "--tag", "team=recs"], true);
    assert!(
        filtered.contains(&recs) && !filtered.contains(&no_secret),
        "{filtered}"
    );
    let (both, _) = run(
        &[
            "step-functions",
            "list-runs",
            "--tag",
            "team=recs",
            "--tag",
            "user=alice",
        ],
        true,
    );
    assert!(both.contains(&recs), "{both}");
    let (none, none_err) = run(
        &["step-functions", "list-runs", "--tag", "team=nobody"],
        true,
    );
    assert!(
        !none.contains(&recs) && none_err.contains("no runs"),
        "{none}{none_err}"
    );
    let (status, _) = run(&["step-functions", "status", &recs], true);
    assert!(
        status.contains("tags: ") && status.contains("team=recs"),
        "{status}"
    );
    assert!(status.contains("user=alice"), "{status}");

    // The secret's value: in no definition, execution, log, stored object or output.
    let mut places = aws_descriptions(&aws);
    places.extend(bucket_objects(&aws));
    places.extend(emulator_logs(&aws));
    places.extend(
        outputs
            .iter()
            .map(|o| ("a CLI output".to_string(), o.clone())),
    );
    // The places hold what was looked for: the job definition's secret, the step's output.
    assert!(places.iter().any(|(_, t)| t.contains(DB_PASSWORD_ARN)));
    assert!(places
        .iter()
        .any(|(_, t)| t.contains(&format!("a {}-character password", SECRET.len()))));
    for (place, text) in &places {
        assert!(!text.contains(SECRET), "the secret's value is in {place}");
    }
}

#[test]
fn team_policies_read_exactly_its_secret_and_pass_parliament() {
    let graph = TeamFlow::graph();
    let dir = tempfile::tempdir().unwrap();
    let account = AccountResources {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account_id: Some("123456789012".into()),
        bucket: "flows".into(),
        job_queue: "flows-queue".into(),
        state_machine_role_arn: "arn:aws:iam::123456789012:role/sm".into(),
        job_role_arn: Some("arn:aws:iam::123456789012:role/job".into()),
        schedule_role_arn: None,
        execution_role_arn: Some("arn:aws:iam::123456789012:role/exec".into()),
        repository: Some("flows".into()),
        log_group: Some("/flows".into()),
    };
    let mut written = 0;
    for compute in [Compute::Ec2, Compute::Fargate] {
        let scope = PolicyScope::new(graph, "TeamFlow", "runs", compute, None);
        let bindings = Bindings::account(&scope, &account);
        let execution = policy_document(Principal::Execution, &scope, &bindings)
            .unwrap()
            .unwrap();
        let reads: Vec<&serde_json::Value> = execution["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s.to_string().contains("secretsmanager"))
            .collect();
        assert_eq!(reads.len(), 1, "{execution}");
        assert_eq!(
            reads[0]["Resource"],
            serde_json::json!([DB_PASSWORD_ARN, format!("{DB_PASSWORD_ARN}-??????")])
        );
        for principal in Principal::ALL.into_iter().filter(|p| scope.has(*p)) {
            if let Some(policy) = policy_document(principal, &scope, &bindings).unwrap() {
                std::fs::write(
                    dir.path().join(format!("{compute}-{principal:?}.json")),
                    policy.to_string(),
                )
                .unwrap();
                written += 1;
            }
        }
    }
    assert!(written >= 8, "{written}");
    let out = Command::new(flow_test_support::tool("FLOW_PARLIAMENT"))
        .arg("--directory")
        .arg(dir.path())
        .args(["--include_policy_extension", ".json"])
        .output()
        .expect("parliament runs");
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "parliament: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
