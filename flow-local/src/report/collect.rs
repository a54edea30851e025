//! Reads one run into a [`Report`], through [`RunStore`] only, so a local directory and S3
//! read the same.
//!
//! Every task record is read (concurrently: on S3 each one is a request), because counts,
//! percentiles and the timeline need them all; logs, cards and decoded states are read only
//! for the few tasks shown in full, so a 10,000-item foreach costs 10,000 small reads and a
//! handful of decodes.
//!
//! Longer than most modules because it is one cohesive thing: reading a run for the report: the record reads, the per-step aggregates and the choice of tasks shown in full.

use super::model::{
    ArtifactSummary, AttemptSpan, DurationStats, ErrorGroup, LogTail, Outcome, Report,
    ShownBecause, StepKind, StepReport, TaskCounts, TaskDetail, TaskTiming,
};
use super::ReportError;
use flow_core::datastore::{DatastoreError, RunStatus, RunStore, TaskRecord, TaskStatus};
use flow_core::graph::{validate, Analysis, FlowGraph, FrameKind, Transition};
use flow_core::{Flow, RunId};
use futures::{StreamExt, TryStreamExt};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

/// A step with at most this many tasks has every task shown in full.
const ALL_DETAILS_UP_TO: usize = 20;
/// A larger step shows in full at most this many failed tasks...
const FAILED_DETAILS: usize = 20;
/// ...this many retried ones...
const RETRIED_DETAILS: usize = 5;
/// ...and this many of the slowest.
const SLOWEST_DETAILS: usize = 5;
/// Tasks shown in full read at once.
const DETAIL_CONCURRENCY: usize = 8;
/// Characters of an artifact's JSON form shown as its preview.
const PREVIEW_CHARS: usize = 200;
/// A task whose state is larger than this (encoded) is not decoded for previews.
const PREVIEW_MAX_STATE_BYTES: u64 = 8 << 20;
/// Lines kept from the end of each attempt's log.
const LOG_TAIL_LINES: usize = 40;
/// Bytes kept from the end of each attempt's log (for logs of very long lines).
const LOG_TAIL_BYTES: usize = 8 * 1024;

/// Reads run `run` (the latest when `None`) of flow `F` from `store`.
pub async fn collect<F: Flow>(
    store: &RunStore,
    run: Option<&RunId>,
) -> Result<Report, ReportError> {
    let mut record = match run {
        Some(id) => store.run(id).await?,
        None => store.latest_run().await?,
    };
    let generated_at_ms = flow_core::datastore::timestamp_ms();
    // The graph the run ran, which may differ from the flow's code by now.
    let stored = record
        .graph
        .take()
        .and_then(|value| serde_json::from_value::<FlowGraph>(value).ok())
        .and_then(|graph| validate(&graph).ok().map(|analysis| (graph, analysis)));
    let graph_from_code = stored.is_none();
    let (graph, analysis) = stored.unwrap_or_else(|| (F::graph().clone(), F::analysis().clone()));
    let artifact_types = artifact_types::<F>();

    let run_id = record.run_id.clone();
    let order = reading_order(&analysis);
    let mut records: Vec<Vec<TaskRecord>> = vec![Vec::new(); graph.steps.len()];
    for &i in &order {
        let step = &graph.steps[i].name;
        records[i] = read_step(store, &run_id, step, analysis.foreach_depth(i)).await?;
    }

    let run = Reading {
        store,
        run: &run_id,
        live: record.status == RunStatus::Running,
        graph: &graph,
        analysis: &analysis,
        records: &records,
        artifact_types: &artifact_types,
    };
    let mut skipped = vec![false; graph.steps.len()];
    let mut steps = Vec::with_capacity(graph.steps.len());
    let mut totals = TaskCounts::default();
    for &i in &order {
        let step = run.step_report::<F>(i, &mut skipped).await?;
        totals.merge(&step.counts);
        steps.push(step);
    }

    Ok(Report {
        generated_at_ms,
        datastore: store.root(),
        run: record,
        graph,
        graph_from_code,
        steps,
        totals,
        artifact_types,
        refresh_secs: None,
    })
}

/// A run being read: what every step's report is made from.
struct Reading<'a> {
    store: &'a RunStore,
    run: &'a RunId,
    /// Whether the run may still be going.
    live: bool,
    graph: &'a FlowGraph,
    analysis: &'a Analysis,
    /// The task records of each step, by step index.
    records: &'a [Vec<TaskRecord>],
    artifact_types: &'a BTreeMap<String, String>,
}

