//! The report as one self-contained HTML page: inline CSS, the SVGs inline, a few lines of
//! inline script (how long ago the report was made), and a Content-Security-Policy that
//! forbids every fetch, so the page opens from `file://`, a CI artifact or an attachment
//! without touching the network. Every string from the run is escaped.
//!
//! Longer than most modules because it is one cohesive thing: the page's markup, section by section; its stylesheet is style.css.

use super::cards::cards_html;
use super::format::{bytes, count, duration, escape, plural, utc};
use super::model::{Outcome, Report, ShownBecause, StepKind, StepReport, TaskDetail, TaskTiming};
use super::svg::{caption, graph_svg};
use super::timeline::{task_anchor, timeline_svg};
use flow_core::datastore::{RunStatus, TaskStatus};
use flow_core::StepErrorKind;
use std::fmt::Write;

/// The policy the page declares: nothing may be fetched; only its own inline style and
/// script run, and images only from `data:` URLs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src data:; script-src 'unsafe-inline'";

/// A graph wider than this (in pixels) is drawn above the overview instead of beside it.
const WIDE_GRAPH: f64 = 560.0;
/// Slowest tasks listed for a large step.
const SLOWEST_LISTED: usize = 10;
/// Error messages listed for a step.
const ERRORS_LISTED: usize = 20;

/// The whole page.
pub fn render(report: &Report) -> String {
    let mut page = String::with_capacity(64 * 1024);
    head(&mut page, report);
    page.push_str("<body>");
    header(&mut page, report);
    page.push_str("<main>");
    // The graph beside the overview when it is narrow enough, above it otherwise.
    let (svg, width) = graph_svg(report);
    let _ = write!(
        page,
        "<div class=\"top{wide}\" style=\"--graph-width:{column:.0}px\"><section class=\"card\" \
         id=\"graph\"><h2>Graph</h2>{legend}<div class=\"scroll\">{svg}</div></section>",
        wide = if width > WIDE_GRAPH { " wide" } else { "" },
        // The card's padding and border around the drawing; wide enough for the legend.
        column = (width + 46.0).max(340.0),
        legend = legend(report),
    );
    overview(&mut page, report);
    page.push_str("</div>");
    let _ = write!(
        page,
        "<section class=\"card\" id=\"timeline\"><h2>Timeline</h2><p class=\"muted small\">Each \
         bar is an attempt, from the run's start; red attempts failed, a dashed line is the wait \
         before a retry. A step with more than {} tasks is one row: when its attempts started \
         (failed ones in red), and how many ran at once at most.</p>\
         <div class=\"scroll\">{}</div></section>",
        super::timeline::TASK_ROWS_UP_TO,
        timeline_svg(report),
    );
    page.push_str("<h2 class=\"section\">Steps</h2>");
    for step in &report.steps {
        step_section(&mut page, report, step);
    }
    page.push_str("</main>");
    let _ = write!(
        page,
        "<footer>flowrs run report · {} · {}</footer>",
        escape(&report.run.flow),
        escape(report.run.run_id.as_str())
    );
    page.push_str(SCRIPT);
    page.push_str("</body></html>\n");
    page
}

fn head(page: &mut String, report: &Report) {
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light\">\
         <meta name=\"generator\" content=\"flowrs\">{refresh}\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{title}</title><style>{STYLE}</style></head>",
        csp = CONTENT_SECURITY_POLICY,
        refresh = report
            .refresh_secs
            .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">"))
            .unwrap_or_default(),
        title = escape(&format!(
            "{} {} · {}",
            report.run.flow,
            report.run.run_id,
            run_status_word(report.run.status)
        )),
    );
}

fn run_status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "running",
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
        RunStatus::TimedOut => "timed out",
    }
}

