//! A step's `env(...)` and `secrets(...)` on a local run: the step reads both through
//! `ctx.env`, the secret's value comes from `--secret`, `--secrets-file` (JSON or
//! `NAME=VALUE` lines, by variable name or ARN) or `Runner::secret`; a run missing one does
//! not start and says how to give it; and the value reaches no output, log or stored file.

mod common;

#[path = "../examples/secret_env.rs"]
mod secret_env;

use common::text;
use flow_core::client::Client;
use flow_local::{FsStore, Runner};
use flow_test_support::example_binary;
use secret_env::{SecretEnv, SecretEnvParams, DB_PASSWORD_ARN};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

/// A value no other text holds by chance.
const SECRET: &str = "pw-Zq7xK2vL9mN4";

fn secret_env(store: &Path, args: &[&str]) -> Output {
    Command::new(example_binary("secret_env"))
        .args(args)
        .env("FLOW_DATASTORE", store)
        .env_remove("FLOW_SECRETS_FILE")
        .output()
        .expect("the secret_env example runs")
}

/// Runs `args`, asserts it succeeded, returns stdout's last line (the run id) and the
/// whole output.
fn run_ok(store: &Path, args: &[&str]) -> (String, String) {
    let out = secret_env(store, args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    let id = stdout.trim().lines().last().unwrap_or_default().to_string();
    (id, format!("{stdout}{stderr}"))
}

/// Every file under `dir`, as text, with its path.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    common::snapshot(dir)
        .into_iter()
        .map(|(path, bytes)| (path, String::from_utf8_lossy(&bytes).into_owned()))
        .collect()
}

/// Asserts `needle` is in none of `texts` nor in any file under `dir`.
fn assert_nowhere(needle: &str, dir: &Path, texts: &[&str]) {
    for (path, text) in files(dir) {
        assert!(
            !text.contains(needle),
            "the secret is in {}",
            path.display()
        );
    }
    for text in texts {
        assert!(!text.contains(needle), "the secret is in an output: {text}");
    }
}

