//! Every example flow, run in-process through the Rust API (`flow_local::Runner`), with its
//! artifacts checked against values computed here independently, and every task it
//! persisted read back through the client API.

mod common;

#[path = "../examples/cards.rs"]
mod cards;
#[path = "../examples/caught_foreach.rs"]
mod caught_foreach;
#[path = "../examples/downstream.rs"]
mod downstream;
#[path = "../examples/foreach.rs"]
mod foreach;
#[path = "../examples/linear.rs"]
mod linear;
#[path = "../examples/nested_foreach.rs"]
mod nested_foreach;
#[path = "../examples/nightly_publish.rs"]
mod nightly_publish;
#[path = "../examples/on_upload.rs"]
mod on_upload;
#[path = "../examples/options.rs"]
mod options;
#[path = "../examples/params.rs"]
mod params;
#[path = "../examples/resume.rs"]
mod resume;
#[path = "../examples/split_in_foreach.rs"]
mod split_in_foreach;
#[path = "../examples/split_join.rs"]
mod split_join;
#[path = "../examples/switch.rs"]
mod switch;
#[path = "../examples/team.rs"]
mod team;
#[path = "../examples/timeout_retry.rs"]
mod timeout_retry;

use flow_core::client::Client;
use flow_core::datastore::{RunStatus, TaskStatus};
use flow_core::Flow;
use flow_local::{FsStore, RunHandle, Runner};
use std::path::Path;
use std::sync::Arc;

/// Runs `F` with `params` in a fresh datastore; asserts it succeeded and that what it stored
/// reads back; returns the handle (and the datastore, which must outlive it).
async fn run_example<F: Flow>(params: F::Params) -> (RunHandle<F>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let handle = Runner::<F>::new()
        .datastore(dir.path())
        .params(params)
        .run()
        .await
        .unwrap();
    assert!(handle.succeeded(), "{:?}", handle.error());
    check_persisted(dir.path(), &handle).await;
    (handle, dir)
}

/// Every task of the run reads back through a fresh client (every blob verified), the
/// stored end state equals the one the run left in memory, and the run is recorded as
/// finished with the params it ran with.
async fn check_persisted<F: Flow>(dir: &Path, handle: &RunHandle<F>) {
    let client = Client::<F>::new(Arc::new(FsStore::new(dir)));
    let stored = client.run(handle.id()).await.unwrap();
    assert_eq!(stored.status(), handle.status());
    assert_eq!(client.latest().await.unwrap().id(), handle.id());
    assert_eq!(
        serde_json::to_value(stored.params().unwrap()).unwrap(),
        handle.record().params
    );
    let mut tasks = 0;
    for step in &F::graph().steps {
        for task in stored.tasks(&step.name).await.unwrap() {
            assert_eq!(task.id().step, step.name);
            let state = task
                .state()
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", task.id()));
            // One artifact per field of the flow, each verified against its hash on read.
            let whole = serde_json::to_value(&state).unwrap();
            let fields: Vec<&String> = whole.as_object().unwrap().keys().collect();
            let artifacts: Vec<&String> = task.record().artifacts.keys().collect();
            assert_eq!(artifacts, fields, "{}", task.id());
            tasks += 1;
        }
    }
    assert!(tasks >= 2);
    let in_memory = serde_json::to_value(handle.end_state().await.unwrap()).unwrap();
    let from_store = serde_json::to_value(stored.end_state().await.unwrap()).unwrap();
    assert_eq!(in_memory, from_store);
}

#[test]
fn every_example_is_covered_here() {
    assert_eq!(
        common::example_names(),
        [
            "cards",
            "caught_foreach",
            "downstream",
            "foreach",
            "linear",
            "nested_foreach",
            "nightly_publish",
            "nightly_report",
            "on_upload",
            "options",
            "params",
            "resume",
            "split_in_foreach",
            "split_join",
            "switch",
            "team",
            "timeout_retry",
            "upstream"
        ]
    );
}

