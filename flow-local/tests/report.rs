//! Run reports: the HTML of real runs (every shape: foreach, split, switch, join; a failed
//! run and its resume; retries and caught failures; a 10,000-item foreach; cards of every
//! kind) says what happened, refers to nothing outside itself, and opens in headless
//! Chromium without a console message, rendering something that is not blank. The `report`
//! command (and `--watch`) and the `cards` command, through a flow binary.

mod common;

use flow_core::datastore::{RunStatus, RunStore, TaskStatus};
use flow_core::prelude::*;
use flow_core::{Card, IndexPath, RunId, TaskId};
use flow_local::report::{self, Outcome, Report, ReportError, ShownBecause};
use flow_local::{Durability, FsStore, Runner};
use flow_test_support::{open_in_chromium, Opened};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ITEMS: u32 = 6;
const FAILING_ITEM: u32 = 3;
/// Markup in a param and an error message: the report must show it, not run it.
const LABEL: &str = "<b onclick=\"x()\">shapes</b> & 'co'";

/// While set, item 3 of `ShapesFlow::work` fails.
static OUTAGE: AtomicBool = AtomicBool::new(false);
/// The tests that run `ShapesFlow` share `OUTAGE`; they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Parameters of [`ShapesFlow`].
#[derive(Debug, Clone, Serialize, Deserialize, Params)]
pub struct ShapesParams {
    /// A label carried into an artifact.
    pub label: String,
}

impl Default for ShapesParams {
    fn default() -> Self {
        ShapesParams {
            label: LABEL.into(),
        }
    }
}

/// Every shape of graph: a foreach, its join, a switch, a split and its join.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShapesFlow {
    pub items: Vec<u32>,
    pub square: u32,
    pub squares: Vec<u32>,
    pub total: u32,
    pub route: String,
    pub left: u32,
    pub right: u32,
    pub label: String,
}

#[flow(params = ShapesParams)]
impl ShapesFlow {
    /// Lists the items.
    #[step(foreach = items, next = work)]
    fn start(&mut self, ctx: &Ctx<ShapesParams>) {
        self.items = (0..ITEMS).collect();
        self.label = ctx.params.label.clone();
    }

    /// Squares one item.
    #[step(next = gather)]
    fn work(&mut self, item: &u32) -> Result<(), String> {
        tracing::info!("squaring item {item}");
        if *item == FAILING_ITEM && OUTAGE.load(Ordering::SeqCst) {
            return Err(format!("item {item}: the <service> is down"));
        }
        self.square = item * item;
        Ok(())
    }

    /// Collects the squares.
    #[step(next = decide)]
    fn gather(&mut self, inputs: Inputs<Self>) {
        self.squares = inputs.iter().map(|i| i.square).collect();
        self.total = self.squares.iter().sum();
    }

    /// Picks a route by the total.
    #[step(switch = [big, small])]
    fn decide(&mut self) -> DecideNext {
        if self.total > 20 {
            DecideNext::Big
        } else {
            DecideNext::Small
        }
    }

    /// Large totals.
    #[step(next = fan)]
    fn big(&mut self) {
        self.route = "big".into();
    }

    /// Small totals.
    #[step(next = fan)]
    fn small(&mut self) {
        self.route = "small".into();
    }

    /// Splits in two.
    #[step(next = [left, right])]
    fn fan(&mut self) {}

    /// One half.
    #[step(next = merge)]
    fn left(&mut self) {
        self.left = self.total / 2;
    }

    /// The other half.
    #[step(next = merge)]
    fn right(&mut self) {
        self.right = self.total - self.total / 2;
    }

    /// Joins the halves.
    #[step(next = end)]
    fn merge(&mut self, halves: Inputs<Self>) {
        self.total = halves.iter().map(|h| h.left + h.right).sum();
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

/// Retries and a caught failure.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OptionsFlow {
    pub attempts_needed: u32,
    pub risky_started: bool,
}

#[flow]
impl OptionsFlow {
    #[step(next = flaky)]
    fn start(&mut self) {}

    /// Fails once, then succeeds.
    #[step(next = risky, retry(times = 2, backoff = "10ms"))]
    fn flaky(&mut self, ctx: &Ctx) -> Result<(), String> {
        if ctx.attempt == 0 {
            return Err("the first attempt always fails".into());
        }
        self.attempts_needed = ctx.attempt + 1;
        Ok(())
    }

    /// Always fails; caught.
    #[step(next = end, catch)]
    fn risky(&mut self) -> Result<(), String> {
        self.risky_started = true;
        Err("risky step failed as designed".into())
    }

    #[step]
    fn end(&mut self) {}
}

/// A flow whose run shows every outcome at once: a retried and a caught foreach item, a
/// switch branch not taken, a failed split branch and the steps it kept from running.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainingFlow {
    pub shards: Vec<u32>,
    pub loss: f64,
    pub losses: Vec<f64>,
    pub best_loss: f64,
    pub model: String,
    pub uploaded: bool,
}

