//! Reconnection: the time from a broken connection to the client's `Reconnected` event.
//!
//! `reconnect_signal` cuts the client's signalling connection at a TCP proxy in front of the
//! server (the session survives: the client resumes it); `reconnect_restart` SIGKILLs a server
//! of its own and starts it again on the same ports (the session is lost: the client joins
//! anew). Only the bench can cut or kill, so it drives the official side
//! (`official_bench_reconnect.py`) line by line: the script prints `{"ready": i}`, the bench
//! breaks the connection and answers with the instant it did, on CLOCK_MONOTONIC, which is
//! also the clock of Python's `time.monotonic()`. Both sides return the same JSON shape.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use livekit_core::RoomEvent;
use livekit_test_harness::{TcpProxy, TestServer};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{ours, ServerInfo};

/// How long one break may take to end in `Reconnected`. The SDKs give up after about 45 s
/// (ours) and 10 attempts 5 s apart (theirs); a longer wait would only wait for `Disconnected`.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the official script may stay silent: its join, or one reconnect and then some.
const LINE_TIMEOUT: Duration = Duration::from_secs(120);
/// The identity of the client measured, on both sides.
const IDENTITY: &str = "r";

/// What the bench breaks: the signalling connections through a proxy, or the whole server.
pub enum Breaker {
    Proxy(TcpProxy),
    /// Shared with the blocking task that kills and restarts it.
    Server(Arc<Mutex<TestServer>>),
}

/// One break: when it began, and for a restart, how long the server took to answer again.
struct Broke {
    at: f64,
    server_back_ms: Option<f64>,
}

impl Breaker {
    /// A proxy in front of the server at `info` (for `reconnect_signal`).
    pub fn proxy(info: &ServerInfo) -> anyhow::Result<Breaker> {
        let port = info.url.rsplit(':').next().and_then(|p| p.parse().ok()).context("no port in the server URL")?;
        Ok(Breaker::Proxy(TcpProxy::start(port).map_err(anyhow::Error::msg)?))
    }

    /// Where clients connect: the proxy's URL, or the server's own.
    pub fn info(&self, server: &ServerInfo) -> ServerInfo {
        match self {
            Breaker::Proxy(proxy) => ServerInfo { url: proxy.url(), ..server.clone() },
            Breaker::Server(_) => server.clone(),
        }
    }

    async fn break_now(&self) -> anyhow::Result<Broke> {
        match self {
            Breaker::Proxy(proxy) => {
                let at = monotonic();
                let cut = proxy.cut();
                // The client's one signalling connection; none means it was not connected.
                anyhow::ensure!(cut >= 1, "the proxy had no open connection to cut");
                Ok(Broke { at, server_back_ms: None })
            }
            Breaker::Server(server) => {
                let server = server.clone();
                tokio::task::spawn_blocking(move || {
                    let mut server = server.lock().map_err(|_| anyhow::anyhow!("the server's lock is poisoned"))?;
                    let at = monotonic();
                    // SIGKILL first, then the same ports again; returns once `GET /` answers
                    // (the harness polls every 50 ms, so this is up to 50 ms late).
                    server.kill_and_restart().map_err(anyhow::Error::msg)?;
                    Ok(Broke { at, server_back_ms: Some((monotonic() - at) * 1000.0) })
                })
                .await?
            }
        }
    }
}

/// CLOCK_MONOTONIC in seconds: Python's `time.monotonic()` reads the same clock, so an instant
/// taken here and one taken in the official side's process can be subtracted.
pub fn monotonic() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given, which lives across the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// Our side: one client joins, then `count` times the bench breaks the connection and times
/// `Reconnecting` and `Reconnected`. The next break follows the previous `Reconnected` at once.
pub async fn ours(breaker: &Breaker, server: &ServerInfo, room: &str, count: usize) -> anyhow::Result<Value> {
    let (client, events) = ours::join(&breaker.info(server), room, IDENTITY).await?;
    let (stamper, mut events) = stamp(events);
    let mut samples = Vec::with_capacity(count);
    let mut reconnecting = Vec::with_capacity(count);
    let mut server_back = Vec::new();
    let measured: anyhow::Result<()> = async {
        for i in 0..count {
            let broke = breaker.break_now().await?;
            let (started, done) =
                await_reconnect(&mut events).await.with_context(|| format!("break {i} of our client"))?;
            samples.push((done - broke.at) * 1000.0);
            reconnecting.push((started - broke.at) * 1000.0);
            server_back.extend(broke.server_back_ms);
        }
        Ok(())
    }
    .await;
    // Also after a failure: a client still trying to reconnect must not disturb theirs.
    let left = client.disconnect().await;
    stamper.abort();
    measured?;
    left?;
    Ok(shape(samples, reconnecting, server_back))
}

