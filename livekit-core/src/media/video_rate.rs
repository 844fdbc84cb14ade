//! How much and how often a video sender encodes: `RateController` follows what the server
//! reports (loss in its receiver reports, a REMB estimate) under the track's `max_bitrate`;
//! `FrameRateLimiter` keeps pictures no closer together than `max_framerate` allows.
//! Plain types with time passed in.

use std::time::{Duration, Instant};

/// What the server says about a video stream we send.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SenderFeedback {
    /// A receiver lost the picture (PLI or FIR): the next one must be a keyframe.
    KeyframeRequested,
    /// The fraction of packets lost since the last receiver report (0..1).
    LossFraction(f32),
    /// The receiver's estimate of the bandwidth available (REMB), in bits per second.
    EstimatedBitrate(u64),
}

/// The lowest rate the controller goes to: below it a picture is mostly noise.
const MIN_BITRATE: u32 = 50_000;
/// Loss above this is congestion: back off in proportion (the loss-based half of GCC).
const HIGH_LOSS: f32 = 0.10;
/// Loss below this leaves room: probe upward.
const LOW_LOSS: f32 = 0.02;
const INCREASE_FACTOR: f64 = 1.08;
/// At most one increase per this long, so a burst of reports does not overshoot.
const INCREASE_INTERVAL: Duration = Duration::from_millis(900);

/// The encoder's target bitrate, from the track's maximum and the server's feedback.
#[derive(Debug)]
pub(crate) struct RateController {
    max_bitrate: u32,
    target: u32,
    estimate_cap: Option<u32>,
    last_increase: Option<Instant>,
}

impl RateController {
    /// Starts at `max_bitrate` (the server's feedback brings it down if the path needs it).
    pub fn new(max_bitrate: u32) -> Self {
        let max_bitrate = max_bitrate.max(MIN_BITRATE);
        Self { max_bitrate, target: max_bitrate, estimate_cap: None, last_increase: None }
    }

    /// The rate to encode at now.
    pub fn target(&self) -> u32 {
        self.target
    }

    /// Takes one piece of feedback; true when the target changed.
    pub fn on_feedback(&mut self, feedback: SenderFeedback, now: Instant) -> bool {
        let before = self.target;
        match feedback {
            SenderFeedback::KeyframeRequested => {}
            SenderFeedback::LossFraction(loss) if loss > HIGH_LOSS => {
                self.target = (f64::from(self.target) * (1.0 - 0.5 * f64::from(loss))).round() as u32;
            }
            SenderFeedback::LossFraction(loss) if loss < LOW_LOSS => {
                if self.last_increase.is_none_or(|at| now.duration_since(at) >= INCREASE_INTERVAL) {
                    self.target = (f64::from(self.target) * INCREASE_FACTOR) as u32;
                    self.last_increase = Some(now);
                }
            }
            SenderFeedback::LossFraction(_) => {}
            SenderFeedback::EstimatedBitrate(bps) => {
                self.estimate_cap = Some(u32::try_from(bps).unwrap_or(u32::MAX));
            }
        }
        let cap = self.estimate_cap.map_or(self.max_bitrate, |e| e.min(self.max_bitrate));
        self.target = self.target.clamp(MIN_BITRATE.min(cap), cap.max(MIN_BITRATE));
        self.target != before
    }
}

/// Drops pictures that come faster than the frame rate allows, by their capture times.
#[derive(Debug)]
pub(crate) struct FrameRateLimiter {
    interval_us: i64,
    last_kept_us: Option<i64>,
}

impl FrameRateLimiter {
    /// Keeps at most `max_framerate` pictures per second (no limit when not positive).
    pub fn new(max_framerate: f64) -> Self {
        // A tenth of slack, so a 30 fps source at a 30 fps limit loses nothing to clock jitter.
        let interval_us = if max_framerate > 0.0 { (900_000.0 / max_framerate) as i64 } else { 0 };
        Self { interval_us, last_kept_us: None }
    }

