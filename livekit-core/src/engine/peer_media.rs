//! Media on the WebRTC stack (`webrtc` 0.17): codecs and interceptors, sending an audio track,
//! and receiving remote tracks as plain RTP packets. Like `peer.rs`, only our own types leave
//! this file. Facts behind the settings (measured against livekit-server, docs/webrtc-stacks.md):
//! - the server needs the RFC 6464 audio-level extension to compute active speakers;
//! - `register_default_interceptors` negotiates NACK for video only: audio needs it registered,
//!   and the NACK responder only runs while the sender's RTCP is read;
//! - the server translates RED to Opus for a subscriber that offers only Opus, so our subscriber
//!   connection offers Opus alone; the publisher offers RED (payload type 63, `111/111`) for the
//!   tracks that ask for it (`TrackPublishOptions::red`) and Opus alone for the others.

use std::sync::{Arc, Weak};
use std::time::Instant;

use tokio::sync::{broadcast, watch, Notify};
use webrtc::api::interceptor_registry::{configure_nack, configure_twcc_receiver_only};
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use webrtc::interceptor::nack::generator::Generator;
use webrtc::interceptor::nack::responder::Responder;
use webrtc::interceptor::registry::Registry;
use webrtc::interceptor::report::receiver::ReceiverReport;
use webrtc::interceptor::report::sender::SenderReport;
use webrtc::interceptor::twcc::receiver::Receiver as TwccReceiver;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use webrtc::rtp::extension::HeaderExtension;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RTPCodecType,
};
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::{RTCPFeedback, RTCRtpTransceiverInit};
use webrtc::track::track_local::TrackLocal;
use webrtc::track::track_remote::TrackRemote;

use super::audio_track_local::RedOrOpusTrack;
use super::lazy_interceptor::StartWithFirstStream;
use super::peer_video::KeyframeRequester;
use crate::error::{Error, Result};
use crate::media::{EncodedAudio, RedEncoder, RedReceiver, RtpPacket, VideoCodec};

/// Opus as LiveKit registers it (payload type 111).
const OPUS_PAYLOAD_TYPE: u8 = 111;
const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";
/// RED as LiveKit registers it: payload type 63, redundant blocks and primary all Opus.
const RED_PAYLOAD_TYPE: u8 = 63;
const RED_MIME_TYPE: &str = "audio/red";
/// Received packets a remote track keeps for slow readers (about 5 s of 20 ms audio).
const RECEIVED_BACKLOG: usize = 256;
/// The same for video: a second of 2 Mbps in 1,200-byte packets.
const RECEIVED_VIDEO_BACKLOG: usize = 2048;

fn opus_capability() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: OPUS_FMTP.to_owned(),
        rtcp_feedback: vec![RTCPFeedback { typ: "nack".into(), parameter: String::new() }],
    }
}

fn red_capability() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: RED_MIME_TYPE.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: format!("{OPUS_PAYLOAD_TYPE}/{OPUS_PAYLOAD_TYPE}"),
        rtcp_feedback: vec![RTCPFeedback { typ: "nack".into(), parameter: String::new() }],
    }
}

fn opus_parameters() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters { capability: opus_capability(), payload_type: OPUS_PAYLOAD_TYPE, ..Default::default() }
}

fn red_parameters() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters { capability: red_capability(), payload_type: RED_PAYLOAD_TYPE, ..Default::default() }
}

/// Which way media flows on one peer connection; its codecs follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MediaUse {
    /// The publisher of two connections.
    Send,
    /// The subscriber of two connections.
    Receive,
    /// The one connection of single peer connection mode.
    SendAndReceive,
}

impl MediaUse {
    fn sends(self) -> bool {
        self != MediaUse::Receive
    }

    fn receives(self) -> bool {
        self != MediaUse::Send
    }
}

