//! Per-task logs: `tracing` events emitted inside a task (sync or async) are routed to that
//! task's buffer, then stored as the attempt's log. In-process, `println!` cannot be told
//! apart per task, so steps log with `tracing`; the `step` command (one process per task)
//! also keeps whatever the process prints, in the job's own log.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The span name the task runner opens around each attempt.
pub const TASK_SPAN: &str = "flow_task";

type Buffer = Arc<Mutex<String>>;

fn registry() -> &'static Mutex<HashMap<u64, Buffer>> {
    static BUFFERS: OnceLock<Mutex<HashMap<u64, Buffer>>> = OnceLock::new();
    BUFFERS.get_or_init(Default::default)
}

/// A log buffer for one attempt; dropped from the registry when this is dropped.
pub struct Capture {
    id: u64,
    buffer: Buffer,
}

impl Capture {
    /// A new, empty buffer.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let buffer = Buffer::default();
        registry()
            .lock()
            .expect("log registry")
            .insert(id, buffer.clone());
        Capture { id, buffer }
    }

    /// The id to put in the task span's `log_id` field.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        self.buffer.lock().expect("log buffer").clone()
    }

    /// Appends a line written by the runner itself (e.g. the error of a failed attempt).
    pub fn line(&self, text: &str) {
        let mut b = self.buffer.lock().expect("log buffer");
        b.push_str(text);
        b.push('\n');
    }
}

impl Default for Capture {
    fn default() -> Self {
        Capture::new()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        registry().lock().expect("log registry").remove(&self.id);
    }
}

struct TaskBuffer(Buffer);

#[derive(Default)]
struct LogId(Option<u64>);

impl Visit for LogId {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "log_id" {
            self.0 = Some(value);
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

struct Line(String);

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

/// The `tracing` layer that routes events inside task spans to their buffers.
pub struct CaptureLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for CaptureLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != TASK_SPAN {
            return;
        }
        let mut log_id = LogId::default();
        attrs.record(&mut log_id);
        let buffer = log_id
            .0
            .and_then(|i| registry().lock().expect("log registry").get(&i).cloned());
        if let (Some(buffer), Some(span)) = (buffer, ctx.span(id)) {
            span.extensions_mut().insert(TaskBuffer(buffer));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            if let Some(TaskBuffer(buffer)) = span.extensions().get::<TaskBuffer>() {
                let meta = event.metadata();
                let mut line = Line(format!("{} {}:", meta.level(), meta.target()));
                event.record(&mut line);
                let mut b = buffer.lock().expect("log buffer");
                b.push_str(&line.0);
                b.push('\n');
                return;
            }
        }
    }
}

/// Installs the global subscriber: task capture, plus warnings (or `RUST_LOG`) on stderr.
/// Does nothing if one is installed already (e.g. by the program embedding the runner).
pub fn install() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter);
    // Task logs keep info and above unless FLOW_LOG_LEVEL says otherwise (debug, trace, ...).
    let captured = std::env::var("FLOW_LOG_LEVEL")
        .ok()
        .and_then(|l| l.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = tracing_subscriber::registry()
        .with(CaptureLayer.with_filter(captured))
        .with(stderr)
        .try_init();
}

/// The `step` command's capture of its own stdout and stderr (one process per task, so
/// everything the process prints, `println!` included, belongs to the task). Output still
/// reaches the original streams (the Batch job's log); a copy is kept for the attempt log.
#[cfg(unix)]
pub struct ProcessOutput {
    saved: [std::os::fd::OwnedFd; 2],
    readers: Vec<std::thread::JoinHandle<()>>,
    buffer: Arc<Mutex<Vec<u8>>>,
}

#[cfg(unix)]
impl ProcessOutput {
    /// Redirects fds 1 and 2 through pipes, teeing to the original streams.
    pub fn start() -> std::io::Result<Self> {
        use std::io::{Read, Write};
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let mut saved = Vec::new();
        let mut readers = Vec::new();
        for fd in [1, 2] {
            let mut ends = [0; 2];
            // SAFETY: plain fd syscalls on descriptors this function owns or the process's
            // standard streams; every result is checked.
            unsafe {
                if libc::pipe(ends.as_mut_ptr()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let (read_end, write_end) =
                    (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1]));
                let original = libc::dup(fd);
                if original < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let original = OwnedFd::from_raw_fd(original);
                let tee = original.try_clone()?;
                if libc::dup2(write_end.as_raw_fd(), fd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                drop(write_end);
                saved.push(original);
                let buffer = buffer.clone();
                readers.push(std::thread::spawn(move || {
                    let mut from = std::fs::File::from(read_end);
                    let mut to = std::fs::File::from(tee);
                    let mut chunk = [0u8; 8192];
                    while let Ok(n) = from.read(&mut chunk) {
                        if n == 0 {
                            break;
                        }
                        let _ = to.write_all(&chunk[..n]);
                        buffer
                            .lock()
                            .expect("output buffer")
                            .extend_from_slice(&chunk[..n]);
                    }
                }));
            }
        }
        let [out, err]: [OwnedFd; 2] = saved.try_into().expect("two streams");
        Ok(ProcessOutput {
            saved: [out, err],
            readers,
            buffer,
        })
    }

    /// Puts the original streams back and returns everything printed meanwhile.
    pub fn finish(self) -> Vec<u8> {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        for (fd, original) in [1, 2].into_iter().zip(&self.saved) {
            // SAFETY: restores a standard stream from a descriptor this value owns; this
            // closes the pipe's last write end, so its reader sees end of file.
            unsafe { libc::dup2(original.as_raw_fd(), fd) };
        }
        for reader in self.readers {
            let _ = reader.join();
        }
        let bytes = std::mem::take(&mut *self.buffer.lock().expect("output buffer"));
        bytes
    }
}
