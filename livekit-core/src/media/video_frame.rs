//! Video frames: `VideoFrame` (a picture in one of the pixel formats apps hand us) and
//! `I420Buffer` (the planar 4:2:0 form the encoders take and the decoders give). Conversions
//! between them are in `video_convert.rs`.

use bytes::Bytes;

use crate::error::{Error, Result};

/// The largest width or height a frame may have (8K is 7680; codecs refuse more anyway).
pub const MAX_VIDEO_DIMENSION: u32 = 8192;

/// How the pixels of a [`VideoFrame`] are laid out, tightly packed (no row padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoFormat {
    /// Planar Y, then U, then V at half width and half height (rounded up).
    I420,
    /// Planar Y, then interleaved U/V pairs at half width and half height.
    Nv12,
    /// Four bytes per pixel: red, green, blue, alpha.
    Rgba,
    /// Four bytes per pixel: blue, green, red, alpha.
    Bgra,
    /// Four bytes per pixel: alpha, red, green, blue.
    Argb,
    /// Four bytes per pixel: alpha, blue, green, red.
    Abgr,
    /// Three bytes per pixel: red, green, blue.
    Rgb24,
}

impl VideoFormat {
    /// The number of bytes a `width` x `height` picture takes in this format.
    ///
    /// ```
    /// use livekit_core::media::VideoFormat;
    /// assert_eq!(VideoFormat::I420.frame_size(4, 2), 8 + 2 + 2);
    /// assert_eq!(VideoFormat::Rgba.frame_size(4, 2), 32);
    /// ```
    pub fn frame_size(self, width: u32, height: u32) -> usize {
        let (w, h) = (width as usize, height as usize);
        let chroma = w.div_ceil(2) * h.div_ceil(2);
        match self {
            Self::I420 | Self::Nv12 => w * h + 2 * chroma,
            Self::Rgba | Self::Bgra | Self::Argb | Self::Abgr => 4 * w * h,
            Self::Rgb24 => 3 * w * h,
        }
    }
}

/// How far a frame must be turned clockwise to be shown upright.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum VideoRotation {
    /// Upright.
    #[default]
    Rotation0,
    /// A quarter turn.
    Rotation90,
    /// Upside down.
    Rotation180,
    /// Three quarter turns.
    Rotation270,
}

/// One picture: its pixels in a [`VideoFormat`], its rotation and its capture time.
///
/// ```
/// use livekit_core::media::{VideoFormat, VideoFrame};
/// // A 2x2 red picture.
/// let frame = VideoFrame::new(VideoFormat::Rgba, 2, 2, vec![255, 0, 0, 255].repeat(4)).unwrap();
/// assert_eq!(frame.width(), 2);
/// assert!(VideoFrame::new(VideoFormat::Rgba, 2, 2, vec![0; 3]).is_err()); // too short
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoFrame {
    format: VideoFormat,
    width: u32,
    height: u32,
    data: Bytes,
    /// How far to turn the picture to show it upright; carried to subscribers.
    pub rotation: VideoRotation,
    /// When the picture was captured, in microseconds on any steady clock; 0 lets the
    /// source stamp it when it is captured.
    pub timestamp_us: i64,
}

impl VideoFrame {
    /// Wraps `data`, which must hold exactly one `width` x `height` picture in `format`. Fails
    /// with [`Error::InvalidArgument`] when a dimension is 0 or above [`MAX_VIDEO_DIMENSION`],
    /// or `data` has the wrong length.
    pub fn new(format: VideoFormat, width: u32, height: u32, data: impl Into<Bytes>) -> Result<Self> {
        validate_dimensions(width, height)?;
        let data = data.into();
        let expected = format.frame_size(width, height);
        if data.len() != expected {
            return Err(Error::InvalidArgument(format!(
                "a {width}x{height} {format:?} frame needs {expected} bytes, got {}",
                data.len()
            )));
        }
        Ok(Self { format, width, height, data, rotation: VideoRotation::Rotation0, timestamp_us: 0 })
    }

    /// The pixel format of [`data`](Self::data).
    pub fn format(&self) -> VideoFormat {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels, tightly packed in [`format`](Self::format).
    pub fn data(&self) -> &Bytes {
        &self.data
    }
}

/// A planar 4:2:0 picture: the Y plane (`width` x `height`), then U and V at half width and
/// half height, rounded up. Every stride equals its plane's width.
///
/// ```
/// use livekit_core::media::I420Buffer;
/// let black = I420Buffer::filled(4, 4, (0, 128, 128)).unwrap();
/// assert_eq!(black.y().len(), 16);
/// assert_eq!(black.u().len(), 4);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct I420Buffer {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl I420Buffer {
    /// Wraps the three planes packed one after the other (see [`VideoFormat::I420`]).
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        validate_dimensions(width, height)?;
        let expected = VideoFormat::I420.frame_size(width, height);
        if data.len() != expected {
            return Err(Error::InvalidArgument(format!(
                "a {width}x{height} I420 picture needs {expected} bytes, got {}",
                data.len()
            )));
        }
        Ok(Self { width, height, data })
    }

    /// A picture of one colour, given as (Y, U, V).
    pub fn filled(width: u32, height: u32, (y, u, v): (u8, u8, u8)) -> Result<Self> {
        validate_dimensions(width, height)?;
        let luma = width as usize * height as usize;
        let chroma = Self::chroma_len(width, height);
        let mut data = vec![y; luma + 2 * chroma];
        data[luma..luma + chroma].fill(u);
        data[luma + chroma..].fill(v);
        Ok(Self { width, height, data })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Width of the U and V planes.
    pub fn chroma_width(&self) -> u32 {
        self.width.div_ceil(2)
    }

    /// Height of the U and V planes.
    pub fn chroma_height(&self) -> u32 {
        self.height.div_ceil(2)
    }

    /// The luma plane.
    pub fn y(&self) -> &[u8] {
        &self.data[..self.luma_len()]
    }

    /// The blue-difference plane.
    pub fn u(&self) -> &[u8] {
        let start = self.luma_len();
        &self.data[start..start + Self::chroma_len(self.width, self.height)]
    }

    /// The red-difference plane.
    pub fn v(&self) -> &[u8] {
        &self.data[self.luma_len() + Self::chroma_len(self.width, self.height)..]
    }

    /// The three planes, writable.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let luma = self.luma_len();
        let chroma = Self::chroma_len(self.width, self.height);
        let (y, rest) = self.data.split_at_mut(luma);
        let (u, v) = rest.split_at_mut(chroma);
        (y, u, v)
    }

    /// All three planes, packed.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The packed planes, by value.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    fn luma_len(&self) -> usize {
        self.width as usize * self.height as usize
    }

    fn chroma_len(width: u32, height: u32) -> usize {
        width.div_ceil(2) as usize * height.div_ceil(2) as usize
    }
}

pub(crate) fn validate_dimensions(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 || width > MAX_VIDEO_DIMENSION || height > MAX_VIDEO_DIMENSION {
        return Err(Error::InvalidArgument(format!(
            "video dimensions must be 1..={MAX_VIDEO_DIMENSION}, got {width}x{height}"
        )));
    }
    Ok(())
}