fn work_for(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[flow]
impl TrainingFlow {
    /// Splits the data set into shards.
    #[step(foreach = shards, next = train)]
    fn start(&mut self) {
        self.shards = (0..8).collect();
        tracing::info!("training on {} shards", self.shards.len());
    }

    /// Trains on one shard; shard 5 loses its worker once, shard 6 has a corrupt record.
    #[step(next = collect, retry(times = 1, backoff = "20ms"), catch)]
    fn train(&mut self, shard: &u32, ctx: &Ctx) -> Result<(), String> {
        tracing::info!("shard {shard}: attempt {}", ctx.attempt + 1);
        work_for(40 + 15 * u64::from(*shard));
        if *shard == 5 && ctx.attempt == 0 {
            return Err("worker lost: connection reset by peer".into());
        }
        if *shard == 6 {
            return Err("shard 6: corrupt record at offset 4096".into());
        }
        self.loss = 1.0 / f64::from(shard + 2);
        tracing::info!("shard {shard}: loss {:.3}", self.loss);
        Ok(())
    }

    /// Gathers the losses of every shard.
    #[step(next = evaluate)]
    fn collect(&mut self, shards: Inputs<Self>) {
        self.losses = shards.iter().map(|s| s.loss).collect();
        self.best_loss = self.losses.iter().copied().fold(f64::INFINITY, f64::min);
        work_for(20);
    }

    /// Deploys a good model, retrains a bad one.
    #[step(switch = [deploy, retrain])]
    fn evaluate(&mut self) -> EvaluateNext {
        if self.best_loss < 0.5 {
            EvaluateNext::Deploy
        } else {
            EvaluateNext::Retrain
        }
    }

    /// Names the model.
    #[step(next = publish)]
    fn deploy(&mut self) {
        self.model = "model-v2".into();
        work_for(30);
    }

    /// Would train again.
    #[step(next = publish)]
    fn retrain(&mut self) {}

    /// Publishes in two ways at once.
    #[step(next = [upload, notify])]
    fn publish(&mut self) {}

    /// Uploads the model.
    #[step(next = done)]
    fn upload(&mut self) {
        work_for(80);
        self.uploaded = true;
    }

    /// Tells the team; the mail server is down.
    #[step(next = done)]
    fn notify(&mut self) -> Result<(), String> {
        work_for(25);
        Err("cannot send the release mail: mail.example.invalid:25: connection refused".into())
    }

    /// Both published.
    #[step(next = end)]
    fn done(&mut self, _published: Inputs<Self>) {}

    #[step]
    fn end(&mut self) {}
}

/// A split inside a foreach and a foreach inside a split branch (tasks two indices deep).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WordsFlow {
    pub words: Vec<String>,
    pub word: String,
    pub length: usize,
    pub letters: Vec<char>,
    pub code: u32,
    pub code_sum: u32,
    pub summaries: Vec<String>,
}

#[flow]
impl WordsFlow {
    #[step(foreach = words, next = word_start)]
    fn start(&mut self) {
        self.words = vec!["flow".into(), "rust".into(), "map".into()];
    }

    #[step(next = [length, letters])]
    fn word_start(&mut self, word: &str) {
        self.word = word.to_string();
    }

    #[step(next = word_join)]
    fn length(&mut self) {
        self.length = self.word.len();
    }

    #[step(foreach = letters, next = letter)]
    fn letters(&mut self) {
        self.letters = self.word.chars().collect();
    }

    #[step(next = letters_join)]
    fn letter(&mut self, letter: &char) {
        self.code = u32::from(*letter);
    }

    #[step(next = word_join)]
    fn letters_join(&mut self, letters: Inputs<Self>) {
        self.code_sum = letters.iter().map(|l| l.code).sum();
    }

    #[step(next = join)]
    fn word_join(&mut self, branches: Inputs<Self>) {
        let length = branches.from_step("length").map_or(0, |b| b.length);
        let sum = branches.from_step("letters_join").map_or(0, |b| b.code_sum);
        self.summaries = vec![format!("{}:{length}:{sum}", self.word)];
    }

    #[step(next = end)]
    fn join(&mut self, words: Inputs<Self>) {
        self.summaries = words.iter().flat_map(|w| w.summaries.clone()).collect();
    }

    #[step]
    fn end(&mut self) {}
}

/// While unset, items 2 and 3 of `GatedFlow::wait` do not finish.
static RELEASE: AtomicBool = AtomicBool::new(false);

/// A run that can be held in the middle, to report on it while it goes on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GatedFlow {
    pub items: Vec<u32>,
    pub item: u32,
    pub seen: Vec<u32>,
}

#[flow]
impl GatedFlow {
    #[step(foreach = items, next = wait)]
    fn start(&mut self) {
        self.items = (0..4).collect();
    }

    #[step(next = join)]
    fn wait(&mut self, item: &u32) {
        while *item >= 2 && !RELEASE.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.item = *item;
    }

    #[step(next = end)]
    fn join(&mut self, items: Inputs<Self>) {
        self.seen = items.iter().map(|i| i.item).collect();
    }

    #[step]
    fn end(&mut self) {}
}

const LARGE_ITEMS: u32 = 10_000;

/// A 10,000-item foreach; every 2,500th item (from 7) fails and is caught.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LargeFlow {
    pub items: Vec<u32>,
    pub value: u32,
    pub sum: u64,
}

#[flow]
impl LargeFlow {
    #[step(foreach = items, next = each)]
    fn start(&mut self) {
        self.items = (0..LARGE_ITEMS).collect();
    }

    #[step(next = join, catch)]
    fn each(&mut self, item: &u32) -> Result<(), String> {
        if item % 2_500 == 7 {
            return Err("an odd one out".into());
        }
        self.value = *item;
        Ok(())
    }

    #[step(next = end)]
    fn join(&mut self, items: Inputs<Self>) {
        self.sum = items.iter().map(|i| u64::from(i.value)).sum();
    }

    #[step]
    fn end(&mut self) {}
}

fn run_store<F: Flow>(dir: &Path) -> RunStore {
    RunStore::new(Arc::new(FsStore::new(dir)), &F::graph().name)
}

/// The row of `step` in the report's steps table.
fn steps_row<'a>(html: &'a str, step: &str) -> &'a str {
    let start = html
        .find(&format!("<tr><td><a href=\"#step-{step}\">"))
        .unwrap_or_else(|| panic!("no row for step {step}"));
    let end = start + html[start..].find("</tr>").expect("row ends");
    &html[start..end]
}

