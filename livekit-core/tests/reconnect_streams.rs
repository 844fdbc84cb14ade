//! Streams and RPC calls in flight when the connection breaks, with the official Python SDK at
//! the other end: across a resume they complete; across a full reconnect (a new session, which
//! the other side cannot match to the old one) they fail at once with a typed error.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use livekit_core::data::{PerformRpcData, RpcErrorCode, StreamByteOptions, StreamWriter};
use livekit_core::room::SimulateScenario;
use livekit_core::{Room, RoomEvent};
use livekit_test_harness::{OfficialPeer, TcpProxy};
use serde_json::json;
use tokio::task::JoinHandle;

const STREAM_BYTES: u64 = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// The bytes of the stream: position-dependent, so a lost or repeated chunk changes the hash.
fn payload() -> Vec<u8> {
    (0..STREAM_BYTES).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

/// Writes the payload as one byte stream; `written` follows the progress.
fn write_stream(room: &Room, data: Arc<Vec<u8>>, written: Arc<AtomicU64>) -> JoinHandle<livekit_core::Result<()>> {
    let local = room.local_participant();
    tokio::spawn(async move {
        let writer = local.stream_bytes(StreamByteOptions::new_with_topic("big").with_name("big.bin")).await?;
        for chunk in data.chunks(CHUNK) {
            writer.write(chunk).await.map_err(livekit_core::Error::from)?;
            written.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        writer.close().await.map_err(livekit_core::Error::from)
    })
}

/// Writes a byte stream that never ends, at about 3 MB/s (so an RPC call queued behind it on
/// the same ordered channel still goes out promptly), until a write fails; returns that error.
fn write_until_it_fails(room: &Room, written: Arc<AtomicU64>) -> JoinHandle<livekit_core::Error> {
    let local = room.local_participant();
    tokio::spawn(async move {
        let options = StreamByteOptions::new_with_topic("big").with_name("endless.bin");
        let writer = match local.stream_bytes(options).await {
            Ok(writer) => writer,
            Err(err) => return err,
        };
        let chunk = vec![7u8; CHUNK];
        loop {
            if let Err(err) = writer.write(&chunk).await {
                return err.into();
            }
            written.fetch_add(CHUNK as u64, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await; // pacing the sender
        }
    })
}

async fn wait_written(written: &AtomicU64, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while written.load(Ordering::SeqCst) < at_least {
        assert!(Instant::now() < deadline, "the stream stalled at {} bytes", written.load(Ordering::SeqCst));
        tokio::task::yield_now().await; // the writer advances on the same runtime
    }
}

/// Ours through a proxy; the official peer with a byte-stream handler and a slow RPC method.
async fn setup(
    room: &str,
) -> (livekit_test_harness::TestServer, TcpProxy, Room, tokio::sync::mpsc::UnboundedReceiver<RoomEvent>, OfficialPeer) {
    let server = start_server();
    let proxy = TcpProxy::start(server.http_port()).unwrap();
    let (ours, mut events) = Room::connect(&proxy.url(), &token(&server, room, "mobile"), common::room_options())
        .await
        .expect("join through the proxy");
    let mut official = official_peer(&server, room, "py").await;
    official.register_byte_stream_handler("big", None).await.unwrap();
    official.register_rpc_method("slow", json!({"echo": true, "delay_ms": 2000})).await.unwrap();
    wait_until_known(&mut events, "py").await;
    (server, proxy, ours, events, official)
}

fn call_slow(room: &Room) -> JoinHandle<Result<String, livekit_core::data::RpcError>> {
    let local = room.local_participant();
    tokio::spawn(async move { local.perform_rpc(PerformRpcData::new("py", "slow").with_payload("ping")).await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifty_megabyte_stream_and_an_rpc_in_flight_complete_across_a_resume() {
    let (_server, proxy, ours, mut events, mut official) = setup("s1").await;
    let data = Arc::new(payload());
    let written = Arc::new(AtomicU64::new(0));
    let writer = write_stream(&ours, data.clone(), written.clone());
    let call = call_slow(&ours);
    official.wait_event(EVENT_TIMEOUT, |e| e["type"] == "rpc_invoked").await.expect("the call reached the handler");
    wait_written(&written, STREAM_BYTES / 5).await;

    assert_eq!(proxy.cut(), 1);
    wait_for_within(&mut events, Duration::from_secs(30), "Reconnected", |e| match e {
        RoomEvent::Reconnected => Some(()),
        RoomEvent::ParticipantDisconnected(_) => panic!("a resume must not lose participants"),
        _ => None,
    })
    .await;

    assert_eq!(call.await.unwrap().expect("the call completes"), "ping");
    writer.await.unwrap().expect("the stream completes");
    let received = official
        .wait_event(Duration::from_secs(120), |e| e["type"] == "byte_stream_received" && e["topic"] == "big")
        .await
        .expect("the official client receives the stream");
    assert_eq!(received["size"], json!(STREAM_BYTES));
    assert_eq!(received["sha256"], json!(OfficialPeer::sha256_hex(&data)), "every byte once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_reconnect_fails_the_stream_and_the_rpc_in_flight_at_once() {
    let (_server, _proxy, ours, mut events, mut official) = setup("s2").await;
    let written = Arc::new(AtomicU64::new(0));
    let writer = write_until_it_fails(&ours, written.clone());
    wait_written(&written, 2 * 1024 * 1024).await;
    let call = call_slow(&ours);
    official.wait_event(EVENT_TIMEOUT, |e| e["type"] == "rpc_invoked").await.expect("the call reached the handler");

    let started = Instant::now();
    ours.simulate_scenario(SimulateScenario::FullReconnect).await.unwrap();
    let rpc_error = call.await.unwrap().expect_err("a call to the old session cannot be answered");
    let rpc_failed_after = started.elapsed();
    assert_eq!(rpc_error.code, RpcErrorCode::RecipientDisconnected as u32);
    let stream_error = writer.await.unwrap();
    let stream_failed_after = started.elapsed();
    assert!(matches!(stream_error, livekit_core::Error::Connection(_)), "{stream_error:?}");
    wait_for_within(&mut events, Duration::from_secs(30), "Reconnected", |e| {
        matches!(e, RoomEvent::Reconnected).then_some(())
    })
    .await;
    eprintln!(
        "the RPC failed {rpc_failed_after:?} and the stream {stream_failed_after:?} after the full reconnect began"
    );
    assert!(rpc_failed_after < Duration::from_secs(2), "the RPC failed only after {rpc_failed_after:?}");
    assert!(stream_failed_after < Duration::from_secs(10), "the stream failed only after {stream_failed_after:?}");
    let error = official
        .wait_event(Duration::from_secs(30), |e| e["type"] == "stream_error" && e["topic"] == "big")
        .await
        .expect("the official client's reader fails too");
    eprintln!("the official reader failed with: {}", error["error"]);
}
