//! Byte and text streams for the room: the public send and handler API, and the two tasks that
//! move stream packets out (with the channel's backpressure) and opened streams in.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Weak};

use livekit_data_stream::backend::incoming::{OutputEvent, StreamOpened};
use livekit_protocol as proto;
use tokio::sync::mpsc::UnboundedReceiver;

use super::events::RoomEvent;
use super::local_participant::LocalParticipant;
use super::rpc::{PendingRpc, RoomTransport};
use super::{Room, RoomInner};
use crate::data::streams::{OutgoingPackets, Route};
use crate::data::{
    ByteStreamInfo, ByteStreamReader, ByteStreamWriter, SendByteOptions, SendTextOptions, StreamByteOptions,
    StreamError, StreamTextOptions, TakeCell, TextStreamInfo, TextStreamReader, TextStreamWriter,
};
use crate::engine::DataPacketKind;
use crate::error::{Error, Result};

impl LocalParticipant {
    fn transport(&self) -> Result<RoomTransport> {
        let room = self.room.upgrade().ok_or(Error::Disconnected)?;
        room.ensure_connected()?;
        Ok(RoomTransport(room))
    }

    /// Sends a whole text as one stream (compressed when every receiver supports it).
    pub async fn send_text(&self, text: &str, options: SendTextOptions) -> Result<TextStreamInfo> {
        let transport = self.transport()?;
        Ok(transport.0.streams.outgoing.send_text(text, options, &transport).await?)
    }

    /// Opens a text stream to write incrementally; chunks split on UTF-8 boundaries.
    pub async fn stream_text(&self, options: StreamTextOptions) -> Result<TextStreamWriter> {
        Ok(self.transport()?.0.streams.outgoing.stream_text(options).await?)
    }

    /// Sends bytes already in memory as one stream.
    pub async fn send_bytes(&self, data: impl AsRef<[u8]>, options: SendByteOptions) -> Result<ByteStreamInfo> {
        let transport = self.transport()?;
        Ok(transport.0.streams.outgoing.send_bytes(data, options, &transport).await?)
    }

    /// Opens a byte stream to write incrementally.
    pub async fn stream_bytes(&self, options: StreamByteOptions) -> Result<ByteStreamWriter> {
        Ok(self.transport()?.0.streams.outgoing.stream_bytes(options).await?)
    }

    /// Sends a file as a byte stream without loading it whole: the name defaults to the file
    /// name, the MIME type to one guessed from its extension, and `options.on_progress` hears
    /// the progress. The writer waits on the data channel, so memory stays bounded.
    pub async fn send_file(&self, path: impl AsRef<Path>, mut options: SendByteOptions) -> Result<ByteStreamInfo> {
        let path = path.as_ref();
        if options.mime_type.is_none() {
            options.mime_type = mime_guess::from_path(path).first().map(|m| m.essence_str().to_string());
        }
        let transport = self.transport()?;
        Ok(transport.0.streams.outgoing.send_file(path, options, &transport).await?)
    }
}

impl Room {
    /// Streams on `topic` are handed to `handler` with the sender's identity, in the order the
    /// sender opened them. Without a handler they come as `ByteStreamOpened` events.
    pub fn register_byte_stream_handler(
        &self,
        topic: &str,
        handler: impl Fn(ByteStreamReader, String) + Send + Sync + 'static,
    ) -> Result<()> {
        self.inner.streams.register_byte_handler(topic, Arc::new(handler))
    }

    /// Text streams on `topic` are handed to `handler` with the sender's identity, in the order
    /// the sender opened them. Without a handler they come as `TextStreamOpened` events. Fails
    /// with `InvalidArgument` when the topic already has a text handler or is reserved for RPC.
    pub fn register_text_stream_handler(
        &self,
        topic: &str,
        handler: impl Fn(TextStreamReader, String) + Send + Sync + 'static,
    ) -> Result<()> {
        self.inner.streams.register_text_handler(topic, Arc::new(handler))
    }

    /// Removes the byte stream handler of `topic`; later streams on it come as events again.
    pub fn unregister_byte_stream_handler(&self, topic: &str) {
        self.inner.streams.unregister_byte_handler(topic);
    }

    /// Removes the text stream handler of `topic`; later streams on it come as events again.
    pub fn unregister_text_stream_handler(&self, topic: &str) {
        self.inner.streams.unregister_text_handler(topic);
    }
}

