//! The video codec layer: one encoder and one decoder interface over VP8 (libvpx) and H.264
//! (OpenH264), with [`I420Buffer`] as the raw picture in and out. The codecs live in
//! `vp8_codec.rs` and `h264_codec.rs`, each behind its Cargo feature (`vp8`, `h264`; `video`
//! turns on both). See docs/video-codecs.md.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::media::I420Buffer;

/// A video codec the core can send and receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoCodec {
    /// VP8 (RFC 6386), through libvpx. Royalty-free.
    Vp8,
    /// H.264 constrained baseline (profile-level-id 42e01f), through OpenH264.
    H264,
    /// VP9 profile 0, through libvpx: received and decoded only (publishing it fails).
    Vp9,
}

impl VideoCodec {
    /// The codec's media type as SDP and the LiveKit protocol name it: "video/VP8" or
    /// "video/H264".
    pub fn mime_type(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "video/VP8",
            VideoCodec::H264 => "video/H264",
            VideoCodec::Vp9 => "video/VP9",
        }
    }
}

/// One encoded picture. VP8: one frame as the RTP VP8 payloader takes it. H.264: one access
/// unit in Annex B (start codes), SPS/PPS included before every keyframe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EncodedVideo {
    /// The encoded bytes.
    pub data: Bytes,
    /// Whether the picture decodes on its own (VP8 key frame, H.264 IDR).
    pub keyframe: bool,
    /// Width the picture was encoded at (H.264 rounds odd sizes up to even, see h264_codec).
    pub width: u32,
    /// Height the picture was encoded at.
    pub height: u32,
}

/// How an encoder starts; [`VideoEncoder::set_rates`] changes the rates later.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct EncoderConfig {
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// The highest frame rate the caller will feed; also the assumed rate between frames.
    pub max_framerate: f64,
    /// Screen content (text, static areas) rather than camera video.
    pub screencast: bool,
}

/// A realtime video encoder: no B-frames, no lookahead, one output per input at most.
pub(crate) trait VideoEncoder: Send {
    /// Encodes one picture; the encoder (re)initialises itself when the picture's size differs
    /// from the last one (the next frame is then a keyframe). `Ok(None)` when rate control
    /// drops the frame.
    fn encode(&mut self, picture: &I420Buffer, force_keyframe: bool) -> Result<Option<EncodedVideo>>;
    /// New target bitrate and frame rate, taking effect from the next frame.
    fn set_rates(&mut self, bitrate_bps: u32, framerate: f64);
}

/// A new encoder for `codec`; `InvalidArgument` when the codec's feature is off or the
/// configuration is out of range (no bitrate, frame rate not in 1..=240).
pub(crate) fn new_encoder(codec: VideoCodec, config: EncoderConfig) -> Result<Box<dyn VideoEncoder>> {
    validate_rates(config.bitrate_bps, config.max_framerate)?;
    match codec {
        #[cfg(feature = "vp8")]
        VideoCodec::Vp8 => Ok(Box::new(crate::media::vp8_codec::Vp8Encoder::new(config)?)),
        #[cfg(feature = "h264")]
        VideoCodec::H264 => Ok(Box::new(crate::media::h264_codec::H264Encoder::new(config)?)),
        VideoCodec::Vp9 => {
            Err(Error::InvalidArgument("video/VP9 is received but not sent: publish VP8 or H.264".into()))
        }
        #[allow(unreachable_patterns)]
        other => Err(feature_off(other)),
    }
}

/// A realtime video decoder.
pub(crate) trait VideoDecoder: Send {
    /// Decodes one complete encoded picture (as an RTP depacketizer reassembles it: VP8 frame,
    /// or H.264 Annex B access unit). `Ok(None)` while the decoder has no picture to show
    /// (e.g. waiting for a keyframe); `Err` for a corrupt stream (caller will request a
    /// keyframe). Never panics on any input.
    fn decode(&mut self, data: &[u8]) -> Result<Option<I420Buffer>>;
}

/// A new decoder for `codec`; `InvalidArgument` when the codec's feature is off.
pub(crate) fn new_decoder(codec: VideoCodec) -> Result<Box<dyn VideoDecoder>> {
    match codec {
        #[cfg(feature = "vp8")]
        VideoCodec::Vp8 => Ok(Box::new(crate::media::vp8_codec::Vp8Decoder::new()?)),
        #[cfg(feature = "h264")]
        VideoCodec::H264 => Ok(Box::new(crate::media::h264_codec::H264Decoder::new()?)),
        #[cfg(feature = "vp9")]
        VideoCodec::Vp9 => Ok(Box::new(crate::media::vp8_codec::Vp8Decoder::new_vp9()?)),
        #[allow(unreachable_patterns)]
        other => Err(feature_off(other)),
    }
}

/// The error for a codec compiled out.
fn feature_off(codec: VideoCodec) -> Error {
    let feature = match codec {
        VideoCodec::Vp8 => "vp8",
        VideoCodec::Vp9 => "vp9",
        VideoCodec::H264 => "h264",
    };
    Error::InvalidArgument(format!(
        "{} needs livekit-core's `{feature}` feature (part of `video`), which this build lacks",
        codec.mime_type()
    ))
}

