//! Byte and text streams on the official `livekit-data-stream` crate: its outgoing manager
//! turns writes into packets, its incoming manager turns packets into readers. This module
//! owns both managers and the per-topic handlers; the room moves packets and raises events.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use livekit_data_stream::api::{self as official, AnyStreamReader, StreamReader};
use livekit_data_stream::backend::incoming::{self, InputEvent, ManagerInput, OutputEvent, PacketReceived};
use livekit_data_stream::backend::outgoing;
use livekit_data_stream::backend::Packet;
use livekit_protocol as proto;
use livekit_rpc::backend::{RPC_REQUEST_TOPIC, RPC_RESPONSE_TOPIC};
use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedReceiver;

use super::reader::{ByteStreamReader, TextStreamReader};
use super::stream_guard::{Compression, HeaderFacts, StreamGuard, Verdict, MAX_INCOMING_STREAM_BYTES};
use crate::error::{Error, Result};

pub type ByteStreamHandler = Arc<dyn Fn(ByteStreamReader, String) + Send + Sync>;
pub type TextStreamHandler = Arc<dyn Fn(TextStreamReader, String) + Send + Sync>;

/// Batches of packets the outgoing manager wants sent, each acknowledged as a whole.
pub(crate) type OutgoingPackets =
    bmrng::unbounded::UnboundedRequestReceiver<Vec<proto::DataPacket>, Result<(), livekit_data_stream::api::SendError>>;

/// Where an opened stream goes.
pub(crate) enum Route {
    /// A registered handler took it.
    Handled,
    /// An RPC request or response carried as a text stream (RPC v2), as the official reader the
    /// RPC crate reads. Its reads are not counted, so it is held to `MAX_UNREAD_STREAM_BYTES`.
    RpcRequest(official::TextStreamReader, String),
    RpcResponse(official::TextStreamReader),
    /// No handler: raised as a room event, which any receiver may take the reader from.
    Byte(ByteStreamReader, String),
    Text(TextStreamReader, String),
}

pub(crate) struct Streams {
    pub outgoing: outgoing::Manager,
    incoming: ManagerInput,
    /// Our limits in front of the incoming manager (`stream_guard.rs`).
    guard: Mutex<StreamGuard>,
    byte_handlers: Mutex<HashMap<String, ByteStreamHandler>>,
    text_handlers: Mutex<HashMap<String, TextStreamHandler>>,
}

impl Streams {
    /// Starts the incoming manager's task; returns the receivers the room must drain.
    pub fn start() -> (Self, OutgoingPackets, UnboundedReceiver<OutputEvent>) {
        let (outgoing, packets) = outgoing::Manager::new();
        // The manager's cap is on a stream's whole length (decompressed) and on an inline
        // payload: the official limit, which the guard applies too. What memory a stream may
        // take is the guard's unread limits (`stream_guard.rs`).
        let cap = usize::try_from(MAX_INCOMING_STREAM_BYTES).unwrap_or(usize::MAX);
        let (manager, incoming, output) = incoming::Manager::new(Some(cap));
        crate::tasks::spawn(manager.run());
        let streams = Self {
            outgoing,
            incoming,
            guard: Mutex::new(StreamGuard::new()),
            byte_handlers: Mutex::new(HashMap::new()),
            text_handlers: Mutex::new(HashMap::new()),
        };
        (streams, packets, output)
    }

    /// Feeds a stream header, chunk or trailer from `sender` to the incoming manager, if the
    /// guard lets it through; streams the guard ends are aborted in the manager.
    pub fn on_packet(&self, value: proto::data_packet::Value, sender: String) {
        self.on_packet_at(Instant::now(), value, sender)
    }

