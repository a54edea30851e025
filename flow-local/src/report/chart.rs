//! A chart card drawn as SVG: a title, a legend, a y axis with round ticks, and one line or
//! one bar per series at each x label. Every label is escaped; the drawing refers to
//! nothing outside itself.

use super::format::{escape, number};
use flow_core::card::{Chart, ChartStyle};
use std::fmt::Write;

/// The drawing's size.
const WIDTH: f64 = 680.0;
const HEIGHT: f64 = 300.0;
/// Space around the plot: the y tick labels left, the title and legend above, the x
/// labels below.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 58.0;
const BOTTOM: f64 = 44.0;
/// At most this many x labels are written; the others are skipped evenly.
const X_LABELS_SHOWN: usize = 12;
/// Characters of an x label or series name kept.
const LABEL_CHARS: usize = 16;
/// Points and bars get a hover tooltip while there are at most this many values in all.
const TOOLTIPS_UP_TO: usize = 400;
/// Points are marked with a dot while a series has at most this many.
const DOTS_UP_TO: usize = 40;
/// Series colours, in order (then again).
const PALETTE: [&str; 8] = [
    "#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#e03131", "#5c940d",
];

/// `chart` as an inline `<svg>` element; the chart must have passed [`Chart::check`].
pub fn chart_svg(chart: &Chart) -> String {
    let points = chart.points();
    let values = || chart.series.iter().flat_map(|s| s.values.iter().copied());
    let (mut lo, mut hi) = values().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if chart.style == ChartStyle::Bar {
        // Bars grow from zero.
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let axis = Axis::new(lo, hi);
    (lo, hi) = (axis.min, axis.max);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_height * (hi - v) / (hi - lo);
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{title}\">\
         <text class=\"chart-title\" x=\"{LEFT}\" y=\"20\">{title}</text>",
        title = escape(&chart.title),
    );
    legend(&mut svg, chart);
    // Gridlines and y ticks.
    for tick in axis.ticks() {
        let ty = y(tick);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\"/>\
             <text class=\"tick\" x=\"{tx}\" y=\"{ly:.1}\" text-anchor=\"end\">{label}</text>",
            x2 = LEFT + plot_width,
            tx = LEFT - 8.0,
            ly = ty + 3.5,
            label = escape(&axis.label(tick)),
        );
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{zy:.1}\" y2=\"{zy:.1}\"/>",
        x2 = LEFT + plot_width,
        // The x axis at zero when zero is in range, else at the bottom.
        zy = y(if lo <= 0.0 && 0.0 <= hi { 0.0 } else { lo }),
    );
    // Where each x position is: evenly spread points for lines, bands for bars.
    let band = plot_width / points as f64;
    let x_at = |i: usize| match chart.style {
        ChartStyle::Line if points == 1 => LEFT + plot_width / 2.0,
        ChartStyle::Line => LEFT + plot_width * i as f64 / (points - 1) as f64,
        ChartStyle::Bar => LEFT + band * (i as f64 + 0.5),
    };
    let every = points.div_ceil(X_LABELS_SHOWN);
    for i in (0..points).step_by(every) {
        let _ = write!(
            svg,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x_at(i),
            TOP + plot_height + 18.0,
            escape(&shorten(&chart.x_label(i))),
        );
    }
    let tooltips = points * chart.series.len() <= TOOLTIPS_UP_TO;
    let tooltip = |series: &str, i: usize, value: f64| {
        if tooltips {
            format!(
                "<title>{}: {} at {}</title>",
                escape(series),
                escape(&number(value)),
                escape(&chart.x_label(i))
            )
        } else {
            String::new()
        }
    };
    match chart.style {
        ChartStyle::Line => {
            for (k, series) in chart.series.iter().enumerate() {
                let colour = PALETTE[k % PALETTE.len()];
                let line: Vec<String> = series
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| format!("{:.1},{:.1}", x_at(i), y(v)))
                    .collect();
                let _ = write!(
                    svg,
                    "<polyline class=\"series\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.2\" \
                     stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"{}\"/>",
                    line.join(" ")
                );
                if series.values.len() <= DOTS_UP_TO {
                    for (i, &v) in series.values.iter().enumerate() {
                        let _ = write!(
                            svg,
                            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.2\" fill=\"#fff\" stroke=\"{colour}\" \
                             stroke-width=\"2\">{}</circle>",
                            x_at(i),
                            y(v),
                            tooltip(&series.name, i, v)
                        );
                    }
                }
            }
        }
        ChartStyle::Bar => {
            let group = band * 0.8;
            let bar = group / chart.series.len() as f64;
            let zero = y(0.0);
            for (k, series) in chart.series.iter().enumerate() {
                let colour = PALETTE[k % PALETTE.len()];
                for (i, &v) in series.values.iter().enumerate() {
                    let x = x_at(i) - group / 2.0 + bar * k as f64;
                    let (top, height) = if v >= 0.0 {
                        (y(v), zero - y(v))
                    } else {
                        (zero, y(v) - zero)
                    };
                    let _ = write!(
                        svg,
                        "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{height:.1}\" \
                         fill=\"{colour}\" rx=\"1.5\">{}</rect>",
                        tooltip(&series.name, i, v),
                        w = (bar - 1.0).max(0.5),
                    );
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The series' names with their colours, in a row under the title.
fn legend(svg: &mut String, chart: &Chart) {
    let mut x = LEFT;
    for (k, series) in chart.series.iter().enumerate() {
        let name = shorten(&series.name);
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"31\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/>\
             <text class=\"legend\" x=\"{:.1}\" y=\"41\">{}</text>",
            PALETTE[k % PALETTE.len()],
            x + 17.0,
            escape(&name),
        );
        // 12px text, about 7px a character.
        x += 17.0 + 7.0 * name.chars().count() as f64 + 18.0;
    }
}

/// A label cut to [`LABEL_CHARS`] characters.
fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut short: String = label.chars().take(LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

/// A y axis over round numbers: ticks every 1, 2 or 5 times a power of ten.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    min: f64,
    max: f64,
    step: f64,
}

impl Axis {
    /// About five ticks covering `lo..=hi`.
    fn new(lo: f64, hi: f64) -> Self {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            // One value: a range around it.
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - pad, hi + pad)
        };
        let rough = (hi - lo) / 5.0;
        let power = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * power)
            .find(|&s| s >= rough)
            .unwrap_or(10.0 * power);
        Axis {
            min: (lo / step).floor() * step,
            max: (hi / step).ceil() * step,
            step,
        }
    }

    /// Every tick, from the lowest.
    fn ticks(self) -> impl Iterator<Item = f64> {
        let n = ((self.max - self.min) / self.step).round() as usize;
        (0..=n).map(move |i| self.min + self.step * i as f64)
    }

    /// A tick's label, with as many decimals as the step needs.
    fn label(self, tick: f64) -> String {
        let decimals = (-self.step.log10().floor()).clamp(0.0, 8.0) as usize;
        let text = format!("{tick:.decimals$}");
        // `-0` reads oddly.
        if text
            .trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            text.trim_start_matches('-').to_string()
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_use_round_ticks_that_cover_the_values() {
        let axis = Axis::new(0.17, 0.92);
        assert_eq!((axis.min, axis.max), (0.0, 1.0));
        let labels: Vec<String> = axis.ticks().map(|t| axis.label(t)).collect();
        assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let axis = Axis::new(-30.0, 1234.0);
        assert_eq!(axis.step, 500.0);
        assert_eq!((axis.min, axis.max), (-500.0, 1500.0));
        let flat = Axis::new(5.0, 5.0);
        assert!(flat.min < 5.0 && flat.max > 5.0);
        assert_eq!(Axis::new(0.0, 0.0).ticks().count(), 5);
    }

    #[test]
    fn a_chart_draws_every_series_and_escapes_its_labels() {
        let chart = Chart::bar("<Sizes>")
            .x_labels(["a&b", "c"])
            .series("train <1>", [1.0, -2.0])
            .series("valid", [3.0, 4.0]);
        chart.check().unwrap();
        let svg = chart_svg(&chart);
        assert!(svg.starts_with("<svg class=\"chart\"") && svg.ends_with("</svg>"));
        assert!(svg.contains(">&lt;Sizes&gt;</text>"), "{svg}");
        assert!(svg.contains(">a&amp;b</text>") && svg.contains(">train &lt;1&gt;</text>"));
        assert_eq!(
            svg.matches("<rect x=").count(),
            2 + 4,
            "two legend keys, four bars"
        );
        let line = Chart::line("Loss").series("train", (0..100).map(f64::from));
        let svg = chart_svg(&line);
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 0, "no dots on 100 points");
        assert!(svg.matches("class=\"tick\"").count() <= 12 + 8);
    }
}
