//! One task per room turns the core's `RoomEvent`s into protocol `RoomEvent`s, in order. It
//! holds them until the client is ready, and always ends the stream with `eos`: the Python SDK
//! waits for it to finish `disconnect()`.

use std::collections::HashSet;
use std::sync::Arc;

use livekit_core::data::StreamReader;
use livekit_core::{ConnectionState, Participant, RoomEvent};
use tokio::sync::{mpsc, watch};

use super::convert;
use super::room::owned_participant;
use super::track_events::TrackEvents;
use super::tracks::{published_key, unpublished_key, ORDER};
use crate::events;
use crate::handles::FfiHandle;
use crate::proto::{self, data_packet_received, ffi_event, room_event::Message as Event};
use crate::server::server;

pub struct Forwarder {
    pub room: livekit_core::Room,
    pub room_handle: u64,
    /// Identities the client knows, so a participant is announced once, before any event
    /// that names it.
    pub announced: HashSet<String>,
    /// The tracks the client knows.
    pub tracks: TrackEvents,
}

impl Forwarder {
    pub async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<RoomEvent>,
        mut ready: watch::Receiver<bool>,
        finished: watch::Sender<bool>,
    ) {
        // An error means the room handle is gone: nobody will say ready, so go on.
        let _ = ready.wait_for(|ready| *ready).await;
        self.send(Event::RoomSidChanged(proto::RoomSidChanged { sid: self.room.sid() }));
        self.send(Event::ConnectionStateChanged(proto::ConnectionStateChanged {
            state: proto::ConnectionState::ConnConnected as i32,
        }));
        while let Some(event) = events.recv().await {
            let last = matches!(event, RoomEvent::Disconnected { .. });
            let unpublished = match &event {
                RoomEvent::LocalTrackPublished { publication, previous_sid, .. } => {
                    // A full reconnect publishing a track again: no publish callback comes.
                    if let Some(previous_sid) = previous_sid {
                        if let Some(republished) = self.tracks.republished(publication, previous_sid) {
                            self.send(republished);
                        }
                        continue;
                    }
                    // The client looks the publication up when this event comes: the publish
                    // callback goes first.
                    ORDER.wait(&published_key(&publication.sid())).await;
                    None
                }
                RoomEvent::LocalTrackUnpublished { publication } => Some(publication.sid()),
                _ => None,
            };
            for message in self.convert(event) {
                self.send(message);
            }
            if let Some(sid) = unpublished {
                ORDER.mark(unpublished_key(&sid));
            }
            if last {
                break;
            }
        }
        self.send(Event::Eos(proto::RoomEos {}));
        finished.send_replace(true);
    }

    fn send(&self, message: Event) {
        events::send(ffi_event::Message::RoomEvent(proto::RoomEvent {
            room_handle: self.room_handle,
            message: Some(message),
        }));
    }

    fn convert(&mut self, event: RoomEvent) -> Vec<Event> {
        let handles = &server().handles;
        match event {
            RoomEvent::Connected => Vec::new(),
            RoomEvent::ConnectionStateChanged(state) => {
                let (mut events, state) = match state {
                    ConnectionState::Connected => (Vec::new(), proto::ConnectionState::ConnConnected),
                    ConnectionState::Reconnecting => (Vec::new(), proto::ConnectionState::ConnReconnecting),
                    ConnectionState::Disconnected => (self.tracks.leaving(), proto::ConnectionState::ConnDisconnected),
                };
                events.push(Event::ConnectionStateChanged(proto::ConnectionStateChanged { state: state as i32 }));
                events
            }
            RoomEvent::Reconnecting => vec![Event::Reconnecting(proto::Reconnecting {})],
            RoomEvent::Reconnected => {
                // A full reconnect gave us a new sid: the client reads it from this update (the
                // official library sends it too); after a resume it changes nothing.
                let local = Participant::Local(self.room.local_participant());
                let participants = vec![convert::participant_info(&local)];
                vec![
                    Event::ParticipantsUpdated(proto::ParticipantsUpdated { participants }),
                    Event::Reconnected(proto::Reconnected {}),
                ]
            }
            RoomEvent::Disconnected { reason } => {
                vec![Event::Disconnected(proto::Disconnected { reason: convert::disconnect_reason(reason) as i32 })]
            }
            RoomEvent::ParticipantConnected(remote) => {
                let identity = remote.identity();
                if !self.announced.insert(identity.clone()) {
                    return Vec::new();
                }
                let info = convert::participant_info(&Participant::Remote(remote.clone()));
                let handle = handles.insert(FfiHandle::RemoteParticipant(remote));
                vec![
                    Event::ParticipantConnected(proto::ParticipantConnected { info: owned_participant(handle, info) }),
                    Event::ParticipantActive(proto::ParticipantActive { participant_identity: identity }),
                ]
            }
            RoomEvent::ParticipantDisconnected(remote) => {
                let identity = remote.identity();
                if !self.announced.remove(&identity) {
                    return Vec::new();
                }
                let mut events = self.tracks.participant_left(&identity);
                events.push(Event::ParticipantDisconnected(proto::ParticipantDisconnected {
                    participant_identity: identity,
                    disconnect_reason: proto::DisconnectReason::UnknownReason as i32,
                }));
                events
            }
            RoomEvent::ParticipantAttributesChanged { participant, changed_attributes } => {
                vec![Event::ParticipantAttributesChanged(proto::ParticipantAttributesChanged {
                    participant_identity: participant.identity(),
                    attributes: convert::attribute_entries(participant.attributes()),
                    changed_attributes: convert::attribute_entries(changed_attributes),
                })]
            }
            RoomEvent::ParticipantMetadataChanged { participant, metadata, .. } => {
                vec![Event::ParticipantMetadataChanged(proto::ParticipantMetadataChanged {
                    participant_identity: participant.identity(),
                    metadata,
                })]
            }
            RoomEvent::ParticipantNameChanged { participant, name, .. } => {
                vec![Event::ParticipantNameChanged(proto::ParticipantNameChanged {
                    participant_identity: participant.identity(),
                    name,
                })]
            }
            RoomEvent::ParticipantPermissionsChanged { participant, permissions, .. } => {
                vec![Event::ParticipantPermissionChanged(proto::ParticipantPermissionChanged {
                    participant_identity: participant.identity(),
                    permission: permissions.as_ref().map(convert::permission),
                })]
            }
            RoomEvent::RoomMetadataChanged { metadata, .. } => {
                vec![Event::RoomMetadataChanged(proto::RoomMetadataChanged { metadata })]
            }
            RoomEvent::DataReceived { payload, topic, kind, sender_identity, .. } => {
                vec![data_packet(&payload, topic, kind, sender_identity.unwrap_or_default())]
            }
            RoomEvent::ByteStreamOpened { reader, participant_identity, .. } => match reader.take() {
                Some(reader) => {
                    let info = convert::byte_stream_info(reader.info());
                    let handle = handles.insert(FfiHandle::ByteReader(reader));
                    vec![Event::ByteStreamOpened(proto::ByteStreamOpened {
                        reader: proto::OwnedByteStreamReader { handle: proto::FfiOwnedHandle { id: handle }, info },
                        participant_identity,
                    })]
                }
                None => Vec::new(),
            },
            RoomEvent::TextStreamOpened { reader, participant_identity, .. } => match reader.take() {
                Some(reader) => {
                    let info = convert::text_stream_info(reader.info());
                    let handle = handles.insert(FfiHandle::TextReader(reader));
                    vec![Event::TextStreamOpened(proto::TextStreamOpened {
                        reader: proto::OwnedTextStreamReader { handle: proto::FfiOwnedHandle { id: handle }, info },
                        participant_identity,
                    })]
                }
                None => Vec::new(),
            },
            other => {
                let announced = &self.announced;
                self.tracks.convert(other, |identity| announced.contains(identity))
            }
        }
    }
}

/// A received packet: the bytes go into a buffer handle the client reads and then drops.
fn data_packet(
    payload: &Arc<Vec<u8>>,
    topic: Option<String>,
    kind: livekit_core::DataPacketKind,
    sender_identity: String,
) -> Event {
    let bytes: Box<[u8]> = payload.as_slice().into();
    let data = proto::BufferInfo { data_ptr: bytes.as_ptr() as u64, data_len: bytes.len() as u64 };
    let handle = server().handles.insert(FfiHandle::Buffer(bytes));
    let kind = match kind {
        livekit_core::DataPacketKind::Reliable => proto::DataPacketKind::KindReliable,
        livekit_core::DataPacketKind::Lossy => proto::DataPacketKind::KindLossy,
    };
    Event::DataPacketReceived(proto::DataPacketReceived {
        kind: kind as i32,
        participant_identity: sender_identity,
        value: Some(data_packet_received::Value::User(proto::UserPacket {
            data: proto::OwnedBuffer { handle: proto::FfiOwnedHandle { id: handle }, data },
            topic,
        })),
    })
}