/// Asserts that the page refers to nothing outside itself: no URL with a scheme other than
/// `data:`, no protocol-relative or relative resource, and a policy that blocks any fetch.
fn assert_self_contained(html: &str) {
    assert!(
        html.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            report::CONTENT_SECURITY_POLICY
        )),
        "no CSP meta tag"
    );
    assert_eq!(
        report::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'"
    );
    let lower = html.to_ascii_lowercase();
    for needle in [
        "http://",
        "https://",
        "src=\"//",
        "href=\"//",
        "@import",
        "ftp://",
    ] {
        assert!(!lower.contains(needle), "the page refers to `{needle}`");
    }
    // `url(...)` only for in-page references (the SVG's arrow markers).
    for (at, _) in lower.match_indices("url(") {
        assert!(
            lower[at + 4..].starts_with('#'),
            "external url(): {}",
            &html[at..(at + 60).min(html.len())]
        );
    }
    // Every src/href attribute is an in-page anchor or a data: URL.
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in lower.match_indices(attribute) {
            let value = &lower[at + attribute.len()..];
            assert!(
                value.starts_with('#') || value.starts_with("data:"),
                "external reference: {}",
                &html[at..(at + 80).min(html.len())]
            );
        }
    }
}

#[tokio::test]
async fn a_successful_run_shows_every_step_with_its_count_and_status() {
    let _serial = SERIAL.lock().await;
    OUTAGE.store(false, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<ShapesFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let store = run_store::<ShapesFlow>(dir.path());
    let report = report::build::<ShapesFlow>(&store, None).await.unwrap();
    assert_eq!(report.run_id(), run.id());
    assert!(!report.graph_from_code);

    let expected = [
        ("start", 1, Outcome::Succeeded),
        ("work", ITEMS as usize, Outcome::Succeeded),
        ("gather", 1, Outcome::Succeeded),
        ("decide", 1, Outcome::Succeeded),
        ("big", 1, Outcome::Succeeded),
        ("small", 0, Outcome::Skipped),
        ("fan", 1, Outcome::Succeeded),
        ("left", 1, Outcome::Succeeded),
        ("right", 1, Outcome::Succeeded),
        ("merge", 1, Outcome::Succeeded),
        ("end", 1, Outcome::Succeeded),
    ];
    assert_eq!(report.steps.len(), expected.len());
    let html = report.to_html();
    for (name, tasks, outcome) in expected {
        let step = report.step(name).unwrap();
        assert_eq!(
            (step.counts.total, step.outcome),
            (tasks, outcome),
            "{name}"
        );
        // Drawn in the graph, listed with its count and status, and given a section.
        assert!(html.contains(&format!("class=\"node-name\">{name}</text>")) || tasks == 0);
        let row = steps_row(&html, name);
        assert!(row.contains(&format!(">{tasks}<")), "{name}: {row}");
        assert!(
            row.contains(&format!(">{}<", outcome.label())),
            "{name}: {row}"
        );
        assert!(html.contains(&format!("id=\"step-{name}\"")), "{name}");
    }
    assert_eq!(report.totals.total, 15);
    assert_eq!(report.totals.succeeded, 15);
    let decide = report.step("decide").unwrap();
    assert_eq!(decide.switch_choices.get("big"), Some(&1));
    assert!(html.contains("switch → big"));
    assert_eq!(report.step("start").unwrap().foreach_items, ITEMS as usize);
    assert!(html.contains("for each of items: 6 items"));
    assert!(html.contains("class=\"edge-label\">items ×6</text>"));

    // Every task of these small steps is shown in full: artifacts with their type, size and
    // value; the log.
    let work = report.step("work").unwrap();
    assert_eq!(work.details.len(), ITEMS as usize);
    assert!(work
        .details
        .iter()
        .all(|d| d.shown_because == ShownBecause::Every));
    let item4 = work.details.iter().find(|d| d.task.index.0 == [4]).unwrap();
    let square = item4.artifacts.iter().find(|a| a.name == "square").unwrap();
    assert_eq!(square.type_name.as_deref(), Some("u32"));
    assert_eq!(square.size, 4);
    assert_eq!(square.preview.as_deref(), Some("16"));
    assert!(
        item4.logs[0].text.contains("squaring item 4"),
        "{:?}",
        item4.logs
    );
    assert!(html.contains("squaring item 4"));
    let gather = &report.step("gather").unwrap().details[0];
    let squares = gather
        .artifacts
        .iter()
        .find(|a| a.name == "squares")
        .unwrap();
    assert_eq!(squares.type_name.as_deref(), Some("Vec<u32>"));
    assert_eq!(squares.preview.as_deref(), Some("[0,1,4,9,16,25]"));
    assert!(html.contains("<code class=\"type\">Vec&lt;u32&gt;</code>"));

    // User strings are escaped wherever they appear (the param, the artifact preview).
    assert!(!html.contains("<b onclick"), "unescaped markup in the page");
    assert!(
        html.contains("&lt;b onclick=\\&quot;x()\\&quot;&gt;shapes&lt;/b&gt; &amp; &#39;co&#39;")
    );
    assert_self_contained(&html);
}

#[tokio::test]
async fn a_failed_run_shows_its_error_and_its_resume_shows_the_clones() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    OUTAGE.store(true, Ordering::SeqCst);
    let failed = Runner::<ShapesFlow>::new()
        .datastore(dir.path())
        .max_workers(1)
        .run()
        .await
        .unwrap();
    OUTAGE.store(false, Ordering::SeqCst);
    assert_eq!(failed.status(), RunStatus::Failed);
    let store = run_store::<ShapesFlow>(dir.path());
    let report = report::build::<ShapesFlow>(&store, Some(failed.id()))
        .await
        .unwrap();
    let work = report.step("work").unwrap();
    assert_eq!(work.outcome, Outcome::Failed);
    assert_eq!(work.counts.failed, 1);
    // With one worker, the items after the failed one may not have started.
    let succeeded = work.counts.succeeded;
    assert!(succeeded >= FAILING_ITEM as usize, "{succeeded}");
    assert_eq!(work.errors.len(), 1);
    assert_eq!(work.errors[0].message, "item 3: the <service> is down");
    for later in ["gather", "decide", "fan", "merge", "end"] {
        assert_eq!(
            report.step(later).unwrap().outcome,
            Outcome::NotRun,
            "{later}"
        );
    }
    let html = report.to_html();
    assert!(html.contains("item 3: the &lt;service&gt; is down"));
    assert!(!html.contains("<service>"));
    assert!(html.contains("<span class=\"pill big failed\">failed</span>"));
    // The failed task is open, with its error.
    assert!(html.contains("<details class=\"task failed\" id=\"task-work-3\" open>"));
    assert!(html.contains("<strong>The run failed.</strong>"));
    assert_self_contained(&html);
    let opened = open_in_chromium(&html, "failed");
    opened.assert_shows(&report);

    let resumed = Runner::<ShapesFlow>::new()
        .datastore(dir.path())
        .resume(None, None)
        .await
        .unwrap();
    assert!(resumed.succeeded(), "{:?}", resumed.error());
    let report = report::build::<ShapesFlow>(&store, None).await.unwrap();
    assert_eq!(report.run_id(), resumed.id());
    assert_eq!(report.run.origin_run_id.as_ref(), Some(failed.id()));
    let start = report.step("start").unwrap();
    assert_eq!(start.outcome, Outcome::Cloned);
    assert!(start.durations_from_origin);
    let work = report.step("work").unwrap();
    assert_eq!(work.outcome, Outcome::Succeeded);
    assert_eq!((work.counts.total, work.counts.cloned), (6, succeeded));
    assert_eq!(report.totals.cloned, 1 + succeeded);
    let html = report.to_html();
    let origin = failed.id().as_str();
    assert!(html.contains(&format!(
        "Resumed from</dt><dd><code>{origin}</code>, re-running from <code>work</code>"
    )));
    assert!(html.contains(&format!("cloned from {origin}")));
    // Cloned tasks are named as such on the timeline instead of drawn at the origin's times.
    assert!(html.contains(&format!("class=\"cloned\">cloned from {origin}</text>")));
    assert_self_contained(&html);
    let opened = open_in_chromium(&html, "resumed");
    opened.assert_shows(&report);
    assert!(opened.dom.contains("cloned from"));
}

