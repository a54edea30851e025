//! Cards: content a step attaches to its task (Markdown, a table, a PNG image, an SVG
//! drawing, a line or bar chart), stored with the task when it commits and shown under it
//! in the run report (`report`) and in the terminal (`cards RUN/STEP/INDEX`).
//!
//! ```
//! use flow_core::card::{Card, Cards, Chart};
//!
//! let cards = Cards::default(); // in a step: `ctx.card()`
//! cards
//!     .markdown("# Fit\nConverged after **3** epochs.")
//!     .table(["epoch", "loss"], [["1", "0.92"], ["2", "0.41"], ["3", "0.17"]]);
//! let loss = Chart::line("Loss")
//!     .x_labels(["1", "2", "3"])
//!     .series("train", [0.92, 0.41, 0.17]);
//! cards.chart(loss)?;
//! assert_eq!(cards.len(), 3);
//! assert!(matches!(cards.take()[0], Card::Markdown { .. }));
//! # Ok::<(), flow_core::card::CardError>(())
//! ```
//!
//! Cards cost nothing when a step adds none: the runner stores a task's cards only when
//! there are some. Each is checked when added (a PNG must be one, a chart's series must fit
//! its labels), so a stored card is always drawable.

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, MutexGuard};

/// The eight bytes every PNG file starts with.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// The largest PNG a card may hold: the report embeds it whole.
pub const MAX_IMAGE_BYTES: usize = 5 << 20;

/// One piece of content attached to a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Card {
    /// Markdown text (CommonMark with tables); raw HTML in it is shown as text.
    Markdown {
        /// The Markdown source.
        text: String,
    },
    /// A table of text cells.
    Table {
        /// The column names.
        header: Vec<String>,
        /// The rows; a short row is padded with empty cells when shown.
        rows: Vec<Vec<String>>,
    },
    /// A PNG image.
    ImagePng {
        /// The PNG file's bytes (base64 when stored).
        #[serde(with = "base64_bytes")]
        png: Vec<u8>,
        /// Its width in pixels, from its header.
        width: u32,
        /// Its height in pixels, from its header.
        height: u32,
    },
    /// An SVG drawing, shown as an image: any script in it never runs.
    Svg {
        /// The SVG document.
        svg: String,
    },
    /// A line or bar chart, drawn as SVG by whoever shows it.
    Chart(Chart),
}

impl Card {
    /// A PNG image card, checked: the bytes must start with the PNG signature and an `IHDR`
    /// header, and be at most [`MAX_IMAGE_BYTES`].
    pub fn image_png(png: impl Into<Vec<u8>>) -> Result<Card, CardError> {
        let png = png.into();
        if png.len() > MAX_IMAGE_BYTES {
            return Err(CardError::ImageTooLarge {
                bytes: png.len(),
                limit: MAX_IMAGE_BYTES,
            });
        }
        let (width, height) = png_size(&png)?;
        Ok(Card::ImagePng { png, width, height })
    }

    /// What kind of card it is, as stored: `markdown`, `table`, `image_png`, `svg`, `chart`.
    pub fn kind(&self) -> &'static str {
        match self {
            Card::Markdown { .. } => "markdown",
            Card::Table { .. } => "table",
            Card::ImagePng { .. } => "image_png",
            Card::Svg { .. } => "svg",
            Card::Chart(_) => "chart",
        }
    }
}

/// The width and height in a PNG's `IHDR` chunk, or why the bytes are not a PNG.
pub fn png_size(png: &[u8]) -> Result<(u32, u32), CardError> {
    let not_png = |why: &str| CardError::NotPng {
        bytes: png.len(),
        why: why.to_string(),
    };
    if !png.starts_with(&PNG_SIGNATURE) {
        return Err(not_png("they do not start with the PNG signature"));
    }
    // Signature, then the first chunk: length (4), type (4), width (4), height (4).
    if png.len() < 24 || &png[12..16] != b"IHDR" {
        return Err(not_png("the IHDR header does not follow the signature"));
    }
    let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    let (width, height) = (be(16), be(20));
    if width == 0 || height == 0 {
        return Err(not_png("the header gives a size of zero"));
    }
    Ok((width, height))
}

/// Why a card was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// `image_png` was given bytes that are not a PNG.
    #[error("an image card needs PNG bytes: the {bytes} bytes given are not a PNG ({why})")]
    NotPng {
        /// How many bytes were given.
        bytes: usize,
        /// What is wrong with them.
        why: String,
    },
    /// `image_png` was given a PNG larger than [`MAX_IMAGE_BYTES`].
    #[error("an image card holds at most {limit} bytes: this PNG has {bytes}")]
    ImageTooLarge {
        /// The PNG's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A chart that cannot be drawn.
    #[error("chart `{title}` cannot be drawn: {why}")]
    Chart {
        /// The chart's title.
        title: String,
        /// What is wrong with it.
        why: String,
    },
}

/// Whether a chart draws lines or bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartStyle {
    /// One line per series.
    Line,
    /// One bar per series at each x label, side by side.
    Bar,
}

/// A line or bar chart: x labels and one or more named series of values, one value per
/// label. Build it with [`Chart::line`] or [`Chart::bar`], then [`Chart::x_labels`] and
/// [`Chart::series`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// Lines or bars.
    pub style: ChartStyle,
    /// The title drawn above it.
    pub title: String,
    /// The label of each x position; `1`, `2`, … when none are given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x_labels: Vec<String>,
    /// The series, drawn in order.
    pub series: Vec<Series>,
}