async fn seen(store: &Path, id: &str) -> SecretEnv {
    let client = Client::<SecretEnv>::new(Arc::new(FsStore::new(store)));
    client
        .run(&id.parse().unwrap())
        .await
        .unwrap()
        .end_state()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_step_reads_its_env_and_a_secret_given_every_way() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let files_dir = dir.path().join("files");
    std::fs::create_dir(&files_dir).unwrap();
    let mut outputs = Vec::new();

    // --secret NAME=VALUE.
    let (flag, out) = run_ok(
        &store,
        &["run", "--secret", &format!("DB_PASSWORD={SECRET}")],
    );
    outputs.push(out);
    let state = seen(&store, &flag).await;
    assert_eq!(state.mode, "offline");
    assert_eq!(state.password_len, SECRET.len());
    assert!(
        state.hidden_from_end,
        "a step that declares nothing sees no secret"
    );

    // A JSON secrets file, by ARN.
    let json = files_dir.join("secrets.json");
    std::fs::write(&json, format!(r#"{{"{DB_PASSWORD_ARN}": "{SECRET}x"}}"#)).unwrap();
    let (by_arn, out) = run_ok(&store, &["run", "--secrets-file", json.to_str().unwrap()]);
    outputs.push(out);
    assert_eq!(seen(&store, &by_arn).await.password_len, SECRET.len() + 1);

    // NAME=VALUE lines, with comments, `export` and quotes.
    let lines = files_dir.join("secrets.env");
    std::fs::write(
        &lines,
        format!("# team secrets\n\nexport DB_PASSWORD=\"{SECRET}yy\"\nOTHER=1\n"),
    )
    .unwrap();
    let (by_lines, out) = run_ok(&store, &["run", "--secrets-file", lines.to_str().unwrap()]);
    outputs.push(out);
    assert_eq!(seen(&store, &by_lines).await.password_len, SECRET.len() + 2);

    // --secret wins over the file.
    let (both, out) = run_ok(
        &store,
        &[
            "run",
            "--secrets-file",
            lines.to_str().unwrap(),
            "--secret",
            &format!("DB_PASSWORD={SECRET}zzz"),
        ],
    );
    outputs.push(out);
    assert_eq!(seen(&store, &both).await.password_len, SECRET.len() + 3);

    // A failing step's error, resume (which needs the secret again), and every read-out
    // of what was stored.
    let out = secret_env(
        &store,
        &[
            "run",
            "--fail",
            "true",
            "--secret",
            &format!("DB_PASSWORD={SECRET}"),
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("could not connect") || stdout.contains("could not connect"),
        "{stdout}{stderr}"
    );
    outputs.push(format!("{stdout}{stderr}"));
    let out = secret_env(&store, &["resume"]);
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "resume without the secret: {stdout}{stderr}"
    );
    assert!(stderr.contains("--secret DB_PASSWORD=VALUE"), "{stderr}");
    outputs.push(format!("{stdout}{stderr}"));
    // Given it, the resumed `start` runs again (and fails again: its params say so).
    let out = secret_env(
        &store,
        &["resume", "--secret", &format!("DB_PASSWORD={SECRET}")],
    );
    let (stdout, stderr) = text(&out);
    assert!(
        stdout.contains("read a 15-character password"),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("could not connect"), "{stdout}{stderr}");
    outputs.push(format!("{stdout}{stderr}"));
    let report = files_dir.join("report.html");
    for id in [&flag, &by_arn, &by_lines, &both] {
        for args in [
            vec!["dump", id.as_str()],
            vec!["dump", &format!("{id}/start")],
            vec!["logs", &format!("{id}/start")],
            vec!["report", id.as_str(), "--output", report.to_str().unwrap()],
        ] {
            let out = secret_env(&store, &args);
            let (stdout, stderr) = text(&out);
            assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
            outputs.push(format!("{stdout}{stderr}"));
        }
        outputs.push(std::fs::read_to_string(&report).unwrap());
    }
    for args in [vec!["show"], vec!["runs"]] {
        let (_, out) = run_ok(&store, &args);
        outputs.push(out);
    }
    // The logs hold what the step printed (so the grep below reads them).
    assert!(
        outputs
            .iter()
            .any(|o| o.contains("read a 15-character password")),
        "{outputs:?}"
    );
    let texts: Vec<&str> = outputs.iter().map(String::as_str).collect();
    assert_nowhere(SECRET, &store, &texts);
}

#[tokio::test]
async fn runner_secret_gives_the_value_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let handle = Runner::<SecretEnv>::new()
        .datastore(dir.path())
        .secret("DB_PASSWORD", SECRET)
        .run()
        .await
        .unwrap();
    assert!(handle.succeeded(), "{:?}", handle.error());
    let state = handle.end_state().await.unwrap();
    assert_eq!(
        (state.mode.as_str(), state.password_len),
        ("offline", SECRET.len())
    );
    // By ARN too; the error of a failing step, and the handle's Debug, hold no value.
    let handle = Runner::<SecretEnv>::new()
        .datastore(dir.path())
        .params(SecretEnvParams { fail: true })
        .secret(DB_PASSWORD_ARN, SECRET)
        .run()
        .await
        .unwrap();
    assert!(!handle.succeeded());
    let error = format!("{:?} {}", handle.error(), handle.error().unwrap());
    assert!(error.contains("15-character password"), "{error}");
    assert!(!error.contains(SECRET), "{error}");
    assert_nowhere(SECRET, dir.path(), &[]);
}

#[tokio::test]
async fn a_run_missing_a_secret_does_not_start_and_says_how_to_give_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = secret_env(&store, &["run"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    for said in [
        "step `start` reads secret `DB_PASSWORD`",
        DB_PASSWORD_ARN,
        "--secret DB_PASSWORD=VALUE",
        "--secrets-file",
    ] {
        assert!(stderr.contains(said), "`{said}` missing: {stderr}");
    }
    assert!(files(&store).is_empty(), "{:?}", files(&store));
    // A secret of another name is not it.
    let out = secret_env(&store, &["run", "--secret", &format!("DB_PASS={SECRET}")]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("--secret DB_PASSWORD=VALUE"), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
    assert!(files(&store).is_empty());
    // Through the Rust API: an error, nothing stored.
    let Err(err) = Runner::<SecretEnv>::new().datastore(&store).run().await else {
        panic!("a run missing its secret started");
    };
    let err = err.to_string();
    assert!(
        err.contains("Runner::secret(\"DB_PASSWORD\", value)"),
        "{err}"
    );
    assert!(files(&store).is_empty());
}

#[test]
fn bad_secret_flags_and_files_are_clear_errors_that_never_show_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let bad = |args: &[&str], says: &[&str]| {
        let out = secret_env(&store, args);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{args:?}: {stdout}{stderr}");
        for said in says {
            assert!(
                stderr.contains(said),
                "{args:?}: `{said}` missing: {stderr}"
            );
        }
        assert!(
            !stderr.contains(SECRET),
            "{args:?} shows the value: {stderr}"
        );
        assert!(
            !stdout.contains(SECRET),
            "{args:?} shows the value: {stdout}"
        );
    };
    // No `=`, or no name.
    bad(
        &["run", "--secret", "OTHER=1", "--secret", SECRET],
        &[
            "--secret number 2 is not NAME=VALUE",
            "--secret DB_PASSWORD=VALUE",
        ],
    );
    bad(
        &["run", "--secret", &format!("={SECRET}")],
        &["--secret number 1 is not NAME=VALUE"],
    );
    // A missing file.
    let missing = dir.path().join("nope.json");
    bad(
        &["run", "--secrets-file", missing.to_str().unwrap()],
        &["--secrets-file: cannot read", "nope.json"],
    );
    // Malformed JSON, and JSON whose value is not a string.
    let json = dir.path().join("bad.json");
    std::fs::write(&json, format!(r#"{{"DB_PASSWORD": "{SECRET}"#)).unwrap();
    bad(
        &["run", "--secrets-file", json.to_str().unwrap()],
        &[
            "is not a JSON object of strings",
            "{\"DB_PASSWORD\": \"...\"}",
        ],
    );
    std::fs::write(&json, r#"{"DB_PASSWORD": 4711}"#).unwrap();
    let out = secret_env(&store, &["run", "--secrets-file", json.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("is not a JSON object of strings"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("4711"),
        "a number value is shown: {stderr}"
    );
    // A line that is not NAME=VALUE names its number, not its text.
    let lines = dir.path().join("bad.env");
    std::fs::write(&lines, format!("A=1\n{SECRET}\n")).unwrap();
    bad(
        &["run", "--secrets-file", lines.to_str().unwrap()],
        &["line 2 of", "is not NAME=VALUE"],
    );
    assert!(files(&store).is_empty(), "a refused run stores nothing");
}
