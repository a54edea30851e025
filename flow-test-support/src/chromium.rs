//! Opening a page in headless Chromium the way the report tests do: its DOM, its console
//! messages and a screenshot's pixels.

use crate::tool;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What Chromium made of a page.
pub struct Opened {
    /// The DOM after load (`--dump-dom`).
    pub dom: String,
    /// Console messages Chromium logged.
    pub console: Vec<String>,
    /// The screenshot's pixels (RGBA).
    pub pixels: Vec<u8>,
    /// The screenshot's width and height.
    pub size: (u32, u32),
}

/// Runs headless Chromium (`FLOW_CHROMIUM`) on `page` with `args`, in a fresh profile and
/// without the network services it would otherwise start; returns its stdout and stderr.
/// Panics if it fails or takes longer than 120 s.
pub fn chromium_run(page: &Path, args: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().expect("a temporary profile");
    let mut child = Command::new(tool("FLOW_CHROMIUM"))
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium's status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (
        out.join().expect("stdout reader"),
        err.join().expect("stderr reader"),
    );
    assert!(status.success(), "chromium failed ({status}):\n{err}");
    (out, err)
}

/// Opens `html` in headless Chromium: its DOM, console messages and a 1400x1000 screenshot.
/// The page and the screenshot are also kept in `target/report-screenshots/<name>.*` for a
/// person to look at.
pub fn open_in_chromium(html: &str, name: &str) -> Opened {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let page = dir.path().join(format!("{name}.html"));
    std::fs::write(&page, html).expect("the page is written");
    let (dom, log) = chromium_run(&page, &["--dump-dom".to_string()]);
    let console = log
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_string)
        .collect();
    let png = dir.path().join(format!("{name}.png"));
    chromium_run(
        &page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1400,1000".to_string(),
        ],
    );
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    if let Some(kept) = screenshot_dir() {
        let _ = std::fs::write(kept.join(format!("{name}.png")), &bytes);
        let _ = std::fs::write(kept.join(format!("{name}.html")), html);
    }
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).expect("PNG pixels");
    pixels.truncate(info.buffer_size());
    let pixels = match info.color_type {
        png::ColorType::Rgba => pixels,
        png::ColorType::Rgb => pixels
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    Opened {
        dom,
        console,
        pixels,
        size: (info.width, info.height),
    }
}

/// Where screenshots are kept for inspection: `target/report-screenshots`.
fn screenshot_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/<test> -> target/report-screenshots
    let dir = exe.parent()?.parent()?.parent()?.join("report-screenshots");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}
