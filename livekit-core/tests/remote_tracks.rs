//! Remote tracks as the room sees them, with the official Python SDK (libwebrtc) publishing
//! audio through a real livekit-server: publications and their state, mute, unpublish, late
//! joiners, and our connection quality. The server scopes active speakers and the quality of
//! others to the participants one is subscribed to, so those are checked with media.

mod common;

use common::*;
use livekit_core::{ConnectionQuality, RoomEvent, TrackKind, TrackPublication, TrackSource};
use livekit_test_harness::OfficialPeer;
use serde_json::json;

/// The server scores connection quality every 5 s; the first score can take two rounds.
const QUALITY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

async fn publish_microphone(peer: &mut OfficialPeer) -> String {
    let result = peer
        .request(
            json!({"cmd": "publish_audio", "name": "mic", "source": "microphone", "sample_rate": 48000, "channels": 2}),
        )
        .await
        .expect("the official peer publishes audio");
    result["track_sid"].as_str().expect("a track sid").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_microphone_is_seen_with_its_state_mute_and_unpublish() {
    let server = start_server();
    let (ours, mut events) = join(&server, "rt1", "rusty").await;
    let mut official = official_peer(&server, "rt1", "py").await;
    let sid = publish_microphone(&mut official).await;

    let (publication, participant) = wait_for(&mut events, "TrackPublished", |e| match e {
        RoomEvent::TrackPublished { publication, participant } => Some((publication.clone(), participant.clone())),
        _ => None,
    })
    .await;
    assert_eq!(participant.identity(), "py");
    assert_eq!(publication.sid(), sid);
    assert_eq!(publication.name(), "mic");
    assert_eq!(publication.kind(), TrackKind::Audio);
    assert_eq!(publication.source(), TrackSource::Microphone);
    assert!(!publication.is_muted());
    let known = ours.remote_participants()["py"].track_publication(&sid).expect("the participant lists it");
    assert_eq!(known.sid(), sid);

    // Mute and unmute arrive with the publication.
    official.request(json!({"cmd": "mute_track", "track_sid": sid, "muted": true})).await.unwrap();
    let muted = wait_for(&mut events, "TrackMuted", |e| match e {
        RoomEvent::TrackMuted { participant, publication: TrackPublication::Remote(p) } => {
            Some((participant.identity(), p.sid(), p.is_muted()))
        }
        _ => None,
    })
    .await;
    assert_eq!(muted, ("py".to_string(), sid.clone(), true));

    // A late joiner sees the track and its muted state without any event.
    let (late, _late_events) = join(&server, "rt1", "late").await;
    let seen = late.remote_participants()["py"].track_publication(&sid).expect("the late joiner sees the track");
    assert!(seen.is_muted());
    assert_eq!(seen.kind(), TrackKind::Audio);

    official.request(json!({"cmd": "mute_track", "track_sid": sid, "muted": false})).await.unwrap();
    wait_for(&mut events, "TrackUnmuted", |e| match e {
        RoomEvent::TrackUnmuted { publication, .. } if publication.sid() == sid && !publication.is_muted() => Some(()),
        _ => None,
    })
    .await;

    official.request(json!({"cmd": "unpublish_track", "track_sid": sid})).await.unwrap();
    wait_for(&mut events, "TrackUnpublished", |e| match e {
        RoomEvent::TrackUnpublished { publication, participant } if publication.sid() == sid => {
            Some(participant.identity())
        }
        _ => None,
    })
    .await;
    assert!(ours.remote_participants()["py"].track_publication(&sid).is_none());

    // The same publication handle can no longer be subscribed to.
    let refused = publication.set_subscribed(true).await.expect_err("the track is gone");
    assert!(
        matches!(refused, livekit_core::Error::InvalidArgument(ref m) if m.contains("no longer published")),
        "{refused}"
    );
}

/// The server scores every 5 s and sends a participant its own score and those of the
/// participants it is subscribed to (a remote's score is checked with media, in audio_tracks.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_connection_quality_is_reported() {
    let server = start_server();
    let (ours, mut events) = join(&server, "rt2", "rusty").await;
    let quality = wait_for_within(&mut events, QUALITY_TIMEOUT, "our ConnectionQualityChanged", |e| match e {
        RoomEvent::ConnectionQualityChanged { participant, quality } if participant.is_local() => Some(*quality),
        _ => None,
    })
    .await;
    assert_eq!(quality, ConnectionQuality::Excellent, "on loopback");
    assert_eq!(ours.local_participant().connection_quality(), ConnectionQuality::Excellent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_permission_arguments_are_refused() {
    let server = start_server();
    let (ours, _events) = join(&server, "rt3", "rusty").await;
    let nobody = livekit_core::ParticipantTrackPermission { allow_all: true, ..Default::default() };
    let refused = ours.local_participant().set_track_subscription_permissions(false, vec![nobody]).await;
    assert!(matches!(refused, Err(livekit_core::Error::InvalidArgument(_))), "{refused:?}");
    ours.local_participant().set_track_subscription_permissions(true, Vec::new()).await.expect("allowing all is fine");
}