    /// Whether to encode the picture captured at `timestamp_us`.
    pub fn keep(&mut self, timestamp_us: i64) -> bool {
        let keep = match self.last_kept_us {
            // A clock that went backwards (a new source clock) starts over.
            Some(last) => timestamp_us < last || timestamp_us - last >= self.interval_us,
            None => true,
        };
        if keep {
            self.last_kept_us = Some(timestamp_us);
        }
        keep
    }
}

/// The bitrate a single-layer track of this size gets by default, as the official SDKs'
/// presets give it (360p 450 kbps, 720p 1.7 Mbps, 1080p 3 Mbps); screen shares of the same size
/// get less (mostly static pictures).
pub(crate) fn default_max_bitrate(width: u32, height: u32, screencast: bool) -> u32 {
    let pixels = u64::from(width) * u64::from(height);
    let bitrate = match pixels {
        0..=57_600 => 160_000,            // up to 320x180
        57_601..=230_400 => 450_000,      // up to 640x360
        230_401..=518_400 => 800_000,     // up to 960x540
        518_401..=921_600 => 1_700_000,   // up to 1280x720
        921_601..=2_073_600 => 3_000_000, // up to 1920x1080
        _ => 5_000_000,
    };
    if screencast {
        bitrate * 3 / 4
    } else {
        bitrate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_backs_off_and_a_clean_path_climbs_back_to_the_maximum() {
        let start = Instant::now();
        let mut rate = RateController::new(1_000_000);
        assert!(rate.on_feedback(SenderFeedback::LossFraction(0.3), start));
        assert_eq!(rate.target(), 850_000);
        assert!(!rate.on_feedback(SenderFeedback::LossFraction(0.05), start), "moderate loss holds");
        let mut now = start;
        for _ in 0..30 {
            now += Duration::from_secs(1);
            rate.on_feedback(SenderFeedback::LossFraction(0.0), now);
        }
        assert_eq!(rate.target(), 1_000_000, "never above the maximum");
    }

    #[test]
    fn increases_are_spaced_and_the_estimate_caps() {
        let now = Instant::now();
        let mut rate = RateController::new(2_000_000);
        rate.on_feedback(SenderFeedback::LossFraction(0.5), now);
        let low = rate.target();
        rate.on_feedback(SenderFeedback::LossFraction(0.0), now);
        rate.on_feedback(SenderFeedback::LossFraction(0.0), now + Duration::from_millis(10));
        assert_eq!(rate.target(), (f64::from(low) * INCREASE_FACTOR) as u32, "one increase per interval");
        rate.on_feedback(SenderFeedback::EstimatedBitrate(300_000), now);
        assert_eq!(rate.target(), 300_000);
        for _ in 0..100 {
            rate.on_feedback(SenderFeedback::LossFraction(1.0), now);
        }
        assert_eq!(rate.target(), MIN_BITRATE, "never below the floor");
    }

    #[test]
    fn the_limiter_keeps_the_asked_rate() {
        let mut limiter = FrameRateLimiter::new(15.0);
        let kept = (0..60).filter(|i| limiter.keep(i * 33_333)).count(); // 2 s at 30 fps
        assert_eq!(kept, 30);
        assert!(limiter.keep(0), "a clock that restarts is followed");
        let mut unlimited = FrameRateLimiter::new(0.0);
        assert!((0..10).all(|_| unlimited.keep(5)));
    }

    #[test]
    fn default_bitrates_follow_the_picture_size() {
        assert_eq!(default_max_bitrate(640, 360, false), 450_000);
        assert_eq!(default_max_bitrate(1280, 720, false), 1_700_000);
        assert!(default_max_bitrate(1920, 1080, true) < default_max_bitrate(1920, 1080, false));
    }
}

/// One simulcast layer: its RTP stream id, how much smaller than the picture it is encoded,
/// and its bitrate cap. Layers are listed lowest first (LOW, MEDIUM, HIGH quality).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LayerSpec {
    pub rid: &'static str,
    pub scale_down: u32,
    pub max_bitrate: u32,
}

