//! Video under 5 % random UDP loss, both ways with the official Python SDK, in a network
//! namespace the test creates (as `audio_under_loss.rs`): NACK retransmissions repair most
//! losses, and a picture lost for good costs a keyframe request, not a frozen or corrupt
//! stream. The colours must still come in order.

#![cfg(feature = "video")]

mod common;

use std::time::Duration;

use common::video::*;
use common::*;
use livekit_core::media::{VideoFormat, VideoSource, VideoStream};
use livekit_core::{LocalTrack, LocalVideoTrack, RemoteTrack, RoomEvent, TrackPublishOptions, TrackSource};
use livekit_test_harness::{ReceivedPicture, VideoPublish};

const LOSS_PERCENT: u32 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colours_survive_five_percent_loss_both_ways() {
    if !netns::inside_namespace() {
        return netns::run_in_namespace(
            "colours_survive_five_percent_loss_both_ways",
            &netns::random_udp_loss(LOSS_PERCENT),
        );
    }
    let server = start_server();
    let (ours, mut events) = join(&server, "vloss", "rusty").await;
    let mut official = official_peer(&server, "vloss", "py").await;

    // Ours -> official.
    let source = VideoSource::new(320, 240, false).expect("source");
    let track = LocalVideoTrack::create("camera", &source);
    let options = TrackPublishOptions { source: TrackSource::Camera, ..Default::default() };
    let sid = ours.local_participant().publish_track(LocalTrack::Video(track), options).await.expect("published").sid();
    let drawing = draw_program(source, vec![(320, 240)], f64::MAX);
    official_sees_track(&mut official, &sid).await;
    let recording = official.start_video_recording("rusty", &sid).await.expect("subscribed");
    // Two rounds of the program take 6 s; the loss may cost a keyframe wait on top.
    let twice_in_order = |pictures: &[ReceivedPicture]| {
        pictures.len() >= 60 && has_program_in_order(&colour_runs(&mean_colours(pictures)), 2)
    };
    let pictures = wait_for_pictures(&mut official, &recording, Duration::from_secs(20), twice_in_order).await;
    official.stop_video_recording(&recording).await.expect("stopped");
    drawing.abort();
    let runs = colour_runs(&mean_colours(&pictures));
    assert!(
        twice_in_order(&pictures),
        "60 pictures, red, green, blue twice in order: {} pictures, {runs:?}",
        pictures.len()
    );

    // Official -> ours.
    let colours = official_program();
    let publish = VideoPublish {
        name: "cam",
        width: 320,
        height: 240,
        source: "camera",
        codec: "vp8",
        fps: FPS,
        colours: &colours,
    };
    official.publish_video(&publish).await.expect("the official peer publishes");
    let remote = wait_for(&mut events, "TrackSubscribed", |e| match e {
        RoomEvent::TrackSubscribed { track: RemoteTrack::Video(track), .. } => Some(track.clone()),
        _ => None,
    })
    .await;
    let mut stream = VideoStream::new(&remote, VideoFormat::Rgba).expect("a stream");
    let mut seen = Vec::new();
    let read = async {
        while seen.len() < 60 || !has_program_in_order(&colour_runs(&seen), 2) {
            seen.push(centre_mean(&stream.recv().await.expect("pictures keep coming")));
        }
    };
    let done = tokio::time::timeout(Duration::from_secs(25), read).await;
    let runs = colour_runs(&seen);
    assert!(done.is_ok(), "red, green, blue twice in order within 25 s: {} pictures, {runs:?}", seen.len());
}
