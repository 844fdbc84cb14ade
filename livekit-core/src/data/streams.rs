//! Byte and text streams on the official `livekit-data-stream` crate: its outgoing manager
//! turns writes into packets, its incoming manager turns packets into readers. This module
//! owns both managers and the per-topic handlers; the room moves packets and raises events.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use livekit_data_stream::api::{AnyStreamReader, ByteStreamReader, StreamReader, TextStreamReader};
use livekit_data_stream::backend::incoming::{self, InputEvent, ManagerInput, OutputEvent, PacketReceived};
use livekit_data_stream::backend::outgoing;
use livekit_data_stream::backend::Packet;
use livekit_protocol as proto;
use livekit_rpc::backend::{RPC_REQUEST_TOPIC, RPC_RESPONSE_TOPIC};
use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedReceiver;

use super::stream_guard::{HeaderFacts, StreamGuard, Verdict, MAX_INCOMING_STREAM_BYTES};
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
    /// An RPC request or response carried as a text stream (RPC v2).
    RpcRequest(TextStreamReader, String),
    RpcResponse(TextStreamReader),
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
        // The manager's own cap applies to decompressed bytes, which the guard cannot see.
        let (manager, incoming, output) = incoming::Manager::new(Some(MAX_INCOMING_STREAM_BYTES as usize));
        tokio::spawn(manager.run());
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
                let facts = HeaderFacts {
                    total_length: h.total_length,
                    inline: h.inline_content.is_some(),
                    compressed: h.compression != proto::data_stream::CompressionType::None as i32,
                };
                (guard.on_header(now, &sender, &h.stream_id, facts), &h.stream_id)
            }
            Value::StreamChunk(c) => {
                (guard.on_chunk(now, &sender, &c.stream_id, c.chunk_index, c.content.len()), &c.stream_id)
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
    pub fn route(&self, reader: AnyStreamReader, sender: String) -> Route {
        match reader {
            AnyStreamReader::Byte(reader) => {
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

    use livekit_common::{ClientCapability, ParticipantIdentity, RemoteParticipantRegistry};
    use livekit_data_stream::api::{SendByteOptions, SendTextOptions, StreamReader};
    use tokio::sync::mpsc;

    use super::*;

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
    fn loop_back(streams: Arc<Streams>, mut packets: OutgoingPackets) -> mpsc::UnboundedReceiver<usize> {
        let (sizes_tx, sizes) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((batch, responder)) = packets.recv().await {
                for packet in batch {
                    let _ = sizes_tx.send(prost::Message::encoded_len(&packet));
                    streams.on_packet(packet.value.expect("a stream packet"), "alice".into());
                }
                let _ = responder.respond(Ok(()));
            }
        });
        sizes
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
