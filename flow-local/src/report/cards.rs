//! A task's cards as HTML, safe whatever a step put in them:
//!
//! * Markdown through `pulldown-cmark`, with raw HTML shown as text, links reduced to their
//!   text and images to their description (the page fetches nothing, and nothing in a card
//!   can run);
//! * tables escaped cell by cell, the first [`TABLE_ROWS_SHOWN`] rows;
//! * PNG images as `data:` URLs, checked again for the PNG signature;
//! * SVG drawings as `<img src="data:image/svg+xml;base64,…">`: a browser never runs
//!   scripts nor loads anything referenced by an SVG shown as an image, so the drawing
//!   needs no sanitizing;
//! * charts drawn here as inline SVG (`chart.rs`).

use super::chart::chart_svg;
use super::format::{bytes, count, escape};
use base64::prelude::{Engine as _, BASE64_STANDARD};
use flow_core::card::{png_size, Card};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use std::fmt::Write;

/// Rows of a table card written into the page; the `cards` command prints them all.
pub const TABLE_ROWS_SHOWN: usize = 200;
/// An image narrower and lower than this is shown scaled up, pixels kept sharp.
const SMALL_IMAGE: u32 = 128;
/// How large a small image is scaled to, at most.
const SMALL_IMAGE_SHOWN: u32 = 256;

/// Appends `cards` to `page`, each in its own box.
pub fn cards_html(page: &mut String, cards: &[Card]) {
    page.push_str("<div class=\"task-cards\">");
    for card in cards {
        let _ = write!(page, "<div class=\"task-card {}\">", card.kind());
        match card {
            Card::Markdown { text } => {
                page.push_str("<div class=\"md\">");
                page.push_str(&markdown_html(text));
                page.push_str("</div>");
            }
            Card::Table { header, rows } => table_html(page, header, rows),
            Card::ImagePng { png, .. } => image_html(page, png),
            Card::Svg { svg } => {
                let _ = write!(
                    page,
                    "<img class=\"drawing\" alt=\"SVG drawing, {}\" src=\"data:image/svg+xml;base64,{}\">",
                    escape(&bytes(svg.len() as u64)),
                    BASE64_STANDARD.encode(svg)
                );
            }
            Card::Chart(chart) => match chart.check() {
                Ok(()) => page.push_str(&chart_svg(chart)),
                // Stored cards were checked when added; one edited since is not drawn.
                Err(e) => {
                    let _ = write!(page, "<p class=\"bad\">{}</p>", escape(&e.to_string()));
                }
            },
        }
        page.push_str("</div>");
    }
    page.push_str("</div>");
}

/// Markdown as HTML: CommonMark with tables, strikethrough and task lists; raw HTML as
/// text, links as their text, images as their description.
pub fn markdown_html(text: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(text, options).map(|event| match event {
        // Shown, never interpreted.
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        // A link would lead away from a page that promises to fetch nothing.
        Event::Start(Tag::Link { .. }) => Event::Html(CowStr::Borrowed("<span class=\"md-link\">")),
        Event::End(TagEnd::Link) => Event::Html(CowStr::Borrowed("</span>")),
        // The image's description stays; the image is not fetched.
        Event::Start(Tag::Image { .. }) => {
            Event::Html(CowStr::Borrowed("<span class=\"md-image\">[image: "))
        }
        Event::End(TagEnd::Image) => Event::Html(CowStr::Borrowed("]</span>")),
        other => other,
    });
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

fn table_html(page: &mut String, header: &[String], rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).fold(header.len(), usize::max);
    page.push_str("<div class=\"scroll\"><table class=\"card-table\"><thead><tr>");
    for c in 0..columns {
        let name = header.get(c).map(String::as_str).unwrap_or_default();
        let _ = write!(page, "<th>{}</th>", escape(name));
    }
    page.push_str("</tr></thead><tbody>");
    for row in rows.iter().take(TABLE_ROWS_SHOWN) {
        page.push_str("<tr>");
        for c in 0..columns {
            let cell = row.get(c).map(String::as_str).unwrap_or_default();
            let _ = write!(page, "<td>{}</td>", escape(cell));
        }
        page.push_str("</tr>");
    }
    page.push_str("</tbody></table></div>");
    if rows.len() > TABLE_ROWS_SHOWN {
        let _ = write!(
            page,
            "<p class=\"muted small\">The first {} of {} rows; the <code>cards</code> command \
             prints them all.</p>",
            count(TABLE_ROWS_SHOWN),
            count(rows.len())
        );
    }
}

