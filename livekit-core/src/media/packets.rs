//! The packets that cross between `media/` and the engine: encoded audio going out, RTP
//! payloads coming in. Plain data, present with or without the `audio` feature.

use bytes::Bytes;

/// One encoded 20 ms packet, ready for RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodedAudio {
    /// The Opus packet (RTP payload).
    pub payload: Bytes,
    /// How far this packet moves the RTP timestamp (48 kHz clock): 960 for 20 ms.
    pub rtp_timestamp_step: u32,
    /// RFC 6464 level, -dBov: 0 loudest ..= 127 silence.
    pub audio_level: u8,
    /// The voice-activity bit of the same extension.
    pub voice_activity: bool,
}

impl EncodedAudio {
    /// A DTX packet (libopus's 1-2 byte "nothing to say" frame): not sent, as libwebrtc does;
    /// its RTP time passes without a packet and the receiver conceals the pause.
    pub fn is_dtx_gap(&self) -> bool {
        self.payload.len() <= 2
    }
}

/// One received RTP packet of a remote track, as the engine hands it over.
#[derive(Debug, Clone)]
pub(crate) struct RtpPacket {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp (48 kHz clock for Opus, 90 kHz for video).
    pub timestamp: u32,
    /// The marker bit: for video, the last packet of a picture.
    pub marker: bool,
    /// The payload (Opus, or a piece of a video picture).
    pub payload: Bytes,
    /// When the packet arrived, on the tokio clock (`tokio::time::Instant::now().into_std()`,
    /// which is `std::time::Instant::now()` outside paused-time tests).
    pub arrival: std::time::Instant,
}
