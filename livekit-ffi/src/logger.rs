//! The library's `log` records: sent to the client as `FfiEvent.logs` when it asked to capture
//! them (Python always does), printed to stderr otherwise.
//!
//! Records go through a channel to one task that sends them in batches, so logging never calls
//! the client's callback from inside the code that logged (which may hold locks).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};
use tokio::sync::mpsc;

use crate::proto::{ffi_event, LogBatch, LogLevel, LogRecord};

static CAPTURE: AtomicBool = AtomicBool::new(false);
static SENDER: OnceLock<mpsc::UnboundedSender<LogRecord>> = OnceLock::new();

struct FfiLogger;

impl Log for FfiLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if !CAPTURE.load(Ordering::Relaxed) {
            if record.level() <= Level::Warn {
                eprintln!("[{} {}] {}", record.level(), record.target(), record.args());
            }
            return;
        }
        if let Some(sender) = SENDER.get() {
            let _ = sender.send(LogRecord {
                level: level_to_proto(record.level()) as i32,
                target: record.target().to_string(),
                module_path: record.module_path().map(str::to_string),
                file: record.file().map(str::to_string),
                line: record.line(),
                message: record.args().to_string(),
            });
        }
    }

    fn flush(&self) {}
}

fn level_to_proto(level: Level) -> LogLevel {
    match level {
        Level::Error => LogLevel::LogError,
        Level::Warn => LogLevel::LogWarn,
        Level::Info => LogLevel::LogInfo,
        Level::Debug => LogLevel::LogDebug,
        Level::Trace => LogLevel::LogTrace,
    }
}

/// The most verbose level forwarded: `LIVEKIT_FFI_LOG` (error, warn, info, debug, trace), or
/// debug when the Python SDK's `LIVEKIT_RTC_DEBUG` is on, or info. WebRTC's trace records would
/// otherwise cost more than the work they describe.
fn max_level_from_env() -> LevelFilter {
    if let Ok(level) = std::env::var("LIVEKIT_FFI_LOG") {
        if let Ok(level) = level.parse() {
            return level;
        }
    }
    match std::env::var("LIVEKIT_RTC_DEBUG").as_deref() {
        Ok("1") | Ok("true") => LevelFilter::Debug,
        _ => LevelFilter::Info,
    }
}

/// Installs the logger (once per process) and the task that sends captured records.
pub fn init(capture: bool, runtime: &tokio::runtime::Runtime) {
    CAPTURE.store(capture, Ordering::Relaxed);
    if SENDER.get().is_some() {
        return;
    }
    let (sender, mut receiver) = mpsc::unbounded_channel::<LogRecord>();
    if SENDER.set(sender).is_err() {
        return;
    }
    // Another logger may already be installed by a Rust host; then it gets our records.
    if log::set_logger(&FfiLogger).is_ok() {
        log::set_max_level(max_level_from_env());
    }
    livekit_core::tasks::spawn_on(runtime.handle(), async move {
        while let Some(first) = receiver.recv().await {
            let mut records = vec![first];
            while let Ok(record) = receiver.try_recv() {
                records.push(record);
            }
            crate::events::send(ffi_event::Message::Logs(LogBatch { records }));
        }
    });
}

/// Stops capturing (dispose): later records go to stderr.
pub fn stop_capture() {
    CAPTURE.store(false, Ordering::Relaxed);
}

/// Sends one error record at once, from the calling thread: the client sees it before the
/// request that caused it returns (Python logs it before raising).
pub fn error_now(target: &str, message: String) {
    if CAPTURE.load(Ordering::Relaxed) {
        let record = LogRecord {
            level: LogLevel::LogError as i32,
            target: target.to_string(),
            module_path: None,
            file: None,
            line: None,
            message,
        };
        crate::events::send(ffi_event::Message::Logs(LogBatch { records: vec![record] }));
    } else {
        eprintln!("[ERROR {target}] {message}");
    }
}
