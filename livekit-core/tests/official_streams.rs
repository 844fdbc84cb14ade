//! Streams and RPC with the official Python SDK as the peer, both directions, through a real
//! livekit-server. A missing SDK fails these tests.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use livekit_core::data::{
    ByteStreamReader, PerformRpcData, RpcError, RpcErrorCode, SendByteOptions, SendTextOptions, StreamByteOptions,
    StreamProgressCallback, StreamReader, StreamWriter,
};
use livekit_core::room::RpcHandlerFuture;
use livekit_core::Room;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// The file size the interop suite transfers each way.
const FILE_SIZE: usize = 50 * 1024 * 1024;
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(240);

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lk-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A file of pseudo-random bytes (incompressible, like most real files) and its SHA-256.
fn write_random_file(path: &Path, len: usize) -> String {
    let mut state = 0x9e3779b97f4a7c15u64;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(path, &data).unwrap();
    hex(&Sha256::digest(&data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What our byte handler saw of a stream, in the order the handlers ran and finished.
#[derive(Debug, Clone)]
struct Seen {
    name: String,
    sha256: Result<String, String>,
}

fn record_bytes(room: &Room, topic: &str) -> mpsc::UnboundedReceiver<(&'static str, Seen)> {
    let (tx, rx) = mpsc::unbounded_channel();
    room.register_byte_stream_handler(topic, move |reader: ByteStreamReader, _sender| {
        let info = reader.info().clone();
        let _ = tx.send(("opened", Seen { name: info.name.clone(), sha256: Ok(String::new()) }));
        let tx = tx.clone();
        tokio::spawn(async move {
            let sha256 = reader.read_all().await.map(|b| hex(&Sha256::digest(&b))).map_err(|e| e.to_string());
            let _ = tx.send(("closed", Seen { name: info.name, sha256 }));
        });
    })
    .unwrap();
    rx
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>, timeout: Duration) -> T {
    tokio::time::timeout(timeout, rx.recv()).await.expect("a stream event in time").expect("handler alive")
}

async fn next_closed(rx: &mut mpsc::UnboundedReceiver<(&'static str, Seen)>) -> Seen {
    loop {
        if let ("closed", seen) = next(rx, TRANSFER_TIMEOUT).await {
            return seen;
        }
    }
}

async fn file_both_ways(compress: bool) {
    let server = start_server();
    let room_name = if compress { "os1" } else { "os2" };
    let (ours, _events) = join(&server, room_name, "rusty").await;
    let mut official = official_peer(&server, room_name, "py").await;
    let dir = temp_dir(room_name);

    // Ours to theirs, with progress on our side (the Python SDK reports none).
    let ours_file = dir.join("from-rust.bin");
    let ours_sha = write_random_file(&ours_file, FILE_SIZE);
    official.register_byte_stream_handler("files", None).await.unwrap();
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    let mut options = SendByteOptions::new_with_topic("files").with_compress(compress);
    options.on_progress = Some(StreamProgressCallback::new(move |p| seen.lock().unwrap().push(p.percentage())));
    ours.local_participant().send_file(&ours_file, options).await.unwrap();
    let got = official.wait_event(TRANSFER_TIMEOUT, |e| e["type"] == "byte_stream_received").await.unwrap();
    assert_eq!(got["sha256"], ours_sha.as_str());
    assert_eq!((got["name"].as_str(), got["size"].as_u64()), (Some("from-rust.bin"), Some(FILE_SIZE as u64)));
    assert_eq!(got["identity"], "rusty");
    let progress = progress.lock().unwrap().clone();
    assert!(progress.len() > 10 && progress.last() == Some(&Some(1.0)), "progress: {:?}", progress.last());

    // Theirs to ours.
    let theirs_file = dir.join("from-python.bin");
    let theirs_sha = write_random_file(&theirs_file, FILE_SIZE);
    let mut received = record_bytes(&ours, "files");
    let send = json!({"cmd": "send_file", "path": theirs_file, "topic": "files", "compress": compress});
    official.request_within(send, TRANSFER_TIMEOUT).await.unwrap();
    let seen = next_closed(&mut received).await;
    assert_eq!(seen.sha256.unwrap(), theirs_sha);
    assert_eq!(seen.name, "from-python.bin");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_file_both_ways_compressed() {
    file_both_ways(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_file_both_ways_uncompressed() {
    file_both_ways(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn megabyte_of_multibyte_text_both_ways() {
    let server = start_server();
    let (ours, _events) = join(&server, "os3", "rusty").await;
    let mut official = official_peer(&server, "os3", "py").await;
    let phrase = "héllo wörld 中文 🙂 ";
    let text = phrase.repeat(1024 * 1024 / phrase.len() + 1);
    assert!(text.len() > 1024 * 1024);

    official.register_text_stream_handler("chat").await.unwrap();
    ours.local_participant().send_text(&text, SendTextOptions::new_with_topic("chat")).await.unwrap();
    let got = official.wait_event(TRANSFER_TIMEOUT, |e| e["type"] == "text_stream_received").await.unwrap();
    assert!(got["text"] == text.as_str(), "the official client got {} bytes", got["text"].as_str().map_or(0, str::len));

    let (tx, mut rx) = mpsc::unbounded_channel();
    ours.register_text_stream_handler("chat", move |reader, _| {
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(reader.read_all().await.map_err(|e| e.to_string()));
        });
    })
    .unwrap();
    official.send_text(&text, "chat", &[]).await.unwrap();
    assert_eq!(next(&mut rx, TRANSFER_TIMEOUT).await.unwrap(), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_open_and_close_in_the_senders_order() {
    let server = start_server();
    let (ours, _events) = join(&server, "os4", "rusty").await;
    let mut official = official_peer(&server, "os4", "py").await;

    // Theirs to ours: open 1, 2, 3, interleave writes, close 2, 3, 1.
    let mut received = record_bytes(&ours, "multi");
    let mut handles = Vec::new();
    for name in ["one", "two", "three"] {
        let handle =
            official.request(json!({"cmd": "open_byte_stream", "topic": "multi", "name": name})).await.unwrap();
        handles.push(handle["handle"].as_u64().unwrap());
    }
    for round in 0..3u8 {
        for handle in &handles {
            official.write_chunk(*handle, &[round; 1000]).await.unwrap();
        }
    }
    for index in [1, 2, 0] {
        official.close_stream(handles[index], None).await.unwrap();
    }
    let mut opened = Vec::new();
    let mut closed = Vec::new();
    while closed.len() < 3 {
        match next(&mut received, TRANSFER_TIMEOUT).await {
            ("opened", seen) => opened.push(seen.name),
            (_, seen) => closed.push((seen.name, seen.sha256.is_ok())),
        }
    }
    assert_eq!(opened, ["one", "two", "three"], "handlers run in the order the streams were opened");
    let closed_names: Vec<_> = closed.iter().map(|(n, ok)| (n.as_str(), *ok)).collect();
    assert_eq!(closed_names, [("two", true), ("three", true), ("one", true)], "readers end in close order");

    // Ours to theirs: the same pattern.
    official.register_byte_stream_handler("multi2", None).await.unwrap();
    let local = ours.local_participant();
    let mut writers = Vec::new();
    for name in ["a", "b", "c"] {
        writers
            .push(Some(local.stream_bytes(StreamByteOptions::new_with_topic("multi2").with_name(name)).await.unwrap()));
    }
    for round in 0..3u8 {
        for writer in writers.iter().flatten() {
            writer.write(&[round; 1000]).await.unwrap();
        }
    }
    for index in [1, 2, 0] {
        writers[index].take().unwrap().close().await.unwrap();
        // Paces the sender: the official reader reports when its Python task finishes, and
        // asyncio may finish tasks whose ends arrived in the same instant in another order.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut events = Vec::new();
    for _ in 0..3 {
        events.push(official.wait_event(TRANSFER_TIMEOUT, |e| e["type"] == "byte_stream_received").await.unwrap());
    }
    let by_open: Vec<_> = sorted_names(&events, "opened_index");
    let by_close: Vec<_> = sorted_names(&events, "closed_index");
    assert_eq!((by_open, by_close), (vec!["a", "b", "c"], vec!["b", "c", "a"]));
}

fn sorted_names<'a>(events: &'a [Value], key: &str) -> Vec<&'a str> {
    let mut events: Vec<&Value> = events.iter().collect();
    events.sort_by_key(|e| e[key].as_u64());
    events.iter().map(|e| e["name"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_joining_mid_stream_receives_nothing_of_it() {
    let server = start_server();
    let mut official = official_peer(&server, "os5", "py").await;
    let handle = official.open_byte_stream("late", Some("early.bin"), None).await.unwrap();
    official.write_chunk(handle, b"before you came").await.unwrap();

    let (ours, _events) = join(&server, "os5", "rusty").await;
    let mut received = record_bytes(&ours, "late");
    official.write_chunk(handle, b"after you came").await.unwrap();
    official.close_stream(handle, None).await.unwrap();
    // A stream opened after the join arrives, and it is the first thing our handler sees.
    official.send_bytes_stream("late", [b"fresh".to_vec()], None).await.unwrap();
    let (kind, first) = next(&mut received, TRANSFER_TIMEOUT).await;
    assert_eq!(kind, "opened");
    assert_ne!(first.name, "early.bin", "the stream begun before the join must not be delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_and_orphaned_streams_fail_the_reader() {
    let server = start_server();
    let (ours, _events) = join(&server, "os6", "rusty").await;
    let mut official = official_peer(&server, "os6", "py").await;
    let mut received = record_bytes(&ours, "up");

    official.send_bytes_stream("up", [b"part".to_vec()], Some("cancelled by user")).await.unwrap();
    let err = next_closed(&mut received).await.sha256.unwrap_err();
    assert!(err.contains("cancelled by user"), "{err}");

    // Ours aborts: the official reader reports an error.
    official.register_byte_stream_handler("down", None).await.unwrap();
    let writer = ours.local_participant().stream_bytes(StreamByteOptions::new_with_topic("down")).await.unwrap();
    writer.write(b"part").await.unwrap();
    writer.close_with_reason("changed my mind").await.unwrap();
    let got = official.wait_event(TRANSFER_TIMEOUT, |e| e["type"] == "stream_error").await.unwrap();
    assert!(got["error"].as_str().unwrap().contains("changed my mind"), "{got}");

    // The official sender leaves mid-stream: our reader ends instead of hanging. It fails,
    // unless the official library closed the stream itself while leaving (it sometimes sends a
    // normal trailer for open writers): then it holds exactly what was sent.
    let handle = official.open_byte_stream("up", Some("orphan.bin"), None).await.unwrap();
    official.write_chunk(handle, b"half").await.unwrap();
    let (kind, _) = next(&mut received, TRANSFER_TIMEOUT).await; // "mid-stream": we are reading it
    assert_eq!(kind, "opened");
    official.disconnect().await.unwrap();
    let seen = next_closed(&mut received).await;
    assert_eq!(seen.name, "orphan.bin");
    if let Ok(sha256) = &seen.sha256 {
        assert_eq!(sha256, &hex(&Sha256::digest(b"half")), "a cleanly closed stream holds what was sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_both_ways_with_errors() {
    let server = start_server();
    let (ours, _events) = join(&server, "os7", "rusty").await;
    let mut official = official_peer(&server, "os7", "py").await;
    let local = ours.local_participant();

    // Ours calls theirs.
    official.register_rpc_method("echo", json!({"echo": true})).await.unwrap();
    official
        .register_rpc_method("boom", json!({"error": {"code": 4001, "message": "bad seat", "data": "row 9"}}))
        .await
        .unwrap();
    official.register_rpc_method("slow", json!({"never_answer": true})).await.unwrap();
    assert_eq!(local.perform_rpc(PerformRpcData::new("py", "echo").with_payload("ping")).await.unwrap(), "ping");
    let err = local.perform_rpc(PerformRpcData::new("py", "boom")).await.unwrap_err();
    assert_eq!((err.code, err.message.as_str(), err.data.as_deref()), (4001, "bad seat", Some("row 9")));
    let err = local.perform_rpc(PerformRpcData::new("py", "missing")).await.unwrap_err();
    assert_eq!(err.code, RpcErrorCode::UnsupportedMethod as u32);
    let slow = PerformRpcData::new("py", "slow").with_response_timeout(Duration::from_millis(1500));
    assert_eq!(local.perform_rpc(slow).await.unwrap_err().code, RpcErrorCode::ResponseTimeout as u32);
    let big = PerformRpcData::new("py", "echo").with_payload("x".repeat(16 * 1024));
    assert_eq!(local.perform_rpc(big).await.unwrap_err().code, RpcErrorCode::RequestPayloadTooLarge as u32);

    // Theirs calls ours.
    local.register_rpc_method("greet", |data| -> RpcHandlerFuture {
        Box::pin(async move { Ok(format!("hello {} ({})", data.caller_identity, data.payload)) })
    });
    local.register_rpc_method("refuse", |_| -> RpcHandlerFuture {
        Box::pin(async { Err(RpcError::new(4002, "not today".into(), Some("later".into()))) })
    });
    let answer = official.perform_rpc("rusty", "greet", "hi", None).await.unwrap();
    assert_eq!(answer["response"], "hello py (hi)");
    let answer = official.perform_rpc("rusty", "refuse", "", None).await.unwrap();
    assert_eq!(answer["rpc_error"], json!({"code": 4002, "message": "not today", "data": "later"}));
    let answer = official.perform_rpc("rusty", "unknown", "", None).await.unwrap();
    assert_eq!(answer["rpc_error"]["code"], RpcErrorCode::UnsupportedMethod as u32);
}