fn header(page: &mut String, report: &Report) {
    let run = &report.run;
    let status = run_status_word(run.status);
    let _ = write!(
        page,
        "<header class=\"run\"><div class=\"inner\"><div class=\"title\"><h1>{flow}</h1>\
         <span class=\"pill big {status}\">{status}</span></div>\
         <div class=\"run-id\">run <code>{id}</code></div>",
        flow = escape(&run.flow),
        id = escape(run.run_id.as_str()),
    );
    if !report.graph.doc.is_empty() {
        let _ = write!(page, "<p class=\"doc\">{}</p>", escape(&report.graph.doc));
    }
    page.push_str("<dl class=\"meta\">");
    let mut meta = |term: &str, value: String| {
        let _ = write!(page, "<div><dt>{term}</dt><dd>{value}</dd></div>");
    };
    meta("Started", escape(&utc(run.started_at_ms)));
    match run.finished_at_ms {
        Some(end) => {
            meta("Finished", escape(&utc(end)));
            meta(
                "Duration",
                escape(&duration(end.saturating_sub(run.started_at_ms))),
            );
        }
        None => meta(
            "Running for",
            escape(&format!(
                "{} (when this report was made)",
                duration(report.generated_at_ms.saturating_sub(run.started_at_ms))
            )),
        ),
    }
    meta("Tasks", escape(&count(report.totals.total)));
    meta("Scheduler", escape(&run.scheduler));
    meta(
        "Datastore",
        format!("<code>{}</code>", escape(&report.datastore)),
    );
    if let Some(origin) = &run.origin_run_id {
        let from = run
            .resume_step
            .as_ref()
            .map(|s| format!(", re-running from <code>{}</code>", escape(s)))
            .unwrap_or_default();
        meta(
            "Resumed from",
            format!("<code>{}</code>{from}", escape(origin.as_str())),
        );
    }
    page.push_str("</dl>");
    let _ = write!(
        page,
        "<p class=\"fresh\">Report made {made} <span id=\"age\" data-generated=\"{ms}\"></span>{live}</p>",
        made = escape(&utc(report.generated_at_ms)),
        ms = report.generated_at_ms,
        live = if run.status == RunStatus::Running {
            " · the run was still going (or was stopped without finishing)"
        } else {
            ""
        },
    );
    page.push_str("</div></header>");
}

fn overview(page: &mut String, report: &Report) {
    let run = &report.run;
    page.push_str("<section class=\"card\" id=\"overview\">");
    if let Some(error) = &run.error {
        let _ = write!(
            page,
            "<div class=\"run-error\"><strong>The run failed.</strong><pre class=\"error\">{}</pre></div>",
            escape(error)
        );
    }
    let t = &report.totals;
    page.push_str("<div class=\"stats\">");
    stat(page, "tasks", t.total, "");
    stat(page, "succeeded", t.succeeded, "ok");
    for (label, n, class) in [
        ("failed", t.failed, "bad"),
        ("caught", t.caught, "warn"),
        ("cloned", t.cloned, "clone"),
        ("retried", t.retried, "warn"),
    ] {
        if n > 0 {
            stat(page, label, n, class);
        }
    }
    page.push_str("</div>");
    if report.graph_from_code {
        page.push_str(
            "<p class=\"muted small\">The run did not store its graph; it is drawn from the \
             flow's current code.</p>",
        );
    }
    params(page, &run.params);
    page.push_str(
        "<h3>Steps</h3><table class=\"steps\"><thead><tr><th>Step</th><th>Status</th>\
         <th class=\"num\">Tasks</th><th class=\"num\">Failed</th><th class=\"num\">Median</th>\
         <th class=\"num\">Slowest</th><th>Notes</th></tr></thead><tbody>",
    );
    for step in &report.steps {
        let c = &step.counts;
        let (p50, max) = step
            .durations
            .map(|d| (duration(d.p50), duration(d.max)))
            .unwrap_or_default();
        let _ = write!(
            page,
            "<tr><td><a href=\"#step-{id}\"><code>{name}</code></a></td><td>{pill}</td>\
             <td class=\"num\">{tasks}</td><td class=\"num{bad}\">{failed}</td>\
             <td class=\"num\">{p50}</td><td class=\"num\">{max}</td><td class=\"muted\">{notes}</td></tr>",
            id = escape(&step.name),
            name = escape(&step.name),
            pill = outcome_pill(step.outcome),
            tasks = count(c.total),
            bad = if c.failed > 0 { " bad" } else { "" },
            failed = if c.failed > 0 { count(c.failed) } else { String::new() },
            notes = escape(&step_notes(step, true)),
        );
    }
    page.push_str("</tbody></table></section>");
}

