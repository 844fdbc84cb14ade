//! Byte and text streams between our own clients, through a real livekit-server.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use livekit_core::data::{
    ByteStreamReader, SendByteOptions, SendTextOptions, StreamByteOptions, StreamProgressCallback, StreamReader,
    StreamWriter, TextStreamReader,
};
use livekit_core::RoomEvent;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// What a handler saw of one stream, sent to the test over a channel.
#[derive(Debug)]
struct Got<T> {
    sender: String,
    name: String,
    mime_type: String,
    total_length: Option<u64>,
    content: Result<T, String>,
}

fn byte_handler(tx: mpsc::UnboundedSender<Got<Vec<u8>>>) -> impl Fn(ByteStreamReader, String) + Send + Sync {
    move |reader, sender| {
        let tx = tx.clone();
        tokio::spawn(async move {
            let info = reader.info().clone();
            let content = reader.read_all().await.map(|b| b.to_vec()).map_err(|e| e.to_string());
            let _ = tx.send(Got {
                sender,
                name: info.name,
                mime_type: info.mime_type,
                total_length: info.total_length,
                content,
            });
        });
    }
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(EVENT_TIMEOUT * 6, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} in time"))
        .unwrap_or_else(|| panic!("channel closed before {what}"))
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_arrives_complete_with_its_info_and_progress() {
    let server = start_server();
    let (alice, _a) = join(&server, "st1", "alice").await;
    let (bob, _b) = join(&server, "st1", "bob").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    bob.register_byte_stream_handler("files", byte_handler(tx)).unwrap();

    let data = random_bytes(5 * 1024 * 1024 + 123, 7);
    let dir = std::env::temp_dir().join(format!("lk-st1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.pdf");
    std::fs::write(&path, &data).unwrap();

    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    let mut options = SendByteOptions::new_with_topic("files");
    options.on_progress = Some(StreamProgressCallback::new(move |p| {
        seen.lock().unwrap().push(p.percentage().unwrap_or(0.0));
    }));
    let info = alice.local_participant().send_file(&path, options).await.unwrap();
    assert_eq!(info.name, "report.pdf");
    assert_eq!(info.mime_type, "application/pdf", "guessed from the extension");

    let got = recv(&mut rx, "the file").await;
    let content = got.content.expect("complete file");
    assert_eq!(Sha256::digest(&content), Sha256::digest(&data));
    assert_eq!((got.sender.as_str(), got.name.as_str()), ("alice", "report.pdf"));
    assert_eq!(got.mime_type, "application/pdf");
    assert_eq!(got.total_length, Some(data.len() as u64));

    let progress = progress.lock().unwrap().clone();
    assert!(progress.len() > 2, "progress reported while sending: {progress:?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "progress only grows");
    assert!((progress.last().unwrap() - 1.0).abs() < 1e-6, "ends at 1.0: {progress:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_multibyte_text_arrives_intact() {
    let server = start_server();
    let (alice, _a) = join(&server, "st2", "alice").await;
    let (bob, _b) = join(&server, "st2", "bob").await;
    let (tx, mut rx) = mpsc::unbounded_channel::<Result<String, String>>();
    bob.register_text_stream_handler("chat", move |reader: TextStreamReader, _sender| {
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(reader.read_all().await.map_err(|e| e.to_string()));
        });
    })
    .unwrap();

    // 1 MB of text whose characters take 1 to 4 bytes, so chunks must split on boundaries.
    let text: String = "aé中🙂".chars().cycle().take(1024 * 1024 / 10 * 4).collect();
    alice.local_participant().send_text(&text, SendTextOptions::new_with_topic("chat")).await.unwrap();
    assert_eq!(recv(&mut rx, "the text").await.unwrap(), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_without_a_handler_is_an_event_whose_reader_one_receiver_takes() {
    let server = start_server();
    let (alice, _a) = join(&server, "st3", "alice").await;
    let (_bob, mut bob_events) = join(&server, "st3", "bob").await;

    let writer = alice
        .local_participant()
        .stream_bytes(StreamByteOptions::new_with_topic("raw").with_name("parts.bin"))
        .await
        .unwrap();
    for part in [b"one ".as_slice(), b"two ", b"three"] {
        writer.write(part).await.unwrap();
    }
    writer.close().await.unwrap();

    let (topic, reader, sender) = wait_for(&mut bob_events, "ByteStreamOpened", |e| match e {
        RoomEvent::ByteStreamOpened { topic, reader, participant_identity } => {
            Some((topic.clone(), reader.clone(), participant_identity.clone()))
        }
        _ => None,
    })
    .await;
    assert_eq!((topic.as_str(), sender.as_str()), ("raw", "alice"));
    let reader = reader.take().expect("the first receiver gets the reader");
    let dir = std::env::temp_dir().join(format!("lk-st3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = reader.write_to_file(Some(&dir), None).await.unwrap();
    assert_eq!(path, dir.join("parts.bin"));
    assert_eq!(std::fs::read(&path).unwrap(), b"one two three");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_stream_fails_the_reader_with_the_reason() {
    let server = start_server();
    let (alice, _a) = join(&server, "st4", "alice").await;
    let (bob, _b) = join(&server, "st4", "bob").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    bob.register_byte_stream_handler("up", byte_handler(tx)).unwrap();

    let writer = alice.local_participant().stream_bytes(StreamByteOptions::new_with_topic("up")).await.unwrap();
    writer.write(b"partial").await.unwrap();
    writer.close_with_reason("user cancelled").await.unwrap();
    let err = recv(&mut rx, "the aborted stream").await.content.unwrap_err();
    assert!(err.contains("user cancelled"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_leaving_mid_stream_fails_the_reader() {
    let server = start_server();
    let (alice, _a) = join(&server, "st5", "alice").await;
    let (bob, _b) = join(&server, "st5", "bob").await;
    assert!(bob.remote_participants().contains_key("alice"), "bob knows alice from his join");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (opened_tx, mut opened) = mpsc::unbounded_channel();
    let read = byte_handler(tx);
    bob.register_byte_stream_handler("up", move |reader, sender| {
        let _ = opened_tx.send(());
        read(reader, sender);
    })
    .unwrap();
    let writer = alice.local_participant().stream_bytes(StreamByteOptions::new_with_topic("up")).await.unwrap();
    writer.write(b"half of it").await.unwrap();
    recv(&mut opened, "the stream opening at bob").await; // "mid-stream": bob is reading it
    alice.disconnect().await.unwrap();
    let got = recv(&mut rx, "the broken stream").await;
    assert!(got.content.is_err(), "a reader must fail, not end cleanly: {got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_registration_rules() {
    let server = start_server();
    let (room, _events) = join(&server, "st6", "alice").await;
    room.register_text_stream_handler("t", |_, _| {}).unwrap();
    assert!(room.register_text_stream_handler("t", |_, _| {}).is_err(), "one handler per topic");
    room.unregister_text_stream_handler("t");
    room.register_text_stream_handler("t", |_, _| {}).unwrap();
    assert!(room.register_text_stream_handler("lk.rpc_request", |_, _| {}).is_err(), "RPC topics are reserved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_stream_name_cannot_escape_the_download_directory() {
    let server = start_server();
    let (alice, _a) = join(&server, "st7", "alice").await;
    let (bob, _b) = join(&server, "st7", "bob").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let dir = std::env::temp_dir().join(format!("lk-st7-{}", std::process::id())).join("downloads");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.clone();
    bob.register_byte_stream_handler("files", move |reader: ByteStreamReader, _| {
        let (tx, target) = (tx.clone(), target.clone());
        tokio::spawn(async move {
            let _ = tx.send(reader.write_to_file(Some(&target), None).await.map_err(|e| e.to_string()));
        });
    })
    .unwrap();
    let options = SendByteOptions::new_with_topic("files").with_name("../escaped.txt");
    alice.local_participant().send_bytes(b"payload", options).await.unwrap();
    let err = recv(&mut rx, "the write result").await.unwrap_err();
    assert!(err.contains("file name"), "{err}");
    assert!(!dir.parent().unwrap().join("escaped.txt").exists(), "nothing was written outside the directory");
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
}
