//! The memory figure: one process holding `count` connected participants in one room.
//!
//! Our holder is this binary's `hold` subcommand, so it is measured as its own process, the
//! same way as the Python holder: VmRSS before connecting, after the first participant joined
//! (the one-time costs: runtime, TLS, code paged in), and once every participant knows all the
//! others (the server batches those notices, so that is the settled state). What the others
//! add over the first is the cost of one more participant, whatever each library pays once.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::process::Command;
use tokio::time::{timeout_at, Instant};

use crate::child::run_json_process;
use crate::{ours, Plan, ServerInfo};

/// Joining everyone plus the server's batched join notices; generous for a busy machine.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `livekit-bench hold ...` and returns the JSON it prints.
pub async fn spawn_holder(info: &ServerInfo, room: &str, plan: Plan) -> anyhow::Result<Value> {
    let exe = std::env::current_exe()?;
    let count = plan.participants.to_string();
    let mut command = Command::new(exe);
    command.args(["hold", &info.url, &info.key, &info.secret, room, &count]);
    run_json_process(command, "our holder").await
}

/// The `hold` subcommand: `<url> <key> <secret> <room> <count>`.
pub async fn run_holder(args: &[String]) -> anyhow::Result<()> {
    let [url, key, secret, room, count] = args else {
        bail!("usage: livekit-bench hold <url> <key> <secret> <room> <count>");
    };
    let count: usize = count.parse().context("count must be a number")?;
    if count == 0 {
        bail!("count must be at least 1");
    }
    let info = ServerInfo { url: url.clone(), key: key.clone(), secret: secret.clone() };
    let baseline_kb = status_kb("VmRSS")?;

    let mut joined = Vec::with_capacity(count);
    let mut first_kb = 0;
    for i in 0..count {
        joined.push(ours::join(&info, room, &format!("h{i}")).await?);
        if i == 0 {
            first_kb = status_kb("VmRSS")?;
        }
    }
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    for (room, events) in &mut joined {
        while room.remote_participants().len() < count - 1 {
            match timeout_at(deadline, events.recv()).await {
                Ok(Some(_)) => continue,
                Ok(None) => bail!("a holder's room closed while settling"),
                Err(_) => bail!("participants did not all see each other within {SETTLE_TIMEOUT:?}"),
            }
        }
    }
    let total_kb = status_kb("VmRSS")?;
    let peak_kb = status_kb("VmHWM")?;
    // Heap and stacks versus mapped code and files, to tell allocations from code pages.
    let (anon_kb, file_kb) = (status_kb("RssAnon")?, status_kb("RssFile")?);

    for (room, _) in &joined {
        room.disconnect().await?;
    }
    let report = json!({
        "participants": count,
        "baseline_kb": baseline_kb,
        "first_kb": first_kb,
        "total_kb": total_kb,
        "peak_kb": peak_kb,
        "anon_kb": anon_kb,
        "file_kb": file_kb,
    });
    println!("{report}");
    Ok(())
}

/// A `kB` field of /proc/self/status: VmRSS (resident now), VmHWM (resident peak), RssAnon, RssFile.
pub fn status_kb(field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))
}
