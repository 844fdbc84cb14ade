//! The local track behind a published audio track: RED when the connection's answer gave RED to
//! its section, plain Opus otherwise, chosen when webrtc-rs binds it after the answer applies.
//!
//! Deciding earlier is a race. `set_codec_preferences` accepts RED while no audio section has
//! been negotiated yet; if another answer (the receive sections of a single peer connection)
//! negotiates audio without RED before this track's offer goes out, the offer lists only Opus,
//! and a RED-only track then fails to bind: the whole answer fails to apply ("codec is not
//! supported by remote") and the track never reaches the server. Ten participants publishing in
//! one process lost a third of their tracks that way.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use webrtc::rtp::extension::HeaderExtension;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType};
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::{TrackLocal, TrackLocalContext};

/// An Opus track that sends RED where it was negotiated (see the module docs).
pub(crate) struct RedOrOpusTrack {
    /// `None` when the track was published without RED.
    red: Option<TrackLocalStaticRTP>,
    opus: TrackLocalStaticRTP,
    sends_red: AtomicBool,
}

impl RedOrOpusTrack {
    /// A track with msid track id `id` in stream `stream_id`; `red` is the RED capability to try
    /// first, if any.
    pub fn new(opus: RTCRtpCodecCapability, red: Option<RTCRtpCodecCapability>, id: &str, stream_id: &str) -> Self {
        Self {
            red: red.map(|red| TrackLocalStaticRTP::new(red, id.to_owned(), stream_id.to_owned())),
            opus: TrackLocalStaticRTP::new(opus, id.to_owned(), stream_id.to_owned()),
            sends_red: AtomicBool::new(false),
        }
    }

    /// Whether the negotiated codec is RED, so payloads must be RED-encoded.
    pub fn sends_red(&self) -> bool {
        self.sends_red.load(Ordering::Relaxed)
    }

    /// Writes a packet with the negotiated codec's payload type.
    pub async fn write_rtp_with_extensions(
        &self,
        packet: &webrtc::rtp::packet::Packet,
        extensions: &[HeaderExtension],
    ) -> webrtc::error::Result<usize> {
        match (&self.red, self.sends_red()) {
            (Some(red), true) => red.write_rtp_with_extensions(packet, extensions).await,
            _ => self.opus.write_rtp_with_extensions(packet, extensions).await,
        }
    }
}

#[async_trait]
impl TrackLocal for RedOrOpusTrack {
    async fn bind(&self, context: &TrackLocalContext) -> webrtc::error::Result<RTCRtpCodecParameters> {
        if let Some(red) = &self.red {
            match red.bind(context).await {
                Ok(codec) => {
                    self.sends_red.store(true, Ordering::Relaxed);
                    return Ok(codec);
                }
                Err(webrtc::Error::ErrUnsupportedCodec) => {
                    log::warn!("RED was not negotiated for audio track {}: it is sent as plain Opus", self.id());
                }
                Err(err) => return Err(err),
            }
        }
        self.sends_red.store(false, Ordering::Relaxed);
        self.opus.bind(context).await
    }

    async fn unbind(&self, context: &TrackLocalContext) -> webrtc::error::Result<()> {
        match (&self.red, self.sends_red()) {
            (Some(red), true) => red.unbind(context).await,
            _ => self.opus.unbind(context).await,
        }
    }

    fn id(&self) -> &str {
        self.opus.id()
    }

    fn rid(&self) -> Option<&str> {
        None
    }

    fn stream_id(&self) -> &str {
        self.opus.stream_id()
    }

    fn kind(&self) -> RTPCodecType {
        RTPCodecType::Audio
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
