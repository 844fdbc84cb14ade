//! Shared fixture for the integration tests: a real server, tokens and event waiting.
#![allow(dead_code)] // each test binary uses a different part of the fixture

pub mod netns;
pub mod tone;
pub mod video;

use std::time::Duration;

use livekit_core::api::{AccessToken, VideoGrants};
use livekit_core::{DataOptions, PeerConnectionMode, RemoteParticipant, Room, RoomEvent, RoomOptions};
use livekit_test_harness::{OfficialPeer, TestServer};
use tokio::sync::mpsc::UnboundedReceiver;

pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The options every test joins with: the library's defaults, with the peer connection mode
/// from `LK_PC_MODE` (`auto`, `single` or `dual`) when set, so each suite runs in every mode.
pub fn room_options() -> RoomOptions {
    let peer_connection_mode = match std::env::var("LK_PC_MODE").as_deref() {
        Err(_) | Ok("") => return RoomOptions::default(),
        Ok("auto") => PeerConnectionMode::Auto,
        Ok("single") => PeerConnectionMode::Single,
        Ok("dual") => PeerConnectionMode::Dual,
        Ok(other) => panic!("LK_PC_MODE must be auto, single or dual, not {other:?}"),
    };
    RoomOptions { peer_connection_mode, ..RoomOptions::default() }
}

pub fn start_server() -> TestServer {
    let _ = env_logger::builder().is_test(true).try_init(); // RUST_LOG chooses what shows
    TestServer::start().unwrap_or_else(|err| panic!("could not start livekit-server: {err}"))
}

/// Grants a normal participant gets in these tests: join, publish data, update own metadata.
pub fn participant_grants(room: &str) -> VideoGrants {
    VideoGrants {
        room_join: true,
        room: room.to_string(),
        can_publish: Some(true),
        can_subscribe: Some(true),
        can_publish_data: Some(true),
        can_update_own_metadata: Some(true),
        ..Default::default()
    }
}

pub fn token_with(server: &TestServer, identity: &str, grants: VideoGrants) -> String {
    AccessToken::with_api_key(server.api_key(), server.api_secret())
        .with_identity(identity)
        .with_name(identity)
        .with_grants(grants)
        .to_jwt()
        .expect("token")
}

pub fn token(server: &TestServer, room: &str, identity: &str) -> String {
    token_with(server, identity, participant_grants(room))
}

pub async fn join(server: &TestServer, room: &str, identity: &str) -> (Room, UnboundedReceiver<RoomEvent>) {
    Room::connect(&server.url(), &token(server, room, identity), room_options())
        .await
        .unwrap_or_else(|err| panic!("{identity} could not join: {err}\nserver log:\n{}", server.log()))
}

/// Waits for the first event `pick` maps to `Some`, skipping the others, with a timeout.
pub async fn wait_for<T>(
    events: &mut UnboundedReceiver<RoomEvent>,
    what: &str,
    pick: impl FnMut(&RoomEvent) -> Option<T>,
) -> T {
    wait_for_within(events, EVENT_TIMEOUT, what, pick).await
}

/// `wait_for` with its own time limit, for what the server reports on a timer.
pub async fn wait_for_within<T>(
    events: &mut UnboundedReceiver<RoomEvent>,
    limit: Duration,
    what: &str,
    mut pick: impl FnMut(&RoomEvent) -> Option<T>,
) -> T {
    let wait = async {
        while let Some(event) = events.recv().await {
            if let Some(found) = pick(&event) {
                return found;
            }
        }
        panic!("the event stream ended while waiting for {what}");
    };
    tokio::time::timeout(limit, wait).await.unwrap_or_else(|_| panic!("no {what} within {limit:?}"))
}

/// Asserts that no event `pick` matches arrives within `window` (a negative check has to wait
/// out its window; it follows a positive check so the window only covers in-flight messages).
pub async fn assert_no_event(
    events: &mut UnboundedReceiver<RoomEvent>,
    window: Duration,
    what: &str,
    mut pick: impl FnMut(&RoomEvent) -> bool,
) {
    let deadline = tokio::time::Instant::now() + window;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
        assert!(!pick(&event), "unexpected {what}: {event:?}");
    }
}

/// Waits until `identity` is announced. The server announces a participant that publishes
/// nothing up to 3 s after it joined (it batches those updates), so a test that needs another
/// participant known waits for this first. Returns the participant.
pub async fn wait_until_known(events: &mut UnboundedReceiver<RoomEvent>, identity: &str) -> RemoteParticipant {
    wait_for(events, "ParticipantConnected", |e| match e {
        RoomEvent::ParticipantConnected(p) if p.identity() == identity => Some(p.clone()),
        _ => None,
    })
    .await
}

/// The official Python SDK joined to `room` as `identity`; a missing SDK fails the test.
pub async fn official_peer(server: &TestServer, room: &str, identity: &str) -> OfficialPeer {
    let mut peer = OfficialPeer::spawn().await.unwrap_or_else(|err| panic!("official SDK peer: {err}"));
    peer.connect(&server.url(), &token(server, room, identity)).await.expect("official peer connects");
    peer
}

/// Sends `text` reliably on topic "t".
pub async fn send_text(room: &Room, text: &str) {
    let options = DataOptions { topic: Some("t".into()), ..Default::default() };
    room.local_participant().publish_data(text.as_bytes().to_vec(), options).await.expect("publish_data");
}

/// Waits for `text` and returns who sent it.
pub async fn receive_text(events: &mut UnboundedReceiver<RoomEvent>, text: &str) -> String {
    wait_for(events, text, |e| match e {
        RoomEvent::DataReceived { payload, sender_identity, .. } if payload.as_slice() == text.as_bytes() => {
            Some(sender_identity.clone().unwrap_or_default())
        }
        _ => None,
    })
    .await
}

/// Signs claims with HS256 by hand: the builder will not make an expired token.
pub fn sign_hs256(claims: &serde_json::Value, secret: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use hmac::Mac;
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = B64.encode(claims.to_string());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{body}").as_bytes());
    format!("{header}.{body}.{}", B64.encode(mac.finalize().into_bytes()))
}