/// The layers a `width` x `height` track is sent in. With `simulcast`: quarter, half and full
/// size when the smaller side is at least 360 pixels, half and full from 180, else full size
/// only (as the official SDKs do); the full layer gets `max_bitrate`, lower ones the default
/// for their size (never more than the full one). Without: one full-size layer.
pub(crate) fn video_layers(
    width: u32,
    height: u32,
    screencast: bool,
    max_bitrate: u32,
    simulcast: bool,
) -> Vec<LayerSpec> {
    let smaller_side = width.min(height);
    let scales: &[u32] = match (simulcast, smaller_side) {
        (true, 360..) => &[4, 2, 1],
        (true, 180..) => &[2, 1],
        _ => &[1],
    };
    const RIDS: [&str; 3] = ["q", "h", "f"];
    scales
        .iter()
        .zip(RIDS)
        .map(|(&scale_down, rid)| {
            let max_bitrate = if scale_down == 1 {
                max_bitrate
            } else {
                default_max_bitrate(width / scale_down, height / scale_down, screencast).min(max_bitrate)
            };
            LayerSpec { rid, scale_down, max_bitrate }
        })
        .collect()
}

/// A layer's size for a picture of `width` x `height`: divided down, kept even (H.264 needs
/// even sizes) and at least 16 pixels.
pub(crate) fn layer_size(width: u32, height: u32, scale_down: u32) -> (u32, u32) {
    if scale_down <= 1 {
        return (width, height);
    }
    let side = |n: u32| ((n / scale_down) & !1).max(16).min(n);
    (side(width), side(height))
}

/// Which of `layer_count` simulcast layers to keep sending (dynacast), from the server's
/// subscribed qualities `(quality, enabled)`, quality 0 being the lowest layer. A layer the
/// server does not mention keeps going; one layer is always sent (a single-layer track is not
/// the server's to pause, and its connection quality would read as dry).
pub(crate) fn enabled_layers(layer_count: usize, subscribed: &[(i32, bool)]) -> Vec<bool> {
    if layer_count <= 1 {
        return vec![true; layer_count];
    }
    (0..layer_count)
        .map(|layer| subscribed.iter().find(|(quality, _)| *quality == layer as i32).is_none_or(|(_, on)| *on))
        .collect()
}

#[cfg(test)]
mod layer_tests {
    use super::*;

    #[test]
    fn layers_follow_the_size_and_the_switch() {
        let rids =
            |w, h, simulcast| video_layers(w, h, false, 2_000_000, simulcast).iter().map(|l| l.rid).collect::<Vec<_>>();
        assert_eq!(rids(1280, 720, true), ["q", "h", "f"]);
        assert_eq!(rids(640, 360, true), ["q", "h", "f"]);
        assert_eq!(rids(320, 240, true), ["q", "h"]);
        assert_eq!(rids(160, 120, true), ["q"]);
        assert_eq!(rids(1280, 720, false), ["q"]);
        let layers = video_layers(1280, 720, false, 2_000_000, true);
        assert_eq!(layers.iter().map(|l| l.max_bitrate).collect::<Vec<_>>(), [160_000, 450_000, 2_000_000]);
        assert_eq!(layers.iter().map(|l| l.scale_down).collect::<Vec<_>>(), [4, 2, 1]);
    }

    #[test]
    fn dynacast_pauses_what_nobody_receives() {
        assert_eq!(enabled_layers(3, &[(0, true), (1, false), (2, false)]), [true, false, false]);
        assert_eq!(enabled_layers(3, &[(2, true)]), [true, true, true], "unmentioned layers keep going");
        assert_eq!(enabled_layers(2, &[(0, false), (1, false)]), [false, false], "nobody watches");
        assert_eq!(enabled_layers(1, &[(2, false)]), [true], "one layer is always sent");
    }

    #[test]
    fn layer_sizes_are_even_and_bounded() {
        assert_eq!(layer_size(1280, 720, 4), (320, 180));
        assert_eq!(layer_size(642, 362, 4), (160, 90));
        assert_eq!(layer_size(50, 30, 4), (16, 16));
        assert_eq!(layer_size(10, 10, 4), (10, 10));
        assert_eq!(layer_size(321, 241, 1), (321, 241));
    }
}
