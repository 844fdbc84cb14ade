//! Video end to end through a real livekit-server with the official Python SDK (libwebrtc) as
//! the peer, both ways and in both codecs. Pictures are checked by content: each side draws a
//! colour program (red, green, blue, one second each, with a moving white bar), the other
//! side takes the mean colour of each received picture's centre, and the colours must come in
//! the order drawn, at the size drawn.

#![cfg(feature = "video")]

mod common;

use std::time::Duration;

use common::video::*;
use common::*;
use livekit_core::media::{VideoFormat, VideoSource, VideoStream};
use livekit_core::{
    LocalTrack, LocalVideoTrack, RemoteTrack, Room, RoomEvent, TrackPublishOptions, TrackSource, VideoCodec,
    VideoQuality,
};
use livekit_test_harness::{OfficialPeer, ReceivedPicture, VideoPublish};

async fn publish_ours(room: &Room, codec: VideoCodec, source: &VideoSource, kind: TrackSource) -> String {
    let track = LocalVideoTrack::create("camera", source);
    let options = TrackPublishOptions { source: kind, video_codec: codec, ..Default::default() };
    let publication =
        room.local_participant().publish_track(LocalTrack::Video(track), options).await.expect("published");
    publication.sid()
}

async fn official_sees_our_colours(room: &str, codec: VideoCodec) {
    let server = start_server();
    let (ours, _events) = join(&server, room, "rusty").await;
    let mut official = official_peer(&server, room, "py").await;
    let source = VideoSource::new(320, 240, false).expect("source");
    let sid = publish_ours(&ours, codec, &source, TrackSource::Camera).await;
    let drawing = draw_program(source, vec![(320, 240)], f64::MAX);
    official_sees_track(&mut official, &sid).await;
    let recording = official.start_video_recording("rusty", &sid).await.expect("the official SDK subscribes");
    let twice_in_order = |pictures: &[ReceivedPicture]| {
        pictures.len() >= 60 && has_program_in_order(&colour_runs(&mean_colours(pictures)), 2)
    };
    let pictures = wait_for_pictures(&mut official, &recording, Duration::from_secs(15), twice_in_order).await;
    official.stop_video_recording(&recording).await.expect("stopped");
    drawing.abort();

    assert!(pictures.len() >= 60, "about 15 pictures a second for two rounds of 3 s, got {}", pictures.len());
    assert!(pictures.iter().all(|p| (p.width, p.height) == (320, 240)), "size kept: {:?}", pictures.first());
    let runs = colour_runs(&mean_colours(&pictures));
    assert!(has_program_in_order(&runs, 2), "red, green, blue twice in order: {runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sees_our_vp8_colours_in_order() {
    official_sees_our_colours("v1", VideoCodec::Vp8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sees_our_h264_colours_in_order() {
    official_sees_our_colours("v2", VideoCodec::H264).await;
}

async fn we_see_the_official_colours(room: &str, codec: &str) {
    let server = start_server();
    let (_ours, mut events) = join(&server, room, "rusty").await;
    let mut official = official_peer(&server, room, "py").await;
    let colours = official_program();
    let publish =
        VideoPublish { name: "cam", width: 320, height: 240, source: "camera", codec, fps: FPS, colours: &colours };
    official.publish_video(&publish).await.expect("the official peer publishes");
    let track = wait_for(&mut events, "TrackSubscribed", |e| match e {
        RoomEvent::TrackSubscribed { track: RemoteTrack::Video(track), .. } => Some(track.clone()),
        _ => None,
    })
    .await;
    let mut stream = VideoStream::new(&track, VideoFormat::Rgba).expect("a stream");
    let mut seen = Vec::new();
    let read = async {
        while seen.len() < 90 {
            let frame = stream.recv().await.expect("pictures keep coming");
            assert_eq!((frame.width(), frame.height()), (320, 240));
            seen.push(centre_mean(&frame));
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read).await.expect("90 pictures within 20 s");
    let runs = colour_runs(&seen);
    assert!(has_program_in_order(&runs, 2), "red, green, blue twice in order: {runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_see_the_official_vp8_colours_in_order() {
    we_see_the_official_colours("v3", "vp8").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_see_the_official_h264_colours_in_order() {
    we_see_the_official_colours("v4", "h264").await;
}

/// VP9 is received only (the official SDK sends it with its default SVC layers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_see_the_official_vp9_colours_in_order() {
    we_see_the_official_colours("v4b", "vp9").await;
}

/// A screen share whose size changes mid-way; the official peer joins after it started (so
/// its first picture needs a keyframe made on request), sees the source, and follows the size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_share_changes_size_and_a_late_joiner_sees_it() {
    let server = start_server();
    let (ours, _events) = join(&server, "v5", "rusty").await;
    let source = VideoSource::new(320, 240, true).expect("source");
    let sid = publish_ours(&ours, VideoCodec::Vp8, &source, TrackSource::ScreenShare).await;
    let drawing = draw_program(source, vec![(320, 240), (480, 270)], 4.0);
    let mut official = official_peer(&server, "v5", "py").await;
    // Published before it joined: no TrackPublished, the track comes with the participant.
    let subscribed = official
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "track_subscribed" && e["track_sid"] == sid.as_str())
        .await
        .expect("the late joiner subscribes");
    assert_eq!(subscribed["source"], "SOURCE_SCREENSHARE", "{subscribed}");
    let recording = official.start_video_recording("rusty", &sid).await.expect("subscribed");
    // The size changes 4 s into the drawing.
    let resized = |pictures: &[ReceivedPicture]| {
        pictures.iter().any(|p| (p.width, p.height) == (480, 270)) && colour_runs(&mean_colours(pictures)).len() >= 3
    };
    let pictures = wait_for_pictures(&mut official, &recording, Duration::from_secs(15), resized).await;
    official.stop_video_recording(&recording).await.expect("stopped");
    drawing.abort();
    let sizes: Vec<(u32, u32)> = pictures.iter().map(|p| (p.width, p.height)).collect();
    assert!(sizes.contains(&(480, 270)), "the new size arrives: {:?}", sizes.last());
    let last_small = sizes.iter().rposition(|&s| s == (320, 240));
    let first_large = sizes.iter().position(|&s| s == (480, 270));
    assert!(last_small.is_none_or(|small| first_large.is_some_and(|large| small < large)), "in order");
    assert!(colour_runs(&mean_colours(&pictures)).len() >= 3, "the program goes on across the change");
}

/// Muting stops the pictures and the official peer sees the track muted, then unmuted with
/// pictures again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_stops_the_pictures_and_unmute_brings_them_back() {
    let server = start_server();
    let (ours, _events) = join(&server, "v6", "rusty").await;
    let mut official = official_peer(&server, "v6", "py").await;
    let source = VideoSource::new(320, 240, false).expect("source");
    let track = LocalVideoTrack::create("camera", &source);
    let options = TrackPublishOptions { source: TrackSource::Camera, ..Default::default() };
    let sid = ours
        .local_participant()
        .publish_track(LocalTrack::Video(track.clone()), options)
        .await
        .expect("published")
        .sid();
    let drawing = draw_program(source, vec![(320, 240)], f64::MAX);
    official_sees_track(&mut official, &sid).await;
    let recording = official.start_video_recording("rusty", &sid).await.expect("subscribed");
    tokio::time::sleep(Duration::from_secs(2)).await; // pictures flow before the mute
    track.mute();
    official
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "track_muted" && e["track_sid"] == sid.as_str())
        .await
        .expect("the official peer sees the mute");
    let before = official.stop_video_recording(&recording).await.expect("pictures");
    assert!(before.len() >= 15, "pictures before the mute: {}", before.len());
    let recording = official.start_video_recording("rusty", &sid).await.expect("still subscribed");
    tokio::time::sleep(Duration::from_secs(2)).await; // the muted span being checked
    let muted = official.stop_video_recording(&recording).await.expect("pictures");
    assert!(muted.len() <= 2, "no pictures while muted, got {}", muted.len());
    track.unmute();
    official
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "track_unmuted" && e["track_sid"] == sid.as_str())
        .await
        .expect("the official peer sees the unmute");
    let recording = official.start_video_recording("rusty", &sid).await.expect("still subscribed");
    tokio::time::sleep(Duration::from_secs(2)).await; // pictures after the unmute
    let after = official.stop_video_recording(&recording).await.expect("pictures");
    drawing.abort();
    assert!(after.len() >= 10, "pictures again after unmute (a keyframe at once): {}", after.len());
}