#[tokio::test]
async fn retried_and_caught_tasks_show_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<OptionsFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let report = report::build::<OptionsFlow>(&run_store::<OptionsFlow>(dir.path()), None)
        .await
        .unwrap();
    let flaky = report.step("flaky").unwrap();
    assert_eq!(
        (flaky.outcome, flaky.counts.retried),
        (Outcome::Succeeded, 1)
    );
    let attempts = &flaky.details[0].attempts;
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0].error.is_some() && attempts[1].error.is_none());
    let risky = report.step("risky").unwrap();
    assert_eq!(risky.outcome, Outcome::Caught);
    assert_eq!(risky.details[0].status, TaskStatus::Caught);
    let html = report.to_html();
    assert!(html.contains("the first attempt always fails"));
    assert!(html.contains("risky step failed as designed"));
    assert!(html.contains("2 attempts"));
    assert!(html.contains(", caught: the run went on"));
    assert_self_contained(&html);
    open_in_chromium(&html, "options").assert_shows(&report);
}

#[tokio::test]
async fn a_run_with_every_outcome_is_coloured_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<TrainingFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), RunStatus::Failed);
    let report = report::build::<TrainingFlow>(&run_store::<TrainingFlow>(dir.path()), None)
        .await
        .unwrap();
    let outcome = |step: &str| report.step(step).unwrap().outcome;
    assert_eq!(outcome("start"), Outcome::Succeeded);
    assert_eq!(outcome("train"), Outcome::Caught);
    assert_eq!(outcome("deploy"), Outcome::Succeeded);
    assert_eq!(outcome("retrain"), Outcome::Skipped);
    assert_eq!(outcome("notify"), Outcome::Failed);
    assert_eq!(outcome("done"), Outcome::NotRun);
    let train = report.step("train").unwrap();
    assert_eq!((train.counts.caught, train.counts.retried), (1, 2));
    let html = report.to_html();
    // The failed branch is red, the switch branch not taken is dashed.
    let (fill, border, _) = Outcome::Failed.colours();
    assert!(html.contains(&format!("fill=\"{fill}\" stroke=\"{border}\"")));
    let (fill, border, _) = Outcome::Skipped.colours();
    assert!(html.contains(&format!(
        "fill=\"{fill}\" stroke=\"{border}\" stroke-width=\"1.4\" stroke-dasharray=\"5 4\""
    )));
    assert!(html.contains("worker lost: connection reset by peer"));
    assert!(html.contains("shard 6: corrupt record at offset 4096"));
    assert!(html.contains("mail.example.invalid:25: connection refused"));
    assert!(html.contains("shard 5: attempt 2"));
    assert_self_contained(&html);
    open_in_chromium(&html, "showcase").assert_shows(&report);
}

#[tokio::test]
async fn nested_foreaches_and_splits_count_every_task() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<WordsFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let report = report::build::<WordsFlow>(&run_store::<WordsFlow>(dir.path()), None)
        .await
        .unwrap();
    let counts: Vec<(&str, usize)> = report
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.counts.total))
        .collect();
    assert_eq!(
        counts,
        [
            ("start", 1),
            ("word_start", 3),
            ("length", 3),
            ("letters", 3),
            ("letter", 11),
            ("letters_join", 3),
            ("word_join", 3),
            ("join", 1),
            ("end", 1),
        ]
    );
    assert!(report.steps.iter().all(|s| s.outcome == Outcome::Succeeded));
    assert_eq!(report.step("letters").unwrap().foreach_items, 11);
    let letter = report.step("letter").unwrap();
    let keys: Vec<String> = letter.timings.iter().map(|t| t.index.key()).collect();
    assert_eq!(keys[..5], ["0.0", "0.1", "0.2", "0.3", "1.0"]);
    let html = report.to_html();
    // Two foreach frames, one inside the other.
    assert_eq!(html.matches("<rect class=\"frame\"").count(), 2);
    assert!(html.contains("id=\"task-letter-2.1\""));
    assert_self_contained(&html);
    open_in_chromium(&html, "nested").assert_shows(&report);
}

