//! The demo: a local livekit-server and three participants of ours that share state and
//! messages, printing what each of them sees, then a voice round (`voice.rs`) and a screen
//! share (`screen.rs`). Run it with
//! `make demo`.

mod screen;
mod voice;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use livekit_core::api::{AccessToken, VideoGrants};
use livekit_core::data::{ByteStreamReader, SendByteOptions, StreamProgressCallback, StreamReader};
use livekit_core::{DataOptions, Participant, Room, RoomEvent, RoomOptions, TrackPublication};
use livekit_test_harness::TestServer;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

const ROOM: &str = "demo";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("starting a local livekit-server...");
    let server = TestServer::start()?;
    println!("server at {}\n", server.url());

    let (mut rooms, mut taps) = (Vec::new(), Vec::new());
    for name in ["alice", "bob", "carol"] {
        let (room, events) = Room::connect(&server.url(), &token(&server, name)?, RoomOptions::default()).await?;
        println!("{name} joined room {:?} ({})", room.name(), room.sid());
        // Each event is printed, then passed on for the voice round to wait on.
        let (tap, tapped) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(print_events(name, events, tap));
        rooms.push(room);
        taps.push(tapped);
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
    tokio::time::sleep(Duration::from_millis(500)).await; // let the events above print first

    step("alice sends a file to bob and carol");
    send_file_with_progress(alice, &[bob, carol]).await?;

    let [_, bob_events, carol_events] = &mut taps[..] else { unreachable!("three participants") };
    voice::round(alice, bob_events, carol_events).await?;
    screen::share(alice, bob_events).await?;

    step("everyone leaves");
    for room in &rooms {
        room.disconnect().await?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!("\ndone.");
    Ok(())
}

const FILE_SIZE: usize = 8 * 1024 * 1024;

/// Alice sends a file; a progress bar follows the sender and each receiver.
async fn send_file_with_progress(sender: &Room, receivers: &[&Room]) -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join("livekit-demo-slides.pdf");
    std::fs::write(&path, pseudo_random_bytes(FILE_SIZE))?;
    let bars = MultiProgress::new();
    let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
    for room in receivers {
        let me = room.local_participant().identity();
        let bar = bars.add(progress_bar(&format!("{me:>5} receives")));
        let done_tx = done_tx.clone();
        room.register_byte_stream_handler("files", move |reader, sender| {
            tokio::spawn(receive_file(reader, sender, me.clone(), bar.clone(), done_tx.clone()));
        })?;
    }
    let send_bar = bars.insert(0, progress_bar("alice sends   "));
    let mut options = SendByteOptions::new_with_topic("files");
    let bar = send_bar.clone();
    options.on_progress = Some(StreamProgressCallback::new(move |p| {
        bar.set_position((p.percentage().unwrap_or(0.0) * FILE_SIZE as f32) as u64);
    }));
    let info = sender.local_participant().send_file(&path, options).await?;
    send_bar.finish_with_message(format!("sent {} ({})", info.name, info.mime_type));
    for _ in receivers {
        let line = done.recv().await.ok_or("a receiver stopped")?;
        bars.suspend(|| println!("{line}"));
    }
    std::fs::remove_file(&path).ok();
    Ok(())
}

async fn receive_file(
    mut reader: ByteStreamReader,
    sender: String,
    me: String,
    bar: ProgressBar,
    done: tokio::sync::mpsc::UnboundedSender<String>,
) {
    let info = reader.info().clone();
    bar.set_length(info.total_length.unwrap_or(0));
    let mut received = 0u64;
    while let Some(chunk) = reader.next().await {
        match chunk {
            Ok(bytes) => {
                received += bytes.len() as u64;
                bar.set_position(received);
            }
            Err(err) => {
                let _ = done.send(format!("  {me}: the transfer of {} failed: {err}", info.name));
                return;
            }
        }
    }
    bar.finish();
    let _ = done.send(format!("  {me} received {} ({received} bytes, {}) from {sender}", info.name, info.mime_type));
}

/// Incompressible content, so the rates shown are the transport's and not the compressor's.
fn pseudo_random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x2545f4914f6cdd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn progress_bar(label: &str) -> ProgressBar {
    let bar = ProgressBar::new(FILE_SIZE as u64);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}

fn token(server: &TestServer, identity: &str) -> Result<String, livekit_core::api::AccessTokenError> {
    let grants = VideoGrants {
        room_join: true,
        room: ROOM.into(),
        can_publish: Some(true),
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

pub(crate) fn step(what: &str) {
    println!("\n== {what}");
}

fn who(participant: &Participant) -> String {
    if participant.is_local() {
        "self".to_string()
    } else {
        participant.identity()
    }
}

/// Prints one participant's view of the room, one line an event (who speaks: bob's view only,
/// when the list changes), and passes each event on to `tap`.
async fn print_events(me: &'static str, mut events: UnboundedReceiver<RoomEvent>, tap: UnboundedSender<RoomEvent>) {
    let mut speaking = Vec::new();
    while let Some(event) = events.recv().await {
        if let Some(line) = describe(me, &event, &mut speaking) {
            println!("  [{me:>5}] {line}");
        }
        let _ = tap.send(event);
    }
}

fn describe(me: &str, event: &RoomEvent, speaking: &mut Vec<String>) -> Option<String> {
    let line = match event {
        RoomEvent::Connected => "connected".to_string(),
        RoomEvent::ParticipantConnected(p) => format!("{} joined", p.identity()),
        RoomEvent::ParticipantDisconnected(p) => format!("{} left", p.identity()),
        RoomEvent::ParticipantAttributesChanged { participant, changed_attributes } => {
            let mut changed: Vec<_> = changed_attributes.iter().collect();
            changed.sort();
            format!("{} attributes changed: {changed:?}", who(participant))
        }
        RoomEvent::ParticipantMetadataChanged { participant, old_metadata, metadata } => {
            format!("{} metadata {old_metadata:?} -> {metadata:?}", who(participant))
        }
        RoomEvent::ParticipantNameChanged { participant, old_name, name } => {
            format!("{} renamed {old_name:?} -> {name:?}", who(participant))
        }
        RoomEvent::DataReceived { payload, topic, kind, sender_identity, .. } => format!(
            "{kind:?} message on {:?} from {}: {}",
            topic.clone().unwrap_or_default(),
            sender_identity.clone().unwrap_or_else(|| "the server".into()),
            String::from_utf8_lossy(payload)
        ),
        RoomEvent::LocalTrackPublished { publication, .. } => {
            format!("published {:?} ({:?})", publication.name(), publication.source())
        }
        RoomEvent::TrackSubscribed { publication, participant, .. } => {
            format!("subscribed to {}'s {:?}", participant.identity(), publication.name())
        }
        RoomEvent::TrackMuted { participant, publication } => {
            format!("{} muted {:?}", who(participant), track_name(publication))
        }
        RoomEvent::TrackUnmuted { participant, publication } => {
            format!("{} unmuted {:?}", who(participant), track_name(publication))
        }
        RoomEvent::ActiveSpeakersChanged { speakers } if me == "bob" => {
            let now: Vec<String> = speakers.iter().map(who).collect();
            if now == *speaking {
                return None;
            }
            *speaking = now;
            format!("speakers: [{}]", speaking.join(", "))
        }
        RoomEvent::Disconnected { reason } => format!("disconnected ({reason:?})"),
        _ => return None,
    };
    Some(line)
}

fn track_name(publication: &TrackPublication) -> String {
    match publication {
        TrackPublication::Local(publication) => publication.name(),
        TrackPublication::Remote(publication) => publication.name(),
    }
}