fn stat(page: &mut String, label: &str, n: usize, class: &str) {
    let _ = write!(
        page,
        "<div class=\"stat {class}\"><div class=\"n\">{}</div><div class=\"l\">{label}</div></div>",
        count(n)
    );
}

fn params(page: &mut String, params: &serde_json::Value) {
    match params {
        serde_json::Value::Object(map) if !map.is_empty() => {
            page.push_str("<h3>Params</h3><table class=\"params\"><tbody>");
            for (name, value) in map {
                let _ = write!(
                    page,
                    "<tr><th><code>{}</code></th><td><code>{}</code></td></tr>",
                    escape(name),
                    escape(&value.to_string())
                );
            }
            page.push_str("</tbody></table>");
        }
        serde_json::Value::Object(_) | serde_json::Value::Null => {}
        other => {
            let _ = write!(
                page,
                "<h3>Params</h3><pre>{}</pre>",
                escape(&other.to_string())
            );
        }
    }
}

/// What kind of step, what it decided and, `with_counts`, how many tasks were cloned,
/// retried or caught, in a few words.
fn step_notes(step: &StepReport, with_counts: bool) -> String {
    let mut notes = Vec::new();
    match &step.kind {
        StepKind::Split(targets) => notes.push(format!("splits into {}", targets.join(", "))),
        StepKind::Foreach { over } => notes.push(if step.foreach_items > 0 {
            format!("for each of {over}: {}", plural(step.foreach_items, "item"))
        } else {
            format!("for each of {over}")
        }),
        StepKind::Switch(_) => {
            let chosen: Vec<String> = step
                .switch_choices
                .iter()
                .map(|(to, n)| {
                    if step.counts.total == 1 {
                        format!("→ {to}")
                    } else {
                        format!("→ {to} ×{}", count(*n))
                    }
                })
                .collect();
            if chosen.is_empty() {
                notes.push("switch".into());
            } else {
                notes.push(format!("switch {}", chosen.join(", ")));
            }
        }
        StepKind::Linear | StepKind::End => {}
    }
    if step.join {
        notes.push("join".into());
    }
    if !with_counts {
        return notes.join(" · ");
    }
    if step.counts.cloned > 0 {
        notes.push(format!("{} cloned", count(step.counts.cloned)));
    }
    if step.counts.retried > 0 {
        notes.push(format!("{} retried", count(step.counts.retried)));
    }
    if step.counts.caught > 0 {
        notes.push(format!("{} caught", count(step.counts.caught)));
    }
    notes.join(" · ")
}

fn outcome_pill(outcome: Outcome) -> String {
    format!(
        "<span class=\"pill {}\">{}</span>",
        outcome.label().replace(' ', "-"),
        outcome.label()
    )
}

fn status_pill(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Succeeded => "<span class=\"pill succeeded\">succeeded</span>",
        TaskStatus::Failed => "<span class=\"pill failed\">failed</span>",
        TaskStatus::Caught => "<span class=\"pill caught\">caught</span>",
    }
}

fn legend(report: &Report) -> String {
    let mut seen: Vec<Outcome> = Vec::new();
    for step in &report.steps {
        if !seen.contains(&step.outcome) {
            seen.push(step.outcome);
        }
    }
    let mut out = String::from("<div class=\"legend\">");
    for outcome in [
        Outcome::Succeeded,
        Outcome::Cloned,
        Outcome::Failed,
        Outcome::Caught,
        Outcome::Running,
        Outcome::Pending,
        Outcome::Skipped,
        Outcome::NotRun,
    ] {
        if seen.contains(&outcome) {
            let (fill, stroke, _) = outcome.colours();
            let _ = write!(
                out,
                "<span><i style=\"background:{fill};border-color:{stroke}\"></i>{}</span>",
                outcome.label()
            );
        }
    }
    out.push_str("<span class=\"muted\">click a step for its details</span></div>");
    out
}

