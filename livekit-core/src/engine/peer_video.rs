//! Video on the WebRTC stack (`webrtc` 0.17): the codecs both connections offer, sending one
//! encoded picture at a time (the stack's payloaders split it into RTP packets), what the
//! server tells a video sender over RTCP, and keyframe requests for remote video.
//! Only our own types leave this file.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::mpsc;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_H264, MIME_TYPE_VP8};
use webrtc::media::Sample;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use webrtc::rtcp::receiver_report::ReceiverReport;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RTPCodecType,
};
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::{RTCPFeedback, RTCRtpTransceiverInit};
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;
use webrtc::track::track_local::TrackLocal;

use crate::error::{Error, Result};
use crate::media::{SenderFeedback, VideoCodec};

/// Payload types as livekit-server numbers them (the answer maps ours anyway).
const VP8_PAYLOAD_TYPE: u8 = 96;
const H264_PAYLOAD_TYPE: u8 = 125;
const VP9_PAYLOAD_TYPE: u8 = 98;
/// Constrained baseline, level 3.1, non-interleaved packetisation: what every WebRTC peer decodes.
const H264_FMTP: &str = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
const VIDEO_CLOCK_RATE: u32 = 90_000;

fn feedback() -> Vec<RTCPFeedback> {
    [("goog-remb", ""), ("ccm", "fir"), ("nack", ""), ("nack", "pli")]
        .into_iter()
        .map(|(typ, parameter)| RTCPFeedback { typ: typ.into(), parameter: parameter.into() })
        .collect()
}

fn capability(codec: VideoCodec) -> RTCRtpCodecCapability {
    let fmtp = match codec {
        VideoCodec::H264 => H264_FMTP,
        VideoCodec::Vp9 => "profile-id=0",
        _ => "",
    };
    RTCRtpCodecCapability {
        mime_type: codec.mime_type().to_owned(),
        clock_rate: VIDEO_CLOCK_RATE,
        channels: 0,
        sdp_fmtp_line: fmtp.to_owned(),
        rtcp_feedback: feedback(),
    }
}

fn parameters(codec: VideoCodec) -> RTCRtpCodecParameters {
    let payload_type = match codec {
        VideoCodec::H264 => H264_PAYLOAD_TYPE,
        VideoCodec::Vp9 => VP9_PAYLOAD_TYPE,
        _ => VP8_PAYLOAD_TYPE,
    };
    RTCRtpCodecParameters { capability: capability(codec), payload_type, ..Default::default() }
}

/// The video codecs a connection offers and accepts: VP8 and H.264 (constrained baseline),
/// and VP9 (profile 0, with the `vp9` feature) on the subscriber's, which only receives it; and
/// the mid and RTP stream id extensions, which carry simulcast layers' rids.
pub(super) fn register_video_codecs(engine: &mut MediaEngine, receives: bool) -> Result<()> {
    let codecs: &[VideoCodec] = if receives && cfg!(feature = "vp9") {
        &[VideoCodec::Vp8, VideoCodec::H264, VideoCodec::Vp9]
    } else {
        &[VideoCodec::Vp8, VideoCodec::H264]
    };
    for &codec in codecs {
        engine.register_codec(parameters(codec), RTPCodecType::Video).map_err(Error::internal)?;
    }
    for uri in [webrtc::sdp::extmap::SDES_MID_URI, webrtc::sdp::extmap::SDES_RTP_STREAM_ID_URI] {
        let extension = RTCRtpHeaderExtensionCapability { uri: uri.to_owned() };
        engine.register_header_extension(extension, RTPCodecType::Video, None).map_err(Error::internal)?;
    }
    Ok(())
}

/// The codec of a remote video track, from its negotiated mime type.
pub(super) fn codec_of(mime_type: &str) -> Option<VideoCodec> {
    if mime_type.eq_ignore_ascii_case(MIME_TYPE_VP8) {
        Some(VideoCodec::Vp8)
    } else if mime_type.eq_ignore_ascii_case(MIME_TYPE_H264) {
        Some(VideoCodec::H264)
    } else if mime_type.eq_ignore_ascii_case(VideoCodec::Vp9.mime_type()) {
        Some(VideoCodec::Vp9)
    } else {
        None
    }
}

/// One published video track: where each layer's pictures go, and the sender to remove on
/// unpublish.
pub(crate) struct VideoSender {
    layers: Vec<Arc<TrackLocalStaticSample>>,
    pub(super) sender: Arc<RTCRtpSender>,
}

/// What the server says about one layer of a video track (the layer's index, lowest first).
pub(crate) type LayerFeedback = (usize, SenderFeedback);

