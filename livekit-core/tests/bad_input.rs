//! Bad input gets a clear, typed error, promptly, and never a panic.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use livekit_core::api::{AccessToken, VideoGrants};
use livekit_core::data::MAX_DATA_PAYLOAD;
use livekit_core::room::{MAX_ATTRIBUTES_SIZE, MAX_METADATA_SIZE, MAX_NAME_LENGTH};
use livekit_core::{DataOptions, Error, Room};

/// Errors that need no retry must come back well before any timeout.
const PROMPT: Duration = Duration::from_secs(3);

async fn connect_err(url: &str, token: &str) -> Error {
    let started = Instant::now();
    let err = match Room::connect(url, token, common::room_options()).await {
        Ok(_) => panic!("connect unexpectedly succeeded"),
        Err(err) => err,
    };
    assert!(started.elapsed() < PROMPT, "took {:?} to fail with {err:?}", started.elapsed());
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_signed_with_the_wrong_secret_is_unauthorized() {
    let server = start_server();
    let token = AccessToken::with_api_key(server.api_key(), "not-the-secret-0123456789-0123456789")
        .with_identity("mallory")
        .with_grants(participant_grants("b1"))
        .to_jwt()
        .unwrap();
    let err = connect_err(&server.url(), &token).await;
    assert!(matches!(&err, Error::Unauthorized { reason } if !reason.is_empty()), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_unauthorized() {
    let server = start_server();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // The server allows a minute of clock skew, so this one expired two minutes ago.
    let claims = serde_json::json!({
        "iss": server.api_key(), "sub": "late", "nbf": now - 600, "exp": now - 120,
        "video": { "roomJoin": true, "room": "b2" },
    });
    let token = sign_hs256(&claims, server.api_secret());
    let err = connect_err(&server.url(), &token).await;
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_without_a_join_grant_is_unauthorized() {
    let server = start_server();
    let grants = VideoGrants { room_join: false, room: "b3".into(), ..Default::default() };
    let err = connect_err(&server.url(), &token_with(&server, "nojoin", grants)).await;
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_token_is_unauthorized() {
    let server = start_server();
    let err = connect_err(&server.url(), "not-a-jwt").await;
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_url_is_an_invalid_argument() {
    let err = connect_err("localhost:7880", "token").await;
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_is_a_connection_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = connect_err(&format!("ws://127.0.0.1:{port}"), "token").await;
    assert!(matches!(err, Error::Connection(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_after_disconnect_fail_with_disconnected() {
    let server = start_server();
    let (room, _events) = join(&server, "b4", "alice").await;
    let local = room.local_participant();
    room.disconnect().await.unwrap();
    assert_eq!(local.set_metadata("x").await.unwrap_err(), Error::Disconnected);
    assert_eq!(local.set_attributes(HashMap::from([("a".into(), "1".into())])).await.unwrap_err(), Error::Disconnected);
    assert_eq!(local.publish_data(b"x".to_vec(), DataOptions::reliable()).await.unwrap_err(), Error::Disconnected);
    assert_eq!(room.set_session_metadata("x").await.unwrap_err(), Error::Disconnected);
    let text = livekit_core::data::SendTextOptions::new_with_topic("t");
    assert_eq!(local.send_text("x", text).await.unwrap_err(), Error::Disconnected);
    let call = livekit_core::data::PerformRpcData::new("bob", "m");
    let err = local.perform_rpc(call).await.unwrap_err();
    assert_eq!(err.code, livekit_core::data::RpcErrorCode::SendFailed as u32, "{err:?}");
    room.disconnect().await.expect("a second disconnect is harmless");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updating_own_state_without_the_grant_is_not_allowed_at_once() {
    let server = start_server();
    let grants = VideoGrants { can_update_own_metadata: Some(false), ..participant_grants("b5") };
    let (room, _events) =
        Room::connect(&server.url(), &token_with(&server, "viewer", grants), common::room_options()).await.unwrap();
    let started = Instant::now();
    let err = room.local_participant().set_attributes(HashMap::from([("a".into(), "1".into())])).await.unwrap_err();
    assert!(started.elapsed() < PROMPT);
    assert!(matches!(&err, Error::NotAllowed(msg) if msg.contains("canUpdateOwnMetadata")), "{err:?}");
    let err = room.local_participant().set_metadata("m").await.unwrap_err();
    assert!(matches!(err, Error::NotAllowed(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_state_is_refused_with_the_limit() {
    let server = start_server();
    let (room, _events) = join(&server, "b6", "alice").await;
    let local = room.local_participant();

    let big = "x".repeat(MAX_ATTRIBUTES_SIZE);
    let err = local.set_attributes(HashMap::from([("k".into(), big)])).await.unwrap_err();
    assert!(
        matches!(err, Error::LimitExceeded { limit: MAX_ATTRIBUTES_SIZE, actual, .. } if actual == MAX_ATTRIBUTES_SIZE + 1),
        "{err:?}"
    );
    let err = local.set_metadata("m".repeat(MAX_METADATA_SIZE + 1)).await.unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { limit: MAX_METADATA_SIZE, .. }), "{err:?}");
    let err = local.set_name("n".repeat(MAX_NAME_LENGTH + 1)).await.unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { limit: MAX_NAME_LENGTH, .. }), "{err:?}");

    // The refused values left the state untouched, and the connection still works.
    assert!(local.attributes().is_empty());
    local.set_metadata("fine").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_data_and_bad_destinations_are_refused() {
    let server = start_server();
    let (room, _events) = join(&server, "b7", "alice").await;
    let local = room.local_participant();
    let err = local.publish_data(vec![0; MAX_DATA_PAYLOAD + 1], DataOptions::lossy()).await.unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { limit: MAX_DATA_PAYLOAD, .. }), "{err:?}");
    let err = local.publish_data(b"x".to_vec(), DataOptions::reliable().with_destinations([""])).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    let err = local.set_metadata("").await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}
