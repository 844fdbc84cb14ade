//! Proves the official peer's audio commands against a real livekit-server: one Python
//! peer plays tones, another records and analyses them, and both see the track events.
//! Run with `--nocapture` to see the timings it observes.

mod common;

use std::time::{Duration, Instant};

use common::{spawn_peer, token};
use livekit_test_harness::{AudioSourceKind, OfficialPeer, StopRecording, TestServer, Tone};
use serde_json::Value;

const EVENT_TIMEOUT: Duration = Duration::from_secs(15);
/// The server reports connection quality every few seconds.
const QUALITY_TIMEOUT: Duration = Duration::from_secs(30);
const ROOM: &str = "official-media";
const RATE: u32 = 48_000;
const AMPLITUDE: f64 = 0.5;

fn is(kind: &'static str, identity: &'static str, sid: String) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["type"] == kind && e["identity"] == identity && e["track_sid"] == sid.as_str()
}

fn speakers(e: &Value) -> Vec<String> {
    e["identities"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

/// Takes `active_speakers_changed` events in order until one satisfies `wanted`.
async fn wait_speakers(peer: &mut OfficialPeer, wanted: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = peer.wait_event(left, |e| e["type"] == "active_speakers_changed").await.expect("speakers event");
        let ids = speakers(&e);
        if wanted(&ids) {
            return ids;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_peers_play_record_and_analyse_tones() {
    let mut a = spawn_peer().await;
    let mut b = spawn_peer().await;
    let server = tokio::task::spawn_blocking(TestServer::start).await.expect("join").expect("start livekit-server");
    let url = server.url();
    a.connect(&url, &token(&server, ROOM, "alice")).await.expect("alice connects");
    b.connect_with(&url, &token(&server, ROOM, "bob"), true).await.expect("bob connects");

    let sid = a.publish_audio("tones", AudioSourceKind::Microphone, RATE, 2).await.expect("publish audio");
    let local = a.wait_event(EVENT_TIMEOUT, is("local_track_published", "alice", sid.clone())).await.unwrap();
    assert_eq!(local["kind"], "KIND_AUDIO", "{local}");
    assert_eq!(local["source"], "SOURCE_MICROPHONE", "{local}");
    let published = b.wait_event(EVENT_TIMEOUT, is("track_published", "alice", sid.clone())).await.unwrap();
    assert_eq!(published["name"], "tones", "{published}");
    b.wait_event(EVENT_TIMEOUT, is("track_subscribed", "alice", sid.clone())).await.expect("bob subscribes");

    // One tone of 2 s, captured as 48 kHz stereo, recorded as 48 kHz stereo.
    let rec = b.start_recording("alice", &sid, RATE, 2).await.expect("start recording");
    let played_at = Instant::now();
    let tone = Tone { freq: 440.0, seconds: 2.0, amplitude: AMPLITUDE };
    assert_eq!(a.play_tones(&sid, &[tone]).await.expect("play"), 2.0);
    let ids = wait_speakers(&mut b, |ids| ids.iter().any(|i| i == "alice")).await;
    let speaker_after = played_at.elapsed();
    a.wait_event(EVENT_TIMEOUT, |e| e["type"] == "tones_played" && e["track_sid"] == sid.as_str())
        .await
        .expect("alice's tone is captured");
    let captured_at = Instant::now();
    let captured_after = captured_at - played_at;
    assert!(speaker_after < captured_after, "alice was an active speaker ({ids:?}) only after her tone ended");
    let wait = StopRecording { wait_silence: Some(Duration::from_millis(300)), ..Default::default() };
    let one = b.stop_recording(&rec, &wait).await.expect("stop recording");
    eprintln!(
        "440 Hz: speaker after {speaker_after:?}, captured after {captured_after:?}, first frame {:?} ms, \
         first sound {:?} ms, {} frames, segments {:?}, gap {} ms, rms {:.4}",
        one.first_frame_ms, one.first_sound_ms, one.frames, one.segments, one.longest_gap_ms, one.rms
    );
    assert_eq!((one.sample_rate, one.channels), (RATE, 2));
    assert_eq!(one.segments.len(), 1, "{one:?}");
    let seg = &one.segments[0];
    assert!((seg.freq - 440.0).abs() <= 2.0, "{seg:?}");
    let sent_rms = AMPLITUDE / 2f64.sqrt();
    assert!((seg.rms - sent_rms).abs() <= 0.1 * sent_rms, "rms {} vs {sent_rms}: {seg:?}", seg.rms);
    assert!((one.rms - sent_rms).abs() <= 0.1 * sent_rms, "{one:?}");
    let ms = seg.end_ms - seg.start_ms;
    assert!((1900..=2100).contains(&ms), "a 2 s tone lasted {ms} ms: {one:?}");
    let left = wait_speakers(&mut b, |ids| !ids.iter().any(|i| i == "alice")).await;
    eprintln!("alice left the active speakers {:?} after her tone was captured ({left:?})", captured_at.elapsed());

    // Five tones of 1 s back to back.
    let freqs = [330.0, 440.0, 550.0, 660.0, 880.0];
    let rec = b.start_recording("alice", &sid, RATE, 2).await.expect("start recording");
    let tones: Vec<Tone> = freqs.iter().map(|&freq| Tone { freq, seconds: 1.0, amplitude: AMPLITUDE }).collect();
    assert_eq!(a.play_tones(&sid, &tones).await.expect("play"), 5.0);
    a.wait_event(EVENT_TIMEOUT, |e| e["type"] == "tones_played" && e["track_sid"] == sid.as_str())
        .await
        .expect("alice's tones are captured");
    let options = StopRecording {
        wait_silence: Some(Duration::from_millis(300)),
        tones: Some(freqs.to_vec()),
        include_pcm: true,
        ..Default::default()
    };
    let five = b.stop_recording(&rec, &options).await.expect("stop recording");
    eprintln!("5 tones: segments {:?}, gap {} ms, rms {:.4}", five.segments, five.longest_gap_ms, five.rms);
    let found: Vec<f64> = five.segments.iter().map(|s| s.freq).collect();
    assert_eq!(found.len(), 5, "{five:?}");
    for (got, want) in found.iter().zip(freqs) {
        assert!((got - want).abs() <= 2.0, "{found:?}");
    }
    assert!(five.longest_gap_ms <= 30, "{five:?}");
    assert_eq!(five.tones_match, Some(true));
    // Our Rust analysis agrees with the script's numpy one on the same samples.
    let pcm = five.pcm().expect("pcm");
    let ours = livekit_test_harness::audio_analysis::analyze(&pcm, RATE, 2);
    assert_eq!(ours.segments.len(), 5, "{ours:?}");
    for (r, p) in ours.segments.iter().zip(&five.segments) {
        assert_eq!((r.start_ms, r.end_ms), (p.start_ms, p.end_ms), "{ours:?} vs {five:?}");
        assert!((r.freq - p.freq).abs() < 0.01 && (r.rms - p.rms).abs() < 1e-4, "{r:?} vs {p:?}");
    }
    assert_eq!(ours.longest_gap_ms, five.longest_gap_ms);

    // Both report connection quality.
    for (peer, who) in [(&mut a, "alice"), (&mut b, "bob")] {
        let started = Instant::now();
        let q = peer
            .wait_event(QUALITY_TIMEOUT, |e| e["type"] == "connection_quality_changed")
            .await
            .unwrap_or_else(|e| panic!("{who} sees no connection quality: {e}"));
        eprintln!("{who}: {q} (waited {:?} more)", started.elapsed());
        assert!(q["quality"].as_str().is_some_and(|s| s.starts_with("QUALITY_")), "{q}");
    }

    // Mute and unmute.
    a.mute_track(&sid, true).await.expect("mute");
    b.wait_event(EVENT_TIMEOUT, is("track_muted", "alice", sid.clone())).await.expect("bob sees the mute");
    a.mute_track(&sid, false).await.expect("unmute");
    b.wait_event(EVENT_TIMEOUT, is("track_unmuted", "alice", sid.clone())).await.expect("bob sees the unmute");

    // Unsubscribe and subscribe again.
    b.set_subscribed("alice", &sid, false).await.expect("unsubscribe");
    b.wait_event(EVENT_TIMEOUT, is("track_unsubscribed", "alice", sid.clone())).await.expect("unsubscribed");
    b.set_subscribed("alice", &sid, true).await.expect("subscribe");
    b.wait_event(EVENT_TIMEOUT, is("track_subscribed", "alice", sid.clone())).await.expect("subscribed again");

    a.unpublish_track(&sid).await.expect("unpublish");
    a.wait_event(EVENT_TIMEOUT, is("local_track_unpublished", "alice", sid.clone())).await.expect("local unpublish");
    b.wait_event(EVENT_TIMEOUT, is("track_unpublished", "alice", sid.clone())).await.expect("bob sees it go");

    b.close().await.expect("bob's script exits");
    a.close().await.expect("alice's script exits");
}
