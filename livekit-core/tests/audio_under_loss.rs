//! Audio under 5 % random UDP loss, both ways with the official Python SDK. The whole test
//! (server, official peer, us) runs again inside a network namespace it creates, where
//! nftables drops 5 % of UDP packets on input: every hop of the media (publisher to server,
//! server to subscriber) loses packets, signalling (TCP) does not (see `common/netns.rs`).

#![cfg(feature = "audio")]

mod common;

use std::time::Duration;

use common::*;
use livekit_core::{
    AudioFrame, AudioSource, AudioStream, LocalAudioTrack, LocalTrack, RemoteTrack, RoomEvent, TrackPublishOptions,
};
use livekit_test_harness::audio_analysis::{analyze, sine};
use livekit_test_harness::{AudioSourceKind, StopRecording, Tone};

const LOSS_PERCENT: u32 = 5;
const TONES: [f64; 5] = [330.0, 440.0, 550.0, 660.0, 880.0];
/// Both senders' capture queues: each feeder runs this far ahead of the encoder, so a stall of
/// its process (the test's, the official peer's) shorter than this leaves no hole of silence
/// in what is sent. This test is about the network's loss, not about a loaded machine's
/// scheduling. (With 100 ms the official peer sent 40 ms of zeros now and then on one core.)
const CAPTURE_QUEUE_MS: u32 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tones_survive_five_percent_loss_both_ways() {
    if !netns::inside_namespace() {
        return netns::run_in_namespace(
            "tones_survive_five_percent_loss_both_ways",
            &netns::random_udp_loss(LOSS_PERCENT),
        );
    }
    let server = start_server();
    let (ours, mut events) = join(&server, "loss", "rusty").await;
    let mut official = official_peer(&server, "loss", "py").await;

    // Ours -> official: five tones in order, no gap over 60 ms.
    let source = AudioSource::new(48_000, 2, CAPTURE_QUEUE_MS).unwrap();
    let track = LocalAudioTrack::create("mic", &source);
    let sid = ours
        .local_participant()
        .publish_track(LocalTrack::Audio(track), TrackPublishOptions::default())
        .await
        .expect("published")
        .sid();
    official
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "track_published" && e["track_sid"] == sid.as_str())
        .await
        .expect("the official client sees our track");
    let recording = official.start_recording("rusty", &sid, 48_000, 2).await.expect("recording");
    for freq in TONES {
        for chunk in sine(freq, 1.0, 48_000, 2, 0.5).chunks(960) {
            source.capture_frame(&AudioFrame::new(chunk.to_vec(), 48_000, 2).unwrap()).await.unwrap();
        }
    }
    source.wait_for_playout().await;
    let stop = StopRecording { wait_silence: Some(Duration::from_millis(300)), ..Default::default() };
    let heard = official.stop_recording(&recording, &stop).await.expect("an analysis");
    let freqs: Vec<f64> = heard.segments.iter().map(|s| s.freq).collect();
    assert_eq!(heard.segments.len(), TONES.len(), "five tones in order under loss: {freqs:?}");
    for (segment, expected) in heard.segments.iter().zip(TONES) {
        assert!((segment.freq - expected).abs() <= 2.0, "{freqs:?}");
    }
    assert!(heard.longest_gap_ms <= 60, "a gap of {} ms in what the official client heard", heard.longest_gap_ms);

    // Official -> ours: a 3 s tone, continuous. It starts up to the queue's length after it was
    // queued, so 5 s are read.
    let py_sid = official
        .publish_audio_with_queue("mic", AudioSourceKind::Microphone, 48_000, 2, CAPTURE_QUEUE_MS)
        .await
        .expect("published");
    official.play_tones(&py_sid, &[Tone { freq: 440.0, seconds: 3.0, amplitude: 0.5 }]).await.unwrap();
    let remote = wait_for(&mut events, "TrackSubscribed", |e| match e {
        RoomEvent::TrackSubscribed { track: RemoteTrack::Audio(track), .. } if track.sid() == py_sid => {
            Some(track.clone())
        }
        _ => None,
    })
    .await;
    let mut stream = AudioStream::new(&remote, 48_000, 2).unwrap();
    let mut received = Vec::new();
    let read = async {
        while received.len() < 48_000 * 2 * 5 {
            received.extend_from_slice(stream.recv().await.expect("audio goes on").data());
        }
    };
    tokio::time::timeout(Duration::from_secs(15), read).await.expect("5 s of audio");
    let analysis = analyze(&received, 48_000, 2);
    let tone = analysis.segments.iter().max_by_key(|s| s.end_ms - s.start_ms);
    let tone = tone.unwrap_or_else(|| panic!("no tone in what we received: {analysis:?}"));
    assert!((tone.freq - 440.0).abs() <= 2.0, "{:?}", analysis.segments);
    assert!(tone.end_ms - tone.start_ms >= 2_500, "the tone lasts under loss: {:?}", analysis.segments);
    assert!(analysis.longest_gap_ms <= 60, "a gap of {} ms in what we received", analysis.longest_gap_ms);
}