#[tokio::test]
async fn a_run_still_going_shows_what_is_running_and_what_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    let store = run_store::<GatedFlow>(dir.path());
    let run = Runner::<GatedFlow>::new()
        .datastore(dir.path())
        .max_workers(4)
        .run();
    // Reports on the run while items 2 and 3 are held, then lets them finish.
    let observe = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        let report = loop {
            assert!(Instant::now() < deadline, "items 0 and 1 never finished");
            if let Ok(report) = report::build::<GatedFlow>(&store, None).await {
                if report.step("wait").unwrap().counts.total == 2 {
                    break report;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        RELEASE.store(true, Ordering::SeqCst);
        report
    };
    let (finished, report) = tokio::join!(run, observe);
    assert_eq!(report.run.status, RunStatus::Running);
    let outcome = |step: &str| report.step(step).unwrap().outcome;
    assert_eq!(outcome("start"), Outcome::Succeeded);
    assert_eq!(outcome("wait"), Outcome::Running);
    assert_eq!(outcome("join"), Outcome::Pending);
    assert_eq!(outcome("end"), Outcome::Pending);
    let html = report.clone().with_refresh(Some(5)).to_html();
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    assert!(html.contains("the run was still going"));
    assert!(html.contains("<span class=\"pill big running\">running</span>"));
    assert!(!report.to_html().contains("http-equiv=\"refresh\""));
    assert_self_contained(&html);

    let finished = finished.unwrap();
    assert!(finished.succeeded(), "{:?}", finished.error());
    let report = report::build::<GatedFlow>(&store, None).await.unwrap();
    assert!(report.steps.iter().all(|s| s.outcome == Outcome::Succeeded));
}

#[tokio::test]
async fn a_ten_thousand_item_foreach_is_aggregated_into_a_small_page() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()).with_durability(Durability::Off));
    let run = Runner::<LargeFlow>::new().store(store).run().await.unwrap();
    assert!(run.succeeded(), "{:?}", run.error());

    let started = Instant::now();
    let report = report::build::<LargeFlow>(&run_store::<LargeFlow>(dir.path()), None)
        .await
        .unwrap();
    let html = report.to_html();
    let took = started.elapsed();
    eprintln!(
        "10,000-item report: built in {took:?}, {} bytes of HTML",
        html.len()
    );
    // Well under a second in release; this bound only catches a blow-up (a debug build on a
    // busy machine takes about one second).
    assert!(took < Duration::from_secs(20), "{took:?}");

    let each = report.step("each").unwrap();
    assert_eq!(each.counts.total, LARGE_ITEMS as usize);
    assert_eq!(each.counts.caught, 4);
    assert_eq!(each.outcome, Outcome::Caught);
    assert_eq!(each.errors.len(), 1);
    assert_eq!(each.errors[0].count, 4);
    assert_eq!(each.errors[0].first.0, [7]);
    let stats = each.durations.unwrap();
    assert_eq!(stats.count, LARGE_ITEMS as usize);
    assert!(stats.p50 <= stats.p90 && stats.p90 <= stats.p99 && stats.p99 <= stats.max);
    // In full: the 4 caught tasks and the slowest few, not 10,000.
    assert!(each.details.len() <= 12, "{}", each.details.len());
    assert_eq!(
        each.details
            .iter()
            .filter(|d| d.shown_because == ShownBecause::Failed)
            .count(),
        4
    );
    assert!(html.len() < 2 * 1024 * 1024, "{} bytes", html.len());
    assert!(html.matches("<details class=\"task").count() <= 20);
    assert!(html.contains("10,000 tasks"));
    assert!(html.contains("an odd one out"));
    // One timeline row for the whole step.
    assert_eq!(html.matches("class=\"row-label first\">each<").count(), 1);
    assert_self_contained(&html);

    let started = Instant::now();
    let opened = open_in_chromium(&html, "large");
    let took = started.elapsed();
    // Two launches (the DOM, then the screenshot), a few seconds in all.
    eprintln!("10,000-item report: opened in Chromium in {took:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    opened.assert_shows(&report);
}

#[tokio::test]
async fn an_unknown_run_and_an_unwritable_path_are_errors_that_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<OptionsFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    let store = run_store::<OptionsFlow>(dir.path());
    let missing = RunId::new("20000101T000000-0000000000").unwrap();
    let error = report::build::<OptionsFlow>(&store, Some(&missing))
        .await
        .unwrap_err();
    assert!(matches!(error, ReportError::Datastore(_)), "{error:?}");
    assert!(error.to_string().contains(missing.as_str()), "{error}");

    let path = dir.path().join("no such dir").join("report.html");
    let error = report::write_report::<OptionsFlow>(&store, None, &path)
        .await
        .unwrap_err();
    assert!(matches!(error, ReportError::Write { .. }), "{error:?}");
    assert!(std::error::Error::source(&error).is_some());

    // Written whole, at the path returned, with no temporary file left beside it.
    let path = dir.path().join("report.html");
    let written = report::write_report::<OptionsFlow>(&store, Some(run.id()), &path)
        .await
        .unwrap();
    assert!(written.is_absolute());
    assert_eq!(written, path);
    let html = std::fs::read_to_string(&written).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_chromium_check_catches_console_errors_and_blocked_requests() {
    // The checks above mean something only if they can fail: a page with a script error and
    // an image from the network, under the report's policy.
    let page = format!(
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"{}\"></head><body><p>broken</p><img src=\"https://example.invalid/x.png\">\
         <script>undefined_function();</script></body></html>",
        report::CONTENT_SECURITY_POLICY
    );
    let opened = open_in_chromium(&page, "broken");
    assert!(opened.dom.contains("broken"));
    let console = opened.console.join("\n");
    assert!(console.contains("undefined_function"), "{console}");
    assert!(console.contains("example.invalid"), "{console}");
}

