//! Run reports: the HTML of real runs (every shape: foreach, split, switch, join; a failed
//! run and its resume; retries and caught failures; a 10,000-item foreach) says what
//! happened, refers to nothing outside itself, and opens in headless Chromium without a
//! console message, rendering something that is not blank.

use flow_core::datastore::{RunStatus, RunStore, TaskStatus};
use flow_core::prelude::*;
use flow_core::RunId;
use flow_local::report::{self, Outcome, Report, ReportError, ShownBecause};
use flow_local::{Durability, FsStore, Runner};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

/// What Chromium made of a page.
struct Opened {
    /// The DOM after load (`--dump-dom`).
    dom: String,
    /// Console messages Chromium logged.
    console: Vec<String>,
    /// The screenshot's pixels (RGBA) and size.
    pixels: Vec<u8>,
    size: (u32, u32),
}

impl Opened {
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

/// Headless Chromium, as `scripts/install-test-tools.sh` installs it.
fn chromium() -> String {
    if let Ok(path) = std::env::var("FLOW_CHROMIUM") {
        return path;
    }
    let on_path = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        on_path,
        "FLOW_CHROMIUM is not set and `chromium` is not on PATH: run \
         `scripts/install-test-tools.sh` and `source ~/.cache/flowrs-tools/env.sh` (or run the \
         suite with `scripts/test.sh`)"
    );
    "chromium".into()
}

/// Runs headless Chromium on `page` with `args`, in a fresh profile, without any network
/// service it would otherwise start; returns its stdout and stderr.
fn chromium_run(page: &Path, args: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "chromium failed ({status}):\n{err}");
    (out, err)
}

/// Opens `html` in headless Chromium: its DOM, console messages and a 1400x1000 screenshot
/// (the page and the screenshot are also kept in `target/report-screenshots/` for a person
/// to look at).
fn open_in_chromium(html: &str, name: &str) -> Opened {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let (dom, log) = chromium_run(&page, &["--dump-dom".to_string()]);
    let console: Vec<String> = log
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_string)
        .collect();
    let png = dir.path().join(format!("{name}.png"));
    chromium_run(
        &page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1400,1000".to_string(),
        ],
    );
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    if let Some(kept) = screenshot_dir() {
        let _ = std::fs::write(kept.join(format!("{name}.png")), &bytes);
        let _ = std::fs::write(kept.join(format!("{name}.html")), html);
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).expect("PNG pixels");
    pixels.truncate(info.buffer_size());
    let pixels = match info.color_type {
        png::ColorType::Rgba => pixels,
        png::ColorType::Rgb => pixels
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    Opened {
        dom,
        console,
        pixels,
        size: (info.width, info.height),
    }
}

/// Where screenshots are kept for inspection: `target/report-screenshots`.
fn screenshot_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/<test> -> target/report-screenshots
    let dir = exe.parent()?.parent()?.parent()?.join("report-screenshots");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}
