//! Session metadata (seed 003), built on the room metadata of the current room session:
//! it lives while the room lives and is gone when the room closes after its last participant
//! leaves. Unlike 100ms, changes are announced (`RoomEvent::RoomMetadataChanged`). There is no
//! compare-and-set: concurrent writers race and the last write wins.

use livekit_api::access_token::Claims;

use super::local_participant::ECHO_TIMEOUT;
use super::Room;
use crate::api::{http_url, RoomClient};
use crate::error::{Error, Result};

impl Room {
    /// The metadata of the current session (the room metadata).
    pub fn session_metadata(&self) -> String {
        self.metadata()
    }

    /// Sets the session metadata through the server API (RoomService `UpdateRoomMetadata`)
    /// with this participant's own token, which must hold `roomAdmin` for this room.
    /// Resolves once this client has seen the new value.
    pub async fn set_session_metadata(&self, value: &str) -> Result<()> {
        self.inner.ensure_connected()?;
        let token = self.inner.token.read().clone();
        let room = self.name();
        let claims = Claims::from_unverified(&token)?;
        if !claims.video.room_admin || (!claims.video.room.is_empty() && claims.video.room != room) {
            return Err(Error::NotAllowed(format!(
                "set_session_metadata needs the roomAdmin grant for room {room:?} in the access token"
            )));
        }
        let client = RoomClient::with_token(&http_url(&self.inner.url), &token).with_failover(false);
        client.update_room_metadata(&room, value).await?;
        let value = value.to_string();
        self.inner.wait_until(|room| room.info.read().metadata == value, ECHO_TIMEOUT).await;
        Ok(())
    }
}