/// One named series of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Its name, in the legend.
    pub name: String,
    /// Its values, one per x label.
    pub values: Vec<f64>,
}

impl Chart {
    /// A line chart titled `title`.
    pub fn line(title: impl Into<String>) -> Self {
        Self::new(ChartStyle::Line, title.into())
    }

    /// A bar chart titled `title`.
    pub fn bar(title: impl Into<String>) -> Self {
        Self::new(ChartStyle::Bar, title.into())
    }

    fn new(style: ChartStyle, title: String) -> Self {
        Chart {
            style,
            title,
            x_labels: Vec::new(),
            series: Vec::new(),
        }
    }

    /// Sets the x labels, one per value of each series.
    pub fn x_labels<L: ToString>(mut self, labels: impl IntoIterator<Item = L>) -> Self {
        self.x_labels = labels.into_iter().map(|l| l.to_string()).collect();
        self
    }

    /// Adds a series.
    pub fn series(
        mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = f64>,
    ) -> Self {
        self.series.push(Series {
            name: name.into(),
            values: values.into_iter().collect(),
        });
        self
    }

    /// How many x positions it has.
    pub fn points(&self) -> usize {
        if self.x_labels.is_empty() {
            self.series.first().map_or(0, |s| s.values.len())
        } else {
            self.x_labels.len()
        }
    }

    /// The label of x position `i`.
    pub fn x_label(&self, i: usize) -> String {
        self.x_labels
            .get(i)
            .cloned()
            .unwrap_or_else(|| (i + 1).to_string())
    }

    /// Checks that it can be drawn: at least one series, each with one finite value per x
    /// position.
    pub fn check(&self) -> Result<(), CardError> {
        let error = |why: String| CardError::Chart {
            title: self.title.clone(),
            why,
        };
        if self.series.is_empty() {
            return Err(error(
                "it has no series (add one with `.series(name, values)`)".into(),
            ));
        }
        let points = self.points();
        if points == 0 {
            return Err(error("it has no values".into()));
        }
        for series in &self.series {
            if series.values.len() != points {
                let per = if self.x_labels.is_empty() {
                    format!("the first series has {points}")
                } else {
                    format!("there are {points} x labels")
                };
                return Err(error(format!(
                    "series `{}` has {} values, but {per}",
                    series.name,
                    series.values.len()
                )));
            }
            if let Some(i) = series.values.iter().position(|v| !v.is_finite()) {
                return Err(error(format!(
                    "value {i} of series `{}` is {} (only finite values can be drawn)",
                    series.name, series.values[i]
                )));
            }
        }
        Ok(())
    }
}

/// The cards of one attempt of a task: a step adds to them through `ctx.card()`, and the
/// runner stores them with the task when it commits. Clones share the same cards, so a step
/// may hand its context to threads it starts.
#[derive(Debug, Clone, Default)]
pub struct Cards(Arc<Mutex<Vec<Card>>>);

impl Cards {
    fn lock(&self) -> MutexGuard<'_, Vec<Card>> {
        // A step that panicked while adding a card leaves a whole list: keep it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a card that is already checked.
    pub fn add(&self, card: Card) -> &Self {
        self.lock().push(card);
        self
    }

    /// Adds a Markdown card (CommonMark with tables; raw HTML in it is shown as text).
    pub fn markdown(&self, text: impl Into<String>) -> &Self {
        self.add(Card::Markdown { text: text.into() })
    }

    /// Adds a table: column names, then rows of cells (anything `Display`).
    pub fn table<H, R, C>(
        &self,
        header: impl IntoIterator<Item = H>,
        rows: impl IntoIterator<Item = R>,
    ) -> &Self
    where
        H: ToString,
        R: IntoIterator<Item = C>,
        C: ToString,
    {
        self.add(Card::Table {
            header: header.into_iter().map(|h| h.to_string()).collect(),
            rows: rows
                .into_iter()
                .map(|row| row.into_iter().map(|c| c.to_string()).collect())
                .collect(),
        })
    }

    /// Adds a PNG image; an error if the bytes are not a PNG or are too large.
    pub fn image_png(&self, png: impl Into<Vec<u8>>) -> Result<&Self, CardError> {
        Ok(self.add(Card::image_png(png)?))
    }

    /// Adds an SVG drawing. It is shown as an image, so scripts and external references in
    /// it never run or load.
    pub fn svg(&self, svg: impl Into<String>) -> &Self {
        self.add(Card::Svg { svg: svg.into() })
    }

    /// Adds a chart; an error if it cannot be drawn (see [`Chart::check`]).
    pub fn chart(&self, chart: Chart) -> Result<&Self, CardError> {
        chart.check()?;
        Ok(self.add(Card::Chart(chart)))
    }

    /// How many cards were added.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none were added.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Removes and returns the cards added so far (the runner, to store them).
    pub fn take(&self) -> Vec<Card> {
        std::mem::take(&mut *self.lock())
    }
}

/// Bytes as a base64 string in JSON (a PNG as an array of numbers would be four times
/// larger).
mod base64_bytes {
    use base64::prelude::{Engine as _, BASE64_STANDARD};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64_STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        BASE64_STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
