//! Every example's run report, made the way a user makes it (the example's own binary:
//! `run`, then `report`), opens in headless Chromium with no console message (so no script
//! error and no request: the page's policy forbids any, and reports a violation to the
//! console), shows every step with its task count and status, and renders a screenshot that
//! is not blank. So do the reports of a failed run of `resume` and of its resume, and the
//! report of `cards`, where every kind of card is in the page and its PNG decodes; `cards`
//! prints them as Markdown.
//!
//! The expected counts and statuses are read from the datastore's files, not from the
//! report code. Pages and screenshots are kept in `target/report-screenshots/`.

mod common;

use common::example_names;
use flow_test_support::{example_binary, open_in_chromium};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// A secrets file (`NAME=VALUE` lines) with a value for every secret an example reads.
fn secrets_file() -> PathBuf {
    static FILE: std::sync::OnceLock<tempfile::NamedTempFile> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, b"DB_PASSWORD=report-test-password\n").unwrap();
        file
    })
    .path()
    .to_path_buf()
}

/// Runs example `name` with `args` in `dir` (its datastore `dir/.flow`); returns its output.
fn example(name: &str, dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(example_binary(name));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("FLOW_DATASTORE")
        .env_remove("FRAGILE_FAIL_IF_EXISTS")
        .env_remove("RESUME_TRACE")
        // The team example's step reads a secret; a local run is given its value.
        .env("FLOW_SECRETS_FILE", secrets_file());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the example runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `example` to completion in a fresh directory; returns the directory and run id.
fn run(name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = example(name, dir.path(), &["run", "-q"], &[]);
    assert!(out.status.success(), "{name} run: {}", text(&out));
    // The run id is the last line: a step's own output may come before it.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let id = stdout.trim().lines().last().unwrap_or_default().to_string();
    (dir, id)
}

/// `report` of the latest run (or `run`) into `dir/report.html`; returns the page.
fn report(name: &str, dir: &Path, run: Option<&str>) -> String {
    let mut args = vec!["report"];
    args.extend(run);
    let out = example(name, dir, &args, &[]);
    assert!(out.status.success(), "{name} report: {}", text(&out));
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(path.is_absolute(), "{}", path.display());
    assert_eq!(path, dir.canonicalize().unwrap().join("report.html"));
    std::fs::read_to_string(&path).unwrap()
}

/// What the datastore says of one step of a run: its tasks' statuses and origins, the
/// steps it leads to, and for a switch the steps its tasks chose.
#[derive(Debug, Default)]
struct StoredStep {
    statuses: Vec<String>,
    cloned: usize,
    successors: Vec<String>,
    switch: bool,
    chosen: Vec<String>,
}

/// A run as its files say: its status and, for every step of its stored graph, its tasks.
struct StoredRun {
    status: String,
    steps: BTreeMap<String, StoredStep>,
    /// The steps a switch kept from running: no task, and every way to them was not taken.
    skipped: Vec<String>,
}

impl StoredRun {
    fn read(dir: &Path, run: &str) -> Self {
        let flows: Vec<PathBuf> = std::fs::read_dir(dir.join(".flow"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(flows.len(), 1, "{flows:?}");
        let root = flows[0].join("runs").join(run);
        let record: Value =
            serde_json::from_slice(&std::fs::read(root.join("run.json")).unwrap()).unwrap();
        let mut steps = BTreeMap::new();
        for step in record["graph"]["steps"]
            .as_array()
            .expect("the run stores its graph")
        {
            let name = step["name"].as_str().unwrap().to_string();
            let transition = &step["transition"];
            let names = |v: &Value| -> Vec<String> {
                match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
                    _ => Vec::new(),
                }
            };
            let mut stored = StoredStep {
                successors: ["next", "split", "switch"]
                    .iter()
                    .flat_map(|k| names(&transition[k]))
                    .chain(names(&transition["foreach"]["body"]))
                    .collect(),
                switch: transition.get("switch").is_some(),
                ..StoredStep::default()
            };
            // A local run's records are the frames of the step's segment (older runs': a
            // `task.json` per task directory).
            let step_dir = root.join("steps").join(&name);
            let mut records: Vec<Value> = match std::fs::read(step_dir.join("tasks.seg")) {
                Ok(bytes) => flow_core::datastore::read_segment("tasks.seg", "store", &bytes)
                    .unwrap()
                    .records
                    .iter()
                    .map(|r| serde_json::to_value(r).unwrap())
                    .collect(),
                Err(_) => Vec::new(),
            };
            if let Ok(tasks) = std::fs::read_dir(&step_dir) {
                for task in tasks {
                    if let Ok(bytes) = std::fs::read(task.unwrap().path().join("task.json")) {
                        records.push(serde_json::from_slice(&bytes).unwrap());
                    }
                }
            }
            for task in records {
                stored
                    .statuses
                    .push(task["status"].as_str().unwrap().to_string());
                stored.cloned += usize::from(task.get("cloned_from").is_some());
                stored.chosen.extend(names(&task["switch_next"]));
            }
            steps.insert(name, stored);
        }
        // Skipped: without tasks, and every predecessor skipped or a switch that ran and
        // never chose it. Grown to a fixpoint, as skipping only flows forward.
        let mut skipped: Vec<String> = Vec::new();
        loop {
            let more: Vec<String> = steps
                .iter()
                .filter(|(name, step)| step.statuses.is_empty() && !skipped.contains(*name))
                .filter(|(name, _)| {
                    let predecessors: Vec<(&String, &StoredStep)> = steps
                        .iter()
                        .filter(|(_, p)| p.successors.contains(*name))
                        .collect();
                    !predecessors.is_empty()
                        && predecessors.iter().all(|(p_name, p)| {
                            skipped.contains(*p_name)
                                || (p.switch && !p.statuses.is_empty() && !p.chosen.contains(*name))
                        })
                })
                .map(|(name, _)| name.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            skipped.extend(more);
        }
        StoredRun {
            status: record["status"].as_str().unwrap().to_string(),
            steps,
            skipped,
        }
    }

    /// The status word the report must show for step `name`, from the files alone.
    fn expected_status(&self, name: &str) -> &'static str {
        let step = &self.steps[name];
        let any = |s: &str| step.statuses.iter().any(|t| t == s);
        if any("failed") {
            "failed"
        } else if any("caught") {
            "caught"
        } else if !step.statuses.is_empty() && step.cloned == step.statuses.len() {
            "cloned"
        } else if !step.statuses.is_empty() {
            "succeeded"
        } else if self.skipped.iter().any(|s| s == name) {
            "skipped"
        } else {
            "not run"
        }
    }
}

/// Asserts that `html` fetches nothing: every `src` and `href` is an in-page anchor or a
/// `data:` URL, and no URL with a network scheme appears.
fn assert_self_contained(html: &str, name: &str) {
    let lower = html.to_ascii_lowercase();
    for needle in ["http://", "https://", "src=\"//", "href=\"//", "@import"] {
        assert!(
            !lower.contains(needle),
            "{name}: the page refers to `{needle}`"
        );
    }
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in lower.match_indices(attribute) {
            let value = &lower[at + attribute.len()..];
            assert!(
                value.starts_with('#') || value.starts_with("data:"),
                "{name}: external reference {}",
                &html[at..(at + 80).min(html.len())]
            );
        }
    }
}

/// Opens the page in Chromium and checks it against the run's files: a clean load, every
/// step's row with its task count and status, a screenshot that is not blank.
fn check_page(name: &str, html: &str, stored: &StoredRun) -> String {
    assert_self_contained(html, name);
    let opened = open_in_chromium(html, &format!("examples-{name}"));
    assert!(
        opened.console.is_empty(),
        "{name}: console messages:\n{}",
        opened.console.join("\n")
    );
    for (step, tasks) in &stored.steps {
        let row_start = opened
            .dom
            .find(&format!("<tr><td><a href=\"#step-{step}\">"))
            .unwrap_or_else(|| panic!("{name}: no row for step {step}"));
        let row = &opened.dom[row_start..];
        let row = &row[..row.find("</tr>").unwrap()];
        let count = tasks.statuses.len();
        let status = stored.expected_status(step);
        assert!(
            row.contains(&format!("<td class=\"num\">{count}</td>"))
                && row.contains(&format!(">{status}</span>")),
            "{name}: step {step} should show {count} tasks, {status}: {row}"
        );
        assert!(
            opened.dom.contains(&format!("id=\"step-{step}\"")),
            "{name}: {step}"
        );
    }
    assert!(
        opened.dom.contains(&format!(
            "<span class=\"pill big {0}\">{0}</span>",
            stored.status
        )),
        "{name}: run status {}",
        stored.status
    );
    assert!(
        opened.dom.contains(" ago)</span>"),
        "{name}: the script did not run"
    );
    assert_eq!(opened.size, (1400, 1000));
    let first = &opened.pixels[..4];
    assert!(
        opened.pixels.chunks(4).any(|p| p != first),
        "{name}: the screenshot is blank"
    );
    let mut colours: Vec<&[u8]> = opened.pixels.chunks(4).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 50, "{name}: only {} colours", colours.len());
    opened.dom
}

