//! Participant handles. Each reads the live state the core keeps; `LocalParticipant` also
//! changes it (attributes, metadata, name) and sends data.

use std::collections::HashMap;
use std::sync::Arc;

use livekit_core::room::{ParticipantKind, ParticipantPermissions};
use livekit_core::{ConnectionQuality, DataOptions};

use crate::error::Result;
use crate::tracks::{LocalTrack, LocalTrackPublication, RemoteTrackPublication, TrackPublishOptions};

/// What a participant may do, from its token's grants.
#[uniffi::remote(Record)]
pub struct ParticipantPermissions {
    pub can_subscribe: bool,
    pub can_publish: bool,
    pub can_publish_data: bool,
    pub can_update_metadata: bool,
    pub hidden: bool,
}

#[uniffi::remote(Enum)]
pub enum ParticipantKind {
    Standard,
    Ingress,
    Egress,
    Sip,
    Agent,
    Connector,
}

/// How a data packet travels: `reliable` (ordered, retransmitted) or lossy; to everyone, or
/// only to `destination_identities`. Payloads up to 15 KiB (lossy: keep under 1,300 bytes).
#[uniffi::remote(Record)]
pub struct DataOptions {
    #[uniffi(default = true)]
    pub reliable: bool,
    #[uniffi(default = None)]
    pub topic: Option<String>,
    #[uniffi(default)]
    pub destination_identities: Vec<String>,
}

/// A participant in the room, local or remote, as events and `Room.remote_participants` give it.
#[derive(uniffi::Object)]
pub struct Participant(pub(crate) livekit_core::Participant);

#[uniffi::export]
impl Participant {
    pub fn sid(&self) -> String {
        self.0.sid()
    }
    pub fn identity(&self) -> String {
        self.0.identity()
    }
    pub fn name(&self) -> String {
        self.0.name()
    }
    pub fn metadata(&self) -> String {
        self.0.metadata()
    }
    pub fn attributes(&self) -> HashMap<String, String> {
        self.0.attributes()
    }
    pub fn kind(&self) -> ParticipantKind {
        self.0.kind()
    }
    pub fn permissions(&self) -> Option<ParticipantPermissions> {
        self.0.permissions()
    }
    pub fn is_local(&self) -> bool {
        self.0.is_local()
    }

    /// The tracks a remote participant publishes, by sid (empty for ourselves: see
    /// `LocalParticipant.track_publications`).
    pub fn track_publications(&self) -> HashMap<String, Arc<RemoteTrackPublication>> {
        match &self.0 {
            livekit_core::Participant::Remote(p) => p
                .track_publications()
                .into_iter()
                .map(|(sid, publication)| (sid, Arc::new(RemoteTrackPublication(publication))))
                .collect(),
            _ => HashMap::new(),
        }
    }

    /// The level of its audio as the server reports it (0.0..=1.0).
    pub fn audio_level(&self) -> f32 {
        self.0.audio_level()
    }

    /// Whether it is among the active speakers.
    pub fn is_speaking(&self) -> bool {
        self.0.is_speaking()
    }

    /// The server's score of its connection.
    pub fn connection_quality(&self) -> ConnectionQuality {
        self.0.connection_quality()
    }
}

impl Participant {
    pub(crate) fn remote(participant: livekit_core::RemoteParticipant) -> Arc<Self> {
        Arc::new(Self(livekit_core::Participant::Remote(participant)))
    }
}

/// This client in the room.
#[derive(uniffi::Object)]
pub struct LocalParticipant(pub(crate) livekit_core::LocalParticipant);

#[uniffi::export(async_runtime = "tokio")]
impl LocalParticipant {
    pub fn sid(&self) -> String {
        self.0.sid()
    }
    pub fn identity(&self) -> String {
        self.0.identity()
    }
    pub fn name(&self) -> String {
        self.0.name()
    }
    pub fn metadata(&self) -> String {
        self.0.metadata()
    }
    pub fn attributes(&self) -> HashMap<String, String> {
        self.0.attributes()
    }
    pub fn permissions(&self) -> Option<ParticipantPermissions> {
        self.0.permissions()
    }

    /// Sets the given keys and keeps the others; a value of "" deletes its key. Returns once
    /// the server applied the change. Needs the `canUpdateOwnMetadata` grant.
    pub async fn set_attributes(&self, attributes: HashMap<String, String>) -> Result<()> {
        Ok(self.0.set_attributes(attributes).await?)
    }

    /// Replaces the metadata; "" is refused (the server reads it as "no change").
    pub async fn set_metadata(&self, metadata: String) -> Result<()> {
        Ok(self.0.set_metadata(metadata).await?)
    }

    /// Changes the display name; "" is refused (the server reads it as "no change").
    pub async fn set_name(&self, name: String) -> Result<()> {
        Ok(self.0.set_name(name).await?)
    }

    /// Sends a data packet to the room or to `options.destination_identities`.
    pub async fn publish_data(&self, payload: Vec<u8>, options: DataOptions) -> Result<()> {
        Ok(self.0.publish_data(payload, options).await?)
    }

    /// Publishes a track; resolves once the server accepted it and media flows, after which
    /// others see `TrackPublished` and this room raises `LocalTrackPublished`.
    pub async fn publish_track(
        &self,
        track: Arc<LocalTrack>,
        options: TrackPublishOptions,
    ) -> Result<Arc<LocalTrackPublication>> {
        let publication = self.0.publish_track(track.0.clone(), options.into()).await?;
        Ok(Arc::new(LocalTrackPublication(publication)))
    }

    /// Stops publishing the track with this sid; others see `TrackUnpublished`, this room
    /// `LocalTrackUnpublished`. The track and its source stay usable.
    pub async fn unpublish_track(&self, sid: String) -> Result<()> {
        Ok(self.0.unpublish_track(&sid).await?)
    }

    /// Our published tracks by sid.
    pub fn track_publications(&self) -> HashMap<String, Arc<LocalTrackPublication>> {
        self.0
            .track_publications()
            .into_iter()
            .map(|(sid, publication)| (sid, Arc::new(LocalTrackPublication(publication))))
            .collect()
    }
}