    /// `on_packet` with the time passed in (the fuzz target and tests drive it).
    pub fn on_packet_at(&self, now: Instant, value: proto::data_packet::Value, sender: String) {
        use proto::data_packet::Value;
        let mut guard = self.guard.lock();
        for expired in guard.expire(now) {
            self.abort_stream(expired.stream_id, expired.sender, "no data for too long".into());
        }
        let (verdict, stream_id) = match &value {
            Value::StreamHeader(h) => {
                use proto::data_stream::CompressionType;
                let facts = HeaderFacts {
                    total_length: h.total_length,
                    inline: h.inline_content.as_deref(),
                    compression: match CompressionType::try_from(h.compression) {
                        Ok(CompressionType::None) => Compression::None,
                        Ok(CompressionType::DeflateRaw) => Compression::Deflate,
                        Err(_) => Compression::Unknown,
                    },
                    content_header: h.content_header.is_some(),
                };
                (guard.on_header(now, &sender, &h.stream_id, facts), &h.stream_id)
            }
            Value::StreamChunk(c) => {
                (guard.on_chunk(now, &sender, &c.stream_id, c.chunk_index, &c.content), &c.stream_id)
            }
            Value::StreamTrailer(t) => (guard.on_trailer(&sender, &t.stream_id), &t.stream_id),
            _ => return,
        };
        match verdict {
            Verdict::Forward => {}
            Verdict::Drop => return,
            Verdict::Abort(reason) => return self.abort_stream(stream_id.clone(), sender, reason),
        }
        // Sent under the guard's lock, so the manager sees packets in the order the guard judged them.
        let none = proto::encryption::Type::None.into();
        let packet = match value {
            Value::StreamHeader(h) => Packet::Header { header: h.into(), encryption_type: none },
            Value::StreamChunk(c) => Packet::Chunk { chunk: c.into(), encryption_type: none },
            Value::StreamTrailer(t) => Packet::Trailer { trailer: t.into(), encryption_type: none },
            _ => return,
        };
        let _ = self.incoming.send(PacketReceived::new(packet, sender.into()).into());
    }

    /// Ends one stream in the manager: a trailer with a reason is how the manager is told, and
    /// its reader then fails with "stream closed abnormally: <reason>".
    fn abort_stream(&self, stream_id: String, sender: String, reason: String) {
        let trailer = proto::data_stream::Trailer { stream_id, reason, attributes: HashMap::new() };
        let packet = Packet::Trailer { trailer: trailer.into(), encryption_type: proto::encryption::Type::None.into() };
        let _ = self.incoming.send(PacketReceived::new(packet, sender.into()).into());
    }

    /// The sender left: its open streams fail with an error instead of hanging.
    pub fn abort_streams_from(&self, identity: &str) {
        self.guard.lock().forget_sender(identity);
        let _ = self.incoming.send(InputEvent::AbortStreamsFrom(identity.to_string().into()));
    }

    /// Streams open in the official manager once it has handled every packet fed before.
    #[cfg(feature = "testing")]
    pub async fn open_in_manager(&self) -> usize {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = self.incoming.send(InputEvent::QueryOpenStreamCount(tx));
        rx.await.unwrap_or(0)
    }

    /// Streams open in our guard.
    #[cfg(feature = "testing")]
    pub fn open_in_guard(&self) -> usize {
        self.guard.lock().open_count()
    }

    /// Bytes of open streams received but not yet read, as the guard counts them.
    #[cfg(feature = "testing")]
    pub fn unread_in_guard(&self) -> u64 {
        self.guard.lock().unread_bytes()
    }

    pub fn abort_all(&self) {
        self.guard.lock().forget_all();
        let _ = self.incoming.send(InputEvent::AbortAllStreams);
    }

    pub fn register_byte_handler(&self, topic: &str, handler: ByteStreamHandler) -> Result<()> {
        register(&self.byte_handlers, "byte", topic, handler)
    }

    pub fn register_text_handler(&self, topic: &str, handler: TextStreamHandler) -> Result<()> {
        register(&self.text_handlers, "text", topic, handler)
    }

    pub fn unregister_byte_handler(&self, topic: &str) {
        self.byte_handlers.lock().remove(topic);
    }

    pub fn unregister_text_handler(&self, topic: &str) {
        self.text_handlers.lock().remove(topic);
    }

