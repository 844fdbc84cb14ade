//! The server itself fails: killed with SIGKILL and restarted on the same ports, it has lost
//! every session, so clients must join anew and publish their tracks again. The official
//! Python SDK, itself reconnecting, must hear our audio again.

mod common;

use std::time::{Duration, Instant};

use common::*;
use livekit_core::{AudioFrame, AudioSource, LocalAudioTrack, LocalTrack, RoomEvent, TrackPublishOptions};
use livekit_test_harness::audio_analysis::sine;
use livekit_test_harness::{OfficialPeer, StopRecording};
use tokio::task::JoinHandle;

const TONE_HZ: f64 = 440.0;

/// Captures a 440 Hz tone in 10 ms frames until aborted.
fn play_tone_forever(source: AudioSource) -> JoinHandle<()> {
    tokio::spawn(async move {
        let second = sine(TONE_HZ, 1.0, 48_000, 1, 0.5);
        loop {
            for chunk in second.chunks(480) {
                let frame = AudioFrame::new(chunk.to_vec(), 48_000, 1).expect("a valid frame");
                if source.capture_frame(&frame).await.is_err() {
                    return;
                }
            }
        }
    })
}

/// The official peer records our track until it has a second of sound, which must be the tone.
async fn official_hears_the_tone(official: &mut OfficialPeer, sid: &str) {
    official
        .wait_event(Duration::from_secs(20), |e| e["type"] == "track_published" && e["track_sid"] == sid)
        .await
        .unwrap_or_else(|err| panic!("the official client does not see track {sid}: {err}"));
    let recording = official.start_recording("rusty", sid, 48_000, 1).await.expect("the official SDK subscribes");
    let stop = StopRecording { wait_sound: Some(Duration::from_millis(1000)), ..Default::default() };
    let heard = official.stop_recording(&recording, &stop).await.expect("a second of sound");
    // A continuous tone; a gap on a loaded machine may split it in segments, each of which
    // must still be the tone.
    let freqs: Vec<f64> = heard.segments.iter().map(|s| s.freq).collect();
    assert!(!freqs.is_empty(), "the official client heard no tone");
    assert!(freqs.iter().all(|f| (f - TONE_HZ).abs() <= 3.0), "the official client heard {freqs:?} for {TONE_HZ} Hz");
}

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
    official_hears_the_tone(&mut official, &first.sid()).await;
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
        RoomEvent::LocalTrackPublished { publication, .. } if publication.sid() != first.sid() => {
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
    official_hears_the_tone(&mut official, &republished).await;
    player.abort();
}