impl Reading<'_> {
    /// The report of step `i`; `skipped` holds, for the steps before it, whether a switch
    /// kept them from running, and gets step `i`'s.
    async fn step_report<F: Flow>(
        &self,
        i: usize,
        skipped: &mut [bool],
    ) -> Result<StepReport, ReportError> {
        let spec = &self.graph.steps[i];
        let tasks = &self.records[i];
        let mut counts = TaskCounts::default();
        for r in tasks {
            counts.add(r.status, r.attempts.len(), r.cloned_from.is_some());
        }
        let predecessors = &self.analysis.predecessors[i];
        skipped[i] = !self.live
            && tasks.is_empty()
            && !predecessors.is_empty()
            && predecessors.iter().all(|&p| {
                skipped[p]
                    || chose_elsewhere(
                        &self.graph.steps[p].transition,
                        &self.records[p],
                        &spec.name,
                    )
            });
        let outcome = if counts.failed > 0 {
            Outcome::Failed
        } else if counts.caught > 0 {
            Outcome::Caught
        } else if counts.total > 0 {
            if self.live && counts.total < expected_tasks(self.analysis, self.records, i) {
                Outcome::Running
            } else if counts.cloned == counts.total {
                Outcome::Cloned
            } else {
                Outcome::Succeeded
            }
        } else if self.live {
            Outcome::Pending
        } else if skipped[i] {
            Outcome::Skipped
        } else {
            Outcome::NotRun
        };
        let timings: Vec<TaskTiming> = tasks.iter().map(timing).collect();
        let ran: Vec<u64> = timings
            .iter()
            .filter(|t| t.cloned_from.is_none())
            .map(TaskTiming::wall_ms)
            .collect();
        let durations_from_origin = ran.is_empty() && !timings.is_empty();
        let durations = if durations_from_origin {
            DurationStats::of(timings.iter().map(TaskTiming::wall_ms).collect())
        } else {
            DurationStats::of(ran)
        };
        let mut switch_choices = BTreeMap::new();
        for next in tasks.iter().filter_map(|r| r.switch_next.as_ref()) {
            *switch_choices.entry(next.clone()).or_insert(0) += 1;
        }
        // A few at a time: on S3 each is several requests (logs, blobs).
        let details = futures::stream::iter(pick_details(tasks, &timings))
            .map(|(k, because)| {
                detail::<F>(
                    self.store,
                    self.run,
                    &tasks[k],
                    because,
                    self.artifact_types,
                )
            })
            .buffered(DETAIL_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(StepReport {
            name: spec.name.clone(),
            doc: spec.doc.clone(),
            kind: match &spec.transition {
                Transition::End => StepKind::End,
                Transition::Next(_) => StepKind::Linear,
                Transition::Split(targets) => StepKind::Split(targets.clone()),
                Transition::Foreach { over, .. } => StepKind::Foreach { over: over.clone() },
                Transition::Switch(targets) => StepKind::Switch(targets.clone()),
            },
            join: spec.join,
            outcome,
            counts,
            durations,
            durations_from_origin,
            foreach_items: tasks.iter().filter_map(|r| r.foreach_count).sum(),
            switch_choices,
            errors: error_groups(tasks),
            timings,
            details,
        })
    }
}

