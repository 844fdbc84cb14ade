//! Pixel format conversions between a [`VideoFrame`] and an [`I420Buffer`], with the `yuv`
//! crate's SIMD converters: BT.601, limited range, as libwebrtc converts camera frames.
//! Alpha-first formats are byte-reversed to their alpha-last twins (ARGB is BGRA read
//! backwards, ABGR is RGBA), and NV12 only needs its chroma pairs split or joined.

use yuv::{YuvConversionMode, YuvPlanarImage, YuvPlanarImageMut, YuvRange, YuvStandardMatrix};

use super::video_frame::{I420Buffer, VideoFormat, VideoFrame};
use crate::error::{Error, Result};

const RANGE: YuvRange = YuvRange::Limited;
const MATRIX: YuvStandardMatrix = YuvStandardMatrix::Bt601;

/// A packed picture the caller keeps: its bytes are only read, never kept. What bindings hand
/// to [`VideoSource::capture_picture`](super::VideoSource::capture_picture) and convert with,
/// so memory they do not own need not be copied into a [`VideoFrame`] first.
///
/// ```
/// use livekit_core::media::{PictureRef, VideoFormat};
/// let pixels = [0u8, 0, 255, 255].repeat(4); // caller-owned RGBA
/// let picture = PictureRef::new(VideoFormat::Rgba, 2, 2, &pixels).unwrap();
/// assert!(picture.convert(VideoFormat::Bgra).unwrap().data()[0] > 240); // blue comes first
/// ```
#[derive(Clone, Copy, Debug)]
pub struct PictureRef<'a> {
    format: VideoFormat,
    width: u32,
    height: u32,
    data: &'a [u8],
}

impl<'a> PictureRef<'a> {
    /// Views `data` as one `width` x `height` picture in `format`; extra bytes at the end are
    /// ignored. Fails with [`Error::InvalidArgument`] for bad dimensions or too few bytes.
    pub fn new(format: VideoFormat, width: u32, height: u32, data: &'a [u8]) -> Result<Self> {
        super::video_frame::validate_dimensions(width, height)?;
        let needed = format.frame_size(width, height);
        let data = data.get(..needed).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "a {width}x{height} {format:?} picture needs {needed} bytes, got {}",
                data.len()
            ))
        })?;
        Ok(Self { format, width, height, data })
    }

    /// The pixel format.
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

    /// Exactly the picture's bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The picture as I420 (a copy when it already is I420).
    pub fn to_i420(&self) -> Result<I420Buffer> {
        let (width, height, data) = (self.width, self.height, self.data);
        if self.format == VideoFormat::I420 {
            return I420Buffer::new(width, height, data.to_vec());
        }
        let mut out = I420Buffer::filled(width, height, (0, 128, 128))?;
        match self.format {
            VideoFormat::I420 => {} // returned above, with no fill to overwrite
            VideoFormat::Nv12 => split_chroma_pairs(data, &mut out),
            VideoFormat::Rgba => from_packed(&mut out, data, 4, yuv::rgba_to_yuv420)?,
            VideoFormat::Bgra => from_packed(&mut out, data, 4, yuv::bgra_to_yuv420)?,
            VideoFormat::Rgb24 => from_packed(&mut out, data, 3, yuv::rgb_to_yuv420)?,
            VideoFormat::Argb => from_packed(&mut out, &reverse_pixels(data), 4, yuv::bgra_to_yuv420)?,
            VideoFormat::Abgr => from_packed(&mut out, &reverse_pixels(data), 4, yuv::rgba_to_yuv420)?,
        }
        Ok(out)
    }

    /// The picture as a new [`VideoFrame`] in `format` (a copy when the format is the same).
    pub fn convert(&self, format: VideoFormat) -> Result<VideoFrame> {
        if format == self.format {
            return VideoFrame::new(format, self.width, self.height, self.data.to_vec());
        }
        self.to_i420()?.into_frame(format)
    }
}

impl VideoFrame {
    /// The picture as I420, converted once (a copy when it already is I420).
    ///
    /// ```
    /// use livekit_core::media::{VideoFormat, VideoFrame};
    /// let white = VideoFrame::new(VideoFormat::Rgb24, 2, 2, vec![255; 12]).unwrap();
    /// let i420 = white.to_i420().unwrap();
    /// assert!(i420.y().iter().all(|&y| y >= 234)); // limited range: white is 235
    /// ```
    pub fn to_i420(&self) -> Result<I420Buffer> {
        self.picture().to_i420()
    }

