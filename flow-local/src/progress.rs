//! Progress of a run: a live bar on a terminal, plain lines otherwise (CI logs, pipes),
//! nothing when quiet.

use flow_core::TaskId;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on a terminal, lines otherwise.
    Auto,
    /// Plain lines on stderr.
    Lines,
    /// Nothing (the Rust API's default).
    Quiet,
}

struct Inner {
    bar: Option<ProgressBar>,
    lines: bool,
    done: AtomicUsize,
    cloned: AtomicUsize,
    running: AtomicUsize,
    known: AtomicUsize,
    last_line: Mutex<Instant>,
}

/// Shared progress reporter of one run.
#[derive(Clone)]
pub struct Progress {
    inner: Option<Arc<Inner>>,
}

impl Progress {
    /// A reporter for a run of a graph with `steps` steps.
    pub fn new(mode: ProgressMode, steps: usize) -> Self {
        let (bar, lines) = match mode {
            // Quiet still counts tasks, for the summary and `RunHandle::task_counts`.
            ProgressMode::Quiet => (None, false),
            ProgressMode::Lines => (None, true),
            ProgressMode::Auto if std::io::stderr().is_terminal() => {
                let bar =
                    ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} tasks {msg}",
                    )
                    .expect("valid template"),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                (Some(bar), false)
            }
            ProgressMode::Auto => (None, true),
        };
        Progress {
            inner: Some(Arc::new(Inner {
                bar,
                lines,
                done: AtomicUsize::new(0),
                cloned: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                known: AtomicUsize::new(steps),
                last_line: Mutex::new(Instant::now()),
            })),
        }
    }

    /// A task started.
    pub fn started(&self, task: &TaskId) {
        if let Some(i) = &self.inner {
            i.running.fetch_add(1, Ordering::Relaxed);
            if let Some(bar) = &i.bar {
                bar.set_message(format!("running {task}"));
            }
        }
    }

    /// A foreach added `n` more tasks to the run (approximately: its body steps).
    pub fn fan_out(&self, n: usize) {
        if let Some(i) = &self.inner {
            let known =
                i.known.fetch_add(n.saturating_sub(1), Ordering::Relaxed) + n.saturating_sub(1);
            if let Some(bar) = &i.bar {
                bar.set_length(known as u64);
            }
        }
    }

    /// A task finished (successfully or caught), or was cloned by a resume.
    pub fn finished(&self, task: &TaskId, ok: bool, cloned: bool) {
        let Some(i) = &self.inner else { return };
        i.running.fetch_sub(1, Ordering::Relaxed);
        let done = i.done.fetch_add(1, Ordering::Relaxed) + 1;
        if cloned {
            i.cloned.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(bar) = &i.bar {
            bar.set_position(done as u64);
            if bar.length().is_some_and(|l| (done as u64) > l) {
                bar.set_length(done as u64);
            }
        }
        if i.lines {
            // One line per task for small runs; at most two a second for large ones.
            let mut last = i.last_line.lock().expect("progress");
            if done <= 50 || last.elapsed() >= Duration::from_millis(500) || !ok {
                *last = Instant::now();
                let how = match (ok, cloned) {
                    (_, true) => "cloned",
                    (true, false) => "done",
                    (false, false) => "failed (caught)",
                };
                eprintln!("  {task} {how} ({done} tasks finished)");
            }
        }
    }

    /// A task failed for good.
    pub fn failed(&self, task: &TaskId, message: &str) {
        let Some(i) = &self.inner else { return };
        i.running.fetch_sub(1, Ordering::Relaxed);
        let line = format!("  {task} FAILED: {message}");
        match &i.bar {
            Some(bar) => bar.println(line),
            None if i.lines => eprintln!("{line}"),
            None => {}
        }
    }

    /// Clears the bar; returns (tasks finished, of which cloned).
    pub fn finish(&self) -> (usize, usize) {
        let Some(i) = &self.inner else { return (0, 0) };
        if let Some(bar) = &i.bar {
            bar.finish_and_clear();
        }
        (
            i.done.load(Ordering::Relaxed),
            i.cloned.load(Ordering::Relaxed),
        )
    }
}
