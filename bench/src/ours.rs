//! Our side of the connect, round-trip and throughput figures, in this process.
//! Each returns the same JSON shape as `official_bench.py`, so one function reads both.

use std::time::Duration;

use anyhow::{bail, Context};
use livekit_core::api::{AccessToken, VideoGrants};
use livekit_core::{DataOptions, Room, RoomEvent, RoomOptions};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{timeout, Instant};

use crate::{Plan, ServerInfo};

/// Echoes before the measured ones: the first crosses a fresh path and is reported apart.
pub const WARMUP_ECHOES: usize = 10;
/// How long one echo, or the throughput warm-up message, may take before the bench gives up.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long B may take to receive every throughput message.
const THROUGHPUT_TIMEOUT: Duration = Duration::from_secs(120);

pub fn token(info: &ServerInfo, room: &str, identity: &str) -> anyhow::Result<String> {
    let grants = VideoGrants {
        room_join: true,
        room: room.into(),
        can_publish: Some(true),
        can_subscribe: Some(true),
        can_publish_data: Some(true),
        ..Default::default()
    };
    Ok(AccessToken::with_api_key(&info.key, &info.secret)
        .with_identity(identity)
        .with_name(identity)
        .with_grants(grants)
        .to_jwt()?)
}

pub async fn join(
    info: &ServerInfo,
    room: &str,
    identity: &str,
) -> anyhow::Result<(Room, UnboundedReceiver<RoomEvent>)> {
    let token = token(info, room, identity)?;
    Room::connect(&info.url, &token, RoomOptions::default())
        .await
        .with_context(|| format!("{identity} could not join {room}"))
}

/// Times `Room::connect` for fresh identities. An anchor participant keeps the room open, so
/// every timed join finds an existing room and nobody times the room's creation.
pub async fn connect_times(info: &ServerInfo, room: &str, plan: Plan) -> anyhow::Result<Value> {
    let (anchor, _anchor_events) = join(info, room, "anchor").await?;
    let mut samples = Vec::with_capacity(plan.connects);
    for i in 0..plan.connects {
        let token = token(info, room, &format!("c{i}"))?;
        let start = Instant::now();
        let (joined, _events) = Room::connect(&info.url, &token, RoomOptions::default()).await?;
        samples.push(millis(start.elapsed()));
        joined.disconnect().await?;
    }
    anchor.disconnect().await?;
    Ok(json!({ "samples_ms": samples }))
}

/// A sends a numbered packet to B, B sends it back, A times each trip; one at a time.
pub async fn round_trips(info: &ServerInfo, room: &str, plan: Plan) -> anyhow::Result<Value> {
    let (a, mut a_events) = join(info, room, "a").await?;
    let (b, b_events) = join(info, room, "b").await?;
    let echo = tokio::spawn(echo_back(b.clone(), b_events));
    let to_b = DataOptions::reliable().with_topic("ping").with_destinations(["b"]);
    let mut first_echo_ms = 0.0;
    let mut samples = Vec::with_capacity(plan.echoes);
    for i in 0..WARMUP_ECHOES + plan.echoes {
        let payload = numbered(i as u64, plan.size);
        let start = Instant::now();
        a.local_participant().publish_data(payload, to_b.clone()).await?;
        let reply = next_payload(&mut a_events, ECHO_TIMEOUT).await.with_context(|| format!("echo {i}"))?;
        let elapsed = millis(start.elapsed());
        if number_of(&reply) != Some(i as u64) {
            bail!("echo {i} came back as {:?}", number_of(&reply));
        }
        if i == 0 {
            first_echo_ms = elapsed;
        } else if i >= WARMUP_ECHOES {
            samples.push(elapsed);
        }
    }
    echo.abort();
    a.disconnect().await?;
    b.disconnect().await?;
    Ok(json!({ "samples_ms": samples, "first_echo_ms": first_echo_ms }))
}

/// A sends `plan.messages` packets to B, each send awaited as a caller would; timed from the
/// first send to B's last receive. One message goes first, so both ends are known to be ready.
pub async fn throughput(info: &ServerInfo, room: &str, plan: Plan) -> anyhow::Result<Value> {
    let (a, _) = join(info, room, "a").await?;
    let (b, mut b_events) = join(info, room, "b").await?;
    let warmup = DataOptions::reliable().with_topic("warmup").with_destinations(["b"]);
    a.local_participant().publish_data(numbered(0, plan.size), warmup).await?;
    next_payload(&mut b_events, ECHO_TIMEOUT).await.context("warm-up message")?;
    let counted = tokio::spawn(count_until(b_events, plan.messages));

    let to_b = DataOptions::reliable().with_topic("bulk").with_destinations(["b"]);
    let start = Instant::now();
    for i in 0..plan.messages {
        a.local_participant().publish_data(numbered(i as u64, plan.size), to_b.clone()).await?;
    }
    let sent = start.elapsed();
    let last = timeout(THROUGHPUT_TIMEOUT, counted)
        .await
        .context("B did not receive every message in time")??
        .context("B's event stream ended early")?;
    a.disconnect().await?;
    b.disconnect().await?;
    Ok(json!({
        "messages": plan.messages,
        "size": plan.size,
        "seconds": (last - start).as_secs_f64(),
        "send_seconds": sent.as_secs_f64(),
    }))
}

/// Sends every payload B receives back to A, as B's application would.
async fn echo_back(b: Room, mut events: UnboundedReceiver<RoomEvent>) {
    let to_a = DataOptions::reliable().with_topic("pong").with_destinations(["a"]);
    while let Some(event) = events.recv().await {
        if let RoomEvent::DataReceived { payload, .. } = event {
            if b.local_participant().publish_data(payload.to_vec(), to_a.clone()).await.is_err() {
                return;
            }
        }
    }
}

/// The instant the `count`th data packet arrives; `None` if the stream ends first.
async fn count_until(mut events: UnboundedReceiver<RoomEvent>, count: usize) -> Option<Instant> {
    let mut received = 0;
    while let Some(event) = events.recv().await {
        if let RoomEvent::DataReceived { topic, .. } = event {
            if topic.as_deref() == Some("bulk") {
                received += 1;
                if received == count {
                    return Some(Instant::now());
                }
            }
        }
    }
    None
}

/// The next data payload, skipping other events.
async fn next_payload(events: &mut UnboundedReceiver<RoomEvent>, limit: Duration) -> anyhow::Result<Vec<u8>> {
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(RoomEvent::DataReceived { payload, .. })) => return Ok(payload.to_vec()),
            Ok(Some(_)) => continue,
            Ok(None) => bail!("the room's event stream ended"),
            Err(_) => bail!("no data within {limit:?}"),
        }
    }
}

/// `size` bytes starting with `n`, so a reply can be matched to its request.
pub fn numbered(n: u64, size: usize) -> Vec<u8> {
    let mut payload = vec![0u8; size.max(8)];
    payload[..8].copy_from_slice(&n.to_le_bytes());
    payload
}

fn number_of(payload: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(payload.get(..8)?.try_into().ok()?))
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
