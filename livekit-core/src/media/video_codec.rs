//! TEMPORARY stub of the codec interface (replaced by the codec branch on merge).
use super::video_frame::I420Buffer;
use crate::error::{Error, Result};

/// A video codec the core can send and receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoCodec {
    /// VP8.
    Vp8,
    /// H.264.
    H264,
}
impl VideoCodec {
    /// The mime type.
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Vp8 => "video/VP8",
            Self::H264 => "video/H264",
        }
    }
}
pub(crate) struct EncodedVideo {
    pub data: bytes::Bytes,
    pub keyframe: bool,
    pub width: u32,
    pub height: u32,
}
pub(crate) struct EncoderConfig {
    pub bitrate_bps: u32,
    pub max_framerate: f64,
    pub screencast: bool,
}
pub(crate) trait VideoEncoder: Send {
    fn encode(&mut self, picture: &I420Buffer, force_keyframe: bool) -> Result<Option<EncodedVideo>>;
    fn set_rates(&mut self, bitrate_bps: u32, framerate: f64);
}
pub(crate) fn new_encoder(_codec: VideoCodec, _config: EncoderConfig) -> Result<Box<dyn VideoEncoder>> {
    Err(Error::InvalidArgument("stub".into()))
}
pub(crate) trait VideoDecoder: Send {
    fn decode(&mut self, data: &[u8]) -> Result<Option<I420Buffer>>;
}
pub(crate) fn new_decoder(_codec: VideoCodec) -> Result<Box<dyn VideoDecoder>> {
    Err(Error::InvalidArgument("stub".into()))
}