#[test]
fn every_example_report_opens_cleanly_in_chromium() {
    let names = example_names();
    assert!(names.len() >= 10, "{names:?}");
    // Two at a time: Chromium spends much of its launch waiting, not computing.
    let queue = std::sync::Mutex::new(names);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let Some(name) = queue.lock().unwrap().pop() else {
                    break;
                };
                let started = Instant::now();
                let (dir, id) = run(&name);
                let html = report(&name, dir.path(), None);
                assert!(html.contains(&id), "{name}: not the latest run");
                check_page(&name, &html, &StoredRun::read(dir.path(), &id));
                eprintln!(
                    "{name}: ran, reported and opened in {:?}",
                    started.elapsed()
                );
            });
        }
    });
}

#[test]
fn a_failed_run_and_its_resume_report_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let outage = dir.path().join("outage");
    std::fs::write(&outage, "").unwrap();
    let env = [("FRAGILE_FAIL_IF_EXISTS", outage.as_path())];
    let out = example("resume", dir.path(), &["run", "-q"], &env);
    assert!(
        !out.status.success(),
        "the run did not fail: {}",
        text(&out)
    );
    let failed = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let stored = StoredRun::read(dir.path(), &failed);
    assert_eq!(stored.status, "failed");
    assert_eq!(stored.steps["fragile"].statuses, ["failed"]);
    assert!(stored.steps["end"].statuses.is_empty());
    let html = report("resume", dir.path(), Some(&failed));
    let dom = check_page("resume-failed", &html, &stored);
    assert!(
        dom.contains("the dependency is down"),
        "the failure is shown"
    );

    std::fs::remove_file(&outage).unwrap();
    let out = example("resume", dir.path(), &["resume", "-q"], &env);
    assert!(out.status.success(), "resume: {}", text(&out));
    let resumed = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let stored = StoredRun::read(dir.path(), &resumed);
    assert_eq!(stored.status, "succeeded");
    for step in ["start", "left", "right", "merge"] {
        assert_eq!(stored.expected_status(step), "cloned", "{step}");
    }
    let html = report("resume", dir.path(), None);
    let dom = check_page("resume-resumed", &html, &stored);
    assert!(dom.contains(&failed), "the origin run is named");
}