fn image_html(page: &mut String, png: &[u8]) {
    // Checked again: the stored card may have been edited since the step added it.
    let (width, height) = match png_size(png) {
        Ok(size) => size,
        Err(e) => {
            let _ = write!(page, "<p class=\"bad\">{}</p>", escape(&e.to_string()));
            return;
        }
    };
    let (shown_width, shown_height, pixelated) = if width < SMALL_IMAGE && height < SMALL_IMAGE {
        let scale = (SMALL_IMAGE_SHOWN / width.max(height)).max(1);
        (width * scale, height * scale, scale > 1)
    } else {
        (width, height, false)
    };
    let _ = write!(
        page,
        "<img class=\"picture{pixelated}\" width=\"{shown_width}\" height=\"{shown_height}\" \
         alt=\"PNG image, {width}×{height} pixels, {size}\" src=\"data:image/png;base64,{data}\">",
        pixelated = if pixelated { " pixelated" } else { "" },
        size = escape(&bytes(png.len() as u64)),
        data = BASE64_STANDARD.encode(png),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_core::card::{Cards, Chart, PNG_SIGNATURE};

    #[test]
    fn markdown_keeps_its_structure_and_loses_raw_html_links_and_images() {
        let html = markdown_html(
            "# Fit <b>bold</b>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n\
             <script>alert(1)</script>\n\n[docs](https://example.com) ![plot](http://x/p.png) \
             <img src=x onerror=alert(1)>",
        );
        assert!(
            html.contains("<h1>Fit &lt;b&gt;bold&lt;/b&gt;</h1>"),
            "{html}"
        );
        assert!(
            html.contains("<table>") && html.contains("<td>2</td>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"md-link\">docs</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"md-image\">[image: plot]</span>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        for forbidden in ["<script", "<img", "href=\"", "src=\"", "http"] {
            assert!(!html.contains(forbidden), "`{forbidden}` in {html}");
        }
    }

    #[test]
    fn every_kind_of_card_is_written_safely() {
        let cards = Cards::default();
        cards
            .markdown("**done**")
            .table(["k", "v"], [vec!["<a>", "1", "extra"], vec!["b"]])
            .svg("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>");
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(&[0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 4, 0, 0, 0, 2]);
        cards.image_png(png).unwrap();
        cards
            .chart(Chart::line("Loss").series("train", [1.0, 0.5]))
            .unwrap();
        let mut page = String::new();
        cards_html(&mut page, &cards.take());
        assert!(page.contains("<strong>done</strong>"), "{page}");
        // Ragged rows padded to the widest.
        assert!(
            page.contains("<tr><td>&lt;a&gt;</td><td>1</td><td>extra</td></tr><tr><td>b</td><td></td><td></td></tr>"),
            "{page}"
        );
        assert!(
            page.contains("src=\"data:image/svg+xml;base64,PHN2Zy"),
            "{page}"
        );
        assert!(!page.contains("<script"), "{page}");
        // A 4x2 image is scaled up to 256x128, its pixels kept sharp.
        assert!(
            page.contains("<img class=\"picture pixelated\" width=\"256\" height=\"128\""),
            "{page}"
        );
        assert!(
            page.contains("src=\"data:image/png;base64,iVBORw0KGgo"),
            "{page}"
        );
        assert!(page.contains("<svg class=\"chart\""), "{page}");
    }

    #[test]
    fn stored_cards_that_are_not_drawable_say_why() {
        let bad = [
            Card::ImagePng {
                png: b"GIF89a".to_vec(),
                width: 1,
                height: 1,
            },
            Card::Chart(Chart::bar("Empty")),
        ];
        let mut page = String::new();
        cards_html(&mut page, &bad);
        assert!(page.contains("not a PNG"), "{page}");
        assert!(page.contains("chart `Empty` cannot be drawn"), "{page}");
        assert!(!page.contains("<img"), "{page}");
    }

    #[test]
    fn long_tables_show_their_first_rows() {
        let rows: Vec<Vec<String>> = (0..TABLE_ROWS_SHOWN + 5)
            .map(|i| vec![i.to_string()])
            .collect();
        let mut page = String::new();
        table_html(&mut page, &["n".to_string()], &rows);
        assert_eq!(page.matches("<tr>").count(), 1 + TABLE_ROWS_SHOWN);
        assert!(page.contains("The first 200 of 205 rows"), "{page}");
    }
}
