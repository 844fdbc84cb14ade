//! `VideoSendPipeline`: one published video track's encoding, without I/O. It takes captured
//! pictures and the server's feedback, keeps to the frame rate, follows the target bitrate,
//! and makes a keyframe when asked (PLI/FIR, unmute). The caller runs `encode` off the async
//! threads and sends what comes out.

use std::time::{Duration, Instant};

use super::video_codec::{new_encoder, EncodedVideo, EncoderConfig, VideoCodec, VideoEncoder};
use super::video_rate::{FrameRateLimiter, RateController, SenderFeedback};
use super::video_source::CapturedPicture;
use crate::error::Result;

/// The longest step of the RTP clock between two pictures (a source that paused).
const MAX_PICTURE_INTERVAL: Duration = Duration::from_secs(1);

/// One encoded picture and how long after the previous one it was captured.
pub(crate) struct EncodedPicture {
    pub encoded: EncodedVideo,
    pub since_previous: Duration,
}

/// Encoder, rate control and frame pacing of one video track.
pub(crate) struct VideoSendPipeline {
    encoder: Box<dyn VideoEncoder>,
    rate: RateController,
    limiter: FrameRateLimiter,
    max_framerate: f64,
    keyframe_pending: bool,
    last_timestamp_us: Option<i64>,
}

impl VideoSendPipeline {
    /// An encoder for `codec` at up to `max_bitrate` bits per second and `max_framerate`.
    pub fn new(codec: VideoCodec, max_bitrate: u32, max_framerate: f64, screencast: bool) -> Result<Self> {
        let rate = RateController::new(max_bitrate);
        let config = EncoderConfig { bitrate_bps: rate.target(), max_framerate, screencast };
        Ok(Self {
            encoder: new_encoder(codec, config)?,
            rate,
            limiter: FrameRateLimiter::new(max_framerate),
            max_framerate,
            keyframe_pending: true,
            last_timestamp_us: None,
        })
    }

    /// Takes the server's feedback about the stream.
    pub fn on_feedback(&mut self, feedback: SenderFeedback, now: Instant) {
        if feedback == SenderFeedback::KeyframeRequested {
            self.keyframe_pending = true;
        } else if self.rate.on_feedback(feedback, now) {
            self.encoder.set_rates(self.rate.target(), self.max_framerate);
        }
    }

    /// The next picture encoded will be a keyframe (after a pause, so receivers recover at once).
    pub fn request_keyframe(&mut self) {
        self.keyframe_pending = true;
    }

    /// The bitrate the encoder aims at now.
    pub fn target_bitrate(&self) -> u32 {
        self.rate.target()
    }

    /// Encodes `captured` unless the frame rate says to skip it; `Ok(None)` for a skipped or
    /// dropped picture.
    pub fn encode(&mut self, captured: &CapturedPicture) -> Result<Option<EncodedPicture>> {
        if !self.limiter.keep(captured.timestamp_us) {
            return Ok(None);
        }
        let Some(encoded) = self.encoder.encode(&captured.picture, self.keyframe_pending)? else {
            return Ok(None);
        };
        if encoded.keyframe {
            self.keyframe_pending = false;
        }
        let since_previous = match self.last_timestamp_us {
            Some(last) if captured.timestamp_us > last => {
                Duration::from_micros((captured.timestamp_us - last) as u64).min(MAX_PICTURE_INTERVAL)
            }
            _ => Duration::from_secs_f64(1.0 / self.max_framerate.max(1.0)),
        };
        self.last_timestamp_us = Some(captured.timestamp_us);
        Ok(Some(EncodedPicture { encoded, since_previous }))
    }
}