/// While set, `CardShowFlow::publish` fails.
static PUBLISH_OUTAGE: AtomicBool = AtomicBool::new(false);
/// The tests that run `CardShowFlow` share `PUBLISH_OUTAGE`; they run one at a time.
static CARDS_SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Markdown with raw HTML, a link and an image: shown as text, never fetched or run.
const CARD_MARKDOWN: &str =
    "# Cards <em>inline</em>\n\nSee [the docs](https://example.invalid/docs).\n\n\
<img src=x onerror=\"console.log('markdown html ran')\">\n\n\
![a chart](https://example.invalid/chart.png)\n\n- [x] listed\n";
/// An SVG drawing with a script, an event handler and an external image: shown as an image,
/// so none of them runs or loads.
const CARD_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"60\" \
onload=\"console.log('svg onload ran')\"><script>console.log('svg script ran')</script>\
<rect width=\"120\" height=\"60\" fill=\"#4dabf7\"/>\
<image href=\"https://example.invalid/x.png\" width=\"10\" height=\"10\"/></svg>";

/// A `size` x `size` checkerboard as a PNG.
fn checkerboard(size: u32) -> Vec<u8> {
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, size, size);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let pixels: Vec<u8> = (0..size * size)
        .flat_map(|i| {
            if (i % size + i / size) % 2 == 0 {
                [20, 20, 20]
            } else {
                [240, 200, 40]
            }
        })
        .collect();
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    png
}

/// Steps that attach every kind of card, a retried step whose failed attempt added one, a
/// step that adds none, and a step that adds one and then fails while `PUBLISH_OUTAGE` is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CardShowFlow {
    pub items: Vec<u32>,
    pub value: u32,
    pub values: Vec<u32>,
}

#[flow]
impl CardShowFlow {
    /// Lists the items and describes them in Markdown.
    #[step(foreach = items, next = measure)]
    fn start(&mut self, ctx: &Ctx) {
        self.items = vec![4, 6, 8];
        ctx.card().markdown(CARD_MARKDOWN);
    }