/// The codecs, header extensions and interceptors (NACK, sender and receiver reports, TWCC
/// receiver) of one peer connection: one that sends can send RED, one that receives accepts
/// VP9 too. Send and receive transceivers pin their own codecs, so one connection may do both.
pub(crate) fn media_engine_and_interceptors(media: MediaUse) -> Result<(MediaEngine, Registry)> {
    let mut engine = MediaEngine::default();
    if media.sends() {
        engine.register_codec(red_parameters(), RTPCodecType::Audio).map_err(Error::internal)?;
    }
    engine.register_codec(opus_parameters(), RTPCodecType::Audio).map_err(Error::internal)?;
    let level = RTCRtpHeaderExtensionCapability { uri: webrtc::sdp::extmap::AUDIO_LEVEL_URI.to_owned() };
    engine.register_header_extension(level, RTPCodecType::Audio, None).map_err(Error::internal)?;
    super::peer_video::register_video_codecs(&mut engine, media.receives())?;
    let registry = interceptors(&mut engine)?;
    Ok((engine, registry))
}

/// webrtc-rs's default interceptors (NACK both ways, RTCP reports, TWCC feedback), the ones
/// with a timer started only once media flows (`lazy_interceptor`). The `configure_*` calls
/// register the feedback and header extensions they need on the media engine; the registries
/// they return are replaced by ours.
fn interceptors(engine: &mut MediaEngine) -> Result<Registry> {
    let _ = configure_nack(Registry::new(), engine);
    let _ = configure_twcc_receiver_only(Registry::new(), engine).map_err(Error::internal)?;
    let mut registry = Registry::new();
    registry.add(Box::new(Responder::builder()));
    registry.add(Box::new(StartWithFirstStream(Generator::builder())));
    registry.add(Box::new(StartWithFirstStream(ReceiverReport::builder())));
    registry.add(Box::new(StartWithFirstStream(SenderReport::builder())));
    registry.add(Box::new(StartWithFirstStream(TwccReceiver::builder())));
    Ok(registry)
}

/// Adds receive-only transceivers (single peer connection mode: the server puts the tracks we
/// subscribe to on them). Audio accepts Opus alone, so the server turns RED into Opus for us
/// as it does for a subscriber connection; video accepts every codec registered.
pub(super) async fn add_receivers(pc: &RTCPeerConnection, audios: u32, videos: u32) -> Result<()> {
    let init = || RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Recvonly, send_encodings: vec![] };
    for _ in 0..audios {
        let transceiver =
            pc.add_transceiver_from_kind(RTPCodecType::Audio, Some(init())).await.map_err(Error::internal)?;
        transceiver.set_codec_preferences(vec![opus_parameters()]).await.map_err(Error::internal)?;
    }
    for _ in 0..videos {
        pc.add_transceiver_from_kind(RTPCodecType::Video, Some(init())).await.map_err(Error::internal)?;
    }
    Ok(())
}

/// One published audio track: where its packets go, and the sender to remove on unpublish.
pub(crate) struct AudioSender {
    track: Arc<RedOrOpusTrack>,
    pub(super) sender: Arc<RTCRtpSender>,
    sequence: std::sync::atomic::AtomicU16,
    timestamp: std::sync::atomic::AtomicU32,
    /// Encodes payloads as RED while the track sends RED (published with RED, and negotiated).
    red: parking_lot::Mutex<RedEncoder>,
    /// The fraction lost (0..=1) in the server's latest receiver report on this track.
    loss_reports: watch::Receiver<f32>,
}