/// Bitrate above zero, frame rate in 1..=240 (also rejects NaN).
pub(crate) fn validate_rates(bitrate_bps: u32, framerate: f64) -> Result<()> {
    if bitrate_bps == 0 {
        return Err(Error::InvalidArgument("a video bitrate must be above 0".into()));
    }
    if !(1.0..=240.0).contains(&framerate) {
        return Err(Error::InvalidArgument(format!("a video frame rate must be in 1..=240, got {framerate}")));
    }
    Ok(())
}

/// Rates made safe for `set_rates`, which cannot fail: bitrate at least 1 kbps, frame rate
/// clamped to 1..=240 (NaN becomes 30).
pub(crate) fn sanitize_rates(bitrate_bps: u32, framerate: f64) -> (u32, f64) {
    let framerate = if framerate.is_nan() { 30.0 } else { framerate.clamp(1.0, 240.0) };
    (bitrate_bps.max(1000), framerate)
}

/// Entry points for the codec benchmark (`bench/video-codecs`, feature `video-bench`); not API.
#[cfg(feature = "video-bench")]
#[doc(hidden)]
pub mod bench {
    use super::*;

    /// An encoder of either codec with its speed knob exposed.
    pub struct Encoder(Box<dyn VideoEncoder>);

    impl Encoder {
        /// `speed`: VP8 `cpu-used` (-16..=16) or H.264 complexity (0 low, 1 medium, 2 high);
        /// `None` for what `new_encoder` uses.
        pub fn new(
            codec: VideoCodec,
            bitrate_bps: u32,
            framerate: f64,
            screencast: bool,
            speed: Option<i32>,
        ) -> Result<Self> {
            let config = EncoderConfig { bitrate_bps, max_framerate: framerate, screencast };
            let Some(speed) = speed else { return Ok(Self(new_encoder(codec, config)?)) };
            validate_rates(bitrate_bps, framerate)?;
            match codec {
                #[cfg(feature = "vp8")]
                VideoCodec::Vp8 => Ok(Self(Box::new(crate::media::vp8_codec::Vp8Encoder::with_speed(config, speed)?))),
                #[cfg(feature = "h264")]
                VideoCodec::H264 => {
                    use crate::media::h264_codec::{H264Complexity, H264Encoder};
                    let complexity = match speed {
                        0 => H264Complexity::Low,
                        1 => H264Complexity::Medium,
                        2 => H264Complexity::High,
                        _ => return Err(Error::InvalidArgument(format!("H.264 complexity {speed} is not 0, 1 or 2"))),
                    };
                    Ok(Self(Box::new(H264Encoder::with_complexity(config, complexity)?)))
                }
                #[allow(unreachable_patterns)]
                other => Err(feature_off(other)),
            }
        }

        /// Encodes one picture: the bytes and whether they are a keyframe, `None` when dropped.
        pub fn encode(&mut self, picture: &I420Buffer, force_keyframe: bool) -> Result<Option<(Bytes, bool)>> {
            Ok(self.0.encode(picture, force_keyframe)?.map(|unit| (unit.data, unit.keyframe)))
        }
    }

    /// A decoder of either codec.
    pub struct Decoder(Box<dyn VideoDecoder>);

    impl Decoder {
        /// A decoder for `codec`.
        pub fn new(codec: VideoCodec) -> Result<Self> {
            Ok(Self(new_decoder(codec)?))
        }

        /// Decodes one encoded picture.
        pub fn decode(&mut self, data: &[u8]) -> Result<Option<I420Buffer>> {
            self.0.decode(data)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_are_the_sdp_names() {
        assert_eq!(VideoCodec::Vp8.mime_type(), "video/VP8");
        assert_eq!(VideoCodec::H264.mime_type(), "video/H264");
    }

    #[test]
    fn bad_configurations_are_refused() {
        for (bitrate, fps) in [(0, 30.0), (300_000, 0.0), (300_000, f64::NAN), (300_000, 1000.0)] {
            let config = EncoderConfig { bitrate_bps: bitrate, max_framerate: fps, screencast: false };
            for codec in [VideoCodec::Vp8, VideoCodec::H264] {
                assert!(matches!(new_encoder(codec, config), Err(Error::InvalidArgument(_))), "{bitrate} {fps}");
            }
        }
    }

    #[test]
    fn set_rates_values_are_clamped() {
        assert_eq!(sanitize_rates(0, f64::NAN), (1000, 30.0));
        assert_eq!(sanitize_rates(500_000, 1e9), (500_000, 240.0));
    }

    #[cfg(not(feature = "vp8"))]
    #[test]
    fn vp8_without_its_feature_names_the_feature() {
        let Err(Error::InvalidArgument(msg)) = new_decoder(VideoCodec::Vp8) else { panic!("expected an error") };
        assert!(msg.contains("`vp8`"), "{msg}");
    }

    #[cfg(not(feature = "vp9"))]
    #[test]
    fn vp9_without_its_feature_names_the_feature() {
        let Err(Error::InvalidArgument(msg)) = new_decoder(VideoCodec::Vp9) else { panic!("expected an error") };
        assert!(msg.contains("`vp9`"), "{msg}");
    }

    #[cfg(not(feature = "h264"))]
    #[test]
    fn h264_without_its_feature_names_the_feature() {
        let Err(Error::InvalidArgument(msg)) = new_decoder(VideoCodec::H264) else { panic!("expected an error") };
        assert!(msg.contains("`h264`"), "{msg}");
    }
}

#[cfg(all(test, any(feature = "vp8", feature = "h264")))]
#[path = "video_codec_tests.rs"]
mod codec_tests;
