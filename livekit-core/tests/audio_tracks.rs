//! Audio end to end through a real livekit-server with the official Python SDK (libwebrtc) as
//! the peer, in both directions: tones are checked by frequency, level, order and gaps, not
//! only by arrival. The analysis (`livekit_test_harness::audio_analysis`) is the same on both
//! sides: 20 ms windows, FFT peak per window, silence below -40 dBFS.

#![cfg(feature = "audio")]

mod common;

use std::time::Duration;

use common::*;
use livekit_core::{
    AudioFrame, AudioSource, AudioStream, ConnectionQuality, LocalAudioTrack, LocalTrack, Participant, RemoteTrack,
    Room, RoomEvent, SubscriptionPermission, TrackPublishOptions, TrackSource,
};
use livekit_test_harness::audio_analysis::{analyze, sine};
use livekit_test_harness::{AudioSourceKind, StopRecording, Tone};
use tokio::sync::mpsc::UnboundedReceiver;

const TONES: [f64; 5] = [330.0, 440.0, 550.0, 660.0, 880.0];

/// Waits for the first remote audio track from `identity` and reads `seconds` of it.
async fn receive_audio(
    events: &mut UnboundedReceiver<RoomEvent>,
    identity: &str,
    rate: u32,
    channels: u32,
    seconds: f64,
) -> Vec<i16> {
    let track = wait_for(events, "TrackSubscribed", |e| match e {
        RoomEvent::TrackSubscribed { track: RemoteTrack::Audio(track), participant, .. }
            if participant.identity() == identity =>
        {
            Some(track.clone())
        }
        _ => None,
    })
    .await;
    let mut stream = AudioStream::new(&track, rate, channels).expect("a stream of the subscribed track");
    let wanted = (seconds * f64::from(rate)) as usize * channels as usize;
    let mut samples = Vec::with_capacity(wanted);
    let read = async {
        while samples.len() < wanted {
            let frame = stream.recv().await.expect("the stream goes on while the track is published");
            assert_eq!(frame.sample_rate(), rate);
            assert_eq!(frame.num_channels(), channels);
            assert_eq!(frame.samples_per_channel(), rate / 100, "10 ms frames");
            samples.extend_from_slice(frame.data());
        }
    };
    tokio::time::timeout(Duration::from_secs_f64(seconds + 10.0), read).await.expect("audio keeps arriving");
    samples
}

/// Publishes a microphone track of ours from a source of `rate` and `channels`.
async fn publish_ours(room: &Room, rate: u32, channels: u32) -> (AudioSource, LocalAudioTrack, String) {
    let options = TrackPublishOptions { source: TrackSource::Microphone, ..Default::default() };
    publish_ours_with(room, rate, channels, options).await
}

async fn publish_ours_with(
    room: &Room,
    rate: u32,
    channels: u32,
    options: TrackPublishOptions,
) -> (AudioSource, LocalAudioTrack, String) {
    let source = AudioSource::new(rate, channels, 100).expect("a source");
    let track = LocalAudioTrack::create("rusty-mic", &source);
    let publication =
        room.local_participant().publish_track(LocalTrack::Audio(track.clone()), options).await.expect("published");
    (source, track, publication.sid())
}

/// Captures each tone for one second, as 10 ms frames or as one 1 s frame per tone.
async fn capture_tones(source: &AudioSource, rate: u32, channels: u32, frame_ms: u32) {
    for freq in TONES {
        let samples = sine(freq, 1.0, rate, channels as usize, 0.5);
        let per_frame = (rate * frame_ms / 1000 * channels) as usize;
        for chunk in samples.chunks(per_frame) {
            let frame = AudioFrame::new(chunk.to_vec(), rate, channels).expect("a valid frame");
            source.capture_frame(&frame).await.expect("captured");
        }
    }
    source.wait_for_playout().await;
}