impl VideoSender {
    /// Adds a send-only transceiver for `codec` whose msid track id is `cid` (the server
    /// matches the media to the `AddTrackRequest` by it), with one encoding per rid in `rids`
    /// (simulcast, lowest layer first) or a single one without a rid when `rids` is empty.
    /// What the server says about each layer (keyframe requests, loss) comes out of the
    /// returned receiver. The caller renegotiates.
    pub(super) async fn add(
        pc: &RTCPeerConnection,
        cid: &str,
        stream_id: &str,
        codec: VideoCodec,
        rids: &[&str],
    ) -> Result<(Self, mpsc::UnboundedReceiver<LayerFeedback>)> {
        let new_track = |rid: Option<&str>| {
            let (id, stream) = (cid.to_owned(), stream_id.to_owned());
            Arc::new(match rid {
                Some(rid) => TrackLocalStaticSample::new_with_rid(capability(codec), id, rid.to_owned(), stream),
                None => TrackLocalStaticSample::new(capability(codec), id, stream),
            })
        };
        let layers: Vec<_> =
            if rids.is_empty() { vec![new_track(None)] } else { rids.iter().map(|r| new_track(Some(r))).collect() };
        let init = RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, send_encodings: vec![] };
        let transceiver = pc
            .add_transceiver_from_track(layers[0].clone() as Arc<dyn TrackLocal + Send + Sync>, Some(init))
            .await
            .map_err(Error::internal)?;
        transceiver.set_codec_preferences(vec![parameters(codec)]).await.map_err(Error::internal)?;
        let sender = transceiver.sender().await;
        for layer in &layers[1..] {
            sender.add_encoding(layer.clone() as Arc<dyn TrackLocal + Send + Sync>).await.map_err(Error::internal)?;
        }
        let (feedback_tx, feedback) = mpsc::unbounded_channel();
        if rids.is_empty() {
            crate::tasks::spawn(read_feedback(sender.clone(), None, 0, feedback_tx));
        } else {
            for (index, rid) in rids.iter().enumerate() {
                crate::tasks::spawn(read_feedback(sender.clone(), Some(rid.to_string()), index, feedback_tx.clone()));
            }
        }
        Ok((Self { layers, sender }, feedback))
    }

    /// Sends one encoded picture of layer `layer` that follows the previous one by `duration`
    /// (which moves the 90 kHz RTP clock).
    pub async fn write(&self, layer: usize, data: Bytes, duration: Duration) -> Result<()> {
        let track = self.layers.get(layer).ok_or_else(|| Error::internal(format!("no video layer {layer}")))?;
        let sample = Sample { data, duration, timestamp: SystemTime::now(), ..Default::default() };
        track.write_sample(&sample).await.map_err(|e| Error::Connection(format!("sending video: {e}")))
    }
}

/// Reads one layer's RTCP (which also runs the NACK responder and the reports) and turns
/// what matters to its encoder into `SenderFeedback`.
async fn read_feedback(
    sender: Arc<RTCRtpSender>,
    rid: Option<String>,
    layer: usize,
    feedback: mpsc::UnboundedSender<LayerFeedback>,
) {
    loop {
        let read = match &rid {
            Some(rid) => sender.read_rtcp_simulcast(rid).await,
            None => sender.read_rtcp().await,
        };
        let Ok((packets, _)) = read else { return };
        for packet in packets {
            let any = packet.as_any();
            let event = if any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>() {
                Some(SenderFeedback::KeyframeRequested)
            } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                Some(SenderFeedback::EstimatedBitrate(remb.bitrate as u64))
            } else {
                any.downcast_ref::<ReceiverReport>()
                    .and_then(|rr| rr.reports.first())
                    .map(|report| SenderFeedback::LossFraction(f32::from(report.fraction_lost) / 256.0))
            };
            if let Some(event) = event {
                log::trace!("video sender feedback, layer {layer}: {event:?}");
                if feedback.send((layer, event)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Asks the sender of a remote video stream for a keyframe (RTCP PLI). Cheap to clone.
#[derive(Clone)]
pub(crate) struct KeyframeRequester {
    pc: Weak<RTCPeerConnection>,
    media_ssrc: u32,
}

impl KeyframeRequester {
    pub(super) fn new(pc: Weak<RTCPeerConnection>, media_ssrc: u32) -> Self {
        Self { pc, media_ssrc }
    }

    /// Sends the request in the background; lost with the connection, which is fine (the next
    /// loss asks again).
    pub fn request(&self) {
        let Some(pc) = self.pc.upgrade() else { return };
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: self.media_ssrc };
        crate::tasks::spawn(async move {
            if let Err(e) = pc.write_rtcp(&[Box::new(pli)]).await {
                log::debug!("sending a keyframe request: {e}");
            }
        });
    }
}

impl std::fmt::Debug for KeyframeRequester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyframeRequester").field("media_ssrc", &self.media_ssrc).finish()
    }
}
