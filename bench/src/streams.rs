//! Our side of the byte-stream and RPC figures, in this process; the JSON shapes match
//! `official_bench.py`'s `stream` and `rpc`.

use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::StreamExt;
use livekit_core::data::{ByteStreamReader, PerformRpcData, SendByteOptions};
use livekit_core::{Room, RoomEvent};
use serde_json::{json, Value};
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::time::{timeout, Instant};

use crate::ours::{join, WARMUP_ECHOES};
use crate::payload::TempFile;
use crate::{Plan, ServerInfo};

/// The topic both sides' streams use.
pub const TOPIC: &str = "bench";
/// How long B may take to read a whole file; far more than a local server needs.
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(180);
/// How long one side may wait to see the other in the room.
const PRESENCE_TIMEOUT: Duration = Duration::from_secs(10);

/// What B's handler saw of one stream: bytes read and when the reader ended.
pub struct Received {
    pub bytes: u64,
    pub at: Instant,
}

/// Registers a byte-stream handler on `room` that reads every stream on [`TOPIC`] to its end
/// and reports it; a failed stream is reported as an error.
pub fn count_streams(room: &Room) -> anyhow::Result<UnboundedReceiver<anyhow::Result<Received>>> {
    let (done, received) = mpsc::unbounded_channel();
    room.register_byte_stream_handler(TOPIC, move |reader: ByteStreamReader, _sender: String| {
        let done = done.clone();
        tokio::spawn(async move {
            let _ = done.send(read_to_end(reader).await);
        });
    })?;
    Ok(received)
}

async fn read_to_end(mut reader: ByteStreamReader) -> anyhow::Result<Received> {
    let mut bytes = 0u64;
    while let Some(chunk) = reader.next().await {
        bytes += chunk.context("the byte stream failed")?.len() as u64;
    }
    Ok(Received { bytes, at: Instant::now() })
}

/// Waits until `room` sees `identity`, so a send right after cannot miss it.
pub async fn await_participant(
    room: &Room,
    events: &mut UnboundedReceiver<RoomEvent>,
    identity: &str,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + PRESENCE_TIMEOUT;
    while !room.remote_participants().contains_key(identity) {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(_)) => continue,
            Ok(None) => bail!("the room closed before {identity} appeared"),
            Err(_) => bail!("{identity} did not appear within {PRESENCE_TIMEOUT:?}"),
        }
    }
    Ok(())
}

/// A sends `file` to B with `send_file`; timed from the call to B's handler reading the last byte.
pub async fn stream(info: &ServerInfo, room: &str, file: &TempFile) -> anyhow::Result<Value> {
    let (a, mut a_events) = join(info, room, "a").await?;
    let (b, _b_events) = join(info, room, "b").await?;
    let mut received = count_streams(&b)?;
    await_participant(&a, &mut a_events, "b").await?;

    let options = SendByteOptions::new_with_topic(TOPIC).with_destination_identities(vec!["b".into()]);
    let start = Instant::now();
    a.local_participant().send_file(file.path(), options).await.context("send_file")?;
    let send_seconds = start.elapsed().as_secs_f64();
    let got = timeout(STREAM_TIMEOUT, received.recv())
        .await
        .context("B did not read the whole file in time")?
        .context("B's handler went away")??;
    if got.bytes != file.len() {
        bail!("B read {} bytes of {}", got.bytes, file.len());
    }
    a.disconnect().await?;
    b.disconnect().await?;
    Ok(json!({
        "bytes": got.bytes,
        "seconds": (got.at - start).as_secs_f64(),
        "send_seconds": send_seconds,
    }))
}

/// A calls B's `echo` method `plan.rpc_calls` times with "x", one call at a time, after a few
/// unmeasured warm-up calls; the first call is reported apart.
pub async fn rpc(info: &ServerInfo, room: &str, plan: Plan) -> anyhow::Result<Value> {
    let (a, mut a_events) = join(info, room, "a").await?;
    let (b, _b_events) = join(info, room, "b").await?;
    b.local_participant().register_rpc_method("echo", |data| Box::pin(async move { Ok(data.payload) }));
    await_participant(&a, &mut a_events, "b").await?;

    let mut first_call_ms = 0.0;
    let mut samples = Vec::with_capacity(plan.rpc_calls);
    for i in 0..WARMUP_ECHOES + plan.rpc_calls {
        let start = Instant::now();
        let reply = a
            .local_participant()
            .perform_rpc(PerformRpcData::new("b", "echo").with_payload("x"))
            .await
            .map_err(|err| anyhow::anyhow!("call {i}: {err:?}"))?;
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        if reply != "x" {
            bail!("call {i} answered {reply:?}");
        }
        if i == 0 {
            first_call_ms = elapsed;
        } else if i >= WARMUP_ECHOES {
            samples.push(elapsed);
        }
    }
    a.disconnect().await?;
    b.disconnect().await?;
    Ok(json!({ "samples_ms": samples, "first_call_ms": first_call_ms }))
}