#[tokio::test]
async fn cards() {
    let (run, dir) = run_example::<cards::CardsFlow>(Default::default()).await;
    let end = run.end_state().await.unwrap();
    // The fastest rate that still converges wins, and each fit's losses fall.
    assert_eq!(end.best_rate, 0.6);
    assert!(end.best_loss < 0.05, "{}", end.best_loss);
    let stored = run.stored().await.unwrap();
    for fit in stored.tasks("fit").await.unwrap() {
        let losses = fit.artifact::<Vec<f64>>("losses").await.unwrap();
        assert_eq!(losses.len(), 12);
        assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    }
    let store = flow_core::datastore::RunStore::new(
        Arc::new(FsStore::new(dir.path())),
        &cards::CardsFlow::graph().name,
    );
    let compare = flow_core::TaskId::new("compare", flow_core::IndexPath::root());
    let kinds: Vec<&str> = store
        .cards(run.id(), &compare)
        .await
        .unwrap()
        .iter()
        .map(flow_core::Card::kind)
        .collect();
    assert_eq!(kinds, ["markdown", "chart", "chart", "svg", "image_png"]);
}

#[tokio::test]
async fn caught_foreach() {
    let (run, _dir) = run_example::<caught_foreach::CaughtForeachFlow>(Default::default()).await;
    let end = run.end_state().await.unwrap();
    // The caught foreach fanned out over none of the items it listed: no inputs to the join.
    assert_eq!(end.items, [1, 2, 3]);
    assert_eq!(end.joined, 0);
    assert!(end.squares.is_empty());
    let stored = run.stored().await.unwrap();
    let fan = stored.task("fan", &[]).await.unwrap();
    assert_eq!(fan.record().status, TaskStatus::Caught);
    assert_eq!(fan.record().foreach_count, Some(0));
    assert!(stored.tasks("square").await.unwrap().is_empty());
}

#[tokio::test]
async fn timeout_retry() {
    // Without TIMEOUT_RETRY_HANG_SECS nothing overruns: both branches finish at once.
    let (run, _dir) = run_example::<timeout_retry::TimeoutRetryFlow>(Default::default()).await;
    let end = run.end_state().await.unwrap();
    assert_eq!(end.retried_on, 0);
    assert!(end.caught_finished);
    assert_eq!(
        end.summary,
        "retried finished on attempt 0; caught finished"
    );
}

#[tokio::test]
async fn linear() {
    let (run, _dir) = run_example::<linear::LinearFlow>(Default::default()).await;
    let end = run.end_state().await.unwrap();
    assert_eq!(end.greeting, "hello, flow");
    assert_eq!(end.shouted, "HELLO, FLOW");
    assert_eq!(end.steps_seen, 3);
    let shout = run.task("shout", &[]).await.unwrap();
    assert_eq!(shout.artifact::<u32>("steps_seen").await.unwrap(), 2);
    assert_eq!(
        run.task("start", &[])
            .await
            .unwrap()
            .artifact::<String>("shouted")
            .await
            .unwrap(),
        ""
    );
}

#[tokio::test]
async fn split_join() {
    let (run, _dir) = run_example::<split_join::SplitJoinFlow>(Default::default()).await;
    let data = [1.0, 4.0, 2.0, 8.0, 5.0];
    let end = run.end_state().await.unwrap();
    assert_eq!(end.best_model, "max");
    assert_eq!(end.best_score, 8.0);
    assert_eq!(end.data, data);
    let mean = run.task("train_mean", &[]).await.unwrap();
    assert_eq!(mean.artifact::<String>("model").await.unwrap(), "mean");
    assert_eq!(
        mean.artifact::<f64>("score").await.unwrap(),
        data.iter().sum::<f64>() / 5.0
    );
    let max = run.task("train_max", &[]).await.unwrap();
    assert_eq!(max.artifact::<f64>("score").await.unwrap(), 8.0);
}