    /// Decides where a newly opened stream goes, calling its topic's handler if there is one.
    /// Every reader the manager opens must come here, in order: it takes the meter the guard
    /// keeps for its stream, on which our reader counts what the app reads.
    pub fn route(&self, reader: AnyStreamReader, sender: String) -> Route {
        let id = match &reader {
            AnyStreamReader::Byte(reader) => &reader.info().id,
            AnyStreamReader::Text(reader) => &reader.info().id,
        };
        // None for a stream the guard does not follow (inline: delivered whole at once).
        let meter = self.guard.lock().claim(id).unwrap_or_default();
        match reader {
            AnyStreamReader::Byte(reader) => {
                let reader = ByteStreamReader::new(reader, meter);
                let handler = self.byte_handlers.lock().get(&reader.info().topic).cloned();
                match handler {
                    Some(handler) => {
                        handler(reader, sender);
                        Route::Handled
                    }
                    None => Route::Byte(reader, sender),
                }
            }
            AnyStreamReader::Text(reader) => match reader.info().topic.as_str() {
                RPC_REQUEST_TOPIC => Route::RpcRequest(reader, sender),
                RPC_RESPONSE_TOPIC => Route::RpcResponse(reader),
                topic => {
                    let handler = self.text_handlers.lock().get(topic).cloned();
                    let reader = TextStreamReader::new(reader, meter);
                    match handler {
                        Some(handler) => {
                            handler(reader, sender);
                            Route::Handled
                        }
                        None => Route::Text(reader, sender),
                    }
                }
            },
        }
    }
}