impl AudioSender {
    /// Adds a send-only Opus transceiver whose msid track id is `cid`: the server matches the
    /// media to the `AddTrackRequest` by it. With `red` the track offers RED first (the server
    /// then prefers it) and sends every packet as RED where the answer agrees (see
    /// `RedOrOpusTrack`). The caller renegotiates.
    pub(super) async fn add(pc: &RTCPeerConnection, cid: &str, stream_id: &str, red: bool) -> Result<Self> {
        let track = Arc::new(RedOrOpusTrack::new(opus_capability(), red.then(red_capability), cid, stream_id));
        let init = RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, send_encodings: vec![] };
        let transceiver = pc
            .add_transceiver_from_track(track.clone() as Arc<dyn TrackLocal + Send + Sync>, Some(init))
            .await
            .map_err(Error::internal)?;
        let sender = transceiver.sender().await;
        let preferences = if red { vec![red_parameters(), opus_parameters()] } else { vec![opus_parameters()] };
        match transceiver.set_codec_preferences(preferences).await {
            Ok(()) => {}
            // webrtc-rs offers only the codecs negotiated in the connection's first audio section:
            // when that had no RED, the section offers plain Opus, and so the track sends it.
            Err(webrtc::Error::ErrRTPTransceiverCodecUnsupported) if red => {
                transceiver.set_codec_preferences(vec![opus_parameters()]).await.map_err(Error::internal)?;
            }
            Err(err) => return Err(Error::internal(err)),
        }
        // The interceptors (NACK responder, reports) run as RTCP is read; of what it carries,
        // the encoder needs the loss (for its FEC plan).
        let (loss_tx, loss_reports) = watch::channel(0.0);
        crate::tasks::spawn(read_loss_reports(sender.clone(), loss_tx));
        Ok(Self {
            track,
            sender,
            sequence: std::sync::atomic::AtomicU16::new(random_u16()),
            timestamp: std::sync::atomic::AtomicU32::new(u32::from(random_u16()) << 16),
            red: parking_lot::Mutex::new(RedEncoder::new(OPUS_PAYLOAD_TYPE)),
            loss_reports,
        })
    }

    /// The fraction lost in the server's receiver reports on this track, updated with each.
    pub fn loss_reports(&self) -> watch::Receiver<f32> {
        self.loss_reports.clone()
    }

    /// Sends one encoded packet with its audio level (RFC 6464), advancing the RTP clock.
    pub async fn write(&self, packet: &EncodedAudio) -> Result<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let timestamp = self.timestamp.fetch_add(packet.rtp_timestamp_step, Relaxed);
        let payload = if self.track.sends_red() {
            self.red.lock().encode(timestamp, &packet.payload)
        } else {
            packet.payload.clone()
        };
        let rtp = webrtc::rtp::packet::Packet {
            header: webrtc::rtp::header::Header {
                version: 2,
                sequence_number: self.sequence.fetch_add(1, Relaxed),
                timestamp,
                ..Default::default()
            },
            payload,
        };
        let level = AudioLevelExtension { level: packet.audio_level, voice: packet.voice_activity };
        self.track
            .write_rtp_with_extensions(&rtp, &[HeaderExtension::AudioLevel(level)])
            .await
            .map(|_| ())
            .map_err(|e| Error::Connection(format!("sending audio: {e}")))
    }

    /// Skips the RTP clock ahead over a pause (mute), so the receiver's jitter buffer sees
    /// time pass rather than a burst of late packets.
    pub fn skip(&self, samples: u32) {
        self.timestamp.fetch_add(samples, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Reads the sender's RTCP until the sender goes, passing on each receiver report's loss.
async fn read_loss_reports(sender: Arc<RTCRtpSender>, loss: watch::Sender<f32>) {
    use webrtc::rtcp::receiver_report::ReceiverReport as Report;
    while let Ok((packets, _)) = sender.read_rtcp().await {
        let reports = packets.iter().filter_map(|packet| packet.as_any().downcast_ref::<Report>());
        for block in reports.filter_map(|report| report.reports.first()) {
            loss.send_replace(f32::from(block.fraction_lost) / 256.0);
        }
    }
}

fn random_u16() -> u16 {
    // Random starting points (RFC 3550); a clock-derived value is enough here.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    (nanos ^ (nanos >> 16)) as u16
}

/// A sender of ours on the publisher connection, to remove on unpublish.
#[derive(Clone)]
pub(crate) enum TrackSender {
    Audio(Arc<AudioSender>),
    Video(Arc<super::peer_video::VideoSender>),
}

impl TrackSender {
    pub(super) fn rtp_sender(&self) -> &Arc<RTCRtpSender> {
        match self {
            Self::Audio(audio) => &audio.sender,
            Self::Video(video) => &video.sender,
        }
    }
}

/// A remote track as it arrived: the ids the server put in its msid, and its packets.
pub(crate) struct ReceivedTrack {
    /// The msid track id: the track's sid (`TR_...`).
    pub track_id: String,
    /// The msid stream id: `PA_xxx|TR_xxx` (participant sid, track sid).
    pub stream_id: String,
    /// The media section it arrived on (single peer connection mode maps it to the track sid).
    pub mid: Option<String>,
    /// For video: its codec (`None` for one we cannot decode) and how to ask for a keyframe.
    pub video: Option<(Option<VideoCodec>, KeyframeRequester)>,
    /// Subscribe for every packet received from then on. Only the reader holds the sender,
    /// so receivers see the channel close when the track ends.
    pub packets: broadcast::WeakSender<RtpPacket>,
    /// Stops the reader (and so ends every stream of the track) when the room is done with
    /// it: with transceiver reuse an unpublished track's RTP may never end by itself.
    pub stop: Arc<Notify>,
}

impl std::fmt::Debug for ReceivedTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedTrack").field("track_id", &self.track_id).field("stream_id", &self.stream_id).finish()
    }
}

