//! Cards: steps attach content to their tasks through `ctx.card()` (Markdown, a table, a
//! PNG image, an SVG drawing, line and bar charts); `report` shows each under its task, and
//! `cards` prints them in the terminal.
//!
//! ```text
//! cargo run --example cards -- run
//! cargo run --example cards -- report                 # writes report.html, prints its path
//! cargo run --example cards -- cards <RUN_ID>/fit/1    # one task's cards, as Markdown
//! ```

use flow_core::prelude::*;

/// Parameters of [`CardsFlow`].
#[derive(Debug, Clone, Serialize, Deserialize, Params)]
pub struct CardsParams {
    /// Training epochs per learning rate.
    pub epochs: usize,
}

impl Default for CardsParams {
    fn default() -> Self {
        CardsParams { epochs: 12 }
    }
}

/// The points every fit learns from: y = 3x + 1, slightly perturbed.
pub fn data() -> Vec<(f64, f64)> {
    (0..12)
        .map(|i| {
            let x = f64::from(i) / 11.0;
            (x, 3.0 * x + 1.0 + 0.08 * (f64::from(i) * 1.7).sin())
        })
        .collect()
}

/// Mean squared error of the line `w x + b` over the data.
pub fn loss(w: f64, b: f64) -> f64 {
    let points = data();
    points
        .iter()
        .map(|(x, y)| (w * x + b - y).powi(2))
        .sum::<f64>()
        / points.len() as f64
}

/// Fits a line by gradient descent at a few learning rates and compares the fits, each
/// step saying what it did with cards.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CardsFlow {
    /// The learning rates tried, one `fit` task each.
    pub rates: Vec<f64>,
    /// One task's learning rate.
    pub rate: f64,
    /// Its loss after each epoch.
    pub losses: Vec<f64>,
    /// The line it fitted: slope and intercept.
    pub fitted: (f64, f64),
    /// The best rate, chosen in `compare`.
    pub best_rate: f64,
    /// Its final loss.
    pub best_loss: f64,
}

#[flow(params = CardsParams)]
impl CardsFlow {
    /// Picks the learning rates.
    #[step(foreach = rates, next = fit)]
    fn start(&mut self, ctx: &Ctx<CardsParams>) {
        self.rates = vec![0.05, 0.2, 0.6];
        ctx.card().markdown(format!(
            "# Plan\nFit `y = w·x + b` to {} points with **{}** learning rates, {} epochs each.",
            data().len(),
            self.rates.len(),
            ctx.params.epochs
        ));
    }

    /// Trains at one learning rate; its cards show the loss curve and a few epochs.
    #[step(next = compare)]
    fn fit(&mut self, rate: &f64, ctx: &Ctx<CardsParams>) -> anyhow::Result<()> {
        self.rate = *rate;
        let points = data();
        let n = points.len() as f64;
        let (mut w, mut b) = (0.0, 0.0);
        self.losses.clear();
        for _ in 0..ctx.params.epochs {
            let (mut dw, mut db) = (0.0, 0.0);
            for (x, y) in &points {
                let error = w * x + b - y;
                dw += 2.0 * error * x / n;
                db += 2.0 * error / n;
            }
            w -= rate * dw;
            b -= rate * db;
            self.losses.push(loss(w, b));
        }
        self.fitted = (w, b);
        let last = self.losses.last().copied().unwrap_or_default();
        let rows = self
            .losses
            .iter()
            .enumerate()
            .filter(|(epoch, _)| epoch % 3 == 0 || epoch + 1 == self.losses.len())
            .map(|(epoch, loss)| [(epoch + 1).to_string(), format!("{loss:.4}")]);
        let epochs: Vec<String> = (1..=self.losses.len()).map(|e| e.to_string()).collect();
        ctx.card()
            .markdown(format!(
                "## Fit at rate {rate}\nFinal loss **{last:.4}**; the line is \
                 `y = {w:.3}·x + {b:.3}`."
            ))
            .table(["epoch", "loss"], rows)
            .chart(
                Chart::line(format!("Loss at rate {rate}"))
                    .x_labels(epochs)
                    .series("training loss", self.losses.iter().copied()),
            )?;
        Ok(())
    }

