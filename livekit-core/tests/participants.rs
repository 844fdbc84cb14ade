//! Participants and their state between our own clients, through a real livekit-server.

mod common;

use std::collections::HashMap;

use common::*;
use livekit_core::{Participant, RoomEvent};

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_see_each_other_join_and_leave() {
    let server = start_server();
    let (alice, mut alice_events) = join(&server, "r1", "alice").await;
    assert!(matches!(alice_events.recv().await, Some(RoomEvent::Connected)));
    assert_eq!(alice.name(), "r1");
    assert!(alice.sid().starts_with("RM_"), "room sid {}", alice.sid());
    assert_eq!(alice.local_participant().identity(), "alice");

    let (bob, _bob_events) = join(&server, "r1", "bob").await;
    let joined = wait_for(&mut alice_events, "ParticipantConnected", |e| match e {
        RoomEvent::ParticipantConnected(p) => Some(p.clone()),
        _ => None,
    })
    .await;
    assert_eq!(joined.identity(), "bob");
    assert_eq!(joined.name(), "bob");
    assert_eq!(bob.remote_participants().keys().collect::<Vec<_>>(), vec!["alice"]);

    bob.disconnect().await.unwrap();
    let left = wait_for(&mut alice_events, "ParticipantDisconnected", |e| match e {
        RoomEvent::ParticipantDisconnected(p) => Some(p.identity()),
        _ => None,
    })
    .await;
    assert_eq!(left, "bob");
    assert!(alice.remote_participants().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_changes_arrive_with_the_changed_map() {
    let server = start_server();
    let (alice, _alice_events) = join(&server, "r2", "alice").await;
    let (_bob, mut bob_events) = join(&server, "r2", "bob").await;
    let local = alice.local_participant();

    local.set_attributes(map(&[("status", "ready"), ("color", "red")])).await.unwrap();
    assert_eq!(local.attributes(), map(&[("status", "ready"), ("color", "red")]));
    let (who, changed) = wait_for(&mut bob_events, "ParticipantAttributesChanged", |e| match e {
        RoomEvent::ParticipantAttributesChanged { participant, changed_attributes } => {
            Some((participant.identity(), changed_attributes.clone()))
        }
        _ => None,
    })
    .await;
    assert_eq!(who, "alice");
    assert_eq!(changed, map(&[("status", "ready"), ("color", "red")]));

    // Per key: an update keeps other keys, and "" deletes its key.
    local.set_attributes(map(&[("status", "busy"), ("color", "")])).await.unwrap();
    let changed = wait_for(&mut bob_events, "the second attribute change", |e| match e {
        RoomEvent::ParticipantAttributesChanged { changed_attributes, .. } => Some(changed_attributes.clone()),
        _ => None,
    })
    .await;
    assert_eq!(changed, map(&[("status", "busy"), ("color", "")]));
    assert_eq!(local.attributes(), map(&[("status", "busy")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_name_changes_carry_old_and_new_values() {
    let server = start_server();
    let (alice, mut alice_events) = join(&server, "r3", "alice").await;
    let (_bob, mut bob_events) = join(&server, "r3", "bob").await;
    let local = alice.local_participant();

    local.set_metadata("m1").await.unwrap();
    local.set_metadata("m2").await.unwrap();
    local.set_name("Alice A.").await.unwrap();
    for expected_old in ["", "m1"] {
        let (old, new) = wait_for(&mut bob_events, "ParticipantMetadataChanged", |e| match e {
            RoomEvent::ParticipantMetadataChanged { old_metadata, metadata, .. } => {
                Some((old_metadata.clone(), metadata.clone()))
            }
            _ => None,
        })
        .await;
        assert_eq!(old, expected_old);
        assert_eq!(new, if expected_old.is_empty() { "m1" } else { "m2" });
    }
    let (old, new) = wait_for(&mut bob_events, "ParticipantNameChanged", |e| match e {
        RoomEvent::ParticipantNameChanged { old_name, name, .. } => Some((old_name.clone(), name.clone())),
        _ => None,
    })
    .await;
    assert_eq!((old.as_str(), new.as_str()), ("alice", "Alice A."));

    // The local participant sees its own change as an event too, as the official SDKs do.
    let local_event = wait_for(&mut alice_events, "local ParticipantNameChanged", |e| match e {
        RoomEvent::ParticipantNameChanged { participant: Participant::Local(p), name, .. } => {
            Some((p.identity(), name.clone()))
        }
        _ => None,
    })
    .await;
    assert_eq!(local_event, ("alice".to_string(), "Alice A.".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_joiner_sees_state_set_before_it_joined() {
    let server = start_server();
    let (alice, _alice_events) = join(&server, "r4", "alice").await;
    let local = alice.local_participant();
    local.set_attributes(map(&[("role", "host")])).await.unwrap();
    local.set_metadata("{\"seat\":1}").await.unwrap();

    let (carol, _carol_events) = join(&server, "r4", "carol").await;
    let remotes = carol.remote_participants();
    let seen = remotes.get("alice").expect("carol sees alice");
    assert_eq!(seen.attributes(), map(&[("role", "host")]));
    assert_eq!(seen.metadata(), "{\"seat\":1}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_room_handle_leaves_the_room() {
    let server = start_server();
    let (alice, mut alice_events) = join(&server, "r5", "alice").await;
    let (bob, _bob_events) = join(&server, "r5", "bob").await;
    wait_until_known(&mut alice_events, "bob").await;
    let bob_clone = bob.clone();
    drop(bob);
    assert_eq!(bob_clone.connection_state(), livekit_core::ConnectionState::Connected, "a clone keeps it joined");
    drop(bob_clone);
    let left = wait_for(&mut alice_events, "ParticipantDisconnected", |e| match e {
        RoomEvent::ParticipantDisconnected(p) => Some(p.identity()),
        _ => None,
    })
    .await;
    assert_eq!(left, "bob");
    assert_eq!(alice.remote_participants().len(), 0);
}
