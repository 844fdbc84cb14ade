//! `VideoSendPipeline`: one published video track's encoding, without I/O. It takes captured
//! pictures and the server's feedback, keeps to the frame rate, follows the target bitrate,
//! and makes a keyframe when asked (PLI/FIR, unmute). The caller runs `encode` off the async
//! threads and sends what comes out.

use std::time::{Duration, Instant};

use super::video_codec::{new_encoder, EncodedVideo, EncoderConfig, VideoCodec, VideoEncoder};
use super::video_rate::{FrameRateLimiter, RateController, SenderFeedback};
use super::video_source::CapturedPicture;
use crate::error::Result;

/// The longest step of the RTP clock between two pictures. The clock follows capture time
/// across pauses (mute, a paused layer), as receivers and the server's layer switching expect;
/// this only guards against a capture clock that jumps absurdly.
const MAX_PICTURE_INTERVAL: Duration = Duration::from_secs(600);

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

#[cfg(all(test, feature = "vp8"))]
mod tests {
    use super::*;
    use crate::media::{I420Buffer, VideoRotation};

    fn captured(timestamp_us: i64) -> CapturedPicture {
        let shade = (timestamp_us / 1000 % 200) as u8;
        let picture = I420Buffer::filled(64, 48, (shade, 128, 128)).unwrap();
        CapturedPicture { picture, rotation: VideoRotation::Rotation0, timestamp_us }
    }

    fn keyframes(pipeline: &mut VideoSendPipeline, timestamps: impl Iterator<Item = i64>) -> Vec<bool> {
        timestamps.filter_map(|t| pipeline.encode(&captured(t)).unwrap()).map(|p| p.encoded.keyframe).collect()
    }

    #[test]
    fn keyframes_at_the_start_and_when_asked() {
        let mut pipeline = VideoSendPipeline::new(VideoCodec::Vp8, 300_000, 30.0, false).unwrap();
        let frame = 33_333;
        assert_eq!(keyframes(&mut pipeline, (0..3).map(|i| i * frame)), [true, false, false]);
        pipeline.on_feedback(SenderFeedback::KeyframeRequested, Instant::now());
        assert_eq!(keyframes(&mut pipeline, (3..5).map(|i| i * frame)), [true, false]);
        pipeline.request_keyframe();
        assert_eq!(keyframes(&mut pipeline, (5..6).map(|i| i * frame)), [true]);
    }

    #[test]
    fn the_frame_rate_is_kept_and_the_rtp_step_follows_capture_times() {
        let mut pipeline = VideoSendPipeline::new(VideoCodec::Vp8, 300_000, 15.0, false).unwrap();
        let encoded: Vec<EncodedPicture> =
            (0..60).filter_map(|i| pipeline.encode(&captured(i * 16_667)).unwrap()).collect();
        assert_eq!(encoded.len(), 15, "one second at 60 fps, limited to 15");
        assert!(encoded[1..].iter().all(|p| p.since_previous == Duration::from_micros(66_668)));
    }

    #[test]
    fn loss_lowers_the_target_and_a_clean_path_restores_it() {
        let now = Instant::now();
        let mut pipeline = VideoSendPipeline::new(VideoCodec::Vp8, 1_000_000, 30.0, false).unwrap();
        pipeline.on_feedback(SenderFeedback::LossFraction(0.4), now);
        assert_eq!(pipeline.target_bitrate(), 800_000);
        for s in 1..10 {
            pipeline.on_feedback(SenderFeedback::LossFraction(0.0), now + Duration::from_secs(s));
        }
        assert_eq!(pipeline.target_bitrate(), 1_000_000);
    }
}
