//! The timeline as SVG: every task's attempts on one time axis from the run's start.
//!
//! A step with few tasks gets a row per task (each attempt a bar, failed ones red, the wait
//! before a retry a dashed line); a larger step gets one row: a histogram of when its
//! attempts started, failed ones in red, and how many ran at once at most, so a 10,000-item
//! foreach is one readable row instead of 10,000. Tasks cloned from an origin run did not run in this one:
//! their rows say so instead of drawing the origin's times.

use super::format::{count, duration, escape, plural, tick};
use super::model::{Report, StepReport, TaskTiming};
use flow_core::datastore::{RunStatus, TaskStatus};
use flow_core::IndexPath;
use std::fmt::Write;

/// A step with at most this many tasks gets a row per task.
pub const TASK_ROWS_UP_TO: usize = 12;
/// Width of the label column.
const LABEL_WIDTH: f64 = 200.0;
/// Width of the time axis.
const PLOT_WIDTH: f64 = 940.0;
/// Space right of the plot.
const RIGHT_PAD: f64 = 20.0;
/// Height of a task row.
const TASK_ROW: f64 = 22.0;
/// Height of a step's aggregate row.
const STEP_ROW: f64 = 46.0;
/// Height of the axis above the rows.
const AXIS: f64 = 26.0;
/// Time buckets of an aggregate row.
const BUCKETS: usize = 235;

enum Row<'a> {
    Task(&'a StepReport, &'a TaskTiming),
    Step(&'a StepReport),
}

