//! Proves the official-SDK peer's data-stream and RPC commands work against a real
//! livekit-server: two Python peers exchange a file, a text and RPC calls.

mod common;

use common::{spawn_peer, token};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use livekit_test_harness::{OfficialPeer, TestServer};
use serde_json::{json, Value};

const EVENT_TIMEOUT: Duration = Duration::from_secs(30);
const ROOM: &str = "official-peer-streams-smoke";
const FILE_SIZE: usize = 1 << 20;

/// Pseudo-random bytes (xorshift64*), seeded from the clock: different on every run.
fn random_bytes(len: usize) -> Vec<u8> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
    let mut state = (nanos ^ (u64::from(std::process::id()) << 32)) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("lk-streams-smoke-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["type"] == kind
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_official_peers_exchange_a_file_a_text_and_rpc_calls() {
    let mut a = spawn_peer().await;
    let mut b = spawn_peer().await;
    let server = tokio::task::spawn_blocking(TestServer::start).await.expect("join").expect("start livekit-server");
    let url = server.url();
    a.connect(&url, &token(&server, ROOM, "alice")).await.expect("alice connects");
    b.connect(&url, &token(&server, ROOM, "bob")).await.expect("bob connects");
    a.wait_event(EVENT_TIMEOUT, |e| e["type"] == "participant_connected" && e["identity"] == "bob")
        .await
        .expect("alice sees bob");

    // A 1 MB file, from A to B, hashed and saved by B's handler.
    let sent_dir = TempDir::new("sent");
    let saved_dir = TempDir::new("saved");
    let data = random_bytes(FILE_SIZE);
    let path = sent_dir.0.join("payload.bin");
    std::fs::write(&path, &data).expect("write the file to send");
    b.register_byte_stream_handler("files", Some(&saved_dir.0)).await.expect("byte handler");
    b.register_text_stream_handler("chat").await.expect("text handler");

    let sent = a.send_file(&path, "files", &["bob"]).await.expect("send_file");
    assert_eq!(sent["name"], "payload.bin", "{sent}");
    assert_eq!(sent["size"], FILE_SIZE, "{sent}");
    let stream_id = sent["stream_id"].as_str().expect("stream_id").to_string();

    let opened = b.wait_event(EVENT_TIMEOUT, is("stream_opened")).await.expect("bob's handler is called");
    assert_eq!(opened["stream_id"], stream_id.as_str(), "{opened}");
    assert_eq!(opened["identity"], "alice", "{opened}");
    let received = b.wait_event(EVENT_TIMEOUT, is("byte_stream_received")).await.expect("bob reads the file");
    assert_eq!(received["stream_id"], stream_id.as_str(), "{received}");
    assert_eq!(received["identity"], "alice", "{received}");
    assert_eq!(received["topic"], "files", "{received}");
    assert_eq!(received["name"], "payload.bin", "{received}");
    assert_eq!(received["size"], FILE_SIZE, "{received}");
    assert_eq!(received["total_length"], FILE_SIZE, "{received}");
    assert_eq!(received["sha256"], OfficialPeer::sha256_hex(&data), "{received}");
    assert_eq!((received["opened_index"].clone(), received["closed_index"].clone()), (json!(0), json!(0)));
    let saved = received["saved_path"].as_str().expect("saved_path");
    assert!(std::fs::read(saved).expect("read the saved file") == data, "saved file differs");

    // A text with multi-byte characters.
    let text = "héllo 世界 — ✓ 🦀 𝄞";
    let text_id = a.send_text(text, "chat", &[]).await.expect("send_text");
    let got = b.wait_event(EVENT_TIMEOUT, is("text_stream_received")).await.expect("bob reads the text");
    assert_eq!(got["stream_id"], text_id.as_str(), "{got}");
    assert_eq!(got["text"], text, "{got}");
    assert_eq!(got["identity"], "alice", "{got}");
    assert_eq!(got["opened_index"], 1, "{got}");

    // RPC: an echo method, then a method nobody registered.
    b.register_rpc_method("echo", json!({"echo": true})).await.expect("register echo");
    let payload = "ping ü 🦀";
    let answer = a.perform_rpc("bob", "echo", payload, None).await.expect("perform echo");
    assert_eq!(answer["response"], payload, "{answer}");
    let invoked = b.wait_event(EVENT_TIMEOUT, is("rpc_invoked")).await.expect("bob's method runs");
    assert_eq!((invoked["method"].as_str(), invoked["caller"].as_str()), (Some("echo"), Some("alice")));
    assert_eq!(invoked["payload"], payload, "{invoked}");

    let missing = a
        .perform_rpc("bob", "no-such-method", "x", Some(Duration::from_secs(5)))
        .await
        .expect("an unknown method is an RPC error, not a driver failure");
    assert_eq!(missing["rpc_error"]["code"], 1400, "{missing}");

    // Bad input is an error result, never a crash.
    assert!(a.write_chunk(12345, b"x").await.is_err());
    assert!(a.request(json!({"cmd": "perform_rpc", "destination": 7})).await.is_err());

    b.close().await.expect("bob's script exits cleanly");
    a.close().await.expect("alice's script exits cleanly");
}