    /// A view of the frame's pixels.
    pub fn picture(&self) -> PictureRef<'_> {
        PictureRef { format: self.format(), width: self.width(), height: self.height(), data: self.data() }
    }

    /// The picture in another format (the rotation and timestamp are kept).
    ///
    /// ```
    /// use livekit_core::media::{VideoFormat, VideoFrame};
    /// let red = VideoFrame::new(VideoFormat::Rgba, 2, 2, [255, 0, 0, 255].repeat(4)).unwrap();
    /// let bgra = red.convert(VideoFormat::Bgra).unwrap();
    /// assert!(bgra.data()[2] > 240 && bgra.data()[0] < 16); // red is now the third byte
    /// ```
    pub fn convert(&self, format: VideoFormat) -> Result<VideoFrame> {
        if format == self.format() {
            return Ok(self.clone());
        }
        let mut frame = self.to_i420()?.into_frame(format)?;
        frame.rotation = self.rotation;
        frame.timestamp_us = self.timestamp_us;
        Ok(frame)
    }
}

impl I420Buffer {
    /// The picture as a [`VideoFrame`] in `format` (rotation 0, timestamp 0).
    ///
    /// ```
    /// use livekit_core::media::{I420Buffer, VideoFormat};
    /// let grey = I420Buffer::filled(2, 2, (126, 128, 128)).unwrap();
    /// let rgba = grey.to_frame(VideoFormat::Rgba).unwrap();
    /// assert!(rgba.data().chunks(4).all(|p| (120..=136).contains(&p[0]) && p[3] == 255));
    /// ```
    pub fn to_frame(&self, format: VideoFormat) -> Result<VideoFrame> {
        let (width, height) = (self.width(), self.height());
        let data = match format {
            VideoFormat::I420 => self.data().to_vec(),
            VideoFormat::Nv12 => join_chroma_pairs(self),
            VideoFormat::Rgba => to_packed(self, 4, yuv::yuv420_to_rgba)?,
            VideoFormat::Bgra => to_packed(self, 4, yuv::yuv420_to_bgra)?,
            VideoFormat::Rgb24 => to_packed(self, 3, yuv::yuv420_to_rgb)?,
            VideoFormat::Argb => reverse_pixels(&to_packed(self, 4, yuv::yuv420_to_bgra)?),
            VideoFormat::Abgr => reverse_pixels(&to_packed(self, 4, yuv::yuv420_to_rgba)?),
        };
        VideoFrame::new(format, width, height, data)
    }

    /// As [`to_frame`](Self::to_frame), but an I420 frame takes the buffer's bytes over with
    /// no copy (what a decoded picture needs on its way to a subscriber).
    pub(crate) fn into_frame(self, format: VideoFormat) -> Result<VideoFrame> {
        if format != VideoFormat::I420 {
            return self.to_frame(format);
        }
        let (width, height) = (self.width(), self.height());
        VideoFrame::new(format, width, height, self.into_data())
    }
}

type ToYuv = fn(
    &mut YuvPlanarImageMut<u8>,
    &[u8],
    u32,
    YuvRange,
    YuvStandardMatrix,
    YuvConversionMode,
) -> std::result::Result<(), yuv::YuvError>;
type FromYuv =
    fn(&YuvPlanarImage<u8>, &mut [u8], u32, YuvRange, YuvStandardMatrix) -> std::result::Result<(), yuv::YuvError>;

fn from_packed(out: &mut I420Buffer, packed: &[u8], bytes_per_pixel: u32, convert: ToYuv) -> Result<()> {
    let (width, height, chroma_width) = (out.width(), out.height(), out.chroma_width());
    let (y, u, v) = out.planes_mut();
    let mut image = YuvPlanarImageMut {
        y_plane: yuv::BufferStoreMut::Borrowed(y),
        y_stride: width,
        u_plane: yuv::BufferStoreMut::Borrowed(u),
        u_stride: chroma_width,
        v_plane: yuv::BufferStoreMut::Borrowed(v),
        v_stride: chroma_width,
        width,
        height,
    };
    convert(&mut image, packed, width * bytes_per_pixel, RANGE, MATRIX, YuvConversionMode::Balanced)
        .map_err(|e| Error::InvalidArgument(format!("converting a video frame to I420: {e}")))
}

fn to_packed(picture: &I420Buffer, bytes_per_pixel: u32, convert: FromYuv) -> Result<Vec<u8>> {
    let (width, height) = (picture.width(), picture.height());
    let image = YuvPlanarImage {
        y_plane: picture.y(),
        y_stride: width,
        u_plane: picture.u(),
        u_stride: picture.chroma_width(),
        v_plane: picture.v(),
        v_stride: picture.chroma_width(),
        width,
        height,
    };
    let mut packed = vec![0; (width * height * bytes_per_pixel) as usize];
    convert(&image, &mut packed, width * bytes_per_pixel, RANGE, MATRIX)
        .map_err(|e| Error::InvalidArgument(format!("converting an I420 picture: {e}")))?;
    Ok(packed)
}

