//! A 440 Hz tone from one of ours, and the official peer checking that it hears it.

use std::time::Duration;

use livekit_core::{AudioFrame, AudioSource};
use livekit_test_harness::audio_analysis::sine;
use livekit_test_harness::{OfficialPeer, StopRecording};
use tokio::task::JoinHandle;

pub const TONE_HZ: f64 = 440.0;

/// Captures a 440 Hz tone in 10 ms frames until aborted.
pub fn play_tone_forever(source: AudioSource) -> JoinHandle<()> {
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
pub async fn official_hears_the_tone(official: &mut OfficialPeer, publisher: &str, sid: &str) {
    official
        .wait_event(Duration::from_secs(20), |e| e["type"] == "track_published" && e["track_sid"] == sid)
        .await
        .unwrap_or_else(|err| panic!("the official client does not see track {sid}: {err}"));
    official_records_the_tone(official, publisher, sid).await;
}

/// The official peer, which already knows the track, records it until it has a second of
/// sound, which must be the tone.
pub async fn official_records_the_tone(official: &mut OfficialPeer, publisher: &str, sid: &str) {
    let recording = official.start_recording(publisher, sid, 48_000, 1).await.expect("the official SDK subscribes");
    let stop = StopRecording { wait_sound: Some(Duration::from_millis(1000)), ..Default::default() };
    let heard = official.stop_recording(&recording, &stop).await.expect("a second of sound");
    // A continuous tone; a gap on a loaded machine may split it in segments, each of which
    // must still be the tone.
    let freqs: Vec<f64> = heard.segments.iter().map(|s| s.freq).collect();
    assert!(!freqs.is_empty(), "the official client heard no tone");
    assert!(freqs.iter().all(|f| (f - TONE_HZ).abs() <= 3.0), "the official client heard {freqs:?} for {TONE_HZ} Hz");
}