    /// Compares the fits: a bar chart of final losses, the best fit drawn over the data
    /// (SVG), and the loss surface it descended (PNG).
    #[step(next = end)]
    fn compare(&mut self, fits: Inputs<Self>, ctx: &Ctx<CardsParams>) -> anyhow::Result<()> {
        let finals: Vec<(f64, f64, (f64, f64))> = fits
            .iter()
            .map(|f| {
                (
                    f.rate,
                    f.losses.last().copied().unwrap_or(f64::MAX),
                    f.fitted,
                )
            })
            .collect();
        let (best_rate, best_loss, best_line) = finals
            .iter()
            .copied()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or_default();
        self.best_rate = best_rate;
        self.best_loss = best_loss;
        let curves = fits.iter().fold(
            Chart::line("Loss by epoch, every rate").x_labels(1..=ctx.params.epochs),
            |chart, f| chart.series(format!("rate {}", f.rate), f.losses.iter().copied()),
        );
        ctx.card()
            .markdown(format!(
                "# Comparison\nThe best learning rate is **{best_rate}** (final loss \
                 {best_loss:.4})."
            ))
            .chart(
                Chart::bar("Final loss by learning rate")
                    .x_labels(finals.iter().map(|f| format!("rate {}", f.0)))
                    .series("final loss", finals.iter().map(|f| f.1)),
            )?
            .chart(curves)?
            .svg(fit_drawing(best_line))
            .image_png(loss_surface(best_line))?;
        Ok(())
    }

    /// Done.
    #[step]
    fn end(&mut self) {}
}

/// The data as dots and the fitted line `(w, b)` over them, as an SVG document.
pub fn fit_drawing((w, b): (f64, f64)) -> String {
    let (width, height) = (360.0, 220.0);
    let to_screen = |x: f64, y: f64| {
        (
            20.0 + x * (width - 40.0),
            height - 20.0 - y / 4.5 * (height - 40.0),
        )
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\"><rect width=\"100%\" height=\"100%\" fill=\"#f8f9fa\"/>\
         <text x=\"20\" y=\"16\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#495057\">\
         best fit: y = {w:.2}x + {b:.2}</text>"
    );
    let (x1, y1) = to_screen(0.0, b);
    let (x2, y2) = to_screen(1.0, w + b);
    svg.push_str(&format!(
        "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#e8590c\" \
         stroke-width=\"2.5\"/>"
    ));
    for (x, y) in data() {
        let (cx, cy) = to_screen(x, y);
        svg.push_str(&format!(
            "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"4\" fill=\"#1c7ed6\"/>"
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The loss over a grid of slopes and intercepts as a heat map (dark: low), with the
/// fitted `(w, b)` marked white, encoded as a PNG.
pub fn loss_surface((w, b): (f64, f64)) -> Vec<u8> {
    let (width, height) = (120u32, 80u32);
    let slope = |px: u32| 6.0 * f64::from(px) / f64::from(width - 1);
    let intercept = |py: u32| 3.0 - 3.0 * f64::from(py) / f64::from(height - 1);
    let mark = (
        (w / 6.0 * f64::from(width - 1)).round() as i64,
        ((3.0 - b) / 3.0 * f64::from(height - 1)).round() as i64,
    );
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for py in 0..height {
        for px in 0..width {
            let near = (i64::from(px) - mark.0).abs() <= 1 && (i64::from(py) - mark.1).abs() <= 1;
            let level = (loss(slope(px), intercept(py)).ln_1p() / 2.5).clamp(0.0, 1.0);
            let rgb = if near {
                [255, 255, 255]
            } else {
                [
                    (30.0 + 220.0 * level) as u8,
                    (40.0 + 120.0 * level * (1.0 - level) * 4.0 * 0.5) as u8,
                    (120.0 * (1.0 - level) + 20.0) as u8,
                ]
            };
            pixels.extend_from_slice(&rgb);
        }
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("a PNG header encodes");
    writer
        .write_image_data(&pixels)
        .expect("the pixels fit the header");
    writer.finish().expect("the PNG ends");
    png
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    flow_sfn::main::<CardsFlow>()
}
