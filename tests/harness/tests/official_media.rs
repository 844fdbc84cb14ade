//! Proves the official peer's audio commands against a real livekit-server: one Python
//! peer plays tones, another records and analyses them, and both see the track events.
//! Run with `--nocapture` to see the timings it observes.

mod common;

use std::time::{Duration, Instant};

use common::{spawn_peer, token};
use livekit_test_harness::{AudioSourceKind, OfficialPeer, StopRecording, TestServer, Tone, TrackPermission};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_peer_subscribes_on_demand_and_obeys_permissions() {
    let mut a = spawn_peer().await;
    let mut c = spawn_peer().await;
    let server = tokio::task::spawn_blocking(TestServer::start).await.expect("join").expect("start livekit-server");
    let url = server.url();
    a.connect(&url, &token(&server, ROOM, "alice")).await.expect("alice connects");
    c.connect_with(&url, &token(&server, ROOM, "carol"), false).await.expect("carol connects");

    let sid = a.publish_audio("screen", AudioSourceKind::ScreenShareAudio, 16_000, 1).await.expect("publish");
    let published = c.wait_event(EVENT_TIMEOUT, is("track_published", "alice", sid.clone())).await.unwrap();
    assert_eq!(published["source"], "SOURCE_SCREENSHARE_AUDIO", "{published}");
    assert_eq!(published["kind"], "KIND_AUDIO", "{published}");
    // auto_subscribe=false: nothing is subscribed until asked for.
    c.assert_no_event(Duration::from_secs(1), |e| e["type"] == "track_subscribed").await.expect("no auto subscription");
    c.set_subscribed("alice", &sid, true).await.expect("subscribe");
    c.wait_event(EVENT_TIMEOUT, is("track_subscribed", "alice", sid.clone())).await.expect("carol subscribes");

    // A 16 kHz mono track, recorded at 48 kHz: the tone survives resampling.
    let rec = c.start_recording("alice", &sid, RATE, 1).await.expect("record");
    a.play_tones(&sid, &[Tone { freq: 1000.0, seconds: 1.0, amplitude: 0.3 }]).await.expect("play");
    let wait = StopRecording {
        wait_silence: Some(Duration::from_millis(300)),
        frequency_for: Some((0, 10_000)),
        ..Default::default()
    };
    let one = c.stop_recording(&rec, &wait).await.expect("stop");
    eprintln!("1 kHz at 16 kHz: {:?}, frequency of all {:?}", one.segments, one.frequency);
    assert_eq!(one.segments.len(), 1, "{one:?}");
    assert!((one.segments[0].freq - 1000.0).abs() <= 2.0, "{one:?}");
    assert!(one.frequency.is_some_and(|f| (f - 1000.0).abs() <= 2.0), "{one:?}");

    // Revoking carol's permission stops her audio, with no event to her within 15 s (SDK
    // 1.2.1: neither track_unsubscribed nor track_subscription_failed); and the request is
    // fire-and-forget, so the tone starts after 0.5 s of silence to give it time. Granting
    // it back gives her track_unsubscribed, then track_subscribed, and the audio again.
    let bob_only = [TrackPermission { participant_identity: "bob".into(), allow_all: true, ..Default::default() }];
    a.set_track_subscription_permissions(false, &bob_only).await.expect("revoke");
    let silence_then_tone =
        [Tone { freq: 1000.0, seconds: 0.5, amplitude: 0.0 }, Tone { freq: 1000.0, seconds: 1.0, amplitude: 0.3 }];
    let rec = c.start_recording("alice", &sid, RATE, 1).await.expect("record");
    a.play_tones(&sid, &silence_then_tone).await.expect("play");
    a.wait_event(EVENT_TIMEOUT, |e| e["type"] == "tones_played").await.expect("played");
    let short_wait = StopRecording {
        wait_silence: Some(Duration::from_millis(300)),
        wait_timeout: Some(Duration::from_secs(3)),
        ..Default::default()
    };
    let revoked = c.stop_recording(&rec, &short_wait).await;
    assert!(revoked.as_ref().is_err_and(|e| e.contains("sound seen: False")), "carol still hears alice: {revoked:?}");
    let rec = c.stop_recording(&rec, &StopRecording::default()).await.expect("stop");
    assert!(rec.segments.is_empty() && rec.first_sound_ms.is_none(), "{rec:?}");

    a.set_track_subscription_permissions(true, &[]).await.expect("grant");
    c.wait_event(EVENT_TIMEOUT, is("track_unsubscribed", "alice", sid.clone())).await.expect("old track ends");
    c.wait_event(EVENT_TIMEOUT, is("track_subscribed", "alice", sid.clone())).await.expect("new track");
    let rec = c.start_recording("alice", &sid, RATE, 1).await.expect("record");
    a.play_tones(&sid, &silence_then_tone).await.expect("play");
    let back = c.stop_recording(&rec, &wait).await.expect("carol hears alice again");
    eprintln!("after granting: {:?}", back.segments);
    assert_eq!(back.segments.len(), 1, "{back:?}");

    c.close().await.expect("carol's script exits");
    a.close().await.expect("alice's script exits");
}
