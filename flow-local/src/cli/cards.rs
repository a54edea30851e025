//! `cards`: the cards a step attached to its tasks, printed as Markdown for a terminal:
//! tables as Markdown tables, images and drawings as a line saying what they are, charts as
//! a short summary of each series.

use super::args::{branch_args, datastore_arg, pathspec_arg, run_store, Pathspec};
use super::StoreOpener;
use crate::report::format::number;
use anyhow::bail;
use clap::{ArgMatches, Command};
use flow_core::card::{Card, Chart, ChartStyle};
use flow_core::Flow;
use std::fmt::Write;
use std::process::ExitCode;

/// The `cards` command.
pub(super) fn command() -> Command {
    Command::new("cards")
        .about("Print the cards a step attached to its tasks, as Markdown")
        .arg(pathspec_arg(
            "RUN/STEP/INDEX (one task) or RUN/STEP (each of the step's tasks)",
        ))
        .arg(datastore_arg())
        .args(branch_args())
}

/// Runs `cards`.
pub(super) async fn run<F: Flow>(
    openers: &[StoreOpener],
    matches: &ArgMatches,
) -> anyhow::Result<ExitCode> {
    let store = run_store::<F>(openers, matches).await?;
    let spec = Pathspec::from_matches::<F>(matches)?;
    let Some(step) = &spec.step else {
        bail!("name a task: `cards RUN/STEP/INDEX` (or `cards RUN/STEP` for all of a step's)");
    };
    let tasks = spec.tasks(&store, step).await?;
    let headed = spec.index.is_none();
    let mut printed = 0;
    for task in &tasks {
        let cards = store.cards(&spec.run, task).await?;
        if cards.is_empty() {
            continue;
        }
        if printed > 0 {
            println!();
        }
        if headed {
            println!("## {task}\n");
        }
        println!("{}", markdown(&cards));
        printed += 1;
    }
    if printed == 0 {
        match &spec.index {
            Some(_) => eprintln!("task {} added no cards", tasks[0]),
            None => eprintln!("no task of step `{step}` added cards"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Cards as Markdown, separated by blank lines.
pub fn markdown(cards: &[Card]) -> String {
    let blocks: Vec<String> = cards.iter().map(card_markdown).collect();
    blocks.join("\n\n")
}

fn card_markdown(card: &Card) -> String {
    match card {
        Card::Markdown { text } => text.trim_end().to_string(),
        Card::Table { header, rows } => table(header, rows),
        Card::ImagePng { png, .. } => format!("[image: {} bytes PNG]", png.len()),
        Card::Svg { svg } => format!("[SVG drawing: {} bytes]", svg.len()),
        Card::Chart(chart) => chart_summary(chart),
    }
}

/// A Markdown table; `|` in a cell escaped, line breaks as spaces, short rows padded.
fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).fold(header.len(), usize::max);
    let cell = |text: Option<&String>| {
        text.map(|t| t.replace('|', "\\|").replace(['\r', '\n'], " "))
            .unwrap_or_default()
    };
    let line = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
    let mut out = vec![
        line((0..columns).map(|c| cell(header.get(c))).collect()),
        line(vec!["---".to_string(); columns]),
    ];
    for row in rows {
        out.push(line((0..columns).map(|c| cell(row.get(c))).collect()));
    }
    out.join("\n")
}

/// A chart in a few lines: its title, style and x range, then per series its first and last
/// values and its range.
fn chart_summary(chart: &Chart) -> String {
    let style = match chart.style {
        ChartStyle::Line => "line chart",
        ChartStyle::Bar => "bar chart",
    };
    let points = chart.points();
    let mut out = format!("[{style}: {}", chart.title);
    if points > 0 {
        let _ = write!(
            out,
            ", {points} points from {} to {}",
            chart.x_label(0),
            chart.x_label(points - 1)
        );
    }
    out.push(']');
    for series in &chart.series {
        let (Some(first), Some(last)) = (series.values.first(), series.values.last()) else {
            let _ = write!(out, "\n- {}: no values", series.name);
            continue;
        };
        let min = series.values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = series
            .values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let _ = write!(
            out,
            "\n- {}: {} → {} (min {}, max {})",
            series.name,
            number(*first),
            number(*last),
            number(min),
            number(max)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_core::card::{Cards, PNG_SIGNATURE};

    #[test]
    fn every_kind_prints_as_markdown() {
        let cards = Cards::default();
        cards
            .markdown("# Fit\n")
            .table(["name", "note"], [vec!["a|b", "two\nlines"], vec!["c"]])
            .svg("<svg/>");
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(&[0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 4, 0, 0, 0, 2]);
        cards.image_png(png).unwrap();
        cards
            .chart(
                Chart::line("Loss")
                    .x_labels(["1", "2", "3"])
                    .series("train", [0.9, 0.5, 0.25]),
            )
            .unwrap();
        assert_eq!(
            markdown(&cards.take()),
            "# Fit\n\n\
             | name | note |\n| --- | --- |\n| a\\|b | two lines |\n| c |  |\n\n\
             [SVG drawing: 6 bytes]\n\n\
             [image: 24 bytes PNG]\n\n\
             [line chart: Loss, 3 points from 1 to 3]\n- train: 0.9 → 0.25 (min 0.25, max 0.9)"
        );
    }
}
