//! The local participant: its state and the calls that change it (attributes, metadata, name,
//! data). A call resolves once the server has applied it and our own state shows the change.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use livekit_protocol as proto;

use super::participant::{participant_accessors, SharedState};
use super::participant_state::ParticipantState;
use super::RoomInner;
use crate::data::{self, DataOptions};
use crate::error::{Error, Result};

/// The server's default limits (`limit` config); a server may be configured otherwise.
/// The server enforces them; the client only names them in `Error::LimitExceeded`.
///
/// Attributes: the keys and values of one `set_attributes` call, in bytes.
pub const MAX_ATTRIBUTES_SIZE: usize = 64 * 1024;
/// The server's default limit on a participant's metadata, in bytes (see `MAX_ATTRIBUTES_SIZE`).
pub const MAX_METADATA_SIZE: usize = 512 * 1024;
/// The server's default limit on a participant's name, in bytes (see `MAX_ATTRIBUTES_SIZE`).
pub const MAX_NAME_LENGTH: usize = 256;

/// How long we wait for the server to echo an applied change back to us.
pub(crate) const ECHO_TIMEOUT: Duration = Duration::from_secs(5);

/// Ourselves in the room (`Room::local_participant`): our state, and the calls that change it,
/// publish tracks and send data. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct LocalParticipant {
    pub(crate) state: SharedState,
    pub(crate) room: Weak<RoomInner>,
}

impl std::fmt::Debug for LocalParticipant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.read();
        f.debug_struct("LocalParticipant").field("sid", &s.sid).field("identity", &s.identity).finish()
    }
}

impl LocalParticipant {
    participant_accessors!();

    pub(super) fn room(&self) -> Result<Arc<RoomInner>> {
        self.room.upgrade().ok_or(Error::Disconnected)
    }

    /// Sets the given keys; other keys are kept. A value of "" deletes its key.
    /// Needs the `canUpdateOwnMetadata` grant.
    pub async fn set_attributes(&self, attributes: HashMap<String, String>) -> Result<()> {
        if attributes.keys().any(|k| k.is_empty()) {
            return Err(Error::InvalidArgument("attribute keys must not be empty".into()));
        }
        let size = attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
        let update = proto::UpdateParticipantMetadata { attributes: attributes.clone(), ..Default::default() };
        let applied = move |s: &ParticipantState| {
            attributes.iter().all(|(k, v)| match v.as_str() {
                "" => !s.attributes.contains_key(k),
                v => s.attributes.get(k).map(String::as_str) == Some(v),
            })
        };
        self.update("set_attributes", "the attributes", MAX_ATTRIBUTES_SIZE, size, update, applied).await
    }

    /// Replaces the metadata. The server reads an empty string as "no change", so it is refused.
    pub async fn set_metadata(&self, metadata: impl Into<String>) -> Result<()> {
        let metadata = metadata.into();
        if metadata.is_empty() {
            return Err(Error::InvalidArgument(
                "the server ignores empty metadata (it means \"no change\"); set a value such as \"{}\"".into(),
            ));
        }
        let size = metadata.len();
        let update = proto::UpdateParticipantMetadata { metadata: metadata.clone(), ..Default::default() };
        self.update("set_metadata", "the metadata", MAX_METADATA_SIZE, size, update, move |s| s.metadata == metadata)
            .await
    }

    /// Changes the display name. The server reads an empty name as "no change", so it is refused.
    pub async fn set_name(&self, name: impl Into<String>) -> Result<()> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::InvalidArgument("the server ignores an empty name (it means \"no change\")".into()));
        }
        let size = name.len();
        let update = proto::UpdateParticipantMetadata { name: name.clone(), ..Default::default() };
        self.update("set_name", "the name", MAX_NAME_LENGTH, size, update, move |s| s.name == name).await
    }

    async fn update(
        &self,
        call: &str,
        what: &str,
        limit: usize,
        size: usize,
        update: proto::UpdateParticipantMetadata,
        applied: impl Fn(&ParticipantState) -> bool,
    ) -> Result<()> {
        let room = self.room()?;
        let response = room
            .request(|id| {
                proto::signal_request::Message::UpdateMetadata(proto::UpdateParticipantMetadata {
                    request_id: id,
                    ..update
                })
            })
            .await?;
        use proto::request_response::Reason;
        match Reason::try_from(response.reason).unwrap_or(Reason::UnclassifiedError) {
            Reason::Ok => {}
            Reason::NotAllowed => {
                return Err(Error::NotAllowed(format!(
                    "{call} needs the canUpdateOwnMetadata grant in the access token ({})",
                    response.message
                )))
            }
            Reason::LimitExceeded => {
                return Err(Error::LimitExceeded {
                    what: format!("{what} ({})", response.message),
                    limit,
                    actual: size,
                })
            }
            other => return Err(Error::Server(format!("{call}: {other:?} {}", response.message))),
        }
        // The server answers before it broadcasts the update; wait for our own copy of it so the
        // caller reads the new state, and the change event has been raised, once this returns.
        room.wait_until(|room| applied(&room.local.state.read()), ECHO_TIMEOUT).await;
        Ok(())
    }

    /// Says who may subscribe to this participant's tracks: everyone
    /// (`all_participants_allowed`), or only the participants and tracks listed. A subscriber
    /// that loses its permission is unsubscribed and told so
    /// (`TrackSubscriptionPermissionChanged`).
    ///
    /// ```no_run
    /// # async fn demo(room: livekit_core::Room) -> livekit_core::Result<()> {
    /// use livekit_core::ParticipantTrackPermission;
    /// let only_bob = ParticipantTrackPermission { participant_identity: "bob".into(), allow_all: true, ..Default::default() };
    /// room.local_participant().set_track_subscription_permissions(false, vec![only_bob]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_track_subscription_permissions(
        &self,
        all_participants_allowed: bool,
        permissions: Vec<crate::track::ParticipantTrackPermission>,
    ) -> Result<()> {
        if let Some(p) = permissions.iter().find(|p| p.participant_identity.is_empty()) {
            return Err(Error::InvalidArgument(format!("a track permission needs a participant identity ({p:?})")));
        }
        let update = proto::SubscriptionPermission {
            all_participants: all_participants_allowed,
            track_permissions: permissions.iter().map(|p| p.to_proto()).collect(),
        };
        self.room()?.send_signal(proto::signal_request::Message::SubscriptionPermission(update)).await
    }

    /// Sends a data packet to the room or to `destination_identities`.
    pub async fn publish_data(&self, payload: impl Into<Vec<u8>>, options: DataOptions) -> Result<()> {
        let room = self.room()?;
        let packet = data::user_packet(payload.into(), &options)?;
        room.send_data(packet, options.kind()).await
    }

    /// Test only (feature `testing`): sends any `DataPacket` as it is, so the hostile-peer tests
    /// can craft what a broken or malicious client would send. Not part of the API.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub async fn send_raw_data_packet(&self, packet: proto::DataPacket, kind: crate::DataPacketKind) -> Result<()> {
        self.room()?.send_data(packet, kind).await
    }
}
