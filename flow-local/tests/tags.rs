//! Run tags: `run --tag k=v` stores them (and the system tags) in `run.json`, steps read
//! them with `ctx.tags()`, `runs --tag` and `Client::runs().tagged(..)` filter by them, and a
//! malformed tag is a clear error before anything runs.

mod common;

#[path = "../examples/tagged.rs"]
mod tagged;

use common::{snapshot, text};
use flow_core::client::Client;
use flow_local::{FsStore, Runner};
use flow_test_support::example_binary;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use tagged::Tagged;

fn tagged(store: &Path, args: &[&str]) -> Output {
    Command::new(example_binary("tagged"))
        .args(args)
        .env("FLOW_DATASTORE", store)
        .env("USER", "alice")
        .output()
        .expect("the tagged example runs")
}

fn run_ok(store: &Path, args: &[&str]) -> String {
    let out = tagged(store, args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    stdout.trim().to_string()
}

#[tokio::test]
async fn tags_round_trip_through_the_cli_the_steps_and_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let recs = run_ok(
        store,
        &["run", "-q", "--tag", "team=recs", "--tag", "stage=dev"],
    );
    let ads = run_ok(
        store,
        &["run", "-q", "--tag", "team=ads", "--tag", "expr=a=b"],
    );
    let plain = run_ok(store, &["run", "-q"]);

    let client = Client::<Tagged>::new(Arc::new(FsStore::new(store)));
    let run = client.run(&recs.parse().unwrap()).await.unwrap();
    let tags = run.tags().clone();
    assert_eq!(tags.get("team").map(String::as_str), Some("recs"));
    assert_eq!(tags.get("stage").map(String::as_str), Some("dev"));
    // System tags: who and what started the run.
    assert_eq!(tags.get("user").map(String::as_str), Some("alice"));
    assert!(tags.contains_key("host"), "{tags:?}");
    assert_eq!(
        tags.get("flowrs_version").map(String::as_str),
        Some(env!("CARGO_PKG_VERSION"))
    );
    // The step saw the same tags.
    let seen: Tagged = run.end_state().await.unwrap();
    assert_eq!(seen.tags, tags);
    // run.json holds them.
    let json = std::fs::read_to_string(store.join(format!("Tagged/runs/{recs}/run.json"))).unwrap();
    assert!(json.contains("\"team\": \"recs\""), "{json}");

    let ids = |runs: Vec<flow_core::client::Run<Tagged>>| -> Vec<String> {
        runs.iter().map(|r| r.id().to_string()).collect()
    };
    assert_eq!(
        ids(client.runs().tagged("team", "recs").await.unwrap()),
        vec![recs.clone()]
    );
    assert_eq!(
        ids(client.runs().tagged("expr", "a=b").await.unwrap()),
        vec![ads.clone()]
    );
    assert!(client
        .runs()
        .tagged("team", "recs")
        .tagged("stage", "prod")
        .await
        .unwrap()
        .is_empty());
    let mut everyone = ids(client.runs().tagged("user", "alice").await.unwrap());
    everyone.sort();
    let mut all = vec![recs.clone(), ads.clone(), plain.clone()];
    all.sort();
    assert_eq!(everyone, all);
    assert_eq!(client.runs().await.unwrap().len(), 3);

    // `runs` shows the tags and filters by them (every --tag must match).
    let listing = run_ok(store, &["runs"]);
    assert!(
        listing.contains("STARTED_BY") && listing.contains("TAGS"),
        "{listing}"
    );
    assert!(listing.contains("stage=dev,team=recs"), "{listing}");
    assert!(listing.contains("alice@"), "{listing}");
    let only = run_ok(store, &["runs", "--tag", "team=recs", "--tag", "stage=dev"]);
    assert!(only.contains(&recs), "{only}");
    assert!(!only.contains(&ads) && !only.contains(&plain), "{only}");
    let out = tagged(store, &["runs", "--tag", "team=nobody"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains(&recs), "{stdout}");
    assert!(
        stderr.contains("no runs of Tagged tagged team=nobody"),
        "{stderr}"
    );
}

#[test]
fn malformed_tags_are_clear_errors_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    for (tag, expected) in [
        ("team", "has no `=`"),
        ("=recs", "empty key"),
        ("my team=recs", "letters, digits"),
        ("user=mallory", "system tag"),
    ] {
        let out = tagged(store, &["run", "-q", "--tag", tag]);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "--tag {tag}: {stdout}{stderr}");
        assert!(
            stderr.contains("--tag:") && stderr.contains(expected),
            "{tag}: {stderr}"
        );
    }
    assert!(snapshot(store).is_empty(), "a refused run stored something");
    let out = tagged(store, &["runs", "--tag", "nope"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("has no `=`"));
}

#[tokio::test]
async fn the_runner_tags_runs_and_resume_keeps_the_origin_tags() {
    let dir = tempfile::tempdir().unwrap();
    let handle = Runner::<Tagged>::new()
        .datastore(dir.path())
        .tag("team", "recs")
        .unwrap()
        .run()
        .await
        .unwrap();
    assert!(handle.succeeded());
    assert_eq!(
        handle.record().tags.get("team").map(String::as_str),
        Some("recs")
    );
    let err = Runner::<Tagged>::new().tag("", "x").err().unwrap();
    assert!(err.to_string().contains("empty key"), "{err}");
    let resumed = Runner::<Tagged>::new()
        .datastore(dir.path())
        .tag("attempt", "2")
        .unwrap()
        .resume(Some(handle.id().clone()), Some("end".into()))
        .await
        .unwrap();
    let tags = &resumed.record().tags;
    assert_eq!(tags.get("team").map(String::as_str), Some("recs"));
    assert_eq!(tags.get("attempt").map(String::as_str), Some("2"));
    assert!(tags.contains_key("flowrs_version"));
}
