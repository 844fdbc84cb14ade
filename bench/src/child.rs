//! Child processes that report their figures as one JSON line: our holder and the Python side.

use std::process::Stdio;
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
    if !output.status.success() {
        bail!("{what} failed ({}):\n{stderr}", output.status);
    }
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("{what} printed no JSON: {stdout:?}\n{stderr}"))
}
