//! Participant handles: cheap clones sharing the live state the room keeps up to date.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::local_participant::LocalParticipant;
use super::participant_state::{ParticipantKind, ParticipantPermissions, ParticipantState};
use super::RoomInner;
use crate::track::{ConnectionQuality, RemoteTrackPublication, TrackPublicationInfo};

/// Live, shared state of one participant; the room writes it, handles read it.
pub(crate) type SharedState = Arc<RwLock<ParticipantState>>;

/// Read accessors common to local and remote participants.
macro_rules! participant_accessors {
    () => {
        /// The server's id of this session of the participant (`PA_...`); a rejoin gets a new one.
        pub fn sid(&self) -> String {
            self.state.read().sid.clone()
        }
        /// The participant's identity, from its token; unique in the room.
        pub fn identity(&self) -> String {
            self.state.read().identity.clone()
        }
        /// The participant's display name ("" if it has none).
        pub fn name(&self) -> String {
            self.state.read().name.clone()
        }
        /// The participant's metadata, an application-defined string ("" if none).
        pub fn metadata(&self) -> String {
            self.state.read().metadata.clone()
        }
        /// The participant's attributes: application-defined key-value pairs.
        pub fn attributes(&self) -> std::collections::HashMap<String, String> {
            self.state.read().attributes.clone()
        }
        /// What kind of client the participant is (standard, agent, SIP, ingress...).
        pub fn kind(&self) -> $crate::room::ParticipantKind {
            self.state.read().kind
        }
        /// What the participant may do, as the server last reported it (`None` if it did not).
        pub fn permissions(&self) -> Option<$crate::room::ParticipantPermissions> {
            self.state.read().permissions.clone()
        }
        /// When the participant joined, in milliseconds since the epoch (0 if unknown).
        pub fn joined_at_ms(&self) -> i64 {
            self.state.read().joined_at_ms
        }
        /// The protocol version of the participant's client (what it supports).
        pub fn client_protocol(&self) -> i32 {
            self.state.read().client_protocol
        }
        /// The participant's audio level, 0.0 (silent) to 1.0, as the server last reported it.
        pub fn audio_level(&self) -> f32 {
            self.state.read().live.audio_level
        }
        /// Whether the server counts the participant among the active speakers.
        pub fn is_speaking(&self) -> bool {
            self.state.read().live.is_speaking
        }
        /// How well the participant's media gets through, as the server last scored it.
        pub fn connection_quality(&self) -> $crate::track::ConnectionQuality {
            self.state.read().live.connection_quality
        }
    };
}
pub(crate) use participant_accessors;

/// Another participant in the room.
#[derive(Clone)]
pub struct RemoteParticipant {
    pub(crate) state: SharedState,
    /// Its published tracks by sid, kept in step with `state.tracks` by the room.
    pub(crate) publications: Arc<RwLock<HashMap<String, RemoteTrackPublication>>>,
    pub(super) room: std::sync::Weak<RoomInner>,
    auto_subscribe: bool,
}

impl RemoteParticipant {
    /// A participant with a publication for each track it already has.
    pub(crate) fn new(state: ParticipantState, room: std::sync::Weak<RoomInner>, auto_subscribe: bool) -> Self {
        let tracks = state.tracks.clone();
        let participant =
            Self { state: Arc::new(RwLock::new(state)), publications: Arc::default(), room, auto_subscribe };
        for info in tracks {
            participant.add_publication(info);
        }
        participant
    }

    /// Creates and keeps the publication of a newly published track.
    pub(crate) fn add_publication(&self, info: TrackPublicationInfo) -> RemoteTrackPublication {
        let sid = info.sid.clone();
        let participant_sid = self.state.read().sid.clone();
        let publication = RemoteTrackPublication::new(info, participant_sid, self.auto_subscribe, self.room.clone());
        self.publications.write().insert(sid, publication.clone());
        publication
    }

    /// The participant's published tracks by sid.
    pub fn track_publications(&self) -> HashMap<String, RemoteTrackPublication> {
        self.publications.read().clone()
    }

    /// One published track, by sid.
    pub fn track_publication(&self, sid: &str) -> Option<RemoteTrackPublication> {
        self.publications.read().get(sid).cloned()
    }

    participant_accessors!();
}

impl std::fmt::Debug for RemoteParticipant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.read();
        f.debug_struct("RemoteParticipant").field("sid", &s.sid).field("identity", &s.identity).finish()
    }
}

/// Either kind of participant, as events carry them.
#[derive(Clone, Debug)]
pub enum Participant {
    /// Ourselves.
    Local(LocalParticipant),
    /// Another participant.
    Remote(RemoteParticipant),
}

impl Participant {
    pub(crate) fn state(&self) -> &SharedState {
        match self {
            Participant::Local(p) => &p.state,
            Participant::Remote(p) => &p.state,
        }
    }
    /// The server's id of this session of the participant (`PA_...`); a rejoin gets a new one.
    pub fn sid(&self) -> String {
        self.state().read().sid.clone()
    }
    /// The participant's identity, from its token; unique in the room.
    pub fn identity(&self) -> String {
        self.state().read().identity.clone()
    }
    /// The participant's display name ("" if it has none).
    pub fn name(&self) -> String {
        self.state().read().name.clone()
    }
    /// The participant's metadata, an application-defined string ("" if none).
    pub fn metadata(&self) -> String {
        self.state().read().metadata.clone()
    }
    /// The participant's attributes: application-defined key-value pairs.
    pub fn attributes(&self) -> HashMap<String, String> {
        self.state().read().attributes.clone()
    }
    /// What kind of client the participant is (standard, agent, SIP, ingress...).
    pub fn kind(&self) -> ParticipantKind {
        self.state().read().kind
    }
    /// What the participant may do, as the server last reported it (`None` if it did not).
    pub fn permissions(&self) -> Option<ParticipantPermissions> {
        self.state().read().permissions.clone()
    }
    /// When the participant joined, in milliseconds since the epoch (0 if unknown).
    pub fn joined_at_ms(&self) -> i64 {
        self.state().read().joined_at_ms
    }
    /// The protocol version of the participant's client (what it supports).
    pub fn client_protocol(&self) -> i32 {
        self.state().read().client_protocol
    }
    /// The audio level, 0.0 (silent) to 1.0, as the server last reported it.
    pub fn audio_level(&self) -> f32 {
        self.state().read().live.audio_level
    }
    /// Whether the server counts the participant among the active speakers.
    pub fn is_speaking(&self) -> bool {
        self.state().read().live.is_speaking
    }
    /// How well the participant's media gets through, as the server last scored it.
    pub fn connection_quality(&self) -> ConnectionQuality {
        self.state().read().live.connection_quality
    }
    /// Whether this is ourselves (`Participant::Local`).
    pub fn is_local(&self) -> bool {
        matches!(self, Participant::Local(_))
    }
}