    /// A table and a PNG per item; item 6 fails its first attempt after adding a card.
    #[step(next = gather, retry(times = 1, backoff = "1ms"))]
    fn measure(&mut self, item: &u32, ctx: &Ctx) -> Result<(), String> {
        if *item == 6 && ctx.attempt == 0 {
            ctx.card().markdown("from the failed attempt");
            return Err("the first attempt of item 6 fails".into());
        }
        self.value = item * 10;
        ctx.card()
            .table(
                ["item", "value"],
                [[item.to_string(), self.value.to_string()]],
            )
            .image_png(checkerboard(*item))
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// An SVG drawing and two charts of the values.
    #[step(next = quiet)]
    fn gather(&mut self, inputs: Inputs<Self>, ctx: &Ctx) -> Result<(), String> {
        self.values = inputs.iter().map(|i| i.value).collect();
        let labels: Vec<String> = inputs
            .iter()
            .map(|i| format!("item {}", i.value / 10))
            .collect();
        let values: Vec<f64> = self.values.iter().map(|v| f64::from(*v)).collect();
        ctx.card()
            .svg(CARD_SVG)
            .chart(
                Chart::bar("Values by item")
                    .x_labels(labels.clone())
                    .series("value", values.clone()),
            )
            .and_then(|cards| {
                cards.chart(
                    Chart::line("Running total")
                        .x_labels(labels)
                        .series(
                            "total",
                            values.iter().scan(0.0, |t, v| {
                                *t += v;
                                Some(*t)
                            }),
                        )
                        .series("value", values),
                )
            })
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Adds no card.
    #[step(next = publish)]
    fn quiet(&mut self) {}

    /// Adds a card, then fails while `PUBLISH_OUTAGE` is set.
    #[step(next = end)]
    fn publish(&mut self, ctx: &Ctx) -> Result<(), String> {
        ctx.card().markdown("# Published");
        if PUBLISH_OUTAGE.load(Ordering::SeqCst) {
            return Err("the registry is down".into());
        }
        Ok(())
    }

    #[step]
    fn end(&mut self) {}
}

/// The tasks of a run's directory that have a `cards.json`, as `step/index`.
fn tasks_with_cards(dir: &Path, flow: &str, run: &RunId) -> Vec<String> {
    let steps = dir.join(flow).join("runs").join(run.as_str()).join("steps");
    let mut found = Vec::new();
    for step in std::fs::read_dir(&steps).unwrap() {
        let step = step.unwrap();
        for task in std::fs::read_dir(step.path()).unwrap() {
            let task = task.unwrap();
            if task.path().join("cards.json").exists() {
                found.push(format!(
                    "{}/{}",
                    step.file_name().to_string_lossy(),
                    task.file_name().to_string_lossy()
                ));
            }
        }
    }
    found.sort();
    found
}

/// Every `data:image/png;base64,` image of a page, decoded: (width, height) of each.
fn png_images(dom: &str) -> Vec<(u32, u32)> {
    use base64::prelude::{Engine as _, BASE64_STANDARD};
    let prefix = "src=\"data:image/png;base64,";
    dom.match_indices(prefix)
        .map(|(at, _)| {
            let data = &dom[at + prefix.len()..];
            let data = &data[..data.find('"').expect("the attribute ends")];
            let bytes = BASE64_STANDARD.decode(data).expect("base64");
            let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
                .read_info()
                .expect("the image card is a PNG");
            let mut pixels = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut pixels).expect("its pixels decode");
            (info.width, info.height)
        })
        .collect()
}

#[tokio::test]
async fn cards_of_every_kind_show_under_their_task_and_nothing_in_them_runs() {
    let _serial = CARDS_SERIAL.lock().await;
    PUBLISH_OUTAGE.store(false, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<CardShowFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let store = run_store::<CardShowFlow>(dir.path());
    let id = run.id();
    // Only tasks that added cards have them stored: `quiet` and `end` wrote nothing.
    assert_eq!(
        tasks_with_cards(dir.path(), "CardShowFlow", id),
        [
            "gather/0",
            "measure/0",
            "measure/1",
            "measure/2",
            "publish/0",
            "start/0"
        ]
    );
    // The retried task keeps the cards of the attempt that ended it.
    let retried = store
        .cards(id, &TaskId::new("measure", IndexPath(vec![1])))
        .await
        .unwrap();
    let kinds: Vec<&str> = retried.iter().map(Card::kind).collect();
    assert_eq!(kinds, ["table", "image_png"]);
    let quiet = store
        .cards(id, &TaskId::new("quiet", IndexPath::root()))
        .await;
    assert!(quiet.unwrap().is_empty());

    let report = report::build::<CardShowFlow>(&store, None).await.unwrap();
    let gather = report.step("gather").unwrap();
    let kinds: Vec<&str> = gather.details[0].cards.iter().map(Card::kind).collect();
    assert_eq!(kinds, ["svg", "chart", "chart"]);
    let html = report.to_html();
    assert_self_contained(&html);
    assert!(!html.contains("from the failed attempt"));
    // Tasks with cards are open, their cards counted in the summary.
    assert!(html.contains("<details class=\"task succeeded\" id=\"task-gather-0\" open>"));
    assert!(html.contains("3 cards"));

    let opened = open_in_chromium(&html, "cards");
    opened.assert_shows(&report);
    let dom = &opened.dom;
    assert!(
        dom.contains("<h1>Cards &lt;em&gt;inline&lt;/em&gt;</h1>"),
        "markdown"
    );
    assert!(
        dom.contains("<span class=\"md-link\">the docs</span>"),
        "link text"
    );
    assert!(dom.contains("[image: a chart]"), "image description");
    assert!(
        dom.contains("&lt;img src=x onerror="),
        "raw HTML shown as text"
    );
    assert!(dom.contains("<td>6</td><td>60</td>"), "table");
    assert_eq!(png_images(dom), [(4, 4), (6, 6), (8, 8)], "image cards");
    assert_eq!(
        dom.matches("src=\"data:image/svg+xml;base64,").count(),
        1,
        "svg"
    );
    assert_eq!(dom.matches("<svg class=\"chart\"").count(), 2, "charts");
    assert!(dom.contains(">Values by item</text>") && dom.contains(">Running total</text>"));
    assert!(dom.contains("<h1>Published</h1>"));
}

#[tokio::test]
async fn cards_of_a_failed_task_are_kept_and_a_resume_clones_them() {
    let _serial = CARDS_SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    PUBLISH_OUTAGE.store(true, Ordering::SeqCst);
    let failed = Runner::<CardShowFlow>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    PUBLISH_OUTAGE.store(false, Ordering::SeqCst);
    assert_eq!(failed.status(), RunStatus::Failed);
    let store = run_store::<CardShowFlow>(dir.path());
    let report = report::build::<CardShowFlow>(&store, Some(failed.id()))
        .await
        .unwrap();
    let publish = &report.step("publish").unwrap().details[0];
    assert_eq!(publish.status, TaskStatus::Failed);
    assert!(matches!(&publish.cards[..], [Card::Markdown { text }] if text == "# Published"));
    open_in_chromium(&report.to_html(), "cards-failed").assert_shows(&report);

    let resumed = Runner::<CardShowFlow>::new()
        .datastore(dir.path())
        .resume(None, None)
        .await
        .unwrap();
    assert!(resumed.succeeded(), "{:?}", resumed.error());
    for (step, index) in [
        ("start", vec![]),
        ("measure", vec![0]),
        ("measure", vec![1]),
        ("measure", vec![2]),
        ("gather", vec![]),
    ] {
        let task = TaskId::new(step, IndexPath(index));
        let record = store.task(resumed.id(), &task).await.unwrap().unwrap();
        assert_eq!(record.cloned_from.as_ref(), Some(failed.id()), "{task}");
        let origin = store.cards(failed.id(), &task).await.unwrap();
        assert!(!origin.is_empty(), "{task}");
        assert_eq!(
            store.cards(resumed.id(), &task).await.unwrap(),
            origin,
            "{task}"
        );
    }
    assert_eq!(
        tasks_with_cards(dir.path(), "CardShowFlow", resumed.id()),
        [
            "gather/0",
            "measure/0",
            "measure/1",
            "measure/2",
            "publish/0",
            "start/0"
        ]
    );
    let report = report::build::<CardShowFlow>(&store, Some(resumed.id()))
        .await
        .unwrap();
    assert_eq!(report.step("measure").unwrap().outcome, Outcome::Cloned);
    let html = report.to_html();
    assert_self_contained(&html);
    let opened = open_in_chromium(&html, "cards-resumed");
    opened.assert_shows(&report);
    assert_eq!(png_images(&opened.dom).len(), 3);
    assert_eq!(opened.dom.matches("<svg class=\"chart\"").count(), 2);
}

/// A `slow_foreach` command run in `cwd` on datastore `store`.
fn slow_foreach_in(cwd: &Path, store: &Path, args: &[&str]) -> std::process::Output {
    common::slow_foreach(store, None, args)
        .current_dir(cwd)
        .output()
        .expect("slow_foreach runs")
}

#[test]
fn the_report_command_writes_a_file_and_says_clearly_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cwd = dir.path();
    let fails = |args: &[&str], expected: &[&str]| {
        let out = slow_foreach_in(cwd, &store, args);
        let (stdout, stderr) = common::text(&out);
        assert!(
            !out.status.success(),
            "{args:?} succeeded: {stdout}{stderr}"
        );
        for e in expected {
            assert!(stderr.contains(e), "{args:?}: `{e}` not in {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    };
    fails(&["report"], &["flow `SlowFlow` has no runs in"]);
    assert!(!cwd.join("report.html").exists());

    let out = slow_foreach_in(
        cwd,
        &store,
        &["run", "--count", "3", "--sleep-ms", "1", "-q"],
    );
    assert!(out.status.success(), "{:?}", common::text(&out));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // The latest run, to report.html in the current directory, its absolute path printed.
    let out = slow_foreach_in(cwd, &store, &["report"]);
    let (stdout, stderr) = common::text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let written = PathBuf::from(stdout.trim());
    assert!(written.is_absolute(), "{stdout}");
    assert_eq!(written, cwd.join("report.html").canonicalize().unwrap());
    let html = std::fs::read_to_string(&written).unwrap();
    assert!(html.contains(&id) && !html.contains("http-equiv=\"refresh\""));

    // A named run, to a named file.
    let named = cwd.join("named.html");
    let out = slow_foreach_in(cwd, &store, &["report", &id, "-o", named.to_str().unwrap()]);
    assert!(out.status.success(), "{:?}", common::text(&out));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        named.to_str().unwrap()
    );

    let hint = format!("the latest is `{id}`");
    fails(
        &["report", "20000101T000000-0000000000"],
        &[
            "no run `20000101T000000-0000000000` of flow `SlowFlow`",
            &hint,
        ],
    );
    fails(&["report", "not an id"], &["not an id"]);
    let unwritable = cwd.join("no such dir").join("report.html");
    fails(
        &["report", "-o", unwritable.to_str().unwrap()],
        &[
            "cannot write the report to",
            "no such dir",
            "No such file or directory",
        ],
    );
    fails(&["report", "--interval", "5"], &["--watch"]);

    // `cards`: a task without cards says so; a missing task or step is an error.
    let out = slow_foreach_in(cwd, &store, &["cards", &format!("{id}/work/1")]);
    let (stdout, stderr) = common::text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.is_empty() && stderr.contains("task work/1 added no cards"),
        "{stderr}"
    );
    fails(&["cards", &id], &["name a task"]);
    fails(
        &["cards", &format!("{id}/work/7")],
        &["has no task `work/7`"],
    );
    fails(&["cards", &format!("{id}/wrok")], &["no step `wrok`"]);
}

#[test]
fn report_watch_rewrites_the_file_until_the_run_ends() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let output = dir.path().join("live.html");
    // About three seconds of work: 40 items of 150 ms, two at a time.
    let mut run = common::slow_foreach(
        &store,
        None,
        &[
            "run",
            "--count",
            "40",
            "--sleep-ms",
            "150",
            "--max-workers",
            "2",
            "-q",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let runs = store.join("SlowFlow").join("runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&runs).map_or(true, |mut d| d.next().is_none()) {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut watch = common::slow_foreach(
        &store,
        None,
        &[
            "report",
            "--watch",
            "--interval",
            "1",
            "-o",
            output.to_str().unwrap(),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // The path comes first, once the first report is written: the run is still going.
    let mut stdout = std::io::BufReader::new(watch.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first.trim(), output.to_str().unwrap());
    let live = std::fs::read_to_string(&output).unwrap();
    assert!(live.contains("<meta http-equiv=\"refresh\" content=\"1\">"));
    assert!(live.contains("<span class=\"pill big running\">running</span>"));

    let status = watch.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut watch.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("rewriting the report every 1 s"),
        "{stderr}"
    );
    assert!(stderr.contains("succeeded: report written to"), "{stderr}");
    // It ends once the run has: the last report is the finished run's, and stays put.
    assert!(run.wait().unwrap().success());
    let last = std::fs::read_to_string(&output).unwrap();
    assert!(!last.contains("http-equiv=\"refresh\""));
    assert!(last.contains("<span class=\"pill big succeeded\">succeeded</span>"));
    assert!(last.contains(">40<"), "every item counted");
}

/// The report-specific checks of a page Chromium opened.
trait ShowsReport {
    fn assert_shows(&self, report: &Report);
}

impl ShowsReport for Opened {
    /// Asserts a clean load (no console message at all: the page logs nothing, so any is a
    /// script error or a blocked request), every step with its count and status in the DOM,
    /// and a screenshot that is not one colour.
    fn assert_shows(&self, report: &Report) {
        assert!(
            self.console.is_empty(),
            "console messages:\n{}",
            self.console.join("\n")
        );
        for step in &report.steps {
            let row = steps_row(&self.dom, &step.name);
            assert!(
                row.contains(&format!(">{}<", thousands(step.counts.total)))
                    && row.contains(&format!(">{}<", step.outcome.label())),
                "{}: {row}",
                step.name
            );
        }
        // The script ran: it says how old the report is.
        assert!(
            self.dom.contains(" ago)</span>"),
            "the freshness script did not run"
        );
        assert_eq!(self.size, (1400, 1000));
        let first = &self.pixels[..4];
        assert!(
            self.pixels.chunks(4).any(|p| p != first),
            "the screenshot is blank"
        );
        let mut colours: Vec<&[u8]> = self.pixels.chunks(4).collect();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.len() > 50, "only {} colours", colours.len());
    }
}

/// `10000` as the page writes it: `10,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
