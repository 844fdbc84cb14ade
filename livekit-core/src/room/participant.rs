//! Participant handles: cheap clones sharing the live state the room keeps up to date.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::local_participant::LocalParticipant;
use super::participant_state::{ParticipantKind, ParticipantPermissions, ParticipantState};

/// Live, shared state of one participant; the room writes it, handles read it.
pub(crate) type SharedState = Arc<RwLock<ParticipantState>>;

/// Read accessors common to local and remote participants.
macro_rules! participant_accessors {
    () => {
        pub fn sid(&self) -> String {
            self.state.read().sid.clone()
        }
        pub fn identity(&self) -> String {
            self.state.read().identity.clone()
        }
        pub fn name(&self) -> String {
            self.state.read().name.clone()
        }
        pub fn metadata(&self) -> String {
            self.state.read().metadata.clone()
        }
        pub fn attributes(&self) -> std::collections::HashMap<String, String> {
            self.state.read().attributes.clone()
        }
        pub fn kind(&self) -> $crate::room::ParticipantKind {
            self.state.read().kind
        }
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
    };
}
pub(crate) use participant_accessors;

/// Another participant in the room.
#[derive(Clone)]
pub struct RemoteParticipant {
    pub(crate) state: SharedState,
}

impl RemoteParticipant {
    pub(crate) fn new(state: ParticipantState) -> Self {
        Self { state: Arc::new(RwLock::new(state)) }
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
    Local(LocalParticipant),
    Remote(RemoteParticipant),
}

impl Participant {
    fn state(&self) -> &SharedState {
        match self {
            Participant::Local(p) => &p.state,
            Participant::Remote(p) => &p.state,
        }
    }
    pub fn sid(&self) -> String {
        self.state().read().sid.clone()
    }
    pub fn identity(&self) -> String {
        self.state().read().identity.clone()
    }
    pub fn name(&self) -> String {
        self.state().read().name.clone()
    }
    pub fn metadata(&self) -> String {
        self.state().read().metadata.clone()
    }
    pub fn attributes(&self) -> HashMap<String, String> {
        self.state().read().attributes.clone()
    }
    pub fn kind(&self) -> ParticipantKind {
        self.state().read().kind
    }
    pub fn permissions(&self) -> Option<ParticipantPermissions> {
        self.state().read().permissions.clone()
    }
    pub fn joined_at_ms(&self) -> i64 {
        self.state().read().joined_at_ms
    }
    pub fn client_protocol(&self) -> i32 {
        self.state().read().client_protocol
    }
    pub fn is_local(&self) -> bool {
        matches!(self, Participant::Local(_))
    }
}
