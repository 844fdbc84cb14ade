//! Streams longer than one stream may hold unread (`MAX_UNREAD_STREAM_BYTES`, 64 MiB), between
//! two of ours through a real livekit-server: what a receiver reads as it arrives may be as long
//! as the official SDKs allow; what nobody reads is ended at the limit, with a warning that
//! names the sender (docs/security.md).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use livekit_core::data::stream_guard::MAX_UNREAD_STREAM_BYTES;
use livekit_core::data::{ByteStreamReader, SendByteOptions, StreamByteOptions, StreamReader, StreamWriter};
use livekit_core::{DataOptions, RoomEvent};
use livekit_test_harness::warning_log;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// How long a transfer of about 80 MiB may take (a few seconds in a debug build).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(90);

/// `len` pseudo-random bytes (xorshift), different for each seed.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Reads a stream to its end chunk by chunk; returns the bytes read and the error that ended
/// the stream, if any.
async fn read_to_end(mut reader: ByteStreamReader) -> (u64, Option<String>) {
    let mut bytes = 0u64;
    while let Some(chunk) = reader.next().await {
        match chunk {
            Ok(chunk) => bytes += chunk.len() as u64,
            Err(err) => return (bytes, Some(err.to_string())),
        }
    }
    (bytes, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_larger_than_the_unread_limit_arrives_intact_when_written_as_it_arrives() {
    warning_log::start();
    let server = start_server();
    let (alice, _alice_events) = join(&server, "large-read", "alice").await;
    let (bob, _bob_events) = join(&server, "large-read", "bob").await;
    let dir = std::env::temp_dir().join(format!("lk-large-{}", std::process::id()));
    let downloads = dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();

    // Bob's app writes each file to disk as it arrives (`write_to_file` reads chunk by chunk).
    let (tx, mut rx) = mpsc::unbounded_channel();
    let target = downloads.clone();
    bob.register_byte_stream_handler("files", move |reader, sender| {
        let (tx, target) = (tx.clone(), target.clone());
        tokio::spawn(async move {
            let total_length = reader.info().total_length;
            let written = reader.write_to_file(Some(&target), None).await.map_err(|e| e.to_string());
            let _ = tx.send((sender, total_length, written));
        });
    })
    .unwrap();

    // 80 MiB, more than the 64 MiB one stream may hold unread, of random hexadecimal text: it is
    // sent compressed (bob supports it), about 2:1, so the limit counts inflated bytes. Each
    // MiB starts with its number, so blocks out of order would not pass the hash.
    let mib = 1024 * 1024;
    let len = MAX_UNREAD_STREAM_BYTES as usize + 16 * mib;
    let digits = b"0123456789abcdef";
    let hex: Vec<u8> = random_bytes(mib / 2, 80)
        .iter()
        .flat_map(|b| [digits[usize::from(b >> 4)], digits[usize::from(b & 15)]])
        .collect();
    let path = dir.join("big.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut hash = Sha256::new();
    for block in 0..len / mib {
        let mut data = hex.clone();
        data[..8].copy_from_slice(format!("{block:08}").as_bytes());
        hash.update(&data);
        std::io::Write::write_all(&mut file, &data).unwrap();
    }
    std::io::Write::flush(&mut file).unwrap();
    drop(file);
    let expected = hash.finalize().to_vec();

    let started = Instant::now();
    alice.local_participant().send_file(&path, SendByteOptions::new_with_topic("files")).await.expect("alice sends");
    let (sender, total_length, written) = tokio::time::timeout(TRANSFER_TIMEOUT, rx.recv())
        .await
        .expect("bob has the file within the timeout")
        .expect("bob's handler lives");
    eprintln!("{} MiB sent and written in {:?}", len / mib, started.elapsed());
    assert_eq!((sender.as_str(), total_length), ("alice", Some(len as u64)));
    let written = written.expect("written whole, not aborted");
    assert_eq!(written, downloads.join("big.txt"));
    let received = std::fs::read(&written).unwrap();
    assert_eq!(received.len(), len);
    assert_eq!(Sha256::digest(&received).to_vec(), expected, "the bytes arrive intact");
    std::fs::remove_dir_all(&dir).ok();
    // (The warnings are the whole test binary's: the other test's name mallory.)
    let about_alice = warning_log::lines_with("from alice");
    assert!(about_alice.is_empty(), "{about_alice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_nobody_reads_is_aborted_at_the_unread_limit_with_a_warning_naming_the_sender() {
    warning_log::start();
    let server = start_server();
    let (mallory, _mallory_events) = join(&server, "large-unread", "mallory").await;
    let (bob, mut bob_events) = join(&server, "large-unread", "bob").await;
    // Bob's app takes the reader and does not read it (yet).
    let held: Arc<Mutex<Vec<ByteStreamReader>>> = Arc::default();
    let keep = held.clone();
    bob.register_byte_stream_handler("hoard", move |reader, _sender| keep.lock().unwrap().push(reader)).unwrap();

    // Two MiB more than the limit, incrementally (never compressed), then a marker on the same
    // reliable channel: once bob has it, his guard has judged every packet of the stream.
    let writer = mallory.local_participant().stream_bytes(StreamByteOptions::new_with_topic("hoard")).await.unwrap();
    let stream_id = writer.info().id.clone();
    let mib = random_bytes(1024 * 1024, 7);
    for _ in 0..MAX_UNREAD_STREAM_BYTES / (1024 * 1024) + 2 {
        writer.write(&mib).await.unwrap();
    }
    writer.close().await.unwrap();
    let marker = DataOptions::reliable().with_topic("marker");
    mallory.local_participant().publish_data(b"done".to_vec(), marker).await.unwrap();
    wait_for_within(&mut bob_events, TRANSFER_TIMEOUT, "mallory's marker", |e| match e {
        RoomEvent::DataReceived { topic: Some(topic), .. } if topic == "marker" => Some(()),
        _ => None,
    })
    .await;

    // What bob's reader held: up to the limit, then the reason it was ended.
    let reader = held.lock().unwrap().pop().expect("bob's app took the reader");
    let (bytes, error) = read_to_end(reader).await;
    assert!(bytes <= MAX_UNREAD_STREAM_BYTES && bytes > MAX_UNREAD_STREAM_BYTES - 15_000, "{bytes} bytes held");
    let error = error.expect("the stream was ended");
    assert!(error.contains("not yet read"), "{error}");
    let lines = warning_log::lines_with(&format!("aborting stream {stream_id} from mallory"));
    let line = lines.first().unwrap_or_else(|| panic!("no warning names mallory: {lines:?}"));
    assert!(line.contains("not yet read"), "{line}");
}
