//! Child processes that report their figures as one JSON line: our holder and the Python side.

use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;
use tokio::process::Command;

/// One metric's whole child process, start to exit; a hung child must not hang the bench.
const CHILD_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `command` to its end and parses the last line it printed on stdout.
pub async fn run_json_process(mut command: Command, what: &str) -> anyhow::Result<Value> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = command.spawn().with_context(|| format!("start {what}"))?;
    let output = tokio::time::timeout(CHILD_TIMEOUT, child.wait_with_output())
        .await
        .with_context(|| format!("{what} did not finish within {CHILD_TIMEOUT:?}"))??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.signal().is_some() {
        return Err(Crashed { what: what.into(), status: output.status, stderr: stderr.into() }.into());
    }
    if !output.status.success() {
        bail!("{what} failed ({}):\n{stderr}", output.status);
    }
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("{what} printed no JSON: {stdout:?}\n{stderr}"))
}

/// A child killed by a signal (an abort in native code), rather than one that reported an error;
/// the bench may run such a child once more.
#[derive(Debug)]
pub struct Crashed {
    what: String,
    status: ExitStatus,
    stderr: String,
}

impl fmt::Display for Crashed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} crashed ({}):\n{}", self.what, self.status, self.stderr)
    }
}

impl std::error::Error for Crashed {}
