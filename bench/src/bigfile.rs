//! The big-file memory figure: how much a sender's resident memory grows while `send_file`
//! pushes a large file. The sender is its own process (ours: this binary's `send-file`
//! subcommand; theirs: `official_bench.py bigfile`), so nothing else counts; the receiver is
//! our client in the bench process, the same for both senders, and reads every byte.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use livekit_core::data::SendByteOptions;
use livekit_core::{DataOptions, RoomEvent};
use serde_json::{json, Value};
use tokio::process::Command;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{timeout, Instant};

use crate::child::run_json_process;
use crate::hold::status_kb;
use crate::ours::join;
use crate::payload::TempFile;
use crate::streams::{await_participant, count_streams, STREAM_TIMEOUT, TOPIC};
use crate::{official, ServerInfo};

/// The topic of B's note that it has read everything, so the sender leaves only after that.
pub const DONE_TOPIC: &str = "done";
/// How often the sender samples its own VmRSS, besides the kernel's peak (VmHWM).
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// Runs one sender process (ours or the official one) against a receiver here.
pub async fn measure(official_sender: bool, info: &ServerInfo, room: &str, file: &TempFile) -> anyhow::Result<Value> {
    let (b, _b_events) = join(info, room, "b").await?;
    let mut received = count_streams(&b)?;
    let receiver = {
        let b = b.clone();
        tokio::spawn(async move {
            let got = timeout(STREAM_TIMEOUT, received.recv())
                .await
                .context("B did not read the whole file in time")?
                .context("B's handler went away")??;
            let to_a = DataOptions::reliable().with_topic(DONE_TOPIC).with_destinations(["a"]);
            b.local_participant().publish_data(b"done".to_vec(), to_a).await?;
            anyhow::Ok(got.bytes)
        })
    };

    let size = file.len().to_string();
    let path = file.path().to_string_lossy().into_owned();
    let (command, what) = if official_sender {
        (official::command("bigfile", info, room, &size, "0", Some(&path)), "official_bench.py bigfile")
    } else {
        let mut command = Command::new(std::env::current_exe()?);
        command.args(["send-file", &info.url, &info.key, &info.secret, room, &path]);
        (command, "our sender")
    };
    let report = run_json_process(command, what).await;
    if report.is_err() {
        receiver.abort();
    }
    let report = report?;
    let bytes = receiver.await.context("the receiver task")??;
    if bytes != file.len() {
        bail!("B read {bytes} bytes of {}", file.len());
    }
    b.disconnect().await?;
    Ok(report)
}

/// The `send-file` subcommand: `<url> <key> <secret> <room> <path>`; prints one JSON line.
pub async fn run_sender(args: &[String]) -> anyhow::Result<()> {
    let [url, key, secret, room, path] = args else {
        bail!("usage: livekit-bench send-file <url> <key> <secret> <room> <path>");
    };
    let info = ServerInfo { url: url.clone(), key: key.clone(), secret: secret.clone() };
    let file_bytes = std::fs::metadata(path).with_context(|| format!("stat {path}"))?.len();
    let (a, mut events) = join(&info, room, "a").await?;
    await_participant(&a, &mut events, "b").await?;

    // Everything from here on is the send: the baseline is the connected, idle client.
    let baseline_kb = status_kb("VmRSS")?;
    reset_peak()?;
    let sampled = Arc::new(AtomicU64::new(baseline_kb));
    let sampler = tokio::spawn(sample_rss(sampled.clone()));

    let options = SendByteOptions::new_with_topic(TOPIC).with_destination_identities(vec!["b".into()]);
    let start = Instant::now();
    a.local_participant().send_file(path, options).await.context("send_file")?;
    let send_seconds = start.elapsed().as_secs_f64();
    await_done(&mut events).await?;
    let done_seconds = start.elapsed().as_secs_f64();

    sampler.abort();
    let report = json!({
        "file_bytes": file_bytes,
        "baseline_kb": baseline_kb,
        "hwm_kb": status_kb("VmHWM")?,
        "sampled_peak_kb": sampled.load(Ordering::Relaxed),
        "end_kb": status_kb("VmRSS")?,
        "send_seconds": send_seconds,
        "done_seconds": done_seconds,
    });
    a.disconnect().await?;
    println!("{report}");
    Ok(())
}

/// Resets VmHWM to the current VmRSS (Linux 4.0+), so the peak read later is the send's own.
fn reset_peak() -> anyhow::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5").context("reset the peak through /proc/self/clear_refs")
}

/// A second opinion on the peak, in case the kernel's counter was not reset.
async fn sample_rss(peak: Arc<AtomicU64>) {
    loop {
        if let Ok(kb) = status_kb("VmRSS") {
            peak.fetch_max(kb, Ordering::Relaxed);
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
}

/// Waits for B's note that it has read the whole file.
async fn await_done(events: &mut UnboundedReceiver<RoomEvent>) -> anyhow::Result<()> {
    let deadline = Instant::now() + STREAM_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(RoomEvent::DataReceived { topic, .. })) if topic.as_deref() == Some(DONE_TOPIC) => return Ok(()),
            Ok(Some(_)) => continue,
            Ok(None) => bail!("the room closed before B finished reading"),
            Err(_) => bail!("B did not finish reading within {STREAM_TIMEOUT:?}"),
        }
    }
}