/// A subscriber that disables a track gets no pictures until it enables it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_track_pauses_its_pictures() {
    let server = start_server();
    let (_ours, mut events) = join(&server, "v7", "rusty").await;
    let mut official = official_peer(&server, "v7", "py").await;
    let colours = [[220.0, 30.0, 30.0, 1.0]];
    let publish = VideoPublish {
        name: "cam",
        width: 160,
        height: 120,
        source: "camera",
        codec: "vp8",
        fps: FPS,
        colours: &colours,
    };
    official.publish_video(&publish).await.expect("the official peer publishes");
    let (_track, publication, mut stream) = subscribed_video(&mut events).await;
    let next = Duration::from_secs(10);

    publication.set_enabled(false).await.expect("disabled");
    assert!(!publication.is_enabled());

    // What was in flight when the server heard of it may still arrive; then nothing.
    let quiet = async { while tokio::time::timeout(Duration::from_millis(1500), stream.recv()).await.is_ok() {} };
    tokio::time::timeout(Duration::from_secs(10), quiet).await.expect("the pictures stop");

    publication.set_enabled(true).await.expect("enabled");
    tokio::time::timeout(next, stream.recv()).await.expect("pictures again").expect("the stream goes on");
}

/// Simulcast: three layers from a 640x360 source. A subscriber of ours that asks for LOW gets
/// the quarter-size layer; once it has been alone on LOW longer than the server's dynacast
/// pause delay (5 s), the upper layers are paused, and asking for HIGH must bring the full
/// layer back. Then the official SDK subscribes and gets the full layer, colours in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulcast_layers_follow_the_quality_asked() {
    let server = start_server();
    let (ours, _events) = join(&server, "v8", "rusty").await;
    let (_viewer, mut viewer_events) = join(&server, "v8", "viewer").await;
    let mut official = OfficialPeer::spawn().await.expect("official SDK peer");
    official.connect_with(&server.url(), &token(&server, "v8", "py"), false).await.expect("connects");
    let source = VideoSource::new(640, 360, false).expect("source");
    let track = LocalVideoTrack::create("camera", &source);
    let options = TrackPublishOptions { source: TrackSource::Camera, simulcast: true, ..Default::default() };
    let publication =
        ours.local_participant().publish_track(LocalTrack::Video(track), options).await.expect("published");
    let sid = publication.sid();
    let drawing = draw_program(source, vec![(640, 360)], f64::MAX);

    let (remote, remote_publication) = wait_for(&mut viewer_events, "TrackSubscribed", |e| match e {
        RoomEvent::TrackSubscribed { track: RemoteTrack::Video(track), publication, .. } => {
            Some((track.clone(), publication.clone()))
        }
        _ => None,
    })
    .await;
    let mut stream = VideoStream::new(&remote, VideoFormat::I420).expect("a stream");
    remote_publication.set_video_quality(VideoQuality::Low).await.expect("asked for LOW");
    picture_of_size(&mut stream, (160, 90)).await.expect("the quarter-size layer arrives");
    // Past the server's dynacast pause delay: only the low layer is still wanted.
    let quiet_on_low = async {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(7) {
            let picture = stream.recv().await.expect("pictures keep coming");
            assert_eq!((picture.width(), picture.height()), (160, 90), "LOW stays LOW");
        }
    };
    tokio::time::timeout(Duration::from_secs(15), quiet_on_low).await.expect("low pictures keep coming");
    remote_publication.set_video_quality(VideoQuality::High).await.expect("asked for HIGH");
    picture_of_size(&mut stream, (640, 360)).await.expect("the paused full layer comes back");

    official_sees_track(&mut official, &sid).await;
    official.set_subscribed("rusty", &sid, true).await.expect("the official SDK subscribes");
    let recording = official.start_video_recording("rusty", &sid).await.expect("subscribed");
    let full_layer_in_order = |pictures: &[ReceivedPicture]| {
        pictures.iter().any(|p| (p.width, p.height) == (640, 360))
            && has_program_in_order(&colour_runs(&mean_colours(pictures)), 1)
    };
    let pictures = wait_for_pictures(&mut official, &recording, Duration::from_secs(15), full_layer_in_order).await;
    official.stop_video_recording(&recording).await.expect("stopped");
    drawing.abort();
    let sizes: std::collections::BTreeSet<(u32, u32)> = pictures.iter().map(|p| (p.width, p.height)).collect();
    assert!(sizes.contains(&(640, 360)), "the official SDK gets the full layer: {sizes:?}");
    let runs = colour_runs(&mean_colours(&pictures));
    assert!(has_program_in_order(&runs, 1), "the colours in order over simulcast: {runs:?}");
}

