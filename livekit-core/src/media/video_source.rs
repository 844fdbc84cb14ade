//! `VideoSource`: where an app hands in pictures. Each is converted to I420 once and kept as
//! the latest; the encoder of every track on the source takes the newest picture when it is
//! ready for one, so a slow encoder skips pictures instead of queueing them.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::video_convert::PictureRef;
use super::video_frame::{validate_dimensions, I420Buffer, VideoFrame, VideoRotation};
use crate::error::Result;

/// A picture as the encoder takes it.
#[derive(Debug)]
pub(crate) struct CapturedPicture {
    pub picture: I420Buffer,
    pub rotation: VideoRotation,
    /// Capture time in µs (the frame's own, or the source's clock when the frame had none).
    pub timestamp_us: i64,
}

/// The newest picture of a source, `None` before the first.
pub(crate) type LatestPicture = watch::Receiver<Option<Arc<CapturedPicture>>>;

/// Pictures for one or more video tracks, from a camera, a screen or anything that draws.
/// Cheap to clone; clones are the same source.
///
/// ```
/// use livekit_core::media::{VideoFormat, VideoFrame, VideoSource};
/// let source = VideoSource::new(640, 360, false).unwrap();
/// let blue = VideoFrame::new(VideoFormat::Rgba, 640, 360, [0, 0, 255, 255].repeat(640 * 360)).unwrap();
/// source.capture_frame(&blue).unwrap(); // converted to I420 once, sent by every track on it
/// ```
#[derive(Clone)]
pub struct VideoSource {
    inner: Arc<SourceInner>,
}

struct SourceInner {
    width: u32,
    height: u32,
    is_screencast: bool,
    latest: watch::Sender<Option<Arc<CapturedPicture>>>,
    epoch: Instant,
}

impl VideoSource {
    /// A source of pictures of about `width` x `height` (what the server and subscribers are
    /// told; the pictures themselves may differ and may change size). `is_screencast` tunes
    /// the encoder for sharp, mostly still content.
    pub fn new(width: u32, height: u32, is_screencast: bool) -> Result<Self> {
        validate_dimensions(width, height)?;
        let inner = SourceInner { width, height, is_screencast, latest: watch::channel(None).0, epoch: Instant::now() };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Hands in one picture. It replaces any picture not yet encoded; with no track published
    /// from this source it is dropped without being converted. A frame with a rotation is
    /// turned upright first, so subscribers get it the right way up (and with its width and
    /// height swapped for a quarter turn). Fails only when the frame cannot be converted.
    pub fn capture_frame(&self, frame: &VideoFrame) -> Result<()> {
        self.capture_picture(frame.picture(), frame.rotation, frame.timestamp_us)
    }

    /// [`capture_frame`](Self::capture_frame) for pixels the caller keeps: `picture` is read
    /// (converted to I420) during the call and not kept.
    pub fn capture_picture(&self, picture: PictureRef<'_>, rotation: VideoRotation, timestamp_us: i64) -> Result<()> {
        if self.inner.latest.receiver_count() == 0 {
            return Ok(());
        }
        let timestamp_us = if timestamp_us != 0 { timestamp_us } else { self.inner.epoch.elapsed().as_micros() as i64 };
        let mut picture = picture.to_i420()?;
        if rotation != VideoRotation::Rotation0 {
            picture = picture.rotated(rotation)?;
        }
        let captured = CapturedPicture { picture, rotation: VideoRotation::Rotation0, timestamp_us };
        self.inner.latest.send_replace(Some(Arc::new(captured)));
        Ok(())
    }

    /// The size given at creation.
    pub fn resolution(&self) -> (u32, u32) {
        (self.inner.width, self.inner.height)
    }

    /// Whether the source was created for screen content.
    pub fn is_screencast(&self) -> bool {
        self.inner.is_screencast
    }

    /// The newest picture from now on.
    pub(crate) fn subscribe(&self) -> LatestPicture {
        let mut receiver = self.inner.latest.subscribe();
        receiver.mark_unchanged();
        receiver
    }
}

impl std::fmt::Debug for VideoSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoSource")
            .field("resolution", &self.resolution())
            .field("is_screencast", &self.inner.is_screencast)
            .finish()
    }
}
