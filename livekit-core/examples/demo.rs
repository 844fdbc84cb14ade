//! The demo: a local livekit-server and three participants of ours that share state and
//! messages, printing what each of them sees. Run it with `make demo`.

use std::collections::HashMap;
use std::time::Duration;

use livekit_core::api::{AccessToken, VideoGrants};
use livekit_core::{DataOptions, Participant, Room, RoomEvent, RoomOptions};
use livekit_test_harness::TestServer;
use tokio::sync::mpsc::UnboundedReceiver;

const ROOM: &str = "demo";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("starting a local livekit-server...");
    let server = TestServer::start()?;
    println!("server at {}\n", server.url());

    let mut rooms = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let (room, events) = Room::connect(&server.url(), &token(&server, name)?, RoomOptions::default()).await?;
        println!("{name} joined room {:?} ({})", room.name(), room.sid());
        tokio::spawn(print_events(name, events));
        rooms.push(room);
    }
    let [alice, bob, carol] = [&rooms[0], &rooms[1], &rooms[2]];

    // Everyone is announced to everyone before the state changes start (the server batches
    // join notices of participants that publish nothing, up to 3 s).
    wait_until_all_known(&rooms).await;

    step("alice sets attributes and metadata");
    let status =
        HashMap::from([("status".to_string(), "presenting".to_string()), ("slide".to_string(), "1".to_string())]);
    alice.local_participant().set_attributes(status).await?;
    alice.local_participant().set_metadata(r#"{"avatar":"fox"}"#).await?;

    step("bob renames himself and moves to slide 2 for everyone");
    bob.local_participant().set_name("Bob the Builder").await?;
    alice.local_participant().set_attributes(HashMap::from([("slide".to_string(), "2".to_string())])).await?;

    step("carol sends a reliable chat message to the room and a private one to alice");
    carol.local_participant().publish_data(b"hi all".to_vec(), DataOptions::reliable().with_topic("chat")).await?;
    let private = DataOptions::reliable().with_topic("chat").with_destinations(["alice"]);
    carol.local_participant().publish_data(b"psst, alice".to_vec(), private).await?;

    step("bob streams lossy cursor positions");
    for x in 0..3 {
        let position = format!("{{\"x\":{x},\"y\":{}}}", x * 2);
        bob.local_participant().publish_data(position.into_bytes(), DataOptions::lossy().with_topic("cursor")).await?;
    }

    step("alice clears her status (an empty value deletes the key)");
    alice.local_participant().set_attributes(HashMap::from([("status".to_string(), String::new())])).await?;

    // Give the last messages time to be printed before everyone leaves.
    tokio::time::sleep(Duration::from_millis(500)).await;
    step("everyone leaves");
    for room in &rooms {
        room.disconnect().await?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!("\ndone.");
    Ok(())
}

fn token(server: &TestServer, identity: &str) -> Result<String, livekit_core::api::AccessTokenError> {
    let grants = VideoGrants {
        room_join: true,
        room: ROOM.into(),
        can_publish_data: Some(true),
        can_subscribe: Some(true),
        can_update_own_metadata: Some(true),
        ..Default::default()
    };
    AccessToken::with_api_key(server.api_key(), server.api_secret())
        .with_identity(identity)
        .with_name(identity)
        .with_grants(grants)
        .to_jwt()
}

async fn wait_until_all_known(rooms: &[Room]) {
    let all_known = || rooms.iter().all(|r| r.remote_participants().len() == rooms.len() - 1);
    while !all_known() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn step(what: &str) {
    println!("\n== {what}");
}

fn who(participant: &Participant) -> String {
    if participant.is_local() {
        "self".to_string()
    } else {
        participant.identity()
    }
}

/// Prints one participant's view of the room, one line an event.
async fn print_events(me: &'static str, mut events: UnboundedReceiver<RoomEvent>) {
    while let Some(event) = events.recv().await {
        let line = match event {
            RoomEvent::Connected => "connected".to_string(),
            RoomEvent::ParticipantConnected(p) => format!("{} joined", p.identity()),
            RoomEvent::ParticipantDisconnected(p) => format!("{} left", p.identity()),
            RoomEvent::ParticipantAttributesChanged { participant, changed_attributes } => {
                let mut changed: Vec<_> = changed_attributes.into_iter().collect();
                changed.sort();
                format!("{} attributes changed: {changed:?}", who(&participant))
            }
            RoomEvent::ParticipantMetadataChanged { participant, old_metadata, metadata } => {
                format!("{} metadata {old_metadata:?} -> {metadata:?}", who(&participant))
            }
            RoomEvent::ParticipantNameChanged { participant, old_name, name } => {
                format!("{} renamed {old_name:?} -> {name:?}", who(&participant))
            }
            RoomEvent::DataReceived { payload, topic, kind, sender_identity, .. } => format!(
                "{kind:?} message on {:?} from {}: {}",
                topic.unwrap_or_default(),
                sender_identity.unwrap_or_else(|| "the server".into()),
                String::from_utf8_lossy(&payload)
            ),
            RoomEvent::Disconnected { reason } => format!("disconnected ({reason:?})"),
            _ => continue,
        };
        println!("  [{me:>5}] {line}");
    }
}