#[test]
fn the_cards_example_shows_every_kind_of_card() {
    let (dir, id) = run("cards");
    let html = report("cards", dir.path(), None);
    let dom = check_page("cards", &html, &StoredRun::read(dir.path(), &id));
    // Markdown, rendered.
    assert!(dom.contains("<h1>Plan</h1>") && dom.contains("<h1>Comparison</h1>"));
    assert!(dom.contains("<h2>Fit at rate 0.2</h2>"), "markdown");
    assert!(
        dom.contains("<strong>3</strong> learning rates"),
        "markdown emphasis"
    );
    // A table per fit.
    assert_eq!(
        dom.matches("<table class=\"card-table\">").count(),
        3,
        "tables"
    );
    assert!(dom.contains("<th>epoch</th><th>loss</th>"));
    // Charts: one line chart per fit, a bar chart and a line chart comparing them.
    assert_eq!(dom.matches("<svg class=\"chart\"").count(), 5, "charts");
    assert!(dom.contains(">Final loss by learning rate</text>"));
    assert!(dom.contains(">rate 0.05</text>") && dom.contains(">rate 0.6</text>"));
    // The drawing, as an image.
    assert_eq!(dom.matches("src=\"data:image/svg+xml;base64,").count(), 1);
    // The PNG decodes to the size its card says.
    let images = png_images(&dom);
    assert_eq!(images, [(120, 80)], "image cards");
    assert!(dom.contains("alt=\"PNG image, 120×80 pixels"), "{images:?}");

    let out = example("cards", dir.path(), &["cards", &format!("{id}/fit/1")], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert!(markdown.starts_with("## Fit at rate 0.2\n"), "{markdown}");
    assert!(
        markdown.contains("| epoch | loss |\n| --- | --- |\n| 1 | "),
        "{markdown}"
    );
    assert!(markdown.contains("[line chart: Loss at rate 0.2, 12 points from 1 to 12]"));
    let out = example(
        "cards",
        dir.path(),
        &["cards", &format!("{id}/compare/0")],
        &[],
    );
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert!(markdown.contains("[bar chart: Final loss by learning rate, 3 points"));
    assert!(markdown.contains("[SVG drawing: "), "{markdown}");
    let png_line = markdown
        .lines()
        .find(|l| l.starts_with("[image: "))
        .unwrap_or_else(|| panic!("no image line in {markdown}"));
    assert!(png_line.ends_with(" bytes PNG]"), "{png_line}");
}

/// The (width, height) of every `data:image/png;base64,` image of a page, each decoded.
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
