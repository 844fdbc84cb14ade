//! The warnings a test process logs, kept for tests that check what a line says (for instance
//! that it names the sender), and shown on stderr when `RUST_LOG` is set. Tests run in parallel
//! in one process, so each uses names of its own and looks only for lines that contain them.
//! Start it before anything else installs a logger (`start_server` then keeps out).

use std::sync::{Mutex, Once};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = record.args().to_string();
            if std::env::var_os("RUST_LOG").is_some() {
                eprintln!("{} {}: {line}", record.level(), record.target());
            }
            LINES.lock().unwrap().push(line);
        }
    }

    fn flush(&self) {}
}

/// Starts capturing warnings (once per process; a no-op when another logger came first).
pub fn start() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if log::set_logger(&Capture).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
    });
}

/// The captured lines that contain `text`.
pub fn lines_with(text: &str) -> Vec<String> {
    LINES.lock().unwrap().iter().filter(|line| line.contains(text)).cloned().collect()
}