fn step_section(page: &mut String, report: &Report, step: &StepReport) {
    let c = &step.counts;
    let _ = write!(
        page,
        "<section class=\"card step {class}\" id=\"step-{id}\"><div class=\"step-head\">\
         <h3><code>{name}</code></h3>{pill}<span class=\"muted\">{caption}</span>\
         <a class=\"up\" href=\"#graph\">graph ↑</a></div>",
        class = step.outcome.label().replace(' ', "-"),
        id = escape(&step.name),
        name = escape(&step.name),
        pill = outcome_pill(step.outcome),
        // A step without tasks has nothing to add to its status.
        caption = if c.total == 0 {
            String::new()
        } else {
            escape(&caption(step))
        },
    );
    if !step.doc.is_empty() {
        let _ = write!(page, "<p class=\"doc\">{}</p>", escape(&step.doc));
    }
    let notes = step_notes(step, false);
    if !notes.is_empty() {
        let _ = write!(page, "<p class=\"notes\">{}</p>", escape(&notes));
    }
    if c.total == 0 {
        let why = match step.outcome {
            Outcome::Skipped => "A switch chose another branch, so this step did not run.",
            Outcome::Pending => "No task of this step has finished yet.",
            _ => "The run ended before reaching this step.",
        };
        let _ = write!(page, "<p class=\"muted\">{why}</p></section>");
        return;
    }
    if c.total > 1 {
        page.push_str("<div class=\"stats\">");
        stat(page, "tasks", c.total, "");
        stat(page, "succeeded", c.succeeded, "ok");
        for (label, n, class) in [
            ("failed", c.failed, "bad"),
            ("caught", c.caught, "warn"),
            ("cloned", c.cloned, "clone"),
            ("retried", c.retried, "warn"),
        ] {
            if n > 0 {
                stat(page, label, n, class);
            }
        }
        page.push_str("</div>");
        if let Some(d) = &step.durations {
            let _ = write!(
                page,
                "<table class=\"durations\"><thead><tr><th>Duration{origin}</th><th class=\"num\">min</th>\
                 <th class=\"num\">median</th><th class=\"num\">p90</th><th class=\"num\">p99</th>\
                 <th class=\"num\">max</th><th class=\"num\">total</th></tr></thead><tbody><tr>\
                 <td class=\"muted\">over {n}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr></tbody></table>",
                duration(d.min),
                duration(d.p50),
                duration(d.p90),
                duration(d.p99),
                duration(d.max),
                duration(d.total),
                origin = if step.durations_from_origin {
                    " (in the origin run)"
                } else {
                    ""
                },
                n = escape(&plural(d.count, "task")),
            );
        }
    }
    if !step.errors.is_empty() {
        page.push_str(
            "<h4>Errors</h4><table class=\"errors\"><thead><tr><th>Message</th>\
             <th class=\"num\">Tasks</th><th>First</th></tr></thead><tbody>",
        );
        for group in step.errors.iter().take(ERRORS_LISTED) {
            let _ = write!(
                page,
                "<tr><td><pre class=\"error inline\">{}</pre></td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&group.message),
                count(group.count),
                task_link(step, &group.first),
            );
        }
        page.push_str("</tbody></table>");
        if step.errors.len() > ERRORS_LISTED {
            let _ = write!(
                page,
                "<p class=\"muted small\">and {} other messages.</p>",
                count(step.errors.len() - ERRORS_LISTED)
            );
        }
    }
    let every = step.details.len() == step.timings.len();
    if !every {
        page.push_str(
            "<h4>Slowest</h4><table class=\"slowest\"><thead><tr><th>Task</th>\
             <th class=\"num\">Duration</th><th class=\"num\">Attempts</th><th>Status</th></tr>\
             </thead><tbody>",
        );
        for timing in step.slowest(SLOWEST_LISTED) {
            let _ = write!(
                page,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                task_link(step, &timing.index),
                duration(timing.wall_ms()),
                timing.attempts.len(),
                status_pill(timing.status),
            );
        }
        page.push_str("</tbody></table>");
        let reasons = shown_reasons(step);
        let _ = write!(
            page,
            "<h4>Shown in full</h4><p class=\"muted small\">{shown} of {total} tasks: {reasons}. \
             The others are counted above.</p>",
            shown = count(step.details.len()),
            total = count(step.timings.len()),
        );
    } else if step.details.len() > 1 {
        page.push_str("<h4>Tasks</h4>");
    }
    for detail in &step.details {
        task_section(page, report, step, detail);
    }
    page.push_str("</section>");
}

