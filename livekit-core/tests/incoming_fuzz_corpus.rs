//! Replays the `incoming_data` fuzz corpus (`fuzz/regressions/incoming_data/`)
//! through the same driver and checks as the fuzz target (`livekit_core::data::fuzzing`), so
//! a finding stays fixed without nightly or a sanitizer build. The corpus starts with the
//! hostile-peer attacks written as fuzz inputs: `UPDATE_GENERATED=1` rewrites those seeds.

use std::path::{Path, PathBuf};

use livekit_core::data::fuzzing::run_input;
use livekit_core::data::stream_guard::MAX_UNREAD_STREAM_BYTES;
use livekit_protocol as proto;
use prost::Message;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/incoming_data")
}

/// One input record: `sender` 0 to 3, `seconds` passed first (0 to 31), the packet.
fn record(input: &mut Vec<u8>, sender: u8, seconds: u8, value: proto::data_packet::Value) {
    let bytes = proto::DataPacket { value: Some(value), ..Default::default() }.encode_to_vec();
    input.push(sender | (seconds << 2));
    input.extend_from_slice(&u16::try_from(bytes.len()).expect("a small packet").to_le_bytes());
    input.extend_from_slice(&bytes);
}

fn header(id: &str, total_length: Option<u64>) -> proto::data_packet::Value {
    proto::data_packet::Value::StreamHeader(proto::data_stream::Header {
        stream_id: id.into(),
        topic: "files".into(),
        total_length,
        content_header: Some(proto::data_stream::header::ContentHeader::ByteHeader(proto::data_stream::ByteHeader {
            name: id.into(),
        })),
        ..Default::default()
    })
}

fn chunk(id: &str, chunk_index: u64, len: usize) -> proto::data_packet::Value {
    let chunk =
        proto::data_stream::Chunk { stream_id: id.into(), chunk_index, content: vec![7; len], ..Default::default() };
    proto::data_packet::Value::StreamChunk(chunk)
}

/// The hostile-peer attacks (tests/hostile_peer.rs) as fuzz inputs, by name.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut terabyte = Vec::new();
    record(&mut terabyte, 2, 0, header("tera", Some(1 << 40)));
    record(&mut terabyte, 2, 0, chunk("tera", 0, 1000));

    let mut gap_and_foreign = Vec::new();
    record(&mut gap_and_foreign, 1, 0, header("s", None));
    record(&mut gap_and_foreign, 2, 0, chunk("s", 0, 10)); // eve writes into bob's stream
    record(&mut gap_and_foreign, 1, 0, chunk("s", 0, 10));
    record(&mut gap_and_foreign, 1, 0, chunk("s", 0, 10));
    record(&mut gap_and_foreign, 1, 0, chunk("s", u64::MAX, 10));

    let mut never_closed = Vec::new();
    for i in 0..400u16 {
        let sender = u8::try_from(i % 3).expect("0 to 2");
        record(&mut never_closed, sender, 0, header(&format!("open-{i}"), None));
    }
    record(&mut never_closed, 0, 31, header("later", None)); // 31 s on: the others expire

    let mut rpc_flood = Vec::new();
    for i in 0..100 {
        let request = proto::RpcRequest { id: format!("r{i}"), method: "m".into(), version: 1, ..Default::default() };
        record(&mut rpc_flood, 2, 0, proto::data_packet::Value::RpcRequest(request));
    }
    rpc_flood.extend_from_slice(&[0x82, 0, 0]); // eve leaves

    vec![
        ("seed-terabyte-header", terabyte),
        ("seed-gap-and-foreign-chunks", gap_and_foreign),
        ("seed-400-never-closed", never_closed),
        ("seed-rpc-flood", rpc_flood),
    ]
}

/// More than one stream may hold unread (nothing reads it here): run here, not checked in
/// (67 MB, and the fuzzer reads inputs of a few KB).
fn past_the_stream_limit() -> Vec<u8> {
    let mut input = Vec::new();
    record(&mut input, 2, 0, header("big", None));
    for i in 0..MAX_UNREAD_STREAM_BYTES / 60_000 + 2 {
        record(&mut input, 2, 0, chunk("big", i, 60_000));
    }
    input
}

#[tokio::test]
async fn the_incoming_data_corpus_passes_the_fuzz_checks() {
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(corpus_dir()).expect("the corpus directory");
        for (name, input) in seeds() {
            std::fs::write(corpus_dir().join(name), input).expect("a seed written");
        }
    }
    for (_, input) in seeds() {
        run_input(&input).await;
    }
    run_input(&past_the_stream_limit()).await;
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus is checked in")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    inputs.sort();
    assert!(inputs.len() >= seeds().len(), "the seeds are checked in (UPDATE_GENERATED=1 writes them)");
    for path in inputs {
        run_input(&std::fs::read(&path).expect("a corpus input")).await;
    }
}