/// The steps in an order a reader follows: every step after its predecessors, and among
/// the steps that could come next, the one declared first (so branches keep their order).
fn reading_order(analysis: &Analysis) -> Vec<usize> {
    let n = analysis.predecessors.len();
    let mut successors = vec![Vec::new(); n];
    let mut waiting: Vec<usize> = analysis.predecessors.iter().map(Vec::len).collect();
    for (v, predecessors) in analysis.predecessors.iter().enumerate() {
        for &p in predecessors {
            successors[p].push(v);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&v| waiting[v] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(v)) = ready.pop() {
        order.push(v);
        for &s in &successors[v] {
            waiting[s] -= 1;
            if waiting[s] == 0 {
                ready.push(Reverse(s));
            }
        }
    }
    order
}

/// The finished tasks of one step, in index order: those of its segment and those with a
/// `task.json` of their own (`RunStore::tasks` reads both).
async fn read_step(
    store: &RunStore,
    run: &RunId,
    step: &str,
    depth: usize,
) -> Result<Vec<TaskRecord>, DatastoreError> {
    let mut records = store.tasks(run, step).await?;
    // A task at another depth is not a task of this graph (e.g. left by an older version of
    // the flow).
    records.retain(|r| r.task.index.0.len() == depth);
    Ok(records)
}

/// Whether switch step `transition` ran and never chose `step`.
fn chose_elsewhere(transition: &Transition, tasks: &[TaskRecord], step: &str) -> bool {
    matches!(transition, Transition::Switch(_))
        && !tasks.is_empty()
        && tasks.iter().all(|t| t.switch_next.as_deref() != Some(step))
}

/// How many tasks step `i` will have once the items known so far are done: one per item
/// of its innermost foreach (so far), else one.
fn expected_tasks(analysis: &Analysis, records: &[Vec<TaskRecord>], i: usize) -> usize {
    match analysis.frames[i]
        .iter()
        .rev()
        .find(|f| f.kind == FrameKind::Foreach)
    {
        Some(frame) => records[frame.step]
            .iter()
            .filter_map(|r| r.foreach_count)
            .sum(),
        None => 1,
    }
}

fn timing(record: &TaskRecord) -> TaskTiming {
    TaskTiming {
        index: record.task.index.clone(),
        status: record.status,
        attempts: record
            .attempts
            .iter()
            .map(|a| AttemptSpan {
                started_at_ms: a.started_at_ms,
                duration_ms: a.duration_ms,
                failed: a.error.is_some(),
            })
            .collect(),
        cloned_from: record.cloned_from.clone(),
    }
}

/// Groups the final errors of failed and caught tasks by message, most frequent first.
fn error_groups(tasks: &[TaskRecord]) -> Vec<ErrorGroup> {
    let mut groups: Vec<ErrorGroup> = Vec::new();
    let mut by_message: HashMap<String, usize> = HashMap::new();
    for task in tasks {
        let Some(error) = task.error.as_ref() else {
            continue;
        };
        let message = error.to_string();
        match by_message.get(&message) {
            Some(&g) => groups[g].count += 1,
            None => {
                by_message.insert(message.clone(), groups.len());
                groups.push(ErrorGroup {
                    message,
                    count: 1,
                    first: task.task.index.clone(),
                });
            }
        }
    }
    // Stable: equally frequent messages stay in the order their first task comes.
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    groups
}

/// Which tasks of a step to show in full, and why, in index order.
fn pick_details(tasks: &[TaskRecord], timings: &[TaskTiming]) -> Vec<(usize, ShownBecause)> {
    if tasks.len() <= ALL_DETAILS_UP_TO {
        return (0..tasks.len()).map(|k| (k, ShownBecause::Every)).collect();
    }
    let mut chosen: BTreeMap<usize, ShownBecause> = BTreeMap::new();
    let failed = (0..tasks.len()).filter(|&k| tasks[k].status != TaskStatus::Succeeded);
    for k in failed.take(FAILED_DETAILS) {
        chosen.insert(k, ShownBecause::Failed);
    }
    let retried =
        (0..tasks.len()).filter(|&k| tasks[k].attempts.len() > 1 && !chosen.contains_key(&k));
    for k in retried.take(RETRIED_DETAILS).collect::<Vec<_>>() {
        chosen.insert(k, ShownBecause::Retried);
    }
    let mut by_time: Vec<usize> = (0..tasks.len())
        .filter(|&k| timings[k].cloned_from.is_none())
        .collect();
    by_time.sort_by(|&a, &b| {
        timings[b]
            .wall_ms()
            .cmp(&timings[a].wall_ms())
            .then(a.cmp(&b))
    });
    for k in by_time.into_iter().take(SLOWEST_DETAILS) {
        chosen.entry(k).or_insert(ShownBecause::Slowest);
    }
    chosen.into_iter().collect()
}

/// One task in full: its record, the end of its logs, and a preview of each artifact.
async fn detail<F: Flow>(
    store: &RunStore,
    run: &RunId,
    record: &TaskRecord,
    shown_because: ShownBecause,
    types: &BTreeMap<String, String>,
) -> Result<TaskDetail, ReportError> {
    let logs = store
        .logs(run, &record.task)
        .await?
        .into_iter()
        .map(|(attempt, text)| log_tail(attempt, &text))
        .collect();
    // Damaged cards cost the task its cards, not the run its report.
    let (cards, cards_note) = match store.cards(run, &record.task).await {
        Ok(cards) => (cards, None),
        Err(e @ DatastoreError::BadRecord { .. }) => {
            let cause = std::error::Error::source(&e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            (Vec::new(), Some(format!("cards not shown: {e}{cause}")))
        }
        Err(e) => return Err(e.into()),
    };
    let state_size: u64 = record.artifacts.values().map(|a| a.size).sum();
    let (previews, preview_note) = if state_size > PREVIEW_MAX_STATE_BYTES {
        (
            None,
            Some(format!(
                "no previews: the state is {state_size} bytes encoded, more than the {PREVIEW_MAX_STATE_BYTES} decoded for a report"
            )),
        )
    } else {
        // A state that no longer decodes (the flow's type changed since the run, a damaged
        // blob) still gets a report, without previews.
        match store.load_state::<F>(run, record).await {
            Ok(state) => match serde_json::to_value(&state) {
                Ok(serde_json::Value::Object(fields)) => (Some(fields), None),
                Ok(_) => (
                    None,
                    Some("no previews: the state is not a JSON object".into()),
                ),
                Err(e) => (None, Some(format!("no previews: {e}"))),
            },
            Err(e) => (None, Some(format!("no previews: {e}"))),
        }
    };
    let artifacts = record
        .artifacts
        .iter()
        .map(|(name, artifact)| {
            let (preview, truncated) = match previews.as_ref().and_then(|p| p.get(name)) {
                Some(value) => {
                    let (text, truncated) = preview(value);
                    (Some(text), truncated)
                }
                None => (None, false),
            };
            ArtifactSummary {
                name: name.clone(),
                type_name: types.get(name).cloned(),
                size: artifact.size,
                hash: artifact.hash.clone(),
                preview,
                truncated,
            }
        })
        .collect();
    Ok(TaskDetail {
        task: record.task.clone(),
        shown_because,
        status: record.status,
        attempts: record.attempts.clone(),
        error: record.error.clone(),
        cloned_from: record.cloned_from.clone(),
        foreach_count: record.foreach_count,
        switch_next: record.switch_next.clone(),
        artifacts,
        preview_note,
        logs,
        cards,
        cards_note,
    })
}

/// The first [`PREVIEW_CHARS`] characters of a value's JSON, and whether there was more.
fn preview(value: &serde_json::Value) -> (String, bool) {
    /// Stops the serializer once enough is written, so a large value is not written whole.
    struct Capped(String);
    impl std::fmt::Write for Capped {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.push_str(s);
            if self.0.chars().count() > PREVIEW_CHARS {
                Err(std::fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut out = Capped(String::new());
    let complete = std::fmt::write(&mut out, format_args!("{value}")).is_ok();
    let mut text = out.0;
    if complete {
        return (text, false);
    }
    if let Some((cut, _)) = text.char_indices().nth(PREVIEW_CHARS) {
        text.truncate(cut);
    }
    (text, true)
}

/// The end of a log: its last [`LOG_TAIL_LINES`] lines, at most [`LOG_TAIL_BYTES`].
fn log_tail(attempt: u32, text: &str) -> LogTail {
    let text = text.trim_end_matches('\n');
    let lines: Vec<&str> = text.lines().collect();
    let keep = lines.len().min(LOG_TAIL_LINES);
    let mut tail = lines[lines.len() - keep..].join("\n");
    if tail.len() > LOG_TAIL_BYTES {
        let mut cut = tail.len() - LOG_TAIL_BYTES;
        while !tail.is_char_boundary(cut) {
            cut += 1;
        }
        tail = format!("…{}", &tail[cut..]);
    }
    LogTail {
        attempt,
        text: tail,
        omitted_lines: lines.len() - keep,
    }
}

/// The Rust type of each field of `F`, shortened.
fn artifact_types<F: Flow>() -> BTreeMap<String, String> {
    flow_core::artifacts::field_type_names(&F::default())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, full)| (name, short_type_name(full)))
        .collect()
}

/// A type name without module paths: `alloc::vec::Vec<alloc::string::String>` becomes
/// `Vec<String>`.
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut path = String::new();
    let flush = |out: &mut String, path: &mut String| {
        out.push_str(path.rsplit("::").next().unwrap_or_default());
        path.clear();
    };
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            path.push(c);
        } else {
            flush(&mut out, &mut path);
            out.push(c);
        }
    }
    flush(&mut out, &mut path);
    out
}

#[cfg(test)]
mod tests;
