//! Server API (RoomService) calls seen as room events, and session metadata.

mod common;

use std::collections::HashMap;

use common::*;
use livekit_core::api::{RoomClient, UpdateParticipantOptions, VideoGrants};
use livekit_core::{Error, Participant, Room, RoomEvent};

fn admin_client(server: &livekit_test_harness::TestServer) -> RoomClient {
    RoomClient::with_api_key(&server.http_url(), server.api_key(), server.api_secret())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_participant_from_the_server_is_seen_by_everyone() {
    let server = start_server();
    let (_alice, mut alice_events) = join(&server, "s1", "alice").await;
    let (_bob, mut bob_events) = join(&server, "s1", "bob").await;
    let options = UpdateParticipantOptions {
        metadata: "set by admin".into(),
        attributes: HashMap::from([("level".to_string(), "3".to_string())]),
        ..Default::default()
    };
    admin_client(&server).update_participant("s1", "alice", options).await.unwrap();

    let changed = wait_for(&mut bob_events, "remote attributes change", |e| match e {
        RoomEvent::ParticipantAttributesChanged { participant, changed_attributes }
            if participant.identity() == "alice" =>
        {
            Some(changed_attributes.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(changed, HashMap::from([("level".to_string(), "3".to_string())]));
    let metadata = wait_for(&mut alice_events, "local metadata change", |e| match e {
        RoomEvent::ParticipantMetadataChanged { participant: Participant::Local(_), metadata, .. } => {
            Some(metadata.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(metadata, "set by admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_remove_participants() {
    let server = start_server();
    let (_alice, mut alice_events) = join(&server, "s2", "alice").await;
    let (_bob, _bob_events) = join(&server, "s2", "bob").await;
    // The server batches join notices of non-publishers (about 3 s); alice must know bob first.
    wait_until_known(&mut alice_events, "bob").await;
    let client = admin_client(&server);
    let mut identities: Vec<String> =
        client.list_participants("s2").await.unwrap().into_iter().map(|p| p.identity).collect();
    identities.sort();
    assert_eq!(identities, ["alice", "bob"]);
    let rooms = client.list_rooms(vec![]).await.unwrap();
    assert_eq!(rooms.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["s2"]);

    client.remove_participant("s2", "bob").await.unwrap();
    let left = wait_for(&mut alice_events, "ParticipantDisconnected", |e| match e {
        RoomEvent::ParticipantDisconnected(p) => Some(p.identity()),
        _ => None,
    })
    .await;
    assert_eq!(left, "bob");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_metadata_from_the_server_raises_room_metadata_changed() {
    let server = start_server();
    let (room, mut events) = join(&server, "s3", "alice").await;
    admin_client(&server).update_room_metadata("s3", "topic: rust").await.unwrap();
    let change = wait_for(&mut events, "RoomMetadataChanged", |e| match e {
        RoomEvent::RoomMetadataChanged { old_metadata, metadata } => Some((old_metadata.clone(), metadata.clone())),
        _ => None,
    })
    .await;
    assert_eq!(change, (String::new(), "topic: rust".to_string()));
    assert_eq!(room.metadata(), "topic: rust");
}

fn admin_grants(room: &str) -> VideoGrants {
    VideoGrants { room_admin: true, ..participant_grants(room) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_metadata_is_shared_and_cleared_when_the_room_closes() {
    let server = start_server();
    let url = server.url();
    let (host, _host_events) =
        Room::connect(&url, &token_with(&server, "host", admin_grants("s4")), common::room_options()).await.unwrap();
    let (guest, mut guest_events) = join(&server, "s4", "guest").await;

    host.set_session_metadata("{\"round\":1}").await.unwrap();
    assert_eq!(host.session_metadata(), "{\"round\":1}");
    let seen = wait_for(&mut guest_events, "RoomMetadataChanged", |e| match e {
        RoomEvent::RoomMetadataChanged { metadata, .. } => Some(metadata.clone()),
        _ => None,
    })
    .await;
    assert_eq!(seen, "{\"round\":1}");
    assert_eq!(guest.session_metadata(), "{\"round\":1}");

    // Without roomAdmin the call fails at once with a message that names the grant.
    let err = guest.set_session_metadata("x").await.unwrap_err();
    assert!(matches!(&err, Error::NotAllowed(msg) if msg.contains("roomAdmin")), "{err:?}");

    // The session ends when the last participant leaves and the room closes.
    let room_sid = host.sid();
    host.disconnect().await.unwrap();
    guest.disconnect().await.unwrap();
    let client = admin_client(&server);
    let closed = async {
        while !client.list_rooms(vec!["s4".into()]).await.unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await; // polling the server's state
        }
    };
    tokio::time::timeout(EVENT_TIMEOUT, closed).await.expect("the room closes after its departure timeout");
    let (next, _next_events) = join(&server, "s4", "next").await;
    assert_ne!(next.sid(), room_sid, "a new session of the room");
    assert_eq!(next.session_metadata(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_changes_from_the_server_raise_permissions_changed() {
    let server = start_server();
    let (alice, mut alice_events) = join(&server, "s5", "alice").await;
    let permission = livekit_protocol::ParticipantPermission {
        can_subscribe: true,
        can_publish: false,
        can_publish_data: false,
        can_update_metadata: true,
        ..Default::default()
    };
    let options = UpdateParticipantOptions { permission: Some(permission), ..Default::default() };
    admin_client(&server).update_participant("s5", "alice", options).await.unwrap();
    let (old, new) = wait_for(&mut alice_events, "ParticipantPermissionsChanged", |e| match e {
        RoomEvent::ParticipantPermissionsChanged { old_permissions, permissions, .. } => {
            Some((old_permissions.clone(), permissions.clone()))
        }
        _ => None,
    })
    .await;
    assert!(old.expect("permissions before").can_publish_data);
    let new = new.expect("permissions after");
    assert!(!new.can_publish_data && !new.can_publish && new.can_subscribe);
    assert_eq!(alice.local_participant().permissions(), Some(new));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_and_delete_room() {
    let server = start_server();
    let client = admin_client(&server);
    let options = livekit_core::api::CreateRoomOptions { metadata: "made by the API".into(), ..Default::default() };
    let created = client.create_room("s6", options).await.unwrap();
    assert_eq!((created.name.as_str(), created.metadata.as_str()), ("s6", "made by the API"));

    let (room, mut events) = join(&server, "s6", "alice").await;
    assert_eq!(room.metadata(), "made by the API", "a joiner sees the metadata the room was created with");
    let info = client.get_participant("s6", "alice").await.unwrap();
    assert_eq!(info.identity, "alice");

    client.delete_room("s6").await.unwrap();
    let reason = wait_for(&mut events, "Disconnected", |e| match e {
        RoomEvent::Disconnected { reason } => Some(*reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, livekit_core::DisconnectReason::RoomDeleted);
    assert_eq!(room.connection_state(), livekit_core::ConnectionState::Disconnected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_carry_initial_state_and_verify() {
    use livekit_core::api::{AccessToken, TokenVerifier};
    let server = start_server();
    let token = AccessToken::with_api_key(server.api_key(), server.api_secret())
        .with_identity("alice")
        .with_name("Alice")
        .with_metadata("{\"seat\":1}")
        .with_attributes([("role", "host")])
        .with_ttl(std::time::Duration::from_secs(600))
        .with_grants(participant_grants("s7"))
        .to_jwt()
        .unwrap();
    let claims = TokenVerifier::with_api_key(server.api_key(), server.api_secret()).verify(&token).unwrap();
    assert_eq!((claims.sub.as_str(), claims.video.room.as_str()), ("alice", "s7"));
    assert!(TokenVerifier::with_api_key(server.api_key(), "another-secret-0123456789-0123456789")
        .verify(&token)
        .is_err());

    let (_alice, _a) = Room::connect(&server.url(), &token, common::room_options()).await.unwrap();
    let (bob, _b) = join(&server, "s7", "bob").await;
    let seen = bob.remote_participants().get("alice").cloned().expect("bob sees alice");
    assert_eq!((seen.name(), seen.metadata()), ("Alice".to_string(), "{\"seat\":1}".to_string()));
    assert_eq!(seen.attributes(), HashMap::from([("role".to_string(), "host".to_string())]));
}