/// The timeline of `report` as an inline `<svg>` element, or a sentence when no task has
/// finished yet.
pub fn timeline_svg(report: &Report) -> String {
    let mut rows = Vec::new();
    for step in &report.steps {
        if step.timings.len() > TASK_ROWS_UP_TO {
            rows.push(Row::Step(step));
        } else {
            rows.extend(step.timings.iter().map(|t| Row::Task(step, t)));
        }
    }
    if rows.is_empty() {
        return "<p class=\"muted\">No task has finished yet.</p>".into();
    }
    let ran = report
        .steps
        .iter()
        .flat_map(|s| &s.timings)
        .filter(|t| t.cloned_from.is_none());
    let first = ran.clone().filter_map(TaskTiming::started_at_ms).min();
    let last = ran.filter_map(TaskTiming::ended_at_ms).max();
    let t0 = first.map_or(report.run.started_at_ms, |f| {
        f.min(report.run.started_at_ms)
    });
    let end = match report.run.status {
        RunStatus::Running => Some(report.generated_at_ms),
        _ => report.run.finished_at_ms,
    };
    let t1 = last.into_iter().chain(end).max().unwrap_or(t0).max(t0 + 1);
    let axis = Axis {
        t0,
        span: (t1 - t0) as f64,
    };

    let height = AXIS
        + rows
            .iter()
            .map(|r| match r {
                Row::Task(..) => TASK_ROW,
                Row::Step(_) => STEP_ROW,
            })
            .sum::<f64>()
        + 8.0;
    let width = LABEL_WIDTH + PLOT_WIDTH + RIGHT_PAD;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"timeline\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" \
         height=\"{height:.0}\" role=\"img\" aria-label=\"timeline of the run's tasks\">"
    );
    // Stripes: one band per step, alternating, so a step's rows read as a group.
    let mut y = AXIS;
    let mut band = 0;
    let mut previous: Option<&str> = None;
    for row in &rows {
        let (step, h) = match row {
            Row::Task(s, _) => (*s, TASK_ROW),
            Row::Step(s) => (*s, STEP_ROW),
        };
        if previous != Some(step.name.as_str()) {
            band += 1;
            previous = Some(&step.name);
        }
        if band % 2 == 0 {
            let _ = write!(
                svg,
                "<rect x=\"0\" y=\"{y:.1}\" width=\"{width:.0}\" height=\"{h:.1}\" fill=\"#f6f7f9\"/>"
            );
        }
        y += h;
    }
    axis.draw(&mut svg, height);
    let mut y = AXIS;
    let mut previous: Option<&str> = None;
    for row in &rows {
        match row {
            Row::Task(step, timing) => {
                let first_of_step = previous != Some(step.name.as_str());
                task_row(&mut svg, &axis, step, timing, y, first_of_step);
                previous = Some(&step.name);
                y += TASK_ROW;
            }
            Row::Step(step) => {
                step_row(&mut svg, &axis, step, y);
                previous = Some(&step.name);
                y += STEP_ROW;
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The mapping from time to x.
struct Axis {
    t0: u64,
    span: f64,
}

impl Axis {
    fn x(&self, t: u64) -> f64 {
        LABEL_WIDTH + (t.saturating_sub(self.t0) as f64 / self.span) * PLOT_WIDTH
    }

    /// Ticks at a round interval, about eight of them, with vertical grid lines.
    fn draw(&self, svg: &mut String, height: f64) {
        const STEPS: [u64; 30] = [
            1,
            2,
            5,
            10,
            20,
            50,
            100,
            200,
            250,
            500,
            1_000,
            2_000,
            5_000,
            10_000,
            15_000,
            30_000,
            60_000,
            120_000,
            300_000,
            600_000,
            900_000,
            1_800_000,
            3_600_000,
            7_200_000,
            10_800_000,
            21_600_000,
            43_200_000,
            86_400_000,
            172_800_000,
            604_800_000,
        ];
        let step = STEPS
            .iter()
            .copied()
            .find(|s| self.span / *s as f64 <= 8.0)
            .unwrap_or(604_800_000);
        let mut t = 0;
        while t as f64 <= self.span {
            let x = self.x(self.t0 + t);
            let _ = write!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{height:.1}\" stroke=\"#e3e6ea\"/>\
                 <text x=\"{x:.1}\" y=\"15\" text-anchor=\"middle\" class=\"tick\">{label}</text>",
                top = AXIS - 6.0,
                label = tick(t),
            );
            t += step;
        }
    }
}

/// The colour of a task's last attempt.
fn final_colour(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Succeeded => "#40c057",
        TaskStatus::Failed => "#e03131",
        TaskStatus::Caught => "#fab005",
    }
}

fn task_label(step: &StepReport, timing: &TaskTiming) -> String {
    if timing.index.0.is_empty() {
        step.name.clone()
    } else {
        format!("{} [{}]", step.name, timing.index.key())
    }
}

fn task_row(
    svg: &mut String,
    axis: &Axis,
    step: &StepReport,
    timing: &TaskTiming,
    y: f64,
    first_of_step: bool,
) {
    let label = task_label(step, timing);
    let _ = write!(
        svg,
        "<a href=\"#task-{anchor}\"><text x=\"10\" y=\"{ty:.1}\" class=\"row-label{strong}\">{label}</text></a>",
        anchor = escape(&task_anchor(&step.name, &timing.index)),
        ty = y + 15.0,
        strong = if first_of_step { " first" } else { "" },
        label = escape(&label),
    );
    if let Some(origin) = &timing.cloned_from {
        let _ = write!(
            svg,
            "<text x=\"{x:.1}\" y=\"{ty:.1}\" class=\"cloned\">cloned from {origin}</text>",
            x = LABEL_WIDTH + 6.0,
            ty = y + 15.0,
            origin = escape(origin.as_str()),
        );
        return;
    }
    let n = timing.attempts.len();
    for (k, attempt) in timing.attempts.iter().enumerate() {
        let x = axis.x(attempt.started_at_ms);
        let w = (axis.x(attempt.started_at_ms + attempt.duration_ms) - x).max(2.0);
        let last = k + 1 == n;
        let colour = if attempt.failed && !(last && timing.status == TaskStatus::Caught) {
            "#e03131"
        } else if last {
            final_colour(timing.status)
        } else {
            "#40c057"
        };
        let outcome = if attempt.failed {
            "failed"
        } else {
            "succeeded"
        };
        let title = format!(
            "{label} · attempt {} of {n} · started at +{} · took {} · {outcome}",
            k + 1,
            duration(attempt.started_at_ms.saturating_sub(axis.t0)),
            duration(attempt.duration_ms),
        );
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"12\" rx=\"3\" \
             fill=\"{colour}\"><title>{title}</title></rect>",
            by = y + 5.0,
            title = escape(&title),
        );
        if let Some(next) = timing.attempts.get(k + 1) {
            // The wait before the retry.
            let (x0, x1) = (x + w, axis.x(next.started_at_ms));
            if x1 > x0 + 1.0 {
                let _ = write!(
                    svg,
                    "<line x1=\"{x0:.1}\" y1=\"{ly:.1}\" x2=\"{x1:.1}\" y2=\"{ly:.1}\" \
                     stroke=\"#adb5bd\" stroke-dasharray=\"3 3\"/>",
                    ly = y + 11.0,
                );
            }
        }
    }
    if let (Some(end), true) = (timing.ended_at_ms(), n > 1) {
        let _ = write!(
            svg,
            "<text x=\"{x:.1}\" y=\"{ty:.1}\" class=\"row-note\">{n} attempts</text>",
            x = axis.x(end) + 6.0,
            ty = y + 15.0,
        );
    }
}