/// With the default options (RED and DTX on) unless `plain_opus`.
async fn official_hears_five_tones_from_us(room: &str, rate: u32, channels: u32, frame_ms: u32, plain_opus: bool) {
    let server = start_server();
    let (ours, _events) = join(&server, room, "rusty").await;
    let mut official = official_peer(&server, room, "py").await;
    let options = TrackPublishOptions { red: !plain_opus, dtx: !plain_opus, ..Default::default() };
    let (source, _track, sid) = publish_ours_with(&ours, rate, channels, options).await;
    official
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "track_published" && e["track_sid"] == sid.as_str())
        .await
        .expect("the official client sees our track");
    let recording = official.start_recording("rusty", &sid, 48_000, 2).await.expect("the official SDK subscribes");

    capture_tones(&source, rate, channels, frame_ms).await;
    let stop = StopRecording {
        wait_silence: Some(Duration::from_millis(300)),
        tones: Some(TONES.to_vec()),
        ..Default::default()
    };
    let heard = official.stop_recording(&recording, &stop).await.expect("an analysis");
    let freqs: Vec<f64> = heard.segments.iter().map(|s| s.freq).collect();
    assert_eq!(heard.segments.len(), TONES.len(), "five tones, in order: {freqs:?}");
    for (segment, expected) in heard.segments.iter().zip(TONES) {
        assert!((segment.freq - expected).abs() <= 2.0, "{} Hz heard for {expected} Hz: {freqs:?}", segment.freq);
        assert!((segment.rms - 0.354).abs() <= 0.0354, "level {} for 0.5 amplitude (0.354 rms)", segment.rms);
    }
    assert!(heard.longest_gap_ms <= 30, "a gap of {} ms between the tones", heard.longest_gap_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_hears_our_tones_in_order_48k_stereo_10ms_frames() {
    official_hears_five_tones_from_us("a1", 48_000, 2, 10, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_hears_our_tones_in_order_48k_stereo_one_second_frames() {
    official_hears_five_tones_from_us("a1b", 48_000, 2, 1000, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_hears_our_tones_in_order_16k_mono_10ms_frames() {
    official_hears_five_tones_from_us("a2b", 16_000, 1, 10, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_hears_our_tones_in_order_16k_mono_one_second_frames() {
    official_hears_five_tones_from_us("a2", 16_000, 1, 1000, false).await;
}

/// The official client captures at `capture_rate`/`capture_channels`; we read at `rate`/`channels`.
async fn we_hear_the_official_tone(room: &str, capture: (u32, u32), rate: u32, channels: u32) {
    let server = start_server();
    let (_ours, mut events) = join(&server, room, "rusty").await;
    let mut official = official_peer(&server, room, "py").await;
    let sid =
        official.publish_audio("mic", AudioSourceKind::Microphone, capture.0, capture.1).await.expect("published");
    official.play_tones(&sid, &[Tone { freq: 440.0, seconds: 3.0, amplitude: 0.5 }]).await.expect("playing");

    let received = receive_audio(&mut events, "py", rate, channels, 3.5).await;
    let analysis = analyze(&received, rate, channels as usize);
    let tone = analysis.segments.iter().max_by_key(|s| s.end_ms - s.start_ms).expect("a tone in what we received");
    assert!((tone.freq - 440.0).abs() <= 2.0, "{} Hz received for 440 Hz: {:?}", tone.freq, analysis.segments);
    assert!((tone.rms - 0.354).abs() <= 0.0354, "level {} for 0.5 amplitude (0.354 rms)", tone.rms);
    assert!(tone.end_ms - tone.start_ms >= 2_000, "the tone lasts: {:?}", analysis.segments);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_hear_the_official_tone_captured_at_48k_stereo() {
    we_hear_the_official_tone("a3", (48_000, 2), 48_000, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_hear_the_official_tone_captured_at_16k_mono() {
    we_hear_the_official_tone("a4", (16_000, 1), 16_000, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_hear_a_48k_stereo_tone_resampled_to_16k_mono() {
    we_hear_the_official_tone("a4b", (48_000, 2), 16_000, 1).await;
}

fn speakers(event: &RoomEvent) -> Option<Vec<String>> {
    match event {
        RoomEvent::ActiveSpeakersChanged { speakers } => Some(speakers.iter().map(Participant::identity).collect()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_speakers_and_mute_both_ways() {
    let server = start_server();
    let (ours, mut events) = join(&server, "a5", "rusty").await;
    let mut official = official_peer(&server, "a5", "py").await;
    let py_sid = official.publish_audio("mic", AudioSourceKind::Microphone, 48_000, 1).await.expect("published");
    let (source, track, our_sid) = publish_ours(&ours, 48_000, 1).await;

    // The official tone makes py a speaker for us; silence takes it off the list.
    official.play_tones(&py_sid, &[Tone { freq: 300.0, seconds: 2.0, amplitude: 0.8 }]).await.unwrap();
    wait_for(&mut events, "py speaking", |e| speakers(e).filter(|l| l.iter().any(|i| i == "py"))).await;
    assert!(ours.remote_participants()["py"].is_speaking());
    wait_for(&mut events, "py silent", |e| speakers(e).filter(|l| !l.iter().any(|i| i == "py"))).await;

    // Our tone makes us a speaker for the official client.
    let loud = sine(500.0, 2.0, 48_000, 1, 0.8);
    let feed = tokio::spawn({
        let source = source.clone();
        async move {
            for chunk in loud.chunks(480) {
                source.capture_frame(&AudioFrame::new(chunk.to_vec(), 48_000, 1).unwrap()).await.unwrap();
            }
        }
    });
    official
        .wait_event(EVENT_TIMEOUT, |e| {
            e["type"] == "active_speakers_changed"
                && e["identities"].as_array().is_some_and(|l| l.iter().any(|i| i == "rusty"))
        })
        .await
        .expect("the official client sees us speaking");
    feed.await.unwrap();
    official
        .wait_event(EVENT_TIMEOUT, |e| {
            e["type"] == "active_speakers_changed"
                && e["identities"].as_array().is_some_and(|l| !l.iter().any(|i| i == "rusty"))
        })
        .await
        .expect("the official client sees us stop speaking once we send silence");

    // Our mute reaches the official client and raises our own event at once.
    track.mute();
    wait_for(&mut events, "our TrackMuted", |e| match e {
        RoomEvent::TrackMuted { participant, publication } if participant.is_local() => Some(publication.sid()),
        _ => None,
    })
    .await;
    official
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "track_muted" && e["track_sid"] == our_sid.as_str())
        .await
        .expect("the official client sees our mute");
    track.unmute();
    official
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "track_unmuted" && e["track_sid"] == our_sid.as_str())
        .await
        .expect("the official client sees our unmute");

    // Quality of the official client reaches us once we are subscribed to it (the server sends
    // a score when it is new or changes, so it may already be here).
    if ours.remote_participants()["py"].connection_quality() == ConnectionQuality::Unknown {
        wait_for_within(&mut events, Duration::from_secs(15), "py's connection quality", |e| match e {
            RoomEvent::ConnectionQualityChanged { participant, quality } if participant.identity() == "py" => {
                Some(*quality)
            }
            _ => None,
        })
        .await;
    }
    assert_eq!(ours.remote_participants()["py"].connection_quality(), ConnectionQuality::Excellent);
    official
        .wait_event(Duration::from_secs(15), |e| e["type"] == "connection_quality_changed" && e["identity"] == "rusty")
        .await
        .expect("the official client gets a quality for us");

    // Unpublishing ends the track on the other side.
    ours.local_participant().unpublish_track(&our_sid).await.expect("unpublished");
    official
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "track_unpublished" && e["track_sid"] == our_sid.as_str())
        .await
        .expect("the official client sees our track go");
    official.unpublish_track(&py_sid).await.unwrap();
    let order = wait_for(&mut events, "TrackUnsubscribed then TrackUnpublished", |e| match e {
        RoomEvent::TrackUnsubscribed { publication, .. } if publication.sid() == py_sid => Some("unsubscribed"),
        RoomEvent::TrackUnpublished { publication, .. } if publication.sid() == py_sid => Some("unpublished"),
        _ => None,
    })
    .await;
    assert_eq!(order, "unsubscribed", "TrackUnsubscribed comes first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_without_permission_fails_at_once() {
    let server = start_server();
    let mut grants = participant_grants("a6");
    grants.can_publish = Some(false);
    let (room, _events) =
        Room::connect(&server.url(), &token_with(&server, "mute-only", grants), common::room_options())
            .await
            .expect("joins");
    let source = AudioSource::new(48_000, 1, 100).unwrap();
    let started = std::time::Instant::now();
    let refused = room
        .local_participant()
        .publish_track(LocalTrack::Audio(LocalAudioTrack::create("mic", &source)), TrackPublishOptions::default())
        .await;
    assert!(matches!(refused, Err(livekit_core::Error::NotAllowed(_))), "{refused:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "refused at once, not by a timeout");
    let unknown = room.local_participant().unpublish_track("TR_nope").await;
    assert!(matches!(unknown, Err(livekit_core::Error::InvalidArgument(_))), "{unknown:?}");

    // A token that allows the camera only: a microphone is refused, at once too.
    let mut grants = participant_grants("a6");
    grants.can_publish_sources = vec!["camera".into()];
    let (camera_only, _events) =
        Room::connect(&server.url(), &token_with(&server, "camera-only", grants), common::room_options())
            .await
            .expect("joins");
    let refused = camera_only
        .local_participant()
        .publish_track(LocalTrack::Audio(LocalAudioTrack::create("mic", &source)), TrackPublishOptions::default())
        .await;
    assert!(matches!(refused, Err(livekit_core::Error::NotAllowed(ref m)) if m.contains("Microphone")), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_subscription_and_a_revoked_permission() {
    let server = start_server();
    let options = livekit_core::RoomOptions { auto_subscribe: false, ..common::room_options() };
    let (ours, mut events) =
        Room::connect(&server.url(), &token(&server, "a7", "rusty"), options).await.expect("joins");
    let mut official = official_peer(&server, "a7", "py").await;
    let sid = official.publish_audio("mic", AudioSourceKind::Microphone, 48_000, 1).await.expect("published");
    official.play_tones(&sid, &[Tone { freq: 600.0, seconds: 30.0, amplitude: 0.5 }]).await.unwrap();

    let publication = wait_for(&mut events, "TrackPublished", |e| match e {
        RoomEvent::TrackPublished { publication, .. } if publication.sid() == sid => Some(publication.clone()),
        _ => None,
    })
    .await;
    assert!(!publication.is_desired() && !publication.is_subscribed());
    assert_no_event(&mut events, Duration::from_secs(1), "TrackSubscribed without asking", |e| {
        matches!(e, RoomEvent::TrackSubscribed { .. })
    })
    .await;

    publication.set_subscribed(true).await.expect("asked");
    let track = wait_for(&mut events, "TrackSubscribed", |e| match e {
        RoomEvent::TrackSubscribed { track: RemoteTrack::Audio(track), .. } => Some(track.clone()),
        _ => None,
    })
    .await;
    assert!(publication.is_subscribed());
    let mut stream = AudioStream::new(&track, 48_000, 1).unwrap();
    let mut samples = Vec::new();
    while samples.len() < 48_000 {
        samples.extend_from_slice(stream.recv().await.expect("audio").data());
    }
    let tone = analyze(&samples, 48_000, 1).segments.into_iter().max_by_key(|s| s.end_ms - s.start_ms);
    assert!(tone.is_some_and(|t| (t.freq - 600.0).abs() <= 2.0), "the manual subscription carries the tone");

    // The publisher takes our permission away: the subscription ends.
    official.set_track_subscription_permissions(false, &[]).await.expect("permissions set");
    wait_for(&mut events, "TrackUnsubscribed after the permission went", |e| match e {
        RoomEvent::TrackUnsubscribed { publication, .. } if publication.sid() == sid => Some(()),
        _ => None,
    })
    .await;
    assert!(!publication.is_subscribed());
    if publication.subscription_permission() != SubscriptionPermission::NotAllowed {
        wait_for(&mut events, "TrackSubscriptionPermissionChanged", |e| match e {
            RoomEvent::TrackSubscriptionPermissionChanged { permission, .. } => Some(*permission),
            _ => None,
        })
        .await;
    }
    assert_eq!(publication.subscription_permission(), SubscriptionPermission::NotAllowed);

    // And asking to stop a subscription is heard too (after granting it back).
    official.set_track_subscription_permissions(true, &[]).await.expect("permissions set");
    wait_for(&mut events, "TrackSubscribed again", |e| match e {
        RoomEvent::TrackSubscribed { publication, .. } if publication.sid() == sid => Some(()),
        _ => None,
    })
    .await;
    publication.set_subscribed(false).await.expect("asked");
    wait_for(&mut events, "TrackUnsubscribed on request", |e| match e {
        RoomEvent::TrackUnsubscribed { publication, .. } if publication.sid() == sid => Some(()),
        _ => None,
    })
    .await;
    drop(ours);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_records_dtx_and_red_as_each_track_asked() {
    use livekit_core::api::RoomClient;
    use livekit_protocol::AudioTrackFeature;

    let server = start_server();
    let (ours, _events) = join(&server, "dtx", "rusty").await;
    let mut published = Vec::new();
    for (name, on) in [("defaults", true), ("plain", false)] {
        let source = AudioSource::new(48_000, 1, 100).unwrap();
        let track = LocalTrack::Audio(LocalAudioTrack::create(name, &source));
        let options = TrackPublishOptions { dtx: on, red: on, ..Default::default() };
        published.push((ours.local_participant().publish_track(track, options).await.expect("published").sid(), on));
    }
    // The server lists a track once its media arrives: ask until both are there.
    let client = RoomClient::with_api_key(&server.http_url(), server.api_key(), server.api_secret());
    let listed = async {
        loop {
            let participants = client.list_participants("dtx").await.expect("the participants");
            let tracks = participants.into_iter().find(|p| p.identity == "rusty").expect("ours").tracks;
            if published.iter().all(|(sid, _)| tracks.iter().any(|t| &t.sid == sid)) {
                return tracks;
            }
            tokio::time::sleep(Duration::from_millis(100)).await; // the server API has no event to wait on
        }
    };
    let tracks = tokio::time::timeout(EVENT_TIMEOUT, listed).await.expect("both tracks listed by the server");
    for (sid, on) in published {
        let info = tracks.iter().find(|t| t.sid == sid).expect("listed");
        let no_dtx = info.audio_features.contains(&(AudioTrackFeature::TfNoDtx as i32));
        assert_eq!(no_dtx, !on, "{}: features {:?}", info.name, info.audio_features);
        let codec = if on { "audio/red" } else { "audio/opus" };
        assert_eq!(info.mime_type, codec, "{}: the codec the server negotiated", info.name);
    }
}

/// Reads `stream` until it carries a tone of `freq` for at least 1 s, within `limit`.
async fn read_until_tone(stream: &mut AudioStream, freq: f64, limit: Duration) {
    let (rate, channels) = (stream.sample_rate(), stream.num_channels() as usize);
    let mut samples: Vec<i16> = Vec::new();
    let found = async {
        while let Some(frame) = stream.recv().await {
            samples.extend_from_slice(frame.data());
            // Every half second, look at what came so far.
            if samples.len().is_multiple_of(rate as usize / 2 * channels) {
                let analysis = analyze(&samples, rate, channels);
                if analysis.segments.iter().any(|s| (s.freq - freq).abs() <= 2.0 && s.end_ms - s.start_ms >= 1_000) {
                    return;
                }
            }
        }
        panic!("the stream ended before a {freq} Hz tone");
    };
    tokio::time::timeout(limit, found).await.unwrap_or_else(|_| panic!("no {freq} Hz tone within {limit:?}"));
}

/// `AudioStream::from_participant` follows the official client's microphone: it waits while
/// nothing is published, plays the first track's tone, carries on with a second track after
/// the first is unpublished, and ends when the participant leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_stream_follows_the_microphone_across_tracks() {
    let server = start_server();
    let (_ours, mut events) = join(&server, "a_follow", "rusty").await;
    let mut official = official_peer(&server, "a_follow", "py").await;
    let participant = wait_until_known(&mut events, "py").await;
    let mut stream = AudioStream::from_participant(&participant, TrackSource::Microphone, 48_000, 1)
        .expect("a stream of the participant's microphone");
    let early = tokio::time::timeout(Duration::from_millis(300), stream.recv()).await;
    assert!(early.is_err(), "no frame before anything is published: {early:?}");

    for (name, freq) in [("first mic", 440.0), ("second mic", 660.0)] {
        let sid = official.publish_audio(name, AudioSourceKind::Microphone, 48_000, 1).await.expect("published");
        official.play_tones(&sid, &[Tone { freq, seconds: 6.0, amplitude: 0.5 }]).await.expect("playing");
        read_until_tone(&mut stream, freq, Duration::from_secs(10)).await;
        official.unpublish_track(&sid).await.expect("unpublished");
    }
    official.disconnect().await.expect("the official client leaves");
    let drained = tokio::time::timeout(Duration::from_secs(10), async { while stream.recv().await.is_some() {} }).await;
    assert!(drained.is_ok(), "the stream ends when the participant leaves");
}

/// Six participants of one process publish in quick succession, each while the others' tracks
/// are being added to its own connection, and every track must reach every other participant.
/// A RED track whose offer went out after another answer had negotiated audio without RED once
/// failed to bind: that answer failed to apply and a third of the tracks never arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_publishing_in_turn_all_hear_each_other() {
    const COUNT: usize = 6;
    let server = start_server();
    let mut rooms = Vec::new();
    for i in 0..COUNT {
        rooms.push(join(&server, "publish-in-turn", &format!("p{i}")).await);
    }
    for (room, events) in &mut rooms {
        while room.remote_participants().len() < COUNT - 1 {
            tokio::time::timeout(Duration::from_secs(10), events.recv()).await.expect("everyone is announced");
        }
    }
    // One after another, as the bench's publishers do: each publishes while the tracks just
    // published are being added to its connection.
    let mut tones = Vec::new();
    for (room, _) in &rooms {
        let (source, _, _) = publish_ours(room, 48_000, 1).await;
        tones.push(common::tone::play_tone_forever(source));
    }
    for (room, events) in &mut rooms {
        let mut heard_from = std::collections::HashSet::new();
        while heard_from.len() < COUNT - 1 {
            let identity = wait_for_within(events, Duration::from_secs(20), "TrackSubscribed", |e| match e {
                RoomEvent::TrackSubscribed { track: RemoteTrack::Audio(_), participant, .. } => {
                    Some(participant.identity())
                }
                _ => None,
            })
            .await;
            heard_from.insert(identity);
        }
        assert!(!heard_from.contains(&room.local_participant().identity()));
    }
    // The first participant checks that every other one's microphone carries the tone (a
    // participant stream follows the live track, should the server move a subscription).
    for participant in rooms[0].0.remote_participants().values() {
        let mut stream = AudioStream::from_participant(participant, TrackSource::Microphone, 48_000, 1)
            .expect("a stream of the participant's microphone");
        read_until_tone(&mut stream, common::tone::TONE_HZ, Duration::from_secs(10)).await;
    }
}

/// `Room::stats` and `Room::track_stats` count what went through the server: the sender's
/// outbound stream and the receiver's inbound one grow while the tone plays, the data
/// channels are open and one candidate pair carries it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_the_packets_each_side_sent_and_received() {
    use livekit_core::stats::{CandidatePairState, DataChannelState, RtcStats};

    let server = start_server();
    let (alice, _alice_events) = join(&server, "stats", "alice").await;
    let (bob, mut bob_events) = join(&server, "stats", "bob").await;
    let (source, _track, sid) = publish_ours(&alice, 48_000, 1).await;
    let tone = common::tone::play_tone_forever(source);
    let heard = receive_audio(&mut bob_events, "alice", 48_000, 1, 1.0).await;
    let segments = analyze(&heard, 48_000, 1).segments;
    assert!(segments.iter().any(|s| (s.freq - common::tone::TONE_HZ).abs() <= 2.0), "bob hears the tone: {segments:?}");

    let sent = alice.track_stats(&sid).await.expect("stats of our track");
    let received = bob.track_stats(&sid).await.expect("stats of the subscribed track");
    tone.abort();
    let [RtcStats::OutboundRtp(outbound)] = sent.as_slice() else { panic!("one outbound audio stream: {sent:?}") };
    let [RtcStats::InboundRtp(inbound)] = received.as_slice() else { panic!("one inbound audio stream: {received:?}") };
    assert_eq!((outbound.kind.as_str(), inbound.kind.as_str()), ("audio", "audio"));
    assert_eq!(inbound.track_identifier, sid);
    // A second of 20 ms packets at least reached bob; alice sent at least as many.
    assert!(inbound.packets_received >= 50 && inbound.bytes_received > 0, "bob received: {inbound:?}");
    assert!(outbound.packets_sent >= inbound.packets_received, "alice sent {outbound:?}, bob got {inbound:?}");
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((now_ms - inbound.timestamp_ms).abs() < 10_000, "dated now: {} against {now_ms}", inbound.timestamp_ms);

    let session = alice.stats().await.expect("alice's session stats");
    let all: Vec<&RtcStats> = session.publisher.iter().chain(&session.subscriber).collect();
    let channel = |label: &str| {
        all.iter().find_map(|e| match e {
            RtcStats::DataChannel(dc) if dc.label == label => Some(dc.clone()),
            _ => None,
        })
    };
    let (reliable, lossy) = (channel("_reliable").expect("_reliable"), channel("_lossy").expect("_lossy"));
    assert_eq!((reliable.state, lossy.state), (DataChannelState::Open, DataChannelState::Open));
    let chosen_pair = all
        .iter()
        .any(|e| matches!(e, RtcStats::CandidatePair(p) if p.nominated && p.state == CandidatePairState::Succeeded));
    assert!(chosen_pair, "a nominated pair whose checks succeeded: {all:?}");
    let ice_bytes = all.iter().find_map(|e| match e {
        RtcStats::Transport(t) if t.id == "ice_transport" => Some(t.bytes_sent),
        _ => None,
    });
    assert!(
        ice_bytes.is_some_and(|bytes| bytes > outbound.bytes_sent),
        "ICE carried the audio and more: {ice_bytes:?}"
    );

    let unknown = bob.track_stats("TR_nothing").await;
    assert!(matches!(unknown, Err(livekit_core::Error::InvalidArgument(_))), "{unknown:?}");
}