/// Starts reading a remote track's RTP into a broadcast channel; the reader ends with the
/// track (its transceiver stopped or the connection closed), which closes the channel, and
/// then calls `ended` with the track id.
pub(super) fn receive(
    track: Arc<TrackRemote>,
    mid: Option<String>,
    pc: Weak<RTCPeerConnection>,
    ended: impl FnOnce(String) + Send + 'static,
) -> ReceivedTrack {
    let (backlog, video) = match track.kind() {
        RTPCodecType::Video => {
            let codec = super::peer_video::codec_of(&track.codec().capability.mime_type);
            (RECEIVED_VIDEO_BACKLOG, Some((codec, KeyframeRequester::new(pc, track.ssrc()))))
        }
        _ => (RECEIVED_BACKLOG, None),
    };
    let is_audio = video.is_none();
    let (packets, _) = broadcast::channel(backlog);
    let stop = Arc::new(Notify::new());
    let received = ReceivedTrack {
        track_id: track.id(),
        stream_id: track.stream_id(),
        mid,
        video,
        packets: packets.downgrade(),
        stop: stop.clone(),
    };
    crate::tasks::spawn(async move {
        let mut count = 0u64;
        let mut red = RedReceiver::default();
        loop {
            let read = tokio::select! {
                read = track.read_rtp() => read,
                () = stop.notified() => break,
            };
            let Ok((packet, _)) = read else { break };
            if count == 0 {
                log::debug!("remote track {}: first packet, payload type {}", track.id(), packet.header.payload_type);
            }
            count += 1;
            let arrival = Instant::now();
            let header = &packet.header;
            if header.payload_type != RED_PAYLOAD_TYPE || !is_audio {
                let (sequence, timestamp, marker) = (header.sequence_number, header.timestamp, header.marker);
                // No receiver yet is fine: a stream opened later starts from then.
                let _ = packets.send(RtpPacket { sequence, timestamp, marker, payload: packet.payload, arrival });
                continue;
            }
            match red.unwrap(header.sequence_number, header.timestamp, &packet.payload) {
                Ok(unwrapped) => {
                    for opus in unwrapped {
                        let (sequence, timestamp, payload) = (opus.sequence, opus.timestamp, opus.payload);
                        let _ = packets.send(RtpPacket { sequence, timestamp, marker: false, payload, arrival });
                    }
                }
                Err(why) => log::debug!("remote track {}: dropping a RED packet: {}", track.id(), why.0),
            }
        }
        log::debug!("remote track {} ended after {count} packets", track.id());
        drop(packets);
        ended(track.id());
    });
    received
}
