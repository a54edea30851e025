//! A local run of the team example (`flow_sfn::main`) reads the secret it was not given by
//! value from Secrets Manager (the emulator's), through the standard AWS configuration; the
//! value reaches no output and no stored file. A secret Secrets Manager does not hold, or
//! holds as binary, fails the run before it starts, naming its ARN, the AWS error code (or
//! SecretBinary) and the offline alternatives, and stores nothing. A value given by `--secret` wins, and a run given
//! every secret by value makes no AWS call (its endpoint is a closed port).

#[path = "common/emulator.rs"]
mod emulator;

#[path = "../examples/team.rs"]
mod team;

use emulator::{runtime, Emulator};
use flow_core::client::Client;
use flow_local::FsStore;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use team::{TeamFlow, DB_PASSWORD_ARN};

/// The secret's value in Secrets Manager: text nothing else holds.
const SECRET: &str = "local-pw-Hq27xWm9Lr";

/// Runs the team binary's `run` command in `dir` with `env`, storing runs in `dir/.flow`.
fn team_run(dir: &Path, env: &[(&str, String)], extra: &[&str]) -> Output {
    Command::new(flow_test_support::example_binary("team"))
        .args(["run", "--quiet", "--datastore", ".flow"])
        .args(extra)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("USER", "alice")
        .env_remove("FLOW_DATASTORE")
        .env_remove("FLOW_SECRETS_FILE")
        .current_dir(dir)
        .output()
        .expect("the team binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// The end state of the latest run of the team flow stored in `dir/.flow`.
fn latest_end(dir: &Path) -> TeamFlow {
    let client = Client::<TeamFlow>::new(Arc::new(FsStore::new(dir.join(".flow"))));
    runtime().block_on(async {
        let run = client.latest().await.expect("a stored run");
        run.end_state().await.expect("its end state")
    })
}

/// Runs `code` (Python, with a `client` of the emulator's Secrets Manager and the team's
/// secret's `name`) against the emulator.
fn secretsmanager(emulator: &Emulator, code: &str) {
    let name = DB_PASSWORD_ARN.rsplit(':').next().unwrap();
    let out = Command::new(flow_test_support::tool("FLOW_MOTO_PYTHON"))
        .args([
            "-c",
            &format!(
                "import boto3, os, sys; client = boto3.client('secretsmanager', \
                 region_name=os.environ['AWS_REGION'], \
                 endpoint_url=os.environ['AWS_ENDPOINT_URL']); name = sys.argv[1]; \
                 value = sys.argv[2]; {code}"
            ),
            name,
            SECRET,
        ])
        .envs(emulator.env())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn local_run_reads_its_secret_from_secrets_manager_and_shows_it_nowhere() {
    let emulator = Emulator::start(&[]);
    let env: Vec<(&str, String)> = emulator.env();

    // Before the secret exists: the run fails before it starts, naming the ARN, the AWS
    // error code and how to give the value offline; nothing is stored.
    let missing = tempfile::tempdir().unwrap();
    let out = team_run(missing.path(), &env, &[]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    for expected in [
        DB_PASSWORD_ARN,
        "DB_PASSWORD",
        "GetSecretValue",
        "ResourceNotFoundException",
        "--secret DB_PASSWORD=VALUE",
        "--secrets-file",
    ] {
        assert!(said.contains(expected), "no `{expected}` in: {said}");
    }
    assert_eq!(files(missing.path()), Vec::<PathBuf>::new(), "{said}");

    // A binary secret: a step reads text, so the run fails before it starts.
    secretsmanager(
        &emulator,
        "client.create_secret(Name=name, SecretBinary=b'binary')",
    );
    let binary = tempfile::tempdir().unwrap();
    let out = team_run(binary.path(), &env, &[]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    for expected in [
        DB_PASSWORD_ARN,
        "SecretBinary",
        "--secret DB_PASSWORD=VALUE",
    ] {
        assert!(said.contains(expected), "no `{expected}` in: {said}");
    }
    assert_eq!(files(binary.path()), Vec::<PathBuf>::new(), "{said}");

    // Its current version as text.
    secretsmanager(
        &emulator,
        "client.put_secret_value(SecretId=name, SecretString=value)",
    );

    // The secret comes from Secrets Manager; its value is in no output or stored file.
    let dir = tempfile::tempdir().unwrap();
    let out = team_run(dir.path(), &env, &[]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let end = latest_end(dir.path());
    assert_eq!(end.password_len, SECRET.len());
    assert_eq!(end.mode, "batch-scoring");
    assert!(
        !said.contains(SECRET),
        "the secret's value is in the output"
    );
    let stored = files(dir.path());
    assert!(stored.len() >= 3, "{stored:?}");
    for path in stored {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the secret's value is in {}",
            path.display()
        );
    }

    // A value given by --secret wins over Secrets Manager's.
    let given = tempfile::tempdir().unwrap();
    let out = team_run(given.path(), &env, &["--secret", "DB_PASSWORD=given"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(latest_end(given.path()).password_len, "given".len());
}

#[test]
fn offline_runs_given_every_secret_make_no_aws_call() {
    // A closed port: any AWS call would fail the run.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = vec![
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = team_run(dir.path(), &env, &["--secret", "DB_PASSWORD=offline"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(latest_end(dir.path()).password_len, "offline".len());

    // By ARN, from a secrets file, too.
    let file = dir.path().join("secrets.env");
    std::fs::write(&file, format!("{DB_PASSWORD_ARN}=from-file\n")).unwrap();
    let out = team_run(
        dir.path(),
        &env,
        &["--secrets-file", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(latest_end(dir.path()).password_len, "from-file".len());

    // Not given, and AWS unreachable: the run fails before it starts, naming the secret,
    // the endpoint and the offline alternatives.
    let unreachable = tempfile::tempdir().unwrap();
    let out = team_run(unreachable.path(), &env, &[]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    for expected in [
        DB_PASSWORD_ARN,
        "cannot reach AWS",
        "--secret DB_PASSWORD=VALUE",
    ] {
        assert!(said.contains(expected), "no `{expected}` in: {said}");
    }
    assert_eq!(files(unreachable.path()), Vec::<PathBuf>::new(), "{said}");
}
