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

/// Something that happened in the room, as the receivers of `Room::connect` and
/// `Room::subscribe` get it. Events from the server are raised in the order its messages
/// arrived; every receiver gets every event raised after it was created.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RoomEvent {
    /// The room is joined; the first event on the receiver `Room::connect` returns.
    Connected,
    /// The room is gone: we left, the server removed us or the connection broke.
    /// The last event of the room, raised once, right after
    /// `ConnectionStateChanged(Disconnected)`.
    Disconnected {
        /// Why the room disconnected.
        reason: DisconnectReason,
    },
    /// The connection state changed. The room starts `Connected`; `Reconnecting` comes just
    /// before `Reconnecting`, `Connected` again just before `Reconnected`, and `Disconnected`
    /// once, just before the `Disconnected` event.
    ConnectionStateChanged(ConnectionState),
    /// The connection to the server broke and the room is reconnecting: first by resuming the
    /// session (others notice nothing), else by joining anew (a full reconnect: every remote
    /// participant is reported disconnected just before this, and connected again from the
    /// new session; our tracks are published again with new sids). Sends wait meanwhile.
    Reconnecting,
    /// The connection is back (after `Reconnecting`). Reliable data sent around a resume is
    /// delivered once and in order; across a full reconnect, data the server never
    /// acknowledged is sent again, and streams and RPC calls in flight failed.
    Reconnected,
    /// A remote participant joined after us (those already there when we joined are in
    /// `Room::remote_participants`). A `TrackPublished` follows for each track it already
    /// publishes. Also raised when an identity rejoins as a new session, after the
    /// `ParticipantDisconnected` of its old session.
    ParticipantConnected(RemoteParticipant),
    /// A remote participant left, or its identity rejoined as a new session (this carries the
    /// old session's handle). It is no longer in `Room::remote_participants`.
    ParticipantDisconnected(RemoteParticipant),
    /// A participant's attributes changed (ours or a remote one's). `changed_attributes` holds
    /// only the keys that changed; a deleted key maps to "".
    ParticipantAttributesChanged {
        /// The participant whose attributes changed.
        participant: Participant,
        /// The keys that changed, with their new values ("" for a deleted key).
        changed_attributes: HashMap<String, String>,
    },
    /// A participant's metadata changed (ours or a remote one's).
    ParticipantMetadataChanged {
        /// The participant whose metadata changed.
        participant: Participant,
        /// The metadata before the change.
        old_metadata: String,
        /// The metadata now.
        metadata: String,
    },
    /// A participant's display name changed (ours or a remote one's).
    ParticipantNameChanged {
        /// The participant whose name changed.
        participant: Participant,
        /// The name before the change.
        old_name: String,
        /// The name now.
        name: String,
    },
    /// A participant's permissions changed (ours or a remote one's).
    ParticipantPermissionsChanged {
        /// The participant whose permissions changed.
        participant: Participant,
        /// The permissions before the change (`None`: the server had not reported any).
        old_permissions: Option<ParticipantPermissions>,
        /// The permissions now (`None`: the server reports none).
        permissions: Option<ParticipantPermissions>,
    },
    /// Room metadata changed; it is also the session metadata (see `Room::session_metadata`).
    RoomMetadataChanged {
        /// The metadata before the change.
        old_metadata: String,
        /// The metadata now (also `Room::metadata`).
        metadata: String,
    },
    /// A user data packet. `sender_identity` is the identity the server stamped; it is `None`
    /// only for data the server API sent (`SendData`). `participant` can be `None` while
    /// `sender_identity` is set: the server announces a participant that publishes no track up
    /// to 3 s after it joined, and its data may arrive first.
    DataReceived {
        /// The bytes the sender published.
        payload: Arc<Vec<u8>>,
        /// The topic the sender gave, if any.
        topic: Option<String>,
        /// The data channel the packet came on: reliable or lossy.
        kind: DataPacketKind,
        /// The sender, when it is a remote participant the room already knows.
        participant: Option<RemoteParticipant>,
        /// The sender's identity, as the server stamped it (`None` for the server API).
        sender_identity: Option<String>,
    },
    /// A byte stream opened on a topic with no registered handler; one receiver may take the
    /// reader. A reader nobody takes is dropped, which discards the stream.
    ByteStreamOpened {
        /// The stream's topic.
        topic: String,
        /// The stream's reader, for the first receiver that calls `take`.
        reader: TakeCell<ByteStreamReader>,
        /// The identity of the participant who opened the stream.
        participant_identity: String,
    },
    /// A text stream opened on a topic with no registered handler (see `ByteStreamOpened`).
    TextStreamOpened {
        /// The stream's topic.
        topic: String,
        /// The stream's reader, for the first receiver that calls `take`.
        reader: TakeCell<TextStreamReader>,
        /// The identity of the participant who opened the stream.
        participant_identity: String,
    },
    /// A remote participant published a track (tracks published before we joined are in
    /// `RemoteParticipant::track_publications` instead).
    TrackPublished {
        /// The new publication (also in `RemoteParticipant::track_publications`).
        publication: RemoteTrackPublication,
        /// The participant who published it.
        participant: RemoteParticipant,
    },
    /// A remote participant unpublished a track (after `TrackUnsubscribed` if we had it).
    TrackUnpublished {
        /// The publication that ended (no longer in `RemoteParticipant::track_publications`).
        publication: RemoteTrackPublication,
        /// The participant who published it.
        participant: RemoteParticipant,
    },
    /// A remote track's media reaches us; read audio with `AudioStream::new(&track, ...)`.
    TrackSubscribed {
        /// The track whose media now reaches us.
        track: RemoteTrack,
        /// Its publication (its `track()` is now this track).
        publication: RemoteTrackPublication,
        /// The participant who publishes it.
        participant: RemoteParticipant,
    },
    /// A remote track's media stopped reaching us (unsubscribed, unpublished, not allowed).
    TrackUnsubscribed {
        /// The track whose media stopped.
        track: RemoteTrack,
        /// Its publication (its `track()` is now `None`).
        publication: RemoteTrackPublication,
        /// The participant who publishes (or published) it.
        participant: RemoteParticipant,
    },
    /// One of our tracks is published (after `publish_track` resolved, or published again by
    /// a full reconnect).
    LocalTrackPublished {
        /// The publication `publish_track` returned (or the new one after a full reconnect).
        publication: LocalTrackPublication,
        /// The published track.
        track: LocalTrack,
        /// After a full reconnect, the sid the track had in the previous session (the server
        /// gives a republished track a new one); `None` for a first publish.
        previous_sid: Option<String>,
    },
    /// One of our tracks is no longer published: `unpublish_track` was called or the server
    /// unpublished it. Leaving the room does not raise it.
    LocalTrackUnpublished {
        /// The publication that ended.
        publication: LocalTrackPublication,
    },
    /// Someone subscribed to one of our tracks for the first time.
    LocalTrackSubscribed {
        /// The server's id of our track (`TR_...`).
        track_sid: String,
    },
    /// A participant (remote or ourselves) muted a track. Ours raise it at once when the track
    /// is muted (by us or at the server's request); remote ones when the server reports it.
    TrackMuted {
        /// The participant who publishes the track.
        participant: Participant,
        /// The muted track's publication.
        publication: TrackPublication,
    },
    /// A participant (remote or ourselves) unmuted a track (raised as `TrackMuted` is).
    TrackUnmuted {
        /// The participant who publishes the track.
        participant: Participant,
        /// The unmuted track's publication.
        publication: TrackPublication,
    },
    /// The server could not subscribe us to a track; `error` says why.
    TrackSubscriptionFailed {
        /// The participant who publishes the track.
        participant: RemoteParticipant,
        /// The server's id of the track (`TR_...`).
        track_sid: String,
        /// Why, in words (codec not supported, track no longer published, other).
        error: String,
    },
    /// The server paused or resumed a subscribed track.
    TrackStreamStateChanged {
        /// The participant who publishes the track.
        participant: RemoteParticipant,
        /// The track's publication.
        publication: RemoteTrackPublication,
        /// The new state (`Active` or `Paused`).
        stream_state: StreamState,
    },
    /// A publisher allowed or stopped allowing us to subscribe to one of its tracks.
    TrackSubscriptionPermissionChanged {
        /// The participant who publishes the track.
        participant: RemoteParticipant,
        /// The track's publication.
        publication: RemoteTrackPublication,
        /// Whether we may subscribe now.
        permission: SubscriptionPermission,
    },
    /// Who speaks now, loudest first (empty when nobody does).
    ActiveSpeakersChanged {
        /// The active speakers (ourselves included), loudest first.
        speakers: Vec<Participant>,
    },
    /// The server scored a participant's connection (ours included) differently.
    ConnectionQualityChanged {
        /// The participant whose connection was scored.
        participant: Participant,
        /// The new score (also `connection_quality()` on the participant).
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

/// Whether the room is joined (`Room::connection_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Joined: calls on the room and its participants work.
    Connected,
    /// The connection broke and the room is restoring it (`RoomEvent::Reconnecting`). Calls
    /// still work: what they send waits and goes out once the room is connected again.
    Reconnecting,
    /// Left for good: calls fail with `Error::Disconnected`.
    Disconnected,
}

/// Why the room disconnected, from the server's `LeaveRequest` or our side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// `disconnect()` was called, or the last clone of the `Room` was dropped.
    ClientInitiated,
    /// Another client joined the room with the same identity.
    DuplicateIdentity,
    /// The server is shutting down.
    ServerShutdown,
    /// We were removed from the room (server API `RemoveParticipant`).
    ParticipantRemoved,
    /// The room was deleted (server API `DeleteRoom`).
    RoomDeleted,
    /// The server found our state inconsistent with its own.
    StateMismatch,
    /// The server could not complete the join.
    JoinFailure,
    /// The server closed the room.
    RoomClosed,
    /// The connection broke and every reconnect attempt the `ReconnectPolicy` allows failed.
    ConnectionLost,
    /// A reason the server gave that none of the above covers, or none at all.
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