/// Notes each event's arrival as it comes, while the bench may still be busy restarting the
/// server (as the official side's handlers do in their own process).
fn stamp(
    mut events: UnboundedReceiver<RoomEvent>,
) -> (tokio::task::JoinHandle<()>, UnboundedReceiver<(RoomEvent, f64)>) {
    let (sender, stamped) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if sender.send((event, monotonic())).is_err() {
                return;
            }
        }
    });
    (task, stamped)
}

/// The instants of `Reconnecting` and then `Reconnected`; `Disconnected` fails.
async fn await_reconnect(events: &mut UnboundedReceiver<(RoomEvent, f64)>) -> anyhow::Result<(f64, f64)> {
    let deadline = tokio::time::Instant::now() + RECONNECT_TIMEOUT;
    let mut started = None;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some((RoomEvent::Reconnecting, at))) => started = started.or(Some(at)),
            Ok(Some((RoomEvent::Reconnected, done))) => {
                return Ok((started.context("Reconnected without Reconnecting")?, done));
            }
            Ok(Some((RoomEvent::Disconnected { reason }, _))) => {
                bail!("disconnected ({reason:?}) instead of reconnecting")
            }
            Ok(Some(_)) => continue,
            Ok(None) => bail!("the room's event stream ended"),
            Err(_) => bail!("no Reconnected within {RECONNECT_TIMEOUT:?} (Reconnecting seen: {})", started.is_some()),
        }
    }
}

/// The JSON both sides report; `server_back_ms` is the bench's own, added for theirs too.
fn shape(samples: Vec<f64>, reconnecting: Vec<f64>, server_back: Vec<f64>) -> Value {
    let mut value = json!({ "samples_ms": samples, "reconnecting_ms": reconnecting });
    if !server_back.is_empty() {
        value["server_back_ms"] = json!(server_back);
    }
    value
}

/// The official side: runs `command` (the script, joined through `breaker`), breaks the
/// connection each time it says it is ready, and answers with the instant of the break.
pub async fn theirs(breaker: &Breaker, mut command: Command, what: &str) -> anyhow::Result<Value> {
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = command.spawn().with_context(|| format!("start {what}"))?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
    // Read all along, so the SDK's logging cannot fill the pipe and stall the script.
    let mut stderr_pipe = child.stderr.take().context("no stderr")?;
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text).await;
        text
    });
    let mut server_back = Vec::new();
    let mut result = None;
    let outcome: anyhow::Result<()> = async {
        while let Some(line) =
            tokio::time::timeout(LINE_TIMEOUT, lines.next_line()).await.context("the script went silent")??
        {
            let Ok(message) = serde_json::from_str::<Value>(&line) else { continue };
            if message.get("ready").is_some() {
                let broke = breaker.break_now().await?;
                server_back.extend(broke.server_back_ms);
                stdin.write_all(format!("{}\n", broke.at).as_bytes()).await?;
                stdin.flush().await?;
            } else if message.get("samples_ms").is_some() {
                result = Some(message);
            }
        }
        Ok(())
    }
    .await;
    if outcome.is_err() {
        let _ = child.start_kill();
    }
    let status = child.wait().await?;
    let stderr = stderr.await.unwrap_or_default();
    let tail = tail(&stderr, 40);
    outcome.with_context(|| format!("{what} ({status}); its stderr ends:\n{tail}"))?;
    if !status.success() {
        bail!("{what} failed ({status}); its stderr ends:\n{tail}");
    }
    let mut result = result.with_context(|| format!("{what} printed no result; its stderr ends:\n{tail}"))?;
    if !server_back.is_empty() {
        result["server_back_ms"] = json!(server_back);
    }
    Ok(result)
}

/// The last `n` lines of `text`, for error messages that must stay readable.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