/// The titles `MovieFlow` picks from, in order.
const TITLES: [&str; 8] = [
    "Alien",
    "Brazil",
    "Casablanca",
    "Dune",
    "Eraserhead",
    "Fargo",
    "Gattaca",
    "Heat",
];

#[tokio::test]
async fn foreach() {
    for count in [5usize, 11] {
        let (run, _dir) = run_example::<foreach::MovieFlow>(foreach::MovieParams { count }).await;
        let titles: Vec<&str> = (0..count).map(|i| TITLES[i % TITLES.len()]).collect();
        let lengths: Vec<usize> = titles.iter().map(|t| t.chars().count()).collect();
        let end = run.end_state().await.unwrap();
        assert_eq!(end.titles, titles);
        assert_eq!(end.lengths, lengths);
        if count == 5 {
            assert_eq!(end.lengths, [5, 6, 10, 4, 10]);
        }
        let stored = run.stored().await.unwrap();
        let measured = stored.tasks("measure").await.unwrap();
        assert_eq!(measured.len(), count);
        for (i, task) in measured.iter().enumerate() {
            assert_eq!(task.id().index.0, [i]);
            assert_eq!(task.artifact::<String>("title").await.unwrap(), titles[i]);
            assert_eq!(task.artifact::<usize>("length").await.unwrap(), lengths[i]);
        }
        let start = run.task("start", &[]).await.unwrap();
        assert_eq!(start.record().foreach_count, Some(count));
    }
}

#[tokio::test]
async fn nested_foreach() {
    let size = 4u32;
    let (run, _dir) =
        run_example::<nested_foreach::GridFlow>(nested_foreach::GridParams { size }).await;
    let table: Vec<Vec<u32>> = (1..=size)
        .map(|r| (1..=size).map(|c| r * c).collect())
        .collect();
    assert_eq!(run.end_state().await.unwrap().table, table);
    let cell = run.task("cell", &[1, 2]).await.unwrap();
    assert_eq!(cell.artifact::<u32>("cell").await.unwrap(), 2 * 3);
    let row = run.task("row_join", &[3]).await.unwrap();
    assert_eq!(
        row.artifact::<Vec<u32>>("row_cells").await.unwrap(),
        [4, 8, 12, 16]
    );
    assert_eq!(row.artifact::<u32>("row").await.unwrap(), 4);
    let stored = run.stored().await.unwrap();
    assert_eq!(
        stored.tasks("cell").await.unwrap().len(),
        (size * size) as usize
    );
    assert_eq!(
        stored.tasks("row_start").await.unwrap().len(),
        size as usize
    );
}

#[tokio::test]
async fn split_in_foreach() {
    let (run, _dir) = run_example::<split_in_foreach::WordsFlow>(Default::default()).await;
    let summaries: Vec<String> = ["flow", "rust", "map"]
        .iter()
        .map(|w| format!("{w}:{}:{}", w.len(), w.chars().map(u32::from).sum::<u32>()))
        .collect();
    assert_eq!(run.end_state().await.unwrap().summaries, summaries);
    let letter = run.task("letter", &[1, 2]).await.unwrap();
    assert_eq!(
        letter.artifact::<u32>("code").await.unwrap(),
        u32::from('s')
    );
    let join = run.task("word_join", &[2]).await.unwrap();
    assert_eq!(
        join.artifact::<String>("summary").await.unwrap(),
        summaries[2]
    );
    let stored = run.stored().await.unwrap();
    assert_eq!(stored.tasks("letter").await.unwrap().len(), 4 + 4 + 3);
}

