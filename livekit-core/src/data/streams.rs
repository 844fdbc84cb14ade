//! Byte and text streams on the official `livekit-data-stream` crate: its outgoing manager
//! turns writes into packets, its incoming manager turns packets into readers. This module
//! owns both managers and the per-topic handlers; the room moves packets and raises events.

use std::collections::HashMap;
use std::sync::Arc;

use livekit_data_stream::api::{AnyStreamReader, ByteStreamReader, StreamReader, TextStreamReader};
use livekit_data_stream::backend::incoming::{self, InputEvent, ManagerInput, OutputEvent, PacketReceived};
use livekit_data_stream::backend::outgoing;
use livekit_data_stream::backend::Packet;
use livekit_protocol as proto;
use livekit_rpc::backend::{RPC_REQUEST_TOPIC, RPC_RESPONSE_TOPIC};
use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedReceiver;

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
    byte_handlers: Mutex<HashMap<String, ByteStreamHandler>>,
    text_handlers: Mutex<HashMap<String, TextStreamHandler>>,
}

impl Streams {
    /// Starts the incoming manager's task; returns the receivers the room must drain.
    pub fn start() -> (Self, OutgoingPackets, UnboundedReceiver<OutputEvent>) {
        let (outgoing, packets) = outgoing::Manager::new();
        let (manager, incoming, output) = incoming::Manager::new(None);
        tokio::spawn(manager.run());
        let streams = Self {
            outgoing,
            incoming,
            byte_handlers: Mutex::new(HashMap::new()),
            text_handlers: Mutex::new(HashMap::new()),
        };
        (streams, packets, output)
    }

    /// Feeds a stream header, chunk or trailer from `sender` to the incoming manager.
    pub fn on_packet(&self, value: proto::data_packet::Value, sender: String) {
        let none = proto::encryption::Type::None.into();
        let packet = match value {
            proto::data_packet::Value::StreamHeader(h) => Packet::Header { header: h.into(), encryption_type: none },
            proto::data_packet::Value::StreamChunk(c) => Packet::Chunk { chunk: c.into(), encryption_type: none },
            proto::data_packet::Value::StreamTrailer(t) => Packet::Trailer { trailer: t.into(), encryption_type: none },
            _ => return,
        };
        let _ = self.incoming.send(PacketReceived::new(packet, sender.into()).into());
    }

    /// The sender left: its open streams fail with an error instead of hanging.
    pub fn abort_streams_from(&self, identity: &str) {
        let _ = self.incoming.send(InputEvent::AbortStreamsFrom(identity.to_string().into()));
    }

    pub fn abort_all(&self) {
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
