//! `Runner::secret_source`: the secrets a local run was not given by value come from the
//! source, each ARN once and all at once, before the run is stored; values given by value
//! win and are never asked for; a secret the source cannot give fails the run before it
//! starts, naming the secret, the source's reason and the offline alternatives.

use flow_core::prelude::*;
use flow_local::{Runner, RunnerError, SecretSource};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SHARED_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared";
const OTHER_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other";

/// What the steps read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Reads {
    first: String,
    second: String,
    other: String,
}

#[flow]
impl Reads {
    #[step(
        next = middle,
        secrets(FIRST = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared")
    )]
    fn start(&mut self, ctx: &Ctx) {
        self.first = ctx.env("FIRST").unwrap_or_default().len().to_string();
    }

    #[step(
        next = end,
        secrets(
            SECOND = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared",
            OTHER = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other"
        )
    )]
    fn middle(&mut self, ctx: &Ctx) {
        self.second = ctx.env("SECOND").unwrap_or_default().len().to_string();
        self.other = ctx.env("OTHER").unwrap_or_default().len().to_string();
    }

    #[step]
    fn end(&mut self) {}
}

/// A source holding `values` by ARN, recording every ARN asked for. Each answer waits until
/// `together` requests are in flight (or 5 s, then `timed_out` is set), so a run that asks
/// one at a time is seen.
struct Recording {
    values: BTreeMap<&'static str, &'static str>,
    asked: Arc<Mutex<Vec<String>>>,
    together: usize,
    in_flight: Arc<tokio::sync::Semaphore>,
    timed_out: Arc<std::sync::atomic::AtomicBool>,
}

impl Recording {
    fn new(values: &[(&'static str, &'static str)], together: usize) -> Arc<Recording> {
        Arc::new(Recording {
            values: values.iter().copied().collect(),
            asked: Default::default(),
            together,
            in_flight: Arc::new(tokio::sync::Semaphore::new(0)),
            timed_out: Default::default(),
        })
    }
}

impl SecretSource for Recording {
    fn get(&self, arn: &str) -> BoxFuture<'static, Result<String, String>> {
        self.asked.lock().unwrap().push(arn.to_string());
        let value = self.values.get(arn).map(|v| v.to_string());
        let (in_flight, timed_out, together) = (
            self.in_flight.clone(),
            self.timed_out.clone(),
            self.together,
        );
        Box::pin(async move {
            in_flight.add_permits(1);
            // All `together` requests are in flight once that many permits were added.
            let all = tokio::time::timeout(
                Duration::from_secs(5),
                in_flight.acquire_many(together as u32),
            )
            .await;
            match all {
                Ok(Ok(permits)) => drop(permits),
                _ => timed_out.store(true, std::sync::atomic::Ordering::SeqCst),
            }
            value.ok_or_else(|| "the test source could not give: NotFound".to_string())
        })
    }
}

#[tokio::test]
async fn secrets_not_given_come_from_the_source_each_once_and_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let source = Recording::new(&[(SHARED_ARN, "four"), (OTHER_ARN, "seven!!")], 2);
    let run = Runner::<Reads>::new()
        .datastore(dir.path())
        .secret_source(source.clone())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let end = run.end_state().await.unwrap();
    assert_eq!(
        (end.first, end.second, end.other),
        ("4".into(), "4".into(), "7".into())
    );
    let mut asked = source.asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, [OTHER_ARN, SHARED_ARN], "each ARN once");
    assert!(
        !source.timed_out.load(std::sync::atomic::Ordering::SeqCst),
        "asked one at a time, not at once"
    );
}

#[tokio::test]
async fn values_given_win_and_are_not_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let source = Recording::new(&[(SHARED_ARN, "from source"), (OTHER_ARN, "x")], 1);
    // The shared ARN by value (both steps), OTHER by its variable name.
    let run = Runner::<Reads>::new()
        .datastore(dir.path())
        .secret(SHARED_ARN, "ab")
        .secret("OTHER", "abc")
        .secret_source(source.clone())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let end = run.end_state().await.unwrap();
    assert_eq!(
        (end.first, end.second, end.other),
        ("2".into(), "2".into(), "3".into())
    );
    assert!(source.asked.lock().unwrap().is_empty());

    // Only the secret not given is asked for.
    let run = Runner::<Reads>::new()
        .datastore(dir.path())
        .secret("OTHER", "abc")
        .secret_source(source.clone())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    assert_eq!(*source.asked.lock().unwrap(), [SHARED_ARN]);
}

#[tokio::test]
async fn a_secret_the_source_cannot_give_fails_the_run_before_it_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let source = Recording::new(&[(SHARED_ARN, "a-value-never-shown")], 2);
    let error = match Runner::<Reads>::new()
        .datastore(&store)
        .secret_source(source)
        .run()
        .await
    {
        Err(error) => error,
        Ok(_) => panic!("the run started without its secret"),
    };
    assert!(matches!(error, RunnerError::SecretUnavailable { .. }));
    let message = error.to_string();
    for expected in [
        "step `middle`",
        "`OTHER`",
        OTHER_ARN,
        "the test source could not give: NotFound",
        "--secret OTHER=VALUE",
        "--secrets-file",
    ] {
        assert!(message.contains(expected), "no `{expected}` in: {message}");
    }
    assert!(!message.contains("a-value-never-shown"), "{message}");
    assert!(!store.exists(), "the failed run stored something");
}

#[tokio::test]
async fn resume_gets_its_secrets_from_the_source_too() {
    let dir = tempfile::tempdir().unwrap();
    let first = Recording::new(&[(SHARED_ARN, "four"), (OTHER_ARN, "seven!!")], 2);
    let origin = Runner::<Reads>::new()
        .datastore(dir.path())
        .secret_source(first)
        .run()
        .await
        .unwrap();
    assert!(origin.succeeded(), "{:?}", origin.error());
    let source = Recording::new(&[(SHARED_ARN, "twelve chars"), (OTHER_ARN, "x")], 2);
    let resumed = Runner::<Reads>::new()
        .datastore(dir.path())
        .secret_source(source.clone())
        .resume(Some(origin.id().clone()), Some("middle".into()))
        .await
        .unwrap();
    assert!(resumed.succeeded(), "{:?}", resumed.error());
    let end = resumed.end_state().await.unwrap();
    // `start` was cloned from the origin; `middle` ran again with the source's values.
    assert_eq!(
        (end.first, end.second, end.other),
        ("4".into(), "12".into(), "1".into())
    );
    assert_eq!(source.asked.lock().unwrap().len(), 2);
}
