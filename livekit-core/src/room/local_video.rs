//! Publishing a video track: the `AddTrackRequest` with its size and layers, the sender on the
//! publisher connection, and the task that encodes the source's newest picture in every layer
//! and sends it. The encoding itself is `media::VideoSendPipeline` (one per layer) and the
//! layer plan `media::video_layers`; this file only moves things.

use std::sync::Arc;
use std::time::Instant;

use livekit_protocol as proto;
use tokio::sync::{mpsc, watch};

use super::local_tracks::Published;
use super::RoomInner;
use crate::engine::{LayerFeedback, TrackSender, VideoSender};
use crate::error::Result;
use crate::media::{
    default_max_bitrate, layer_size, video_layers, CapturedPicture, LatestPicture, LayerSpec, Scaler, VideoSendPipeline,
};
use crate::track::{LocalVideoTrack, TrackKind, TrackPublishOptions, TrackSource};

pub(super) async fn publish_video(
    room: &Arc<RoomInner>,
    cid: &str,
    video: &LocalVideoTrack,
    options: &TrackPublishOptions,
) -> Result<Published> {
    let source = video.source();
    let (width, height) = source.resolution();
    let screencast = source.is_screencast();
    let max_bitrate = options.max_bitrate.unwrap_or_else(|| default_max_bitrate(width, height, screencast));
    let specs = video_layers(width, height, screencast, max_bitrate, options.simulcast);
    // Built before asking the server, so a codec this build lacks fails without a trace.
    let layers = specs
        .iter()
        .map(|spec| {
            let pipeline =
                VideoSendPipeline::new(options.video_codec, spec.max_bitrate, options.max_framerate, screencast)?;
            Ok(Layer { spec: *spec, pipeline, sending: true })
        })
        .collect::<Result<Vec<_>>>()?;
    let track_source = match options.source {
        TrackSource::Microphone => TrackSource::Camera,
        other => other,
    };
    let request = proto::AddTrackRequest {
        cid: cid.to_owned(),
        name: video.name(),
        r#type: TrackKind::Video.to_proto() as i32,
        source: track_source.to_proto() as i32,
        muted: video.is_muted(),
        width,
        height,
        layers: proto_layers(&specs, width, height),
        ..Default::default()
    };
    let info = room.add_track(request).await?;
    // One layer goes without a rid, as the official SDKs send it.
    let rids: Vec<&str> = if specs.len() > 1 { specs.iter().map(|s| s.rid).collect() } else { Vec::new() };
    let (sender, feedback) = room.engine.publish_video(cid, options.video_codec, &rids).await?;
    let pictures = source.subscribe();
    let (switch, enabled) = watch::channel(vec![true; layers.len()]);
    let inputs = PumpInputs { pictures, muted: video.inner.muted.subscribe(), feedback, enabled };
    let pump = crate::tasks::spawn(pump_video(inputs, layers, sender.clone()));
    // Kept with the publication even for one layer: the pump ends when it is dropped.
    Ok((info, TrackSender::Video(sender), pump, Some(switch)))
}

/// The layers as the server expects them: lowest quality first, each with its size and rid.
fn proto_layers(specs: &[LayerSpec], width: u32, height: u32) -> Vec<proto::VideoLayer> {
    let single = specs.len() == 1;
    specs
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let (width, height) = layer_size(width, height, spec.scale_down);
            let quality = if single { proto::VideoQuality::High as i32 } else { index as i32 };
            proto::VideoLayer {
                quality,
                width,
                height,
                bitrate: spec.max_bitrate,
                rid: if single { String::new() } else { spec.rid.to_owned() },
                spatial_layer: index as i32,
                ..Default::default()
            }
        })
        .collect()
}

/// One layer's plan and encoder.
struct Layer {
    spec: LayerSpec,
    pipeline: VideoSendPipeline,
    /// Whether it is being sent (dynacast).
    sending: bool,
}

/// What one round of encoding gives: each layer's picture (if it made one), in layer order.
type Encoded = Vec<Option<crate::media::EncodedPicture>>;

/// What a video pump reacts to.
struct PumpInputs {
    pictures: LatestPicture,
    muted: watch::Receiver<bool>,
    feedback: mpsc::UnboundedReceiver<LayerFeedback>,
    /// The layers to send (dynacast), by index.
    enabled: watch::Receiver<Vec<bool>>,
}

/// Encodes the source's newest picture in every enabled layer whenever there is one and the
/// track is not muted, off the async threads, and sends it; applies the server's feedback in
/// between. A layer enabled again starts with a keyframe.
async fn pump_video(inputs: PumpInputs, mut layers: Vec<Layer>, sender: Arc<VideoSender>) {
    let PumpInputs { mut pictures, mut muted, mut feedback, mut enabled } = inputs;
    let mut scaler = Scaler::default();
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
                let sending = enabled.borrow().clone();
                let encoding = tokio::task::spawn_blocking(move || {
                    let encoded = encode_layers(&mut layers, &sending, &mut scaler, &picture);
                    (layers, scaler, encoded)
                });
                let encoded;
                (layers, scaler, encoded) = match encoding.await {
                    Ok(done) => done,
                    Err(e) => return log::error!("video encoding stopped: {e}"),
                };
                for (index, picture) in encoded.into_iter().enumerate() {
                    let Some(picture) = picture else { continue };
                    if let Err(e) = sender.write(index, picture.encoded.data, picture.since_previous).await {
                        log::debug!("{e}");
                    }
                }
            }
            Some((layer, event)) = feedback.recv() => {
                if let Some(layer) = layers.get_mut(layer) {
                    layer.pipeline.on_feedback(event, Instant::now());
                }
            }
            changed = enabled.changed() => {
                if changed.is_err() {
                    return;
                }
                let now_enabled = enabled.borrow_and_update().clone();
                for (layer, on) in layers.iter_mut().zip(now_enabled) {
                    if on && !layer.sending {
                        layer.pipeline.request_keyframe();
                    }
                    layer.sending = on;
                }
            }
            changed = muted.changed() => {
                if changed.is_err() {
                    return;
                }
                if !*muted.borrow_and_update() {
                    layers.iter_mut().for_each(|layer| layer.pipeline.request_keyframe());
                }
            }
        }
    }
}

/// Scales the picture down for each lower layer and encodes it, for the layers `sending` says;
/// a layer that fails is logged and skipped for this picture, the others still go.
fn encode_layers(layers: &mut [Layer], sending: &[bool], scaler: &mut Scaler, captured: &CapturedPicture) -> Encoded {
    layers
        .iter_mut()
        .zip(sending)
        .map(|(layer, &send)| {
            if !send {
                return None;
            }
            let (width, height) =
                layer_size(captured.picture.width(), captured.picture.height(), layer.spec.scale_down);
            let result = if layer.spec.scale_down <= 1 {
                layer.pipeline.encode(captured)
            } else {
                scaler.scale(&captured.picture, width, height).and_then(|picture| {
                    let scaled =
                        CapturedPicture { picture, rotation: captured.rotation, timestamp_us: captured.timestamp_us };
                    layer.pipeline.encode(&scaled)
                })
            };
            result.unwrap_or_else(|e| {
                log::warn!("encoding layer {}: {e}", layer.spec.rid);
                None
            })
        })
        .collect()
}