/// Waits up to 10 s for a picture of `wanted` size.
async fn picture_of_size(stream: &mut VideoStream, wanted: (u32, u32)) -> Result<(), tokio::time::error::Elapsed> {
    let wait = async {
        loop {
            let picture = stream.recv().await.expect("pictures keep coming");
            if (picture.width(), picture.height()) == wanted {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait).await
}

/// A capture rotated a quarter turn (a phone held sideways) arrives upright: the official SDK
/// gets pictures with width and height swapped and rotation applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_capture_arrives_upright() {
    let server = start_server();
    let (ours, _events) = join(&server, "v9", "rusty").await;
    let mut official = official_peer(&server, "v9", "py").await;
    let source = VideoSource::new(320, 240, false).expect("source");
    let sid = publish_ours(&ours, VideoCodec::Vp8, &source, TrackSource::Camera).await;
    let drawing = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / FPS));
        for index in 0u32.. {
            ticker.tick().await;
            let mut frame = picture(320, 240, PROGRAM[0], index);
            frame.rotation = livekit_core::media::VideoRotation::Rotation90;
            source.capture_frame(&frame).expect("capture");
        }
    });
    official_sees_track(&mut official, &sid).await;
    let recording = official.start_video_recording("rusty", &sid).await.expect("subscribed");
    let pictures = wait_for_pictures(&mut official, &recording, EVENT_TIMEOUT, |p| p.len() >= 10).await;
    official.stop_video_recording(&recording).await.expect("stopped");
    drawing.abort();
    assert!(pictures.len() >= 10, "pictures arrive: {}", pictures.len());
    assert!(pictures.iter().all(|p| (p.width, p.height) == (240, 320)), "turned upright: {:?}", pictures[0]);
    assert!(pictures.iter().all(|p| classify(p.rgb) == Some(0)), "still red");
}

