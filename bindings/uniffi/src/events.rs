//! The room's events as Kotlin and Swift see them: the core's `RoomEvent`, variant for variant,
//! with participants, tracks and publications as handles and stream readers as objects.

use std::collections::HashMap;
use std::sync::Arc;

use livekit_core::room::{ConnectionState, DisconnectReason};
use livekit_core::{DataPacketKind, ParticipantPermissions, RoomEvent as CoreEvent};

use crate::participant::Participant;
use crate::readers::{ByteStreamReader, TextStreamReader};
use crate::tracks::{LocalTrack, LocalTrackPublication, RemoteTrack, RemoteTrackPublication, TrackPublication};
use livekit_core::{ConnectionQuality, StreamState, SubscriptionPermission};

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
    /// A remote participant published a track (those published before we joined are in
    /// `Participant.track_publications`).
    TrackPublished {
        publication: Arc<RemoteTrackPublication>,
        participant: Arc<Participant>,
    },
    /// A remote participant unpublished a track (after `TrackUnsubscribed` if we had it).
    TrackUnpublished {
        publication: Arc<RemoteTrackPublication>,
        participant: Arc<Participant>,
    },
    /// A remote track's media reaches us: read it with `AudioStream` / `VideoStream`.
    TrackSubscribed {
        track: Arc<RemoteTrack>,
        publication: Arc<RemoteTrackPublication>,
        participant: Arc<Participant>,
    },
    /// A remote track's media stopped reaching us; its streams end.
    TrackUnsubscribed {
        track: Arc<RemoteTrack>,
        publication: Arc<RemoteTrackPublication>,
        participant: Arc<Participant>,
    },
    /// One of our tracks is published; `previous_sid` is set when a full reconnect published
    /// it again under a new sid.
    LocalTrackPublished {
        publication: Arc<LocalTrackPublication>,
        track: Arc<LocalTrack>,
        previous_sid: Option<String>,
    },
    /// One of our tracks is no longer published.
    LocalTrackUnpublished {
        publication: Arc<LocalTrackPublication>,
    },
    /// Someone subscribed to one of our tracks for the first time.
    LocalTrackSubscribed {
        track_sid: String,
    },
    /// A participant (remote or ourselves) muted a track.
    TrackMuted {
        participant: Arc<Participant>,
        publication: TrackPublication,
    },
    /// A participant (remote or ourselves) unmuted a track.
    TrackUnmuted {
        participant: Arc<Participant>,
        publication: TrackPublication,
    },
    /// The server could not subscribe us to a track.
    TrackSubscriptionFailed {
        participant: Arc<Participant>,
        track_sid: String,
        error: String,
    },
    /// The server paused or resumed a subscribed track.
    TrackStreamStateChanged {
        participant: Arc<Participant>,
        publication: Arc<RemoteTrackPublication>,
        stream_state: StreamState,
    },
    /// A publisher allowed or stopped allowing us to subscribe to one of its tracks.
    TrackSubscriptionPermissionChanged {
        participant: Arc<Participant>,
        publication: Arc<RemoteTrackPublication>,
        permission: SubscriptionPermission,
    },
    /// Who speaks now, loudest first (ourselves included; empty when nobody does).
    ActiveSpeakersChanged {
        speakers: Vec<Arc<Participant>>,
    },
    /// The server scored a participant's connection (ours included) differently.
    ConnectionQualityChanged {
        participant: Arc<Participant>,
        quality: ConnectionQuality,
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
            other => return Self::from_track_event(other),
        })
    }

    /// The track, speaker and quality events.
    fn from_track_event(event: CoreEvent) -> Option<Self> {
        let participant = |p: livekit_core::Participant| Arc::new(Participant(p));
        let remote = |p: livekit_core::RemoteTrackPublication| Arc::new(RemoteTrackPublication(p));
        let local = |p: livekit_core::LocalTrackPublication| Arc::new(LocalTrackPublication(p));
        Some(match event {
            CoreEvent::TrackPublished { publication, participant: p } => {
                Self::TrackPublished { publication: remote(publication), participant: Participant::remote(p) }
            }
            CoreEvent::TrackUnpublished { publication, participant: p } => {
                Self::TrackUnpublished { publication: remote(publication), participant: Participant::remote(p) }
            }
            CoreEvent::TrackSubscribed { track, publication, participant: p } => Self::TrackSubscribed {
                track: Arc::new(RemoteTrack(track)),
                publication: remote(publication),
                participant: Participant::remote(p),
            },
            CoreEvent::TrackUnsubscribed { track, publication, participant: p } => Self::TrackUnsubscribed {
                track: Arc::new(RemoteTrack(track)),
                publication: remote(publication),
                participant: Participant::remote(p),
            },
            CoreEvent::LocalTrackPublished { publication, track, previous_sid } => Self::LocalTrackPublished {
                publication: local(publication),
                track: Arc::new(LocalTrack(track)),
                previous_sid,
            },
            CoreEvent::LocalTrackUnpublished { publication } => {
                Self::LocalTrackUnpublished { publication: local(publication) }
            }
            CoreEvent::LocalTrackSubscribed { track_sid } => Self::LocalTrackSubscribed { track_sid },
            CoreEvent::TrackMuted { participant: p, publication } => {
                Self::TrackMuted { participant: participant(p), publication: publication.into() }
            }
            CoreEvent::TrackUnmuted { participant: p, publication } => {
                Self::TrackUnmuted { participant: participant(p), publication: publication.into() }
            }
            CoreEvent::TrackSubscriptionFailed { participant: p, track_sid, error } => {
                Self::TrackSubscriptionFailed { participant: Participant::remote(p), track_sid, error }
            }
            CoreEvent::TrackStreamStateChanged { participant: p, publication, stream_state } => {
                Self::TrackStreamStateChanged {
                    participant: Participant::remote(p),
                    publication: remote(publication),
                    stream_state,
                }
            }
            CoreEvent::TrackSubscriptionPermissionChanged { participant: p, publication, permission } => {
                Self::TrackSubscriptionPermissionChanged {
                    participant: Participant::remote(p),
                    publication: remote(publication),
                    permission,
                }
            }
            CoreEvent::ActiveSpeakersChanged { speakers } => {
                Self::ActiveSpeakersChanged { speakers: speakers.into_iter().map(participant).collect() }
            }
            CoreEvent::ConnectionQualityChanged { participant: p, quality } => {
                Self::ConnectionQualityChanged { participant: participant(p), quality }
            }
            _ => return None,
        })
    }
}
