use super::*;

/// The smallest PNG header: signature, then an IHDR chunk of `width` x `height`.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut png = PNG_SIGNATURE.to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(b"IHDR");
    png.extend_from_slice(&width.to_be_bytes());
    png.extend_from_slice(&height.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    png
}

#[test]
fn every_kind_round_trips_through_json() {
    let cards = Cards::default();
    cards
        .markdown("# Fit")
        .table(["epoch", "loss"], [[1.0, 0.5], [2.0, 0.25]])
        .svg("<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    cards.image_png(png_header(3, 2)).unwrap();
    cards
        .chart(
            Chart::bar("Sizes")
                .series("a", [1.0, 2.0])
                .series("b", [3.0, 4.0]),
        )
        .unwrap();
    let taken = cards.take();
    assert!(cards.is_empty());
    let kinds: Vec<&str> = taken.iter().map(Card::kind).collect();
    assert_eq!(kinds, ["markdown", "table", "svg", "image_png", "chart"]);
    let json = serde_json::to_string(&taken).unwrap();
    assert!(
        json.contains(r#""kind":"image_png","png":"iVBORw0KGgo"#),
        "{json}"
    );
    assert!(
        json.contains(r#""kind":"chart","style":"bar","title":"Sizes""#),
        "{json}"
    );
    let back: Vec<Card> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, taken);
    match &taken[1] {
        Card::Table { header, rows } => {
            assert_eq!(header, &["epoch", "loss"]);
            assert_eq!(rows[1], ["2", "0.25"]);
        }
        other => panic!("not a table: {other:?}"),
    }
    match &taken[3] {
        Card::ImagePng { width, height, .. } => assert_eq!((*width, *height), (3, 2)),
        other => panic!("not an image: {other:?}"),
    }
}

#[test]
fn bytes_that_are_not_a_png_are_refused_with_the_reason() {
    let cards = Cards::default();
    let error = cards.image_png(b"GIF89a not a png".to_vec()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "an image card needs PNG bytes: the 16 bytes given are not a PNG (they do not start \
         with the PNG signature)"
    );
    let error = cards.image_png(PNG_SIGNATURE.to_vec()).unwrap_err();
    assert!(error.to_string().contains("IHDR"), "{error}");
    let error = cards.image_png(png_header(0, 4)).unwrap_err();
    assert!(error.to_string().contains("size of zero"), "{error}");
    let mut huge = png_header(1, 1);
    huge.resize(MAX_IMAGE_BYTES + 1, 0);
    assert!(matches!(
        cards.image_png(huge),
        Err(CardError::ImageTooLarge { .. })
    ));
    assert!(cards.is_empty());
}

#[test]
fn charts_that_cannot_be_drawn_are_refused() {
    let cards = Cards::default();
    let no_series = cards.chart(Chart::line("Empty")).unwrap_err();
    assert!(no_series.to_string().contains("no series"), "{no_series}");
    let short = Chart::line("Loss")
        .x_labels(["1", "2", "3"])
        .series("train", [0.5, 0.4]);
    assert_eq!(
        cards.chart(short).unwrap_err().to_string(),
        "chart `Loss` cannot be drawn: series `train` has 2 values, but there are 3 x labels"
    );
    let ragged = Chart::bar("Sizes")
        .series("a", [1.0])
        .series("b", [1.0, 2.0]);
    assert!(cards.chart(ragged).is_err());
    let nan = Chart::line("Loss").series("train", [0.5, f64::NAN]);
    assert!(cards.chart(nan).unwrap_err().to_string().contains("NaN"));
    assert!(cards.is_empty());
    let fine = Chart::line("Loss").series("train", [0.5, 0.4]);
    assert_eq!((fine.points(), fine.x_label(1)), (2, "2".to_string()));
    cards.chart(fine).unwrap();
    assert_eq!(cards.len(), 1);
}

#[test]
fn clones_share_their_cards() {
    let cards = Cards::default();
    let handed_on = cards.clone();
    std::thread::spawn(move || {
        handed_on.markdown("from a thread");
    })
    .join()
    .unwrap();
    assert_eq!(cards.len(), 1);
}
