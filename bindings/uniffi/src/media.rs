//! Audio and video sources and the frames that cross the boundary.
//!
//! PCM crosses as bytes: interleaved signed 16-bit samples, little-endian. uniffi passes a
//! `Vec<i16>` as a list of boxed numbers in Kotlin (`List<Short>`); a `Vec<u8>` is one
//! `ByteArray` in Kotlin and one `Data` in Swift, copied in bulk. The hand-written layers
//! (Kotlin `Media.kt`, Swift `Media.swift`) add `ShortArray` and `[Int16]` forms.

use std::sync::Arc;

use livekit_core::media::VideoRotation;

use crate::error::{LiveKitError, Result};

fn invalid(reason: String) -> LiveKitError {
    LiveKitError::InvalidArgument { reason }
}

/// Little-endian i16 bytes into samples (the one copy this crate makes on the way in).
pub(crate) fn samples_from_le_bytes(pcm: &[u8]) -> Result<Vec<i16>> {
    if !pcm.len().is_multiple_of(2) {
        return Err(invalid(format!("PCM bytes come in pairs (16-bit samples), got {} bytes", pcm.len())));
    }
    Ok(pcm.chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect())
}

/// Samples into little-endian i16 bytes (the one copy this crate makes on the way out).
pub(crate) fn samples_to_le_bytes(samples: &[i16]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(samples.len() * 2);
    for sample in samples {
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    bytes
}

/// Audio we send: PCM handed in by `capture_frame`, paced out in 10 ms chunks and encoded.
#[derive(uniffi::Object)]
pub struct AudioSource(pub(crate) livekit_core::AudioSource);

#[uniffi::export(async_runtime = "tokio")]
impl AudioSource {
    /// A source of `sample_rate` Hz (8000..=48000, a multiple of 100) and `num_channels` (1 or
    /// 2) holding up to `queue_ms` of audio before a capture waits (0 means 10 ms).
    #[uniffi::constructor(default(queue_ms = 100))]
    pub fn new(sample_rate: u32, num_channels: u32, queue_ms: u32) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(livekit_core::AudioSource::new(sample_rate, num_channels, queue_ms)?)))
    }

    /// The sample rate frames must have.
    pub fn sample_rate(&self) -> u32 {
        self.0.sample_rate()
    }

    /// The channel count frames must have.
    pub fn num_channels(&self) -> u32 {
        self.0.num_channels()
    }

    /// Queues `pcm` (interleaved i16, little-endian; any whole number of samples per channel
    /// up to 1 s) and completes once the queue is back under its size, as the core's
    /// `capture_frame` does: a caller capturing in a loop runs at real-time pace.
    pub async fn capture_frame(&self, pcm: Vec<u8>) -> Result<()> {
        let samples = samples_from_le_bytes(&pcm)?;
        drop(pcm);
        let frame = livekit_core::AudioFrame::new(samples, self.0.sample_rate(), self.0.num_channels())?;
        Ok(self.0.capture_frame(&frame).await?)
    }

    /// Drops the queued audio; a waiting capture completes.
    pub fn clear_queue(&self) {
        self.0.clear_queue()
    }

    /// How much captured audio waits to be played out, in milliseconds.
    pub fn queued_duration_ms(&self) -> u64 {
        self.0.queued_duration().as_millis() as u64
    }

    /// Completes once everything captured so far has been played out.
    pub async fn wait_for_playout(&self) {
        self.0.wait_for_playout().await
    }
}

/// 10 ms of received audio: interleaved i16 PCM, little-endian.
#[derive(uniffi::Record, Clone, Debug)]
pub struct AudioFrame {
    /// `samples_per_channel * num_channels` samples, 2 bytes each, little-endian.
    pub data: Vec<u8>,
    /// Samples per second.
    pub sample_rate: u32,
    /// 1 or 2.
    pub num_channels: u32,
    /// Samples in each channel.
    pub samples_per_channel: u32,
}

impl From<livekit_core::AudioFrame> for AudioFrame {
    fn from(frame: livekit_core::AudioFrame) -> Self {
        Self {
            data: samples_to_le_bytes(frame.data()),
            sample_rate: frame.sample_rate(),
            num_channels: frame.num_channels(),
            samples_per_channel: frame.samples_per_channel(),
        }
    }
}

/// How the pixels of a `VideoFrame` are laid out, tightly packed.
#[derive(uniffi::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoFormat {
    /// Planar Y, then U, then V at half width and half height (rounded up).
    I420,
    /// Planar Y, then interleaved U/V at half width and half height.
    Nv12,
    /// Red, green, blue, alpha bytes.
    Rgba,
    /// Blue, green, red, alpha bytes.
    Bgra,
    /// Alpha, red, green, blue bytes.
    Argb,
    /// Alpha, blue, green, red bytes.
    Abgr,
    /// Red, green, blue bytes.
    Rgb24,
}

