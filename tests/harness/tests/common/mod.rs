//! Shared setup of the official-peer smoke tests.
#![allow(dead_code)] // each test binary uses part of it

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_test_harness::{OfficialPeer, TestServer};

pub fn token(server: &TestServer, room: &str, identity: &str) -> String {
    let grants =
        VideoGrants { room_join: true, room: room.into(), can_update_own_metadata: Some(true), ..Default::default() };
    AccessToken::with_api_key(server.api_key(), server.api_secret())
        .with_identity(identity)
        .with_name(identity)
        .with_grants(grants)
        .to_jwt()
        .expect("mint token")
}

/// Starts a peer; a missing Python SDK fails the test (it never skips).
pub async fn spawn_peer() -> OfficialPeer {
    OfficialPeer::spawn().await.unwrap_or_else(|e| panic!("official peer unavailable: {e}"))
}
