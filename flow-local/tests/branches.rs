//! Local branches of a project's flow: `run --branch NAME` and `run --production` store runs
//! apart (under `<datastore>/<project>.test.NAME` and `<datastore>/<project>.prod`), `runs`,
//! `dump` and `resume` see only their own branch's, and a bad branch or a branch flag on a
//! flow without a project is a clear error.

mod common;

#[path = "../examples/project_branches.rs"]
mod project_branches;

use common::text;
use flow_core::client::Client;
use flow_local::FsStore;
use flow_test_support::example_binary;
use project_branches::ProjectBranches;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

fn cli(binary: &str, store: &Path, args: &[&str]) -> Output {
    Command::new(example_binary(binary))
        .args(args)
        .env("FLOW_DATASTORE", store)
        .output()
        .expect("the example runs")
}

fn ok(store: &Path, args: &[&str]) -> String {
    let out = cli("project_branches", store, args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    stdout.trim().to_string()
}

#[tokio::test]
async fn runs_of_two_branches_and_production_never_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let a = ok(store, &["run", "-q", "--branch", "a", "--label", "from-a"]);
    let b = ok(store, &["run", "-q", "--branch", "b", "--label", "from-b"]);
    let prod = ok(store, &["run", "-q", "--production", "--label", "prod"]);
    let a = a.lines().last().unwrap().to_string();
    let b = b.lines().last().unwrap().to_string();
    let prod = prod.lines().last().unwrap().to_string();

    // Each branch's folder holds its own runs only.
    for (folder, mine, seen) in [
        ("demo.test.a", &a, "from-a"),
        ("demo.test.b", &b, "from-b"),
        ("demo.prod", &prod, "prod"),
    ] {
        let client = Client::<ProjectBranches>::new(Arc::new(FsStore::new(store.join(folder))));
        let runs: Vec<String> = client
            .runs()
            .list()
            .await
            .unwrap()
            .iter()
            .map(|r| r.id().to_string())
            .collect();
        assert_eq!(runs, vec![mine.clone()], "{folder}");
        let run = client.run(&mine.parse().unwrap()).await.unwrap();
        assert_eq!(run.end_state().await.unwrap().seen, seen);
    }
    // Nothing is stored outside the branches' folders.
    let plain = Client::<ProjectBranches>::new(Arc::new(FsStore::new(store)));
    assert!(plain.runs().list().await.unwrap().is_empty());

    // `runs` lists only the branch's runs; `dump` of another branch's run is not found.
    let listed = ok(store, &["runs", "--branch", "a"]);
    assert!(
        listed.contains(&a) && !listed.contains(&b) && !listed.contains(&prod),
        "{listed}"
    );
    let listed = ok(store, &["runs", "--production"]);
    assert!(listed.contains(&prod) && !listed.contains(&a), "{listed}");
    ok(store, &["dump", "--branch", "b", &b]);
    let out = cli("project_branches", store, &["dump", "--branch", "a", &b]);
    assert!(
        !out.status.success(),
        "branch a's dump found branch b's run"
    );

    // `resume` continues in its branch.
    let resumed = ok(
        store,
        &["resume", "-q", "--branch", "b", "--step", "end", &b],
    );
    let resumed = resumed.lines().last().unwrap().to_string();
    let listed = ok(store, &["runs", "--branch", "b"]);
    assert!(listed.contains(&resumed), "{listed}");
    assert!(!ok(store, &["runs", "--branch", "a"]).contains(&resumed));
    let out = cli(
        "project_branches",
        store,
        &["resume", "-q", "--branch", "a", "--step", "end", &b],
    );
    assert!(!out.status.success(), "branch a resumed branch b's run");
}

#[test]
fn bad_branches_and_flows_without_a_project_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        "project_branches",
        dir.path(),
        &["run", "--branch", "a/b", "--label", "x"],
    );
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("branch `a/b`") && stderr.contains("'/'"),
        "{stderr}"
    );
    let out = cli(
        "project_branches",
        dir.path(),
        &["run", "--branch", "a", "--production", "--label", "x"],
    );
    assert!(!out.status.success());
    // `tagged` has no project.
    let out = cli("tagged", dir.path(), &["run", "--production"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("#[flow(project = \"...\")]"), "{stderr}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "something was stored"
    );
}