fn step_row(svg: &mut String, axis: &Axis, step: &StepReport, y: f64) {
    // A histogram of when attempts started (failed ones stacked on top, in red): unlike
    // concurrency it stays visible for tasks that take no time at all.
    let mut ok = vec![0usize; BUCKETS];
    let mut bad = vec![0usize; BUCKETS];
    let mut events: Vec<(u64, i32)> = Vec::new();
    let bucket = |t: u64| {
        let at = t.saturating_sub(axis.t0) as f64 / axis.span * BUCKETS as f64;
        (at as usize).min(BUCKETS - 1)
    };
    for timing in step.timings.iter().filter(|t| t.cloned_from.is_none()) {
        for attempt in &timing.attempts {
            let counts = if attempt.failed { &mut bad } else { &mut ok };
            counts[bucket(attempt.started_at_ms)] += 1;
            events.push((attempt.started_at_ms, 1));
            events.push((attempt.started_at_ms + attempt.duration_ms, -1));
        }
    }
    // Ends sort before starts at the same instant: back-to-back attempts do not overlap.
    events.sort_unstable();
    let at_once = events
        .iter()
        .scan(0i64, |running, (_, delta)| {
            *running += i64::from(*delta);
            Some(*running)
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let peak = ok
        .iter()
        .zip(&bad)
        .map(|(a, b)| a + b)
        .max()
        .unwrap_or(0)
        .max(1);
    let base = y + STEP_ROW - 7.0;
    let scale = (STEP_ROW - 14.0) / peak as f64;
    let bucket_width = PLOT_WIDTH / BUCKETS as f64;
    let area = |below: &[usize], values: &[usize]| {
        let mut d = format!("M{LABEL_WIDTH:.1},{base:.1}");
        for b in 0..BUCKETS {
            let (x0, top) = (
                LABEL_WIDTH + b as f64 * bucket_width,
                base - (below[b] + values[b]) as f64 * scale,
            );
            let _ = write!(d, " L{x0:.1},{top:.1} L{:.1},{top:.1}", x0 + bucket_width);
        }
        for b in (0..BUCKETS).rev() {
            let x0 = LABEL_WIDTH + b as f64 * bucket_width;
            let under = base - below[b] as f64 * scale;
            let _ = write!(
                d,
                " L{:.1},{under:.1} L{x0:.1},{under:.1}",
                x0 + bucket_width
            );
        }
        d.push_str(" Z");
        d
    };
    let zero = vec![0usize; BUCKETS];
    if ok.iter().any(|n| *n > 0) {
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"#40c057\" fill-opacity=\"0.6\" stroke=\"#2f9e44\" stroke-width=\"0.8\"/>",
            area(&zero, &ok)
        );
    }
    if bad.iter().any(|n| *n > 0) {
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"#e03131\" fill-opacity=\"0.85\"/>",
            area(&ok, &bad)
        );
        // A mark under the axis wherever something failed, however thin its bar.
        for (b, n) in bad.iter().enumerate().filter(|(_, n)| **n > 0) {
            let x = LABEL_WIDTH + (b as f64 + 0.5) * bucket_width;
            let _ = write!(
                svg,
                "<path d=\"M{x:.1},{t:.1} l-3.5,5 h7 z\" fill=\"#e03131\"><title>{n} failed</title></path>",
                t = base + 1.0,
            );
        }
    }
    let c = &step.counts;
    let mut sub = plural(c.total, "task");
    if c.failed > 0 {
        let _ = write!(sub, " · {} failed", count(c.failed));
    }
    if c.caught > 0 {
        let _ = write!(sub, " · {} caught", count(c.caught));
    }
    if c.cloned > 0 {
        let _ = write!(sub, " · {} cloned", count(c.cloned));
    }
    let note = format!("up to {} at once", count(at_once as usize));
    let _ = write!(
        svg,
        "<a href=\"#step-{id}\"><text x=\"10\" y=\"{ty:.1}\" class=\"row-label first\">{name}</text></a>\
         <text x=\"10\" y=\"{sy:.1}\" class=\"row-sub\">{sub}</text>\
         <text x=\"{right:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" class=\"row-note\">{note}</text>\
         <line x1=\"{LABEL_WIDTH:.1}\" y1=\"{base:.1}\" x2=\"{right:.1}\" y2=\"{base:.1}\" stroke=\"#ced4da\"/>",
        id = escape(&step.name),
        ty = y + 16.0,
        sy = y + 31.0,
        name = escape(&step.name),
        sub = escape(&sub),
        right = LABEL_WIDTH + PLOT_WIDTH,
    );
}

/// The id of a task's section on the page.
pub fn task_anchor(step: &str, index: &IndexPath) -> String {
    format!("{step}-{}", index.key())
}
