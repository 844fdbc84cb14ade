//! Publishing a video track: the `AddTrackRequest` with its size and one layer, the sender on
//! the publisher connection, and the task that encodes the source's newest picture and sends
//! it. The encoding itself is `media::VideoSendPipeline`; this file only moves things.

use std::sync::Arc;
use std::time::Instant;

use livekit_protocol as proto;
use tokio::sync::{mpsc, watch};

use super::local_tracks::Published;
use super::RoomInner;
use crate::engine::{TrackSender, VideoSender};
use crate::error::Result;
use crate::media::{default_max_bitrate, LatestPicture, SenderFeedback, VideoSendPipeline};
use crate::track::{LocalVideoTrack, TrackKind, TrackPublishOptions, TrackSource};

pub(super) async fn publish_video(
    room: &Arc<RoomInner>,
    cid: &str,
    video: &LocalVideoTrack,
    options: &TrackPublishOptions,
) -> Result<Published> {
    if options.simulcast {
        // Apps written for the official SDKs ask for it by default; one layer still works.
        log::info!("simulcast is not supported yet: {:?} is published as one layer", video.name());
    }
    let source = video.source();
    let (width, height) = source.resolution();
    let max_bitrate = options.max_bitrate.unwrap_or_else(|| default_max_bitrate(width, height, source.is_screencast()));
    // Built before asking the server, so a codec this build lacks fails without a trace.
    let pipeline =
        VideoSendPipeline::new(options.video_codec, max_bitrate, options.max_framerate, source.is_screencast())?;
    let track_source = match options.source {
        TrackSource::Microphone => TrackSource::Camera,
        other => other,
    };
    let layer = proto::VideoLayer {
        quality: proto::VideoQuality::High as i32,
        width,
        height,
        bitrate: max_bitrate,
        ..Default::default()
    };
    let request = proto::AddTrackRequest {
        cid: cid.to_owned(),
        name: video.name(),
        r#type: TrackKind::Video.to_proto() as i32,
        source: track_source.to_proto() as i32,
        muted: video.is_muted(),
        width,
        height,
        layers: vec![layer],
        ..Default::default()
    };
    let info = room.add_track(request).await?;
    let (sender, feedback) = room.engine.publish_video(cid, options.video_codec).await?;
    let pictures = source.subscribe();
    let pump = tokio::spawn(pump_video(pictures, video.inner.muted.subscribe(), feedback, pipeline, sender.clone()));
    Ok((info, TrackSender::Video(sender), pump))
}

/// Encodes the source's newest picture whenever there is one and the track is not muted,
/// off the async threads, and sends it; applies the server's feedback in between.
async fn pump_video(
    mut pictures: LatestPicture,
    mut muted: watch::Receiver<bool>,
    mut feedback: mpsc::UnboundedReceiver<SenderFeedback>,
    mut pipeline: VideoSendPipeline,
    sender: Arc<VideoSender>,
) {
    loop {
        tokio::select! {
            changed = pictures.changed() => {
                if changed.is_err() {
                    return; // the source is gone
                }
                let Some(picture) = pictures.borrow_and_update().clone() else { continue };
                if *muted.borrow() {
                    continue;
                }
                let encoding = tokio::task::spawn_blocking(move || {
                    let encoded = pipeline.encode(&picture);
                    (pipeline, encoded)
                });
                let encoded;
                (pipeline, encoded) = match encoding.await {
                    Ok(done) => done,
                    Err(e) => return log::error!("video encoding stopped: {e}"),
                };
                match encoded {
                    Ok(Some(picture)) => {
                        if let Err(e) = sender.write(picture.encoded.data, picture.since_previous).await {
                            log::debug!("{e}");
                        }
                    }
                    Ok(None) => {}
                    Err(e) => log::warn!("encoding a picture: {e}"),
                }
            }
            Some(event) = feedback.recv() => pipeline.on_feedback(event, Instant::now()),
            changed = muted.changed() => {
                if changed.is_err() {
                    return;
                }
                if !*muted.borrow_and_update() {
                    pipeline.request_keyframe();
                }
            }
        }
    }
}
