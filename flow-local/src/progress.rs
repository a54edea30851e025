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
    /// Shared with the bar, which reads it when it draws.
    running: Arc<AtomicUsize>,
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
        let running = Arc::new(AtomicUsize::new(0));
        let (bar, lines) = match mode {
            // Quiet still counts tasks, for the summary and `RunHandle::task_counts`.
            ProgressMode::Quiet => (None, false),
            ProgressMode::Lines => (None, true),
            ProgressMode::Auto if std::io::stderr().is_terminal() => {
                let bar = live_bar(ProgressDrawTarget::stderr(), steps, running.clone());
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
                running,
                known: AtomicUsize::new(steps),
                last_line: Mutex::new(Instant::now()),
            })),
        }
    }

    /// A task started. Costs one atomic add: the bar reads the count when it draws (at most
    /// 20 times a second), so a 100,000-task run formats nothing per task.
    pub fn started(&self, _task: &TaskId) {
        if let Some(i) = &self.inner {
            i.running.fetch_add(1, Ordering::Relaxed);
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

/// The terminal's bar: tasks finished of those known, and how many run now, read from
/// `running` when the bar is drawn (indicatif draws at most 20 times a second), never
/// written to the bar per task.
fn live_bar(target: ProgressDrawTarget, steps: usize, running: Arc<AtomicUsize>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(steps as u64), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} tasks, {running} running {msg}",
        )
        .expect("valid template")
        .with_key(
            "running",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", running.load(Ordering::Relaxed));
            },
        ),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starting and finishing tasks sets no message on the bar (nothing formatted per
    /// task); the bar's position and the running count follow the tasks.
    #[test]
    fn tasks_update_counters_not_the_bars_message() {
        let running = Arc::new(AtomicUsize::new(0));
        let bar = live_bar(ProgressDrawTarget::hidden(), 3, running.clone());
        let progress = Progress {
            inner: Some(Arc::new(Inner {
                bar: Some(bar.clone()),
                lines: false,
                done: AtomicUsize::new(0),
                cloned: AtomicUsize::new(0),
                running: running.clone(),
                known: AtomicUsize::new(3),
                last_line: Mutex::new(Instant::now()),
            })),
        };
        progress.fan_out(100_000);
        let task = TaskId::new("body", flow_core::IndexPath::root().child(0));
        for _ in 0..100_000 {
            progress.started(&task);
        }
        assert_eq!(running.load(Ordering::Relaxed), 100_000);
        for _ in 0..99_990 {
            progress.finished(&task, true, false);
        }
        assert_eq!(running.load(Ordering::Relaxed), 10);
        assert_eq!(bar.position(), 99_990);
        assert_eq!(bar.length(), Some(100_002));
        assert_eq!(bar.message(), "");
        assert_eq!(progress.finish(), (99_990, 0));
    }
}
