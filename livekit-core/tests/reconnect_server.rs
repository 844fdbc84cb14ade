//! The server itself fails: killed with SIGKILL and restarted on the same ports, it has lost
//! every session, so clients must join anew and publish their tracks again. The official
//! Python SDK, itself reconnecting, must hear our audio again.

mod common;

use std::time::{Duration, Instant};

use common::tone::{official_hears_the_tone, play_tone_forever};
use common::*;
use livekit_core::{AudioSource, LocalAudioTrack, LocalTrack, RoomEvent, TrackPublishOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_and_restarted_server_gets_our_audio_back() {
    let mut server = start_server();
    let (ours, mut events) = join(&server, "k1", "rusty").await;
    let mut official = official_peer(&server, "k1", "py").await;
    let source = AudioSource::new(48_000, 1, 100).unwrap();
    let track = LocalAudioTrack::create("mic", &source);
    let player = play_tone_forever(source);
    let first =
        ours.local_participant().publish_track(LocalTrack::Audio(track), TrackPublishOptions::default()).await.unwrap();
    official_hears_the_tone(&mut official, "rusty", &first.sid()).await;
    let sid_before = ours.local_participant().sid();

    let killed_at = Instant::now();
    let _server = tokio::task::spawn_blocking(move || {
        server.kill_and_restart().expect("the server restarts");
        server
    })
    .await
    .unwrap();
    let restarted_after = killed_at.elapsed();
    let republished = wait_for_within(&mut events, Duration::from_secs(30), "our track republished", |e| match e {
        RoomEvent::LocalTrackPublished { publication, previous_sid, .. } if publication.sid() != first.sid() => {
            assert_eq!(previous_sid.as_deref(), Some(first.sid().as_str()), "the event names the sid it replaces");
            Some(publication.sid())
        }
        RoomEvent::Disconnected { reason } => panic!("disconnected ({reason:?}) instead of reconnecting"),
        _ => None,
    })
    .await;
    wait_for_within(&mut events, Duration::from_secs(30), "Reconnected", |e| {
        matches!(e, RoomEvent::Reconnected).then_some(())
    })
    .await;
    let reconnected_after = killed_at.elapsed();
    eprintln!("server back after {restarted_after:?}; Reconnected {:?} after the kill", reconnected_after);
    assert!(
        reconnected_after - restarted_after < Duration::from_secs(10),
        "Reconnected {:?} after the server was back",
        reconnected_after - restarted_after
    );
    assert_ne!(ours.local_participant().sid(), sid_before, "a restarted server means a new session");
    assert_ne!(republished, first.sid(), "the republished track has a new sid");

    official
        .wait_event(Duration::from_secs(30), |e| e["type"] == "reconnected")
        .await
        .expect("the official client reconnects too");
    official_hears_the_tone(&mut official, "rusty", &republished).await;
    player.abort();
}