fn register<H>(handlers: &Mutex<HashMap<String, H>>, kind: &str, topic: &str, handler: H) -> Result<()> {
    if topic == RPC_REQUEST_TOPIC || topic == RPC_RESPONSE_TOPIC {
        return Err(Error::InvalidArgument(format!("topic {topic:?} is reserved for RPC")));
    }
    let mut handlers = handlers.lock();
    if handlers.contains_key(topic) {
        return Err(Error::InvalidArgument(format!(
            "a {kind} stream handler for topic {topic:?} is already registered; unregister it first"
        )));
    }
    handlers.insert(topic.to_string(), handler);
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Chunking and reassembly through our glue, with no network: what the outgoing manager
    //! emits is fed straight back into the incoming side.

    use std::sync::atomic::{AtomicU64, Ordering};

    use futures_util::StreamExt;
    use livekit_common::{ClientCapability, ParticipantIdentity, RemoteParticipantRegistry};
    use livekit_data_stream::api::{SendByteOptions, SendTextOptions, StreamByteOptions, StreamReader, StreamWriter};
    use sha2::{Digest, Sha256};
    use tokio::sync::{mpsc, watch};

    use super::*;
    use crate::data::stream_guard::MAX_UNREAD_STREAM_BYTES;
    use livekit_test_harness::warning_log as test_log;

    /// One receiver that supports everything, so compression is used where the sender wants it.
    struct OneReceiver;

    impl RemoteParticipantRegistry for OneReceiver {
        fn remote_client_protocol(&self, _: &ParticipantIdentity) -> i32 {
            livekit_common::CLIENT_PROTOCOL_DATA_STREAM_V2
        }
        fn remote_capabilities(&self, _: &ParticipantIdentity) -> Vec<ClientCapability> {
            vec![ClientCapability::CompressionDeflateRaw]
        }
        fn remote_identities(&self) -> Vec<ParticipantIdentity> {
            vec![ParticipantIdentity("bob".into())]
        }
    }

    /// Loops every packet the sender emits back into `streams`, and returns the packets' sizes.
    fn loop_back(streams: Arc<Streams>, packets: OutgoingPackets) -> mpsc::UnboundedReceiver<usize> {
        loop_back_from(streams, packets, "alice")
    }

    /// `loop_back`, the packets coming from `sender`.
    fn loop_back_from(
        streams: Arc<Streams>,
        mut packets: OutgoingPackets,
        sender: &'static str,
    ) -> mpsc::UnboundedReceiver<usize> {
        let (sizes_tx, sizes) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((batch, responder)) = packets.recv().await {
                for packet in batch {
                    let _ = sizes_tx.send(prost::Message::encoded_len(&packet));
                    streams.on_packet(packet.value.expect("a stream packet"), sender.into());
                }
                let _ = responder.respond(Ok(()));
            }
        });
        sizes
    }

    /// The most bytes the paced loop back lets wait unread before it hands on the next packet.
    const WINDOW: u64 = 8 * 1024 * 1024;
    /// A paced read of 100 MiB takes a few seconds in a debug build.
    const PACED_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

    /// What the paced loop back saw: bytes on the wire, and the most bytes unread at a packet.
    #[derive(Default)]
    struct Paced {
        wire: AtomicU64,
        most_unread: AtomicU64,
    }

    /// Streams whose packets come back through `paced_loop_back`; the reader reports each read
    /// on the returned sender.
    fn paced_streams() -> (Arc<Streams>, UnboundedReceiver<OutputEvent>, watch::Sender<u64>, Arc<Paced>) {
        let (streams, packets, output) = Streams::start();
        let streams = Arc::new(streams);
        let (read_tx, read_rx) = watch::channel(0);
        let paced = paced_loop_back(streams.clone(), packets, read_rx);
        (streams, output, read_tx, paced)
    }

    /// `loop_back`, but as a network that takes the sender's packets only as fast as the
    /// receiver reads them: a packet is handed on while the guard counts at most `WINDOW` bytes
    /// unread, else once the reader has read more (`read` changes at each read).
    fn paced_loop_back(
        streams: Arc<Streams>,
        mut packets: OutgoingPackets,
        mut read: watch::Receiver<u64>,
    ) -> Arc<Paced> {
        let paced = Arc::new(Paced::default());
        let seen = paced.clone();
        tokio::spawn(async move {
            while let Ok((batch, responder)) = packets.recv().await {
                for packet in batch {
                    loop {
                        let unread = streams.guard.lock().unread_bytes();
                        seen.most_unread.fetch_max(unread, Ordering::Relaxed);
                        if unread <= WINDOW || read.changed().await.is_err() {
                            break;
                        }
                    }
                    seen.wire.fetch_add(prost::Message::encoded_len(&packet) as u64, Ordering::Relaxed);
                    streams.on_packet(packet.value.expect("a stream packet"), "alice".into());
                }
                let _ = responder.respond(Ok(()));
            }
        });
        paced
    }

    /// Reads a byte stream to its end as it arrives, telling `read` the bytes read so far;
    /// returns the bytes read, their hash, and the error that ended the stream, if any.
    async fn read_as_it_arrives(
        mut reader: ByteStreamReader,
        read: watch::Sender<u64>,
    ) -> (u64, Vec<u8>, Option<String>) {
        let mut hash = Sha256::new();
        let mut bytes = 0u64;
        while let Some(chunk) = reader.next().await {
            match chunk {
                Ok(chunk) => {
                    bytes += chunk.len() as u64;
                    hash.update(&chunk);
                    read.send_replace(bytes);
                }
                Err(err) => return (bytes, hash.finalize().to_vec(), Some(err.to_string())),
            }
        }
        (bytes, hash.finalize().to_vec(), None)
    }

    /// 1 MiB of pseudo-random bytes, different for each `seed`.
    fn random_mib(seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..128 * 1024)
            .flat_map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()
            })
            .collect()
    }

    /// Writes `mib` MiB of `random_mib` blocks on a new byte stream (never compressed), then
    /// closes it; returns the hash of what was written.
    async fn write_random(streams: Arc<Streams>, mib: u64) -> Vec<u8> {
        let writer = streams.outgoing.stream_bytes(StreamByteOptions::new_with_topic("files")).await.unwrap();
        let mut hash = Sha256::new();
        for i in 0..mib {
            let block = random_mib(i);
            hash.update(&block);
            writer.write(&block).await.unwrap();
        }
        writer.close().await.unwrap();
        hash.finalize().to_vec()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_read_as_it_arrives_passes_far_beyond_the_unread_limit() {
        let (streams, mut output, read_tx, paced) = paced_streams();
        let mib = MAX_UNREAD_STREAM_BYTES / (1024 * 1024) + 36; // 100 MiB
        let sent = tokio::spawn(write_random(streams.clone(), mib));

        let Route::Byte(reader, _) = next_opened(&mut output, &streams).await else { panic!("not a byte stream") };
        // The pacing waits on reads the guard sees: were they not counted, this would stall.
        let read = tokio::time::timeout(PACED_READ_TIMEOUT, read_as_it_arrives(reader, read_tx));
        let (bytes, hash, error) = read.await.expect("the reads are counted, so the sender goes on");
        assert_eq!((bytes, error), (mib * 1024 * 1024, None));
        assert_eq!(hash, sent.await.unwrap(), "the bytes arrive intact");
        let most = paced.most_unread.load(Ordering::Relaxed);
        assert!(most <= WINDOW + 15_000, "at most one packet past the window waited unread: {most}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_compressed_stream_is_held_to_what_it_inflates_to() {
        let (streams, mut output, read_tx, paced) = paced_streams();
        // 80 MiB that compress well: the unread limit counts the inflated bytes, not the wire's.
        let data: Vec<u8> = (0..80 * 1024 * 1024u32).map(|i| (i % 251) as u8 ^ (i >> 20) as u8).collect();
        let expected = Sha256::digest(&data).to_vec();
        let sender = streams.clone();
        let sent = tokio::spawn(async move {
            let options = SendByteOptions::new_with_topic("files").with_name("logs.bin");
            sender.outgoing.send_bytes(&data, options, &OneReceiver).await.map(|_| ())
        });

        let Route::Byte(reader, _) = next_opened(&mut output, &streams).await else { panic!("not a byte stream") };
        // The pacing waits on reads the guard sees: were they not counted, this would stall.
        let read = tokio::time::timeout(PACED_READ_TIMEOUT, read_as_it_arrives(reader, read_tx));
        let (bytes, hash, error) = read.await.expect("the reads are counted, so the sender goes on");
        assert_eq!((bytes, error), (80 * 1024 * 1024, None));
        assert_eq!(hash, expected);
        sent.await.unwrap().unwrap();
        let wire = paced.wire.load(Ordering::Relaxed);
        assert!(wire < bytes / 10, "sent compressed: {wire} bytes on the wire");
        let most = paced.most_unread.load(Ordering::Relaxed);
        assert!(most <= 2 * WINDOW, "the window held, counted inflated: {most}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_nobody_reads_is_aborted_at_the_unread_limit_naming_the_sender() {
        test_log::start();
        let (streams, packets, mut output) = Streams::start();
        let streams = Arc::new(streams);
        let _sizes = loop_back_from(streams.clone(), packets, "mallory-unread");
        let mib = MAX_UNREAD_STREAM_BYTES / (1024 * 1024) + 2;
        let sent = tokio::spawn(write_random(streams.clone(), mib));
        let Route::Byte(reader, sender) = next_opened(&mut output, &streams).await else { panic!("not a byte stream") };
        assert_eq!(sender, "mallory-unread");
        // Nothing is read until the sender is done: all of it arrives while the reader waits.
        let expected = sent.await.unwrap();
        let (bytes, hash, error) = read_as_it_arrives(reader, watch::channel(0).0).await;
        assert_ne!(hash, expected);
        assert!(bytes <= MAX_UNREAD_STREAM_BYTES && bytes > MAX_UNREAD_STREAM_BYTES - 15_000, "{bytes} bytes held");
        let error = error.expect("the stream fails");
        assert!(error.contains("stream closed abnormally") && error.contains("not yet read"), "{error}");
        let lines = test_log::lines_with("aborting stream");
        let line = lines.iter().find(|line| line.contains("from mallory-unread")).expect("a warning names the sender");
        assert!(line.contains("not yet read"), "{line}");
        assert_eq!(streams.guard.lock().open_count(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_all_holds_the_stream_so_it_is_held_to_the_unread_limit() {
        let (streams, packets, mut output) = Streams::start();
        let streams = Arc::new(streams);
        let _sizes = loop_back(streams.clone(), packets);
        let sent = tokio::spawn(write_random(streams.clone(), MAX_UNREAD_STREAM_BYTES / (1024 * 1024) + 2));
        let Route::Byte(reader, _) = next_opened(&mut output, &streams).await else { panic!("not a byte stream") };
        let error = reader.read_all().await.expect_err("read_all gathers more than the limit");
        assert!(error.to_string().contains("not yet read"), "{error}");
        sent.await.unwrap();
    }

    async fn next_opened(output: &mut UnboundedReceiver<OutputEvent>, streams: &Streams) -> Route {
        loop {
            if let Some(OutputEvent::StreamOpened(opened)) = output.recv().await {
                return streams.route(opened.stream_reader, opened.participant_identity.0);
            }
        }
    }

    #[tokio::test]
    async fn text_is_chunked_on_utf8_boundaries_and_reassembled() {
        let (streams, packets, mut output) = Streams::start();
        let streams = Arc::new(streams);
        let mut sizes = loop_back(streams.clone(), packets);
        let text: String = "aé中🙂".repeat(20_000); // 200 KB whose characters take 1 to 4 bytes
        let options = SendTextOptions::new_with_topic("chat").with_compress(false);
        streams.outgoing.send_text(&text, options, &OneReceiver).await.unwrap();

        let Route::Text(reader, sender) = next_opened(&mut output, &streams).await else { panic!("not a text stream") };
        assert_eq!(sender, "alice");
        assert_eq!(reader.read_all().await.unwrap(), text);
        let mut packet_count = 0;
        while let Ok(size) = sizes.try_recv() {
            assert!(size <= 16 * 1024, "a packet of {size} bytes exceeds the data channel's practical limit");
            packet_count += 1;
        }
        assert!(packet_count > 13, "200 KB must travel in chunks of at most 15,000 bytes ({packet_count} packets)");
    }

    #[tokio::test]
    async fn compressed_bytes_are_reassembled_exactly() {
        let (streams, packets, mut output) = Streams::start();
        let streams = Arc::new(streams);
        let mut sizes = loop_back(streams.clone(), packets);
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let options = SendByteOptions::new_with_topic("files").with_name("d.bin");
        streams.outgoing.send_bytes(&data, options, &OneReceiver).await.unwrap();

        let Route::Byte(reader, _) = next_opened(&mut output, &streams).await else { panic!("not a byte stream") };
        assert_eq!(reader.info().name, "d.bin");
        assert_eq!(reader.read_all().await.unwrap().as_ref(), data.as_slice());
        let mut on_the_wire = 0;
        while let Ok(size) = sizes.try_recv() {
            on_the_wire += size;
        }
        assert!(on_the_wire < data.len() / 10, "compressible data is sent compressed ({on_the_wire} bytes)");
    }

    #[tokio::test]
    async fn a_topic_with_a_handler_is_handled_and_rpc_topics_go_to_rpc() {
        let (streams, packets, mut output) = Streams::start();
        let streams = Arc::new(streams);
        let _sizes = loop_back(streams.clone(), packets);
        let (tx, mut handled) = mpsc::unbounded_channel();
        streams
            .register_text_handler(
                "chat",
                Arc::new(move |reader: TextStreamReader, sender| {
                    let _ = tx.send((reader.info().topic.clone(), sender));
                }),
            )
            .unwrap();
        streams.outgoing.send_text("hi", SendTextOptions::new_with_topic("chat"), &OneReceiver).await.unwrap();
        assert!(matches!(next_opened(&mut output, &streams).await, Route::Handled));
        assert_eq!(handled.recv().await.unwrap(), ("chat".to_string(), "alice".to_string()));

        let options = SendTextOptions::new_with_topic(RPC_REQUEST_TOPIC);
        streams.outgoing.send_text("{}", options, &OneReceiver).await.unwrap();
        assert!(matches!(next_opened(&mut output, &streams).await, Route::RpcRequest(_, _)));
    }
}