fn shown_reasons(step: &StepReport) -> String {
    let mut reasons = Vec::new();
    for (because, word) in [
        (ShownBecause::Failed, "failed"),
        (ShownBecause::Retried, "retried"),
        (ShownBecause::Slowest, "slowest"),
    ] {
        let n = step
            .details
            .iter()
            .filter(|d| d.shown_because == because)
            .count();
        if n > 0 {
            reasons.push(format!("{} {word}", count(n)));
        }
    }
    reasons.join(", ")
}

/// A link to a task's section when it is shown in full, else its id as text.
fn task_link(step: &StepReport, index: &flow_core::IndexPath) -> String {
    let label = format!("{}/{}", step.name, index.key());
    if step.detail(index).is_some() {
        format!(
            "<a href=\"#task-{}\"><code>{}</code></a>",
            escape(&task_anchor(&step.name, index)),
            escape(&label)
        )
    } else {
        format!("<code>{}</code>", escape(&label))
    }
}

fn task_section(page: &mut String, report: &Report, step: &StepReport, task: &TaskDetail) {
    let timing = step
        .timings
        .iter()
        .find(|t| t.index == task.task.index)
        .cloned()
        .unwrap_or(TaskTiming {
            index: task.task.index.clone(),
            status: task.status,
            attempts: Vec::new(),
            cloned_from: task.cloned_from.clone(),
        });
    let open = task.status != TaskStatus::Succeeded || !task.cards.is_empty();
    let mut extras = Vec::new();
    if task.attempts.len() > 1 {
        extras.push(plural(task.attempts.len(), "attempt"));
    }
    if let Some(origin) = &task.cloned_from {
        extras.push(format!("cloned from {origin}"));
    }
    if let Some(next) = &task.switch_next {
        extras.push(format!("→ {next}"));
    }
    if let Some(n) = task.foreach_count {
        extras.push(format!("×{} items", count(n)));
    }
    if !task.cards.is_empty() {
        extras.push(plural(task.cards.len(), "card"));
    }
    match task.shown_because {
        ShownBecause::Every => {}
        ShownBecause::Failed => extras.push("shown: failed".into()),
        ShownBecause::Retried => extras.push("shown: retried".into()),
        ShownBecause::Slowest => extras.push("shown: among the slowest".into()),
    }
    let error_line = task
        .error
        .as_ref()
        .map(|e| e.to_string().lines().next().unwrap_or_default().to_string())
        .unwrap_or_default();
    let _ = write!(
        page,
        "<details class=\"task {status}\" id=\"task-{anchor}\"{open}><summary>\
         <code class=\"task-id\">{id}</code>{pill}<span class=\"dur\">{dur}</span>\
         <span class=\"muted\">{extras}</span><span class=\"err-line\">{error_line}</span></summary>\
         <div class=\"task-body\">",
        status = match task.status {
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Caught => "caught",
        },
        anchor = escape(&task_anchor(&step.name, &task.task.index)),
        open = if open { " open" } else { "" },
        id = escape(&task.task.to_string()),
        pill = status_pill(task.status),
        dur = escape(&duration(timing.wall_ms())),
        extras = escape(&extras.join(" · ")),
        error_line = escape(&error_line),
    );
    if let Some(error) = &task.error {
        let kind = match error.kind {
            StepErrorKind::Error => "Error",
            StepErrorKind::Panic => "Panic",
            StepErrorKind::Timeout => "Timed out",
            StepErrorKind::Internal => "Could not run",
        };
        let _ = write!(
            page,
            "<div class=\"label\">{kind}{caught}</div><pre class=\"error\">{}</pre>",
            escape(&error.message),
            caught = if task.status == TaskStatus::Caught {
                ", caught: the run went on"
            } else {
                ""
            },
        );
    }
    // What the step chose to show comes first.
    if !task.cards.is_empty() {
        page.push_str("<div class=\"label\">Cards</div>");
        cards_html(page, &task.cards);
    }
    if let Some(note) = &task.cards_note {
        let _ = write!(page, "<p class=\"muted small\">{}</p>", escape(note));
    }
    attempts_table(page, report, task);
    artifacts_table(page, task);
    for log in &task.logs {
        let omitted = if log.omitted_lines > 0 {
            format!(", last lines; {} earlier omitted", count(log.omitted_lines))
        } else {
            String::new()
        };
        let _ = write!(
            page,
            "<div class=\"label\">Log of attempt {}{omitted}</div><pre class=\"log\">{}</pre>",
            log.attempt + 1,
            escape(&log.text),
        );
    }
    if task.logs.is_empty() {
        page.push_str("<div class=\"label\">Log</div><p class=\"muted small\">No log output.</p>");
    }
    page.push_str("</div></details>");
}

