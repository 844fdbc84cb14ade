//! The one event stream of a room. Every binding adapts this enum; none adds its own events.

use std::collections::HashMap;
use std::sync::Arc;

use livekit_protocol as proto;

use super::participant::{Participant, RemoteParticipant};
use super::participant_state::ParticipantPermissions;
use crate::data::{ByteStreamReader, TakeCell, TextStreamReader};
use crate::engine::DataPacketKind;

#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RoomEvent {
    /// The room is joined; the first event on the receiver `Room::connect` returns.
    Connected,
    /// The room is gone: we left, the server removed us or the connection broke.
    Disconnected {
        reason: DisconnectReason,
    },
    ConnectionStateChanged(ConnectionState),
    ParticipantConnected(RemoteParticipant),
    ParticipantDisconnected(RemoteParticipant),
    /// `changed_attributes` holds only the keys that changed; a deleted key maps to "".
    ParticipantAttributesChanged {
        participant: Participant,
        changed_attributes: HashMap<String, String>,
    },
    ParticipantMetadataChanged {
        participant: Participant,
        old_metadata: String,
        metadata: String,
    },
    ParticipantNameChanged {
        participant: Participant,
        old_name: String,
        name: String,
    },
    ParticipantPermissionsChanged {
        participant: Participant,
        old_permissions: Option<ParticipantPermissions>,
        permissions: Option<ParticipantPermissions>,
    },
    /// Room metadata changed; it is also the session metadata (see `Room::session_metadata`).
    RoomMetadataChanged {
        old_metadata: String,
        metadata: String,
    },
    /// A user data packet. `sender_identity` is the identity the server stamped; it is `None`
    /// only for data the server API sent (`SendData`). `participant` can be `None` while
    /// `sender_identity` is set: the server announces a participant that publishes no track up
    /// to 3 s after it joined, and its data may arrive first.
    DataReceived {
        payload: Arc<Vec<u8>>,
        topic: Option<String>,
        kind: DataPacketKind,
        participant: Option<RemoteParticipant>,
        sender_identity: Option<String>,
    },
    /// A byte stream opened on a topic with no registered handler; one receiver may take the
    /// reader. A reader nobody takes is dropped, which discards the stream.
    ByteStreamOpened {
        topic: String,
        reader: TakeCell<ByteStreamReader>,
        participant_identity: String,
    },
    /// A text stream opened on a topic with no registered handler (see `ByteStreamOpened`).
    TextStreamOpened {
        topic: String,
        reader: TakeCell<TextStreamReader>,
        participant_identity: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    Connected,
    Disconnected,
}

/// Why the room disconnected, from the server's `LeaveRequest` or our side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// `disconnect()` was called.
    ClientInitiated,
    DuplicateIdentity,
    ServerShutdown,
    ParticipantRemoved,
    RoomDeleted,
    StateMismatch,
    JoinFailure,
    RoomClosed,
    /// The signalling connection broke and could not be kept.
    ConnectionLost,
    Other,
}

impl DisconnectReason {
    pub(crate) fn from_proto(reason: i32) -> Self {
        use proto::DisconnectReason as R;
        match R::try_from(reason) {
            Ok(R::ClientInitiated) => Self::ClientInitiated,
            Ok(R::DuplicateIdentity) => Self::DuplicateIdentity,
            Ok(R::ServerShutdown) => Self::ServerShutdown,
            Ok(R::ParticipantRemoved) => Self::ParticipantRemoved,
            Ok(R::RoomDeleted) => Self::RoomDeleted,
            Ok(R::StateMismatch) => Self::StateMismatch,
            Ok(R::JoinFailure) => Self::JoinFailure,
            Ok(R::RoomClosed) => Self::RoomClosed,
            _ => Self::Other,
        }
    }
}