#[tokio::test]
async fn switch() {
    for (value, threshold, route) in [
        (80, 50, "high"),
        (7, 50, "low"),
        (80, 100, "low"),
        (101, 100, "high"),
    ] {
        let (run, _dir) =
            run_example::<switch::SwitchFlow>(switch::SwitchParams { value, threshold }).await;
        let end = run.end_state().await.unwrap();
        assert_eq!(end.route, route);
        assert_eq!(end.message, format!("{value} is {route}"));
        let decide = run.task("decide", &[]).await.unwrap();
        assert_eq!(decide.record().switch_next.as_deref(), Some(route));
        let other = if route == "high" { "low" } else { "high" };
        assert!(run
            .stored()
            .await
            .unwrap()
            .tasks(other)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn options() {
    let (run, _dir) = run_example::<options::OptionsFlow>(Default::default()).await;
    let end = run.end_state().await.unwrap();
    assert_eq!(end.flaky_attempt, 1);
    assert!(end.heavy_done && end.risky_started);
    let flaky = run.task("flaky", &[]).await.unwrap();
    assert_eq!(flaky.record().status, TaskStatus::Succeeded);
    assert_eq!(flaky.record().attempts.len(), 2);
    assert_eq!(
        flaky.record().attempts[0].error.as_ref().unwrap().message,
        "the first attempt always fails"
    );
    let risky = run.task("risky", &[]).await.unwrap();
    assert_eq!(risky.record().status, TaskStatus::Caught);
    assert_eq!(
        risky.caught_error().unwrap().message,
        "risky step failed as designed"
    );
    assert!(risky.artifact::<bool>("risky_started").await.unwrap());
    assert!(run
        .task("heavy", &[])
        .await
        .unwrap()
        .artifact::<bool>("heavy_done")
        .await
        .unwrap());
}

#[tokio::test]
async fn params() {
    let (run, _dir) = run_example::<params::ParamsFlow>(Default::default()).await;
    let end = run.end_state().await.unwrap();
    assert_eq!(end.greeting, "hello, world");
    assert_eq!(end.scaled, [3.0, 6.0]);

    let given = params::GreetParams {
        name: "Ada".into(),
        repeat: 2,
        scale: 0.5,
        loud: true,
        sizes: vec![1, 2, 3],
    };
    let (run, _dir) = run_example::<params::ParamsFlow>(given.clone()).await;
    let end = run.end_state().await.unwrap();
    assert_eq!(end.greeting, "HELLO, ADA HELLO, ADA");
    assert_eq!(end.scaled, [0.5, 1.0, 1.5]);
    let stored = run.stored().await.unwrap();
    assert_eq!(stored.params().unwrap(), given);
}

#[tokio::test]
async fn resume() {
    let dir = tempfile::tempdir().unwrap();
    let outage = dir.path().join("outage");
    let trace = dir.path().join("trace");
    std::fs::write(&outage, "").unwrap();
    // Only this test's flow reads these variables.
    std::env::set_var("FRAGILE_FAIL_IF_EXISTS", &outage);
    std::env::set_var("RESUME_TRACE", &trace);
    let store = dir.path().join("store");
    let failed = Runner::<resume::ResumeFlow>::new()
        .datastore(&store)
        .run()
        .await
        .unwrap();
    assert!(!failed.succeeded());
    assert!(failed
        .error()
        .unwrap()
        .to_string()
        .contains("the dependency is down"));
    let fragile = failed.task("fragile", &[]).await.unwrap();
    assert_eq!(fragile.record().status, TaskStatus::Failed);
    assert_eq!(fragile.record().attempts.len(), 2);

    std::fs::remove_file(&outage).unwrap();
    let resumed = Runner::<resume::ResumeFlow>::new()
        .datastore(&store)
        .resume(None, None)
        .await
        .unwrap();
    assert!(resumed.succeeded(), "{:?}", resumed.error());
    check_persisted(&store, &resumed).await;
    let end = resumed.end_state().await.unwrap();
    assert_eq!(end.total, 55);
    assert_eq!(end.doubled, 110);
    for step in ["start", "left", "right", "merge"] {
        let task = resumed.task(step, &[]).await.unwrap();
        assert_eq!(
            task.record().cloned_from.as_ref(),
            Some(failed.id()),
            "{step}"
        );
    }
    assert!(!resumed.task("fragile", &[]).await.unwrap().was_cloned());
    let lines = std::fs::read_to_string(&trace).unwrap();
    let count = |task: &str| lines.lines().filter(|l| *l == task).count();
    for (task, runs) in [
        ("start/0", 1),
        ("left/0", 1),
        ("right/0", 1),
        ("merge/0", 1),
        ("fragile/0", 3),
        ("end/0", 1),
    ] {
        assert_eq!(count(task), runs, "{task} in {lines}");
    }
    let client = Client::<resume::ResumeFlow>::new(Arc::new(FsStore::new(&store)));
    assert_eq!(client.runs().await.unwrap().len(), 2);
    assert_eq!(
        client.run(failed.id()).await.unwrap().status(),
        RunStatus::Failed
    );
}

/// `team`: its step reads `MODE` from its `env`, its secret given by ARN, and the run's tags.
#[tokio::test]
async fn team() {
    // The step reads its env and the secret given by its ARN (never stored: only its length).
    let dir = tempfile::tempdir().unwrap();
    let handle = Runner::<team::TeamFlow>::new()
        .datastore(dir.path())
        .secret(team::DB_PASSWORD_ARN, "correct horse")
        .tag("team", "recs")
        .unwrap()
        .run()
        .await
        .unwrap();
    assert!(handle.succeeded(), "{:?}", handle.error());
    check_persisted(dir.path(), &handle).await;
    let end = handle.end_state().await.unwrap();
    assert_eq!(end.mode, "batch-scoring");
    assert_eq!(end.password_len, "correct horse".len());
    assert!(end.undeclared_hidden);
    assert_eq!(end.tags.get("team").map(String::as_str), Some("recs"));
}

/// `on_upload` with the key an upload's event would give: the extension, and the success
/// hook ran.
#[tokio::test]
async fn on_upload() {
    let params = on_upload::UploadParams {
        key: "uploads/2026-12-04.csv".into(),
    };
    let (run, _dir) = run_example::<on_upload::UploadFlow>(params).await;
    let end = run.end_state().await.unwrap();
    assert_eq!(end.key, "uploads/2026-12-04.csv");
    assert_eq!(end.extension, "csv");
    let hook = run.hook().expect("the success hook ran");
    assert_eq!((hook.name.as_str(), &hook.result), ("receipt", &Ok(())));
}

#[tokio::test]
async fn nightly_report_then_nightly_publish() {
    let (report, dir) = run_example::<nightly_publish::NightlyReport>(Default::default()).await;
    assert_eq!(report.end_state().await.unwrap().rows, 42);
    let handle = Runner::<nightly_publish::NightlyPublish>::new()
        .datastore(dir.path())
        .triggered_by(flow_core::Trigger {
            flow: "NightlyReport".into(),
            run_id: report.id().clone(),
        })
        .run()
        .await
        .unwrap();
    assert!(handle.succeeded(), "{:?}", handle.error());
    check_persisted(dir.path(), &handle).await;
    let end = handle.end_state().await.unwrap();
    assert_eq!(end.upstream, format!("NightlyReport/{}", report.id()));
    assert_eq!(end.rows, 42);
}

#[tokio::test]
async fn upstream_then_downstream() {
    let (up, dir) =
        run_example::<downstream::UpstreamFlow>(downstream::UpstreamParams { count: 4 }).await;
    assert_eq!(up.end_state().await.unwrap().total, 10);
    let handle = Runner::<downstream::DownstreamFlow>::new()
        .datastore(dir.path())
        .triggered_by(flow_core::Trigger {
            flow: "UpstreamFlow".into(),
            run_id: up.id().clone(),
        })
        .run()
        .await
        .unwrap();
    assert!(handle.succeeded(), "{:?}", handle.error());
    check_persisted(dir.path(), &handle).await;
    assert_eq!(handle.end_state().await.unwrap().results, vec![2, 4, 6, 8]);
}