fn attempts_table(page: &mut String, report: &Report, task: &TaskDetail) {
    if task.attempts.is_empty() {
        return;
    }
    page.push_str(
        "<div class=\"label\">Attempts</div><table class=\"attempts\"><thead><tr><th>#</th>\
         <th>Started</th><th class=\"num\">Duration</th><th>Result</th></tr></thead><tbody>",
    );
    for attempt in &task.attempts {
        let started = if task.cloned_from.is_some() {
            utc(attempt.started_at_ms)
        } else {
            format!(
                "+{} ({})",
                duration(
                    attempt
                        .started_at_ms
                        .saturating_sub(report.run.started_at_ms)
                ),
                utc(attempt.started_at_ms)
            )
        };
        let result = match &attempt.error {
            None => "<span class=\"ok\">succeeded</span>".to_string(),
            Some(e) => format!("<span class=\"bad\">{}</span>", escape(&e.to_string())),
        };
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{result}</td></tr>",
            attempt.attempt + 1,
            escape(&started),
            duration(attempt.duration_ms),
        );
    }
    page.push_str("</tbody></table>");
}

fn artifacts_table(page: &mut String, task: &TaskDetail) {
    if task.artifacts.is_empty() {
        return;
    }
    page.push_str(
        "<div class=\"label\">Artifacts</div><table class=\"artifacts\"><thead><tr><th>Name</th>\
         <th>Type</th><th class=\"num\">Encoded</th><th>Value</th></tr></thead><tbody>",
    );
    for a in &task.artifacts {
        let preview = match &a.preview {
            Some(p) => format!(
                "<code class=\"preview\">{}{}</code>",
                escape(p),
                if a.truncated { "…" } else { "" }
            ),
            None => "<span class=\"muted\">—</span>".into(),
        };
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td><code class=\"type\">{}</code></td>\
             <td class=\"num\" title=\"{} bytes, blake3 {}\">{}</td><td>{preview}</td></tr>",
            escape(&a.name),
            escape(a.type_name.as_deref().unwrap_or("?")),
            a.size,
            escape(&a.hash),
            escape(&bytes(a.size)),
        );
    }
    page.push_str("</tbody></table>");
    if let Some(note) = &task.preview_note {
        let _ = write!(page, "<p class=\"muted small\">{}</p>", escape(note));
    }
}

/// Says how long ago the report was made, so a stale file is recognised as such.
const SCRIPT: &str = "<script>(function(){var e=document.getElementById('age');if(!e)return;\
var g=Number(e.getAttribute('data-generated'));function f(){var s=Math.max(0,Math.round((Date.now()-g)/1000));\
var t=s<60?s+' s':s<3600?Math.round(s/60)+' min':s<172800?Math.round(s/3600)+' h':Math.round(s/86400)+' days';\
e.textContent='('+t+' ago)';}f();setInterval(f,5000);})();</script>";

/// The page's stylesheet, inlined into every report.
const STYLE: &str = include_str!("style.css");