impl From<VideoFormat> for livekit_core::VideoFormat {
    fn from(format: VideoFormat) -> Self {
        match format {
            VideoFormat::I420 => Self::I420,
            VideoFormat::Nv12 => Self::Nv12,
            VideoFormat::Rgba => Self::Rgba,
            VideoFormat::Bgra => Self::Bgra,
            VideoFormat::Argb => Self::Argb,
            VideoFormat::Abgr => Self::Abgr,
            VideoFormat::Rgb24 => Self::Rgb24,
        }
    }
}

/// One picture: pixels in `format`, its clockwise rotation and capture time.
#[derive(uniffi::Record, Clone, Debug)]
pub struct VideoFrame {
    /// The pixel layout of `data`.
    pub format: VideoFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels, tightly packed (no row padding).
    pub data: Vec<u8>,
    /// How far to turn the picture clockwise to show it upright: 0, 90, 180 or 270.
    #[uniffi(default = 0)]
    pub rotation_degrees: u32,
    /// Capture time in microseconds on any steady clock; 0 lets the source stamp it.
    #[uniffi(default = 0)]
    pub timestamp_us: i64,
}

fn rotation(degrees: u32) -> Result<VideoRotation> {
    Ok(match degrees {
        0 => VideoRotation::Rotation0,
        90 => VideoRotation::Rotation90,
        180 => VideoRotation::Rotation180,
        270 => VideoRotation::Rotation270,
        other => return Err(invalid(format!("rotation is 0, 90, 180 or 270 degrees, not {other}"))),
    })
}

fn degrees(rotation: VideoRotation) -> u32 {
    match rotation {
        VideoRotation::Rotation0 => 0,
        VideoRotation::Rotation90 => 90,
        VideoRotation::Rotation180 => 180,
        VideoRotation::Rotation270 => 270,
    }
}

impl VideoFrame {
    /// A received picture; `format` is the one its stream was opened with.
    pub(crate) fn from_core(frame: livekit_core::VideoFrame, format: VideoFormat) -> Self {
        let (width, height) = (frame.width(), frame.height());
        let (rotation_degrees, timestamp_us) = (degrees(frame.rotation), frame.timestamp_us);
        let data = frame.data().clone();
        drop(frame);
        // Bytes into Vec reuses the buffer when nothing else holds it (the frame is gone).
        Self { format, width, height, data: data.into(), rotation_degrees, timestamp_us }
    }
}

/// Video we send: the newest captured picture is encoded whenever the encoder is free.
#[derive(uniffi::Object)]
pub struct VideoSource(pub(crate) livekit_core::VideoSource);

#[uniffi::export]
impl VideoSource {
    /// A source of pictures of about `width` x `height` (what subscribers are told);
    /// `is_screencast` tunes the encoder for sharp, mostly still content.
    #[uniffi::constructor(default(is_screencast = false))]
    pub fn new(width: u32, height: u32, is_screencast: bool) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(livekit_core::VideoSource::new(width, height, is_screencast)?)))
    }

    /// Hands in one picture; it replaces any picture not yet encoded. Converted to I420 (and
    /// turned upright) during the call; with no track published from this source it is
    /// dropped. Fails when `data` does not match the format and size.
    pub fn capture_frame(&self, frame: VideoFrame) -> Result<()> {
        let rotation = rotation(frame.rotation_degrees)?;
        let mut core = livekit_core::VideoFrame::new(frame.format.into(), frame.width, frame.height, frame.data)?;
        core.rotation = rotation;
        core.timestamp_us = frame.timestamp_us;
        Ok(self.0.capture_frame(&core)?)
    }

    /// The width given at creation.
    pub fn width(&self) -> u32 {
        self.0.resolution().0
    }

    /// The height given at creation.
    pub fn height(&self) -> u32 {
        self.0.resolution().1
    }

    /// Whether the source was created for screen content.
    pub fn is_screencast(&self) -> bool {
        self.0.is_screencast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_bytes_round_trip_little_endian() {
        let samples = [0i16, 1, -1, i16::MAX, i16::MIN, 0x1234];
        let bytes = samples_to_le_bytes(&samples);
        assert_eq!(&bytes[10..], &[0x34, 0x12]);
        assert_eq!(samples_from_le_bytes(&bytes).unwrap(), samples);
        assert!(samples_from_le_bytes(&[1, 2, 3]).is_err());
    }

    #[test]
    fn rotations_are_quarter_turns() {
        for d in [0, 90, 180, 270] {
            assert_eq!(degrees(rotation(d).unwrap()), d);
        }
        assert!(rotation(45).is_err());
    }
}