impl From<StreamError> for Error {
    fn from(err: StreamError) -> Self {
        match err {
            StreamError::HeaderTooLarge | StreamError::PayloadTooLarge | StreamError::LengthExceeded => {
                Error::InvalidArgument(err.to_string())
            }
            StreamError::InvalidFileName => Error::InvalidArgument(err.to_string()),
            StreamError::Io(io) => Error::InvalidArgument(format!("file: {io}")),
            StreamError::SendFailed => Error::Connection(
                "a stream packet could not be sent: the room disconnected, or reconnected as a new \
                 session (a full reconnect), which cannot carry on a stream begun before it"
                    .into(),
            ),
            other => Error::Stream(other.to_string()),
        }
    }
}

/// Sends the packets of outgoing streams, reliably and in order; a batch fails as a whole.
/// A stream begun before a full reconnect fails: its receivers knew our old session, and the
/// new one cannot continue it.
pub(super) async fn send_stream_packets(room: Weak<RoomInner>, mut packets: OutgoingPackets) {
    let mut begun_in_session: HashMap<String, u64> = HashMap::new();
    while let Ok((batch, responder)) = packets.recv().await {
        let Some(room) = room.upgrade() else { return };
        let mut result = Ok(());
        for packet in batch {
            let sent = async {
                room.wait_connected().await?;
                let session = room.session_epoch.load(std::sync::atomic::Ordering::SeqCst);
                if let Some(stream_id) = stream_of(&packet, &mut begun_in_session, session) {
                    return Err(Error::Connection(format!("stream {stream_id} was cut by a full reconnect")));
                }
                room.send_data(packet, DataPacketKind::Reliable).await
            };
            if let Err(err) = sent.await {
                log::warn!("an outgoing stream failed: {err}");
                result = Err(livekit_data_stream::api::SendError);
                break;
            }
        }
        let _ = responder.respond(result);
    }
}

/// Records which session a stream began in; returns the stream's id when a packet of it comes
/// in a later session (the stream cannot go on).
fn stream_of(packet: &proto::DataPacket, begun: &mut HashMap<String, u64>, session: u64) -> Option<String> {
    use proto::data_packet::Value;
    match &packet.value {
        Some(Value::StreamHeader(header)) => {
            begun.insert(header.stream_id.clone(), session);
            None
        }
        Some(Value::StreamChunk(chunk)) => {
            (begun.get(&chunk.stream_id).is_some_and(|s| *s != session)).then(|| chunk.stream_id.clone())
        }
        Some(Value::StreamTrailer(trailer)) => {
            let began = begun.remove(&trailer.stream_id);
            began.is_some_and(|s| s != session).then(|| trailer.stream_id.clone())
        }
        _ => None,
    }
}

/// Routes streams the incoming manager opened: to a handler, to RPC, or out as an event.
pub(super) async fn route_opened_streams(room: Weak<RoomInner>, mut output: UnboundedReceiver<OutputEvent>) {
    while let Some(event) = output.recv().await {
        let OutputEvent::StreamOpened(StreamOpened { stream_reader, participant_identity }) = event else {
            continue;
        };
        let Some(room) = room.upgrade() else { return };
        match room.streams.route(stream_reader, participant_identity.0) {
            Route::Handled => {}
            Route::RpcRequest(reader, caller) => {
                let method = livekit_data_stream::api::StreamReader::info(&reader)
                    .attributes()
                    .get("lk.rpc_request_method")
                    .cloned()
                    .unwrap_or_default();
                // Dropping the reader of a refused request closes its stream.
                let Some(pending) = PendingRpc::begin(&room, &caller, &method) else { continue };
                crate::tasks::spawn(async move {
                    let transport = RoomTransport(room.clone());
                    room.rpc_server.handle_v2_request_stream(reader, caller.into(), &transport).await;
                    drop(pending);
                });
            }
            Route::RpcResponse(reader) => {
                crate::tasks::spawn(async move { room.rpc_client.handle_v2_response_stream(reader).await });
            }
            Route::Byte(reader, sender) => {
                let topic = livekit_data_stream::api::StreamReader::info(&reader).topic.clone();
                log::info!("no byte stream handler for topic {topic:?}: raised as ByteStreamOpened");
                room.emit(RoomEvent::ByteStreamOpened {
                    topic,
                    reader: TakeCell::new(reader),
                    participant_identity: sender,
                });
            }
            Route::Text(reader, sender) => {
                let topic = livekit_data_stream::api::StreamReader::info(&reader).topic.clone();
                log::info!("no text stream handler for topic {topic:?}: raised as TextStreamOpened");
                room.emit(RoomEvent::TextStreamOpened {
                    topic,
                    reader: TakeCell::new(reader),
                    participant_identity: sender,
                });
            }
        }
    }
}
