//! The room's events as Kotlin and Swift see them: the core's `RoomEvent`, variant for variant,
//! with participants as handles and stream readers as objects.

use std::collections::HashMap;
use std::sync::Arc;

use livekit_core::room::{ConnectionState, DisconnectReason};
use livekit_core::{DataPacketKind, ParticipantPermissions, RoomEvent as CoreEvent};

use crate::participant::Participant;
use crate::readers::{ByteStreamReader, TextStreamReader};

#[uniffi::remote(Enum)]
pub enum ConnectionState {
    Connected,
    Reconnecting,
    Disconnected,
}

#[uniffi::remote(Enum)]
pub enum DisconnectReason {
    ClientInitiated,
    DuplicateIdentity,
    ServerShutdown,
    ParticipantRemoved,
    RoomDeleted,
    StateMismatch,
    JoinFailure,
    RoomClosed,
    ConnectionLost,
    Other,
}

#[uniffi::remote(Enum)]
pub enum DataPacketKind {
    Reliable,
    Lossy,
}

#[derive(uniffi::Enum)]
pub enum RoomEvent {
    /// The room is joined; always the first event.
    Connected,
    /// The room is gone; always the last event.
    Disconnected {
        reason: DisconnectReason,
    },
    ConnectionStateChanged {
        state: ConnectionState,
    },
    /// The connection broke; the room is restoring it (sends wait meanwhile).
    Reconnecting,
    /// The connection is back.
    Reconnected,
    ParticipantConnected {
        participant: Arc<Participant>,
    },
    ParticipantDisconnected {
        participant: Arc<Participant>,
    },
    /// Only the keys that changed; a deleted key maps to "".
    ParticipantAttributesChanged {
        participant: Arc<Participant>,
        changed_attributes: HashMap<String, String>,
    },
    ParticipantMetadataChanged {
        participant: Arc<Participant>,
        old_metadata: String,
        metadata: String,
    },
    ParticipantNameChanged {
        participant: Arc<Participant>,
        old_name: String,
        name: String,
    },
    ParticipantPermissionsChanged {
        participant: Arc<Participant>,
        old_permissions: Option<ParticipantPermissions>,
        permissions: Option<ParticipantPermissions>,
    },
    /// The room metadata, which is also the session metadata, changed.
    RoomMetadataChanged {
        old_metadata: String,
        metadata: String,
    },
    /// `sender_identity` is None only for data the server API sent; `participant` may be None
    /// while it is set (the server announces quiet participants up to 3 s after they join).
    DataReceived {
        payload: Vec<u8>,
        topic: Option<String>,
        kind: DataPacketKind,
        participant: Option<Arc<Participant>>,
        sender_identity: Option<String>,
    },
    /// A byte stream on a topic without a registered handler.
    ByteStreamOpened {
        topic: String,
        reader: Arc<ByteStreamReader>,
        participant_identity: String,
    },
    /// A text stream on a topic without a registered handler.
    TextStreamOpened {
        topic: String,
        reader: Arc<TextStreamReader>,
        participant_identity: String,
    },
}

impl RoomEvent {
    /// The foreign form of a core event; None for a variant this binding does not know yet
    /// (the core's enum is non-exhaustive).
    pub(crate) fn from_core(event: CoreEvent) -> Option<Self> {
        let participant = |p: livekit_core::Participant| Arc::new(Participant(p));
        Some(match event {
            CoreEvent::Connected => Self::Connected,
            CoreEvent::Disconnected { reason } => Self::Disconnected { reason },
            CoreEvent::ConnectionStateChanged(state) => Self::ConnectionStateChanged { state },
            CoreEvent::Reconnecting => Self::Reconnecting,
            CoreEvent::Reconnected => Self::Reconnected,
            CoreEvent::ParticipantConnected(p) => Self::ParticipantConnected { participant: Participant::remote(p) },
            CoreEvent::ParticipantDisconnected(p) => {
                Self::ParticipantDisconnected { participant: Participant::remote(p) }
            }
            CoreEvent::ParticipantAttributesChanged { participant: p, changed_attributes } => {
                Self::ParticipantAttributesChanged { participant: participant(p), changed_attributes }
            }
            CoreEvent::ParticipantMetadataChanged { participant: p, old_metadata, metadata } => {
                Self::ParticipantMetadataChanged { participant: participant(p), old_metadata, metadata }
            }
            CoreEvent::ParticipantNameChanged { participant: p, old_name, name } => {
                Self::ParticipantNameChanged { participant: participant(p), old_name, name }
            }
            CoreEvent::ParticipantPermissionsChanged { participant: p, old_permissions, permissions } => {
                Self::ParticipantPermissionsChanged { participant: participant(p), old_permissions, permissions }
            }
            CoreEvent::RoomMetadataChanged { old_metadata, metadata } => {
                Self::RoomMetadataChanged { old_metadata, metadata }
            }
            CoreEvent::DataReceived { payload, topic, kind, participant: p, sender_identity } => Self::DataReceived {
                payload: Arc::unwrap_or_clone(payload),
                topic,
                kind,
                participant: p.map(Participant::remote),
                sender_identity,
            },
            CoreEvent::ByteStreamOpened { topic, reader, participant_identity } => {
                Self::ByteStreamOpened { topic, reader: ByteStreamReader::from_cell(reader), participant_identity }
            }
            CoreEvent::TextStreamOpened { topic, reader, participant_identity } => {
                Self::TextStreamOpened { topic, reader: TextStreamReader::from_cell(reader), participant_identity }
            }
            _ => return None,
        })
    }
}
