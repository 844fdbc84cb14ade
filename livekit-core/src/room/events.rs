//! The one event stream of a room. Every binding adapts this enum; none adds its own events.

use std::collections::HashMap;
use std::sync::Arc;

use livekit_protocol as proto;

use super::participant::{Participant, RemoteParticipant};
use super::participant_state::ParticipantPermissions;
use crate::data::{ByteStreamReader, TakeCell, TextStreamReader};
use crate::engine::DataPacketKind;
use crate::track::{
    ConnectionQuality, LocalTrack, LocalTrackPublication, RemoteTrack, RemoteTrackPublication, StreamState,
    SubscriptionPermission,
};

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
    /// A remote participant published a track (tracks published before we joined are in
    /// `RemoteParticipant::track_publications` instead).
    TrackPublished {
        publication: RemoteTrackPublication,
        participant: RemoteParticipant,
    },
    /// A remote participant unpublished a track (after `TrackUnsubscribed` if we had it).
    TrackUnpublished {
        publication: RemoteTrackPublication,
        participant: RemoteParticipant,
    },
    /// A remote track's media reaches us; read audio with `AudioStream::new(&track, ...)`.
    TrackSubscribed {
        track: RemoteTrack,
        publication: RemoteTrackPublication,
        participant: RemoteParticipant,
    },
    /// A remote track's media stopped reaching us (unsubscribed, unpublished, not allowed).
    TrackUnsubscribed {
        track: RemoteTrack,
        publication: RemoteTrackPublication,
        participant: RemoteParticipant,
    },
    /// One of our tracks is published (after `publish_track` resolved).
    LocalTrackPublished {
        publication: LocalTrackPublication,
        track: LocalTrack,
    },
    /// One of our tracks is no longer published.
    LocalTrackUnpublished {
        publication: LocalTrackPublication,
    },
    /// Someone subscribed to one of our tracks for the first time.
    LocalTrackSubscribed {
        track_sid: String,
    },
    /// A participant (remote or ourselves) muted a track.
    TrackMuted {
        participant: Participant,
        publication: TrackPublication,
    },
    /// A participant (remote or ourselves) unmuted a track.
    TrackUnmuted {
        participant: Participant,
        publication: TrackPublication,
    },
    /// The server could not subscribe us to a track; `error` says why.
    TrackSubscriptionFailed {
        participant: RemoteParticipant,
        track_sid: String,
        error: String,
    },
    /// The server paused or resumed a subscribed track.
    TrackStreamStateChanged {
        participant: RemoteParticipant,
        publication: RemoteTrackPublication,
        stream_state: StreamState,
    },
    /// A publisher allowed or stopped allowing us to subscribe to one of its tracks.
    TrackSubscriptionPermissionChanged {
        participant: RemoteParticipant,
        publication: RemoteTrackPublication,
        permission: SubscriptionPermission,
    },
    /// Who speaks now, loudest first (empty when nobody does).
    ActiveSpeakersChanged {
        speakers: Vec<Participant>,
    },
    /// The server scored a participant's connection (ours included) differently.
    ConnectionQualityChanged {
        participant: Participant,
        quality: ConnectionQuality,
    },
}

/// A publication of either side, as mute events carry them.
#[derive(Clone, Debug)]
pub enum TrackPublication {
    /// One of ours.
    Local(LocalTrackPublication),
    /// Another participant's.
    Remote(RemoteTrackPublication),
}

impl TrackPublication {
    /// The server's id of the track.
    pub fn sid(&self) -> String {
        match self {
            Self::Local(publication) => publication.sid(),
            Self::Remote(publication) => publication.sid(),
        }
    }

    /// Whether the track is muted.
    pub fn is_muted(&self) -> bool {
        match self {
            Self::Local(publication) => publication.is_muted(),
            Self::Remote(publication) => publication.is_muted(),
        }
    }
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