/// A stream ends when its track is unpublished or we unsubscribe (the server may keep the
/// transceiver for reuse, so the end comes from the room, not from the RTP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_we_unsubscribe_or_the_track_is_unpublished() {
    let server = start_server();
    let (_ours, mut events) = join(&server, "v10", "rusty").await;
    let mut official = official_peer(&server, "v10", "py").await;
    let colours = official_program();
    let publish = VideoPublish {
        name: "cam",
        width: 160,
        height: 120,
        source: "camera",
        codec: "vp8",
        fps: FPS,
        colours: &colours,
    };
    let sid = official.publish_video(&publish).await.expect("the official peer publishes");
    let ends = |mut stream: VideoStream| async move {
        let drained = async { while stream.recv().await.is_some() {} };
        tokio::time::timeout(Duration::from_secs(10), drained).await.is_ok()
    };

    let (track, publication, stream) = subscribed_video(&mut events).await;
    publication.set_subscribed(false).await.expect("unsubscribed");
    assert!(ends(stream).await, "the stream ends when we unsubscribe");
    assert!(VideoStream::new(&track, VideoFormat::I420).is_err(), "a new stream of an ended track is refused");

    publication.set_subscribed(true).await.expect("subscribed again");
    let (_track, _publication, stream) = subscribed_video(&mut events).await;
    official.unpublish_track(&sid).await.expect("unpublished");
    assert!(ends(stream).await, "the stream ends with the track");
}

/// The next subscribed video track, its publication, and a stream of it that has given a
/// picture.
async fn subscribed_video(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<RoomEvent>,
) -> (livekit_core::RemoteVideoTrack, livekit_core::RemoteTrackPublication, VideoStream) {
    let (track, publication) = wait_for(events, "TrackSubscribed", |e| match e {
        RoomEvent::TrackSubscribed { track: RemoteTrack::Video(track), publication, .. } => {
            Some((track.clone(), publication.clone()))
        }
        _ => None,
    })
    .await;
    let mut stream = VideoStream::new(&track, VideoFormat::I420).expect("a stream");
    tokio::time::timeout(Duration::from_secs(10), stream.recv()).await.expect("a picture").expect("not ended");
    (track, publication, stream)
}

/// `VideoStream::from_participant` follows the official client's camera from one track to the
/// next (told apart by size), with the program's colours, and ends when the participant leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_stream_follows_the_camera_across_tracks() {
    let server = start_server();
    let (_ours, mut events) = join(&server, "v_follow", "rusty").await;
    let mut official = official_peer(&server, "v_follow", "py").await;
    let participant = wait_until_known(&mut events, "py").await;
    let mut stream = VideoStream::from_participant(&participant, TrackSource::Camera, VideoFormat::Rgba)
        .expect("a stream of the participant's camera");
    let colours = official_program();
    for (width, height) in [(160, 120), (320, 240)] {
        let publish =
            VideoPublish { name: "cam", width, height, source: "camera", codec: "vp8", fps: FPS, colours: &colours };
        let sid = official.publish_video(&publish).await.expect("the official peer publishes");
        picture_of_size(&mut stream, (width, height)).await.expect("a picture of the new track");
        // (The program's moving bar can cross the centre of a picture or two.)
        let mut seen = Vec::new();
        while seen.len() < 10 && !seen.iter().any(|&rgb| classify(rgb).is_some()) {
            let picture = tokio::time::timeout(Duration::from_secs(10), stream.recv()).await.expect("a picture");
            seen.push(centre_mean(&picture.expect("pictures keep coming")));
        }
        assert!(seen.iter().any(|&rgb| classify(rgb).is_some()), "a program colour: {seen:?}");
        official.unpublish_track(&sid).await.expect("unpublished");
    }
    official.disconnect().await.expect("the official client leaves");
    let drained = tokio::time::timeout(Duration::from_secs(10), async { while stream.recv().await.is_some() {} }).await;
    assert!(drained.is_ok(), "the stream ends when the participant leaves");
}