/// ARGB <-> BGRA and ABGR <-> RGBA: the same four bytes in the opposite order.
fn reverse_pixels(packed: &[u8]) -> Vec<u8> {
    packed.chunks_exact(4).flat_map(|pixel| [pixel[3], pixel[2], pixel[1], pixel[0]]).collect()
}

/// NV12 (`Y`, then `UVUV...`) into I420's separate planes.
fn split_chroma_pairs(nv12: &[u8], out: &mut I420Buffer) {
    let (y, u, v) = out.planes_mut();
    let luma = y.len();
    y.copy_from_slice(&nv12[..luma]);
    for ((pair, u), v) in nv12[luma..].chunks_exact(2).zip(u.iter_mut()).zip(v.iter_mut()) {
        (*u, *v) = (pair[0], pair[1]);
    }
}

fn join_chroma_pairs(picture: &I420Buffer) -> Vec<u8> {
    let mut nv12 = picture.y().to_vec();
    nv12.extend(picture.u().iter().zip(picture.v()).flat_map(|(&u, &v)| [u, v]));
    nv12
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMATS: [VideoFormat; 7] = [
        VideoFormat::I420,
        VideoFormat::Nv12,
        VideoFormat::Rgba,
        VideoFormat::Bgra,
        VideoFormat::Argb,
        VideoFormat::Abgr,
        VideoFormat::Rgb24,
    ];

    fn red_rgba(width: u32, height: u32) -> VideoFrame {
        VideoFrame::new(VideoFormat::Rgba, width, height, [230, 20, 20, 255].repeat((width * height) as usize)).unwrap()
    }

    fn mean_rgb(frame: &VideoFrame) -> [f64; 3] {
        let rgba = frame.convert(VideoFormat::Rgba).unwrap();
        let pixels = rgba.data().chunks_exact(4);
        let count = pixels.len() as f64;
        let mut sum = [0.0; 3];
        for pixel in pixels {
            for c in 0..3 {
                sum[c] += f64::from(pixel[c]);
            }
        }
        sum.map(|s| s / count)
    }

    #[test]
    fn every_format_round_trips_a_colour_through_i420() {
        for format in FORMATS {
            for (width, height) in [(16, 8), (5, 3)] {
                let frame = red_rgba(width, height).convert(format).unwrap();
                assert_eq!(frame.data().len(), format.frame_size(width, height), "{format:?}");
                let [r, g, b] = mean_rgb(&frame);
                assert!(
                    (r - 230.0).abs() < 6.0 && (g - 20.0).abs() < 6.0 && (b - 20.0).abs() < 6.0,
                    "{format:?}: {r} {g} {b}"
                );
            }
        }
    }

    #[test]
    fn channel_order_is_what_each_format_says() {
        let red = red_rgba(2, 2);
        let expect_red_at = |format, index: usize| {
            let converted = red.convert(format).unwrap();
            let pixel = &converted.data()[..4];
            assert!(pixel[index] > 200, "{format:?}: {pixel:?}");
        };
        expect_red_at(VideoFormat::Rgba, 0);
        expect_red_at(VideoFormat::Bgra, 2);
        expect_red_at(VideoFormat::Argb, 1);
        expect_red_at(VideoFormat::Abgr, 3);
        expect_red_at(VideoFormat::Rgb24, 0);
    }

    #[test]
    fn nv12_chroma_pairs_map_to_u_and_v() {
        let mut nv12 = vec![100; 4];
        nv12.extend([10, 200]);
        let i420 = VideoFrame::new(VideoFormat::Nv12, 2, 2, nv12.clone()).unwrap().to_i420().unwrap();
        assert_eq!((i420.u(), i420.v()), (&[10][..], &[200][..]));
        assert_eq!(i420.to_frame(VideoFormat::Nv12).unwrap().data().to_vec(), nv12);
    }

    #[test]
    fn rotation_and_timestamp_survive_a_conversion() {
        let mut frame = red_rgba(4, 4);
        frame.rotation = crate::media::VideoRotation::Rotation90;
        frame.timestamp_us = 1234;
        let converted = frame.convert(VideoFormat::I420).unwrap();
        assert_eq!((converted.rotation, converted.timestamp_us), (frame.rotation, 1234));
    }
}
