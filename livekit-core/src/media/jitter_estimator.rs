//! Adaptive target delay for the audio jitter buffer, as a plain type with time passed in.
//!
//! Every packet's *relative delay* is its arrival instant minus its RTP timestamp (as time).
//! The smallest relative delay of the recent packets is the "floor": the fastest path through
//! the network. (Not quite the smallest: a few packets that came early, e.g. a sender that
//! caught up on a backlog in a burst, are ignored, or they would pull the whole schedule early.)
//! A packet's *spread* is how far above the floor it arrived; a packet with spread `s` is in
//! time if the playout delay above the floor is at least `s`. The target delay is a
//! high quantile of the recent spreads plus a margin, raised faster by repeated delay peaks,
//! and lowered slowly once the network is calm; always within `min..=max`.
//!
//! Why a rank in a window rather than the maximum: one delayed burst (a stalled network for a
//! moment) must not keep the delay high; only jitter that recurs should. Why the peak rule on
//! top: the rank needs many packets before it moves, while two late packets in a few seconds
//! already say the target is too small.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The lowest target: one 20 ms packet of room for scheduling noise and the 10 ms poll grid.
pub(crate) const MIN_TARGET_DELAY: Duration = Duration::from_millis(20);
/// The highest target: beyond this, late audio is lost rather than the call made laggy.
pub(crate) const MAX_TARGET_DELAY: Duration = Duration::from_millis(200);
/// Added to the measured spread, for jitter slightly above what was seen.
const MARGIN: f64 = 0.010;
/// Packets whose spreads are remembered: 5 s of 20 ms packets.
const WINDOW: usize = 250;
/// The target covers all but this many of the spreads in a full window (the top 5%), so a
/// shorter burst of delayed packets leaves it alone; as many early packets are ignored for the
/// floor (at most a quarter of the window while it fills).
const IGNORED_OUTLIERS: usize = WINDOW / 20;
/// How long a delay peak is remembered.
const PEAK_MEMORY: Duration = Duration::from_secs(10);
/// Late packets arriving within this time of each other are one peak (one stall, one burst).
const PEAK_CLUSTER: Duration = Duration::from_millis(100);
/// Peaks remembered at most (bounds memory under hostile input).
const MAX_PEAKS: usize = 8;
/// How fast the target comes down once the jitter that raised it is gone, in seconds of delay
/// per second: slowly, so a network that is calm for a moment does not cause fresh underruns.
const DECAY_PER_SECOND: f64 = 0.010;
/// RTP clock of Opus.
const CLOCK_RATE: f64 = 48_000.0;

/// One delay peak: a cluster of packets that arrived later than the target allowed.
#[derive(Debug, Clone, Copy)]
struct Peak {
    /// Arrival of the cluster's first packet.
    start: Instant,
    /// The largest spread in the cluster, in seconds.
    height: f64,
}

/// The time origin of the relative delays, and the RTP timestamp unwrapping state.
#[derive(Debug, Clone, Copy)]
struct Origin {
    arrival: Instant,
    /// The last timestamp seen, and its extended (unwrapped) value relative to the origin.
    last_ts: u32,
    last_ext: i64,
}

/// Estimates the playout delay one audio stream needs.
#[derive(Debug)]
pub(crate) struct JitterEstimator {
    min: Duration,
    max: Duration,
    target: Duration,
    origin: Option<Origin>,
    /// Relative delays (seconds since the origin's arrival minus media time) of the last
    /// `WINDOW` packets, oldest first.
    delays: VecDeque<f64>,
    /// The floor of `delays`, updated by `observe`.
    floor: Option<f64>,
    /// What the window's spreads call for (its rank above the floor), updated by `observe`.
    ranked_spread: f64,
    /// Reused for sorting the window, so observing does not allocate.
    scratch: Vec<f64>,
    peaks: VecDeque<Peak>,
    /// When the target was last updated, for the decay.
    updated: Option<Instant>,
}

impl JitterEstimator {
    /// An estimator whose target stays within `min..=max` (`max` is raised to `min` if lower)
    /// and starts at `min`: with no jitter seen yet, the lowest delay is the best guess.
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        JitterEstimator {
            min,
            max: max.max(min),
            target: min,
            origin: None,
            delays: VecDeque::with_capacity(WINDOW),
            floor: None,
            ranked_spread: 0.0,
            scratch: Vec::with_capacity(WINDOW),
            peaks: VecDeque::with_capacity(MAX_PEAKS),
            updated: None,
        }
    }

    /// The playout delay above the floor that the recent jitter needs.
    pub(crate) fn target(&self) -> Duration {
        self.target
    }

    /// The largest target this estimator gives.
    pub(crate) fn max(&self) -> Duration {
        self.max
    }

    /// Records a packet's arrival and updates the target.
    pub(crate) fn observe(&mut self, arrival: Instant, timestamp: u32) {
        let delay = match self.origin.as_mut() {
            Some(origin) => {
                // Unwrap relative to the last timestamp: packets are never 12 h apart.
                origin.last_ext += i64::from(timestamp.wrapping_sub(origin.last_ts) as i32);
                origin.last_ts = timestamp;
                seconds_between(origin.arrival, arrival) - origin.last_ext as f64 / CLOCK_RATE
            }
            None => {
                self.origin = Some(Origin { arrival, last_ts: timestamp, last_ext: 0 });
                0.0
            }
        };
        if self.delays.len() == WINDOW {
            self.delays.pop_front();
        }
        self.delays.push_back(delay);
        self.rank_window();
        let spread = (delay - self.floor.unwrap_or(delay)).max(0.0);
        self.note_peak(arrival, spread);
        self.update_target(arrival);
    }

    /// How far above the floor a packet arriving now with this timestamp would be, without
    /// recording it; `None` before the first packet.
    pub(crate) fn spread(&self, arrival: Instant, timestamp: u32) -> Option<Duration> {
        let origin = self.origin.as_ref()?;
        let ext = origin.last_ext + i64::from(timestamp.wrapping_sub(origin.last_ts) as i32);
        let delay = seconds_between(origin.arrival, arrival) - ext as f64 / CLOCK_RATE;
        Some(Duration::try_from_secs_f64(delay - self.floor?).unwrap_or(Duration::ZERO))
    }

    /// When a packet with this timestamp should play: the floor plus the target. `None`
    /// before the first packet, or when the instant is not representable.
    pub(crate) fn ideal_due(&self, timestamp: u32) -> Option<Instant> {
        let origin = self.origin.as_ref()?;
        let ext = origin.last_ext + i64::from(timestamp.wrapping_sub(origin.last_ts) as i32);
        let offset = self.floor? + ext as f64 / CLOCK_RATE + self.target.as_secs_f64();
        if offset >= 0.0 {
            origin.arrival.checked_add(Duration::try_from_secs_f64(offset).ok()?)
        } else {
            origin.arrival.checked_sub(Duration::try_from_secs_f64(-offset).ok()?)
        }
    }

    /// Forgets the timeline (not the target): the next packet becomes the new origin. For a
    /// restarted stream, or a jump of the relative delay no jitter explains (a sender whose
    /// timestamps did not advance across a pause), which would otherwise skew the floor.
    pub(crate) fn rebase(&mut self) {
        self.origin = None;
        self.delays.clear();
        self.floor = None;
        self.ranked_spread = 0.0;
        self.peaks.clear();
    }

    /// Sorts the window to update the floor and the ranked spread. (250 values, once per
    /// packet: a few microseconds.)
    fn rank_window(&mut self) {
        self.scratch.clear();
        self.scratch.extend(self.delays.iter().copied());
        self.scratch.sort_unstable_by(f64::total_cmp);
        let len = self.scratch.len();
        let Some(&floor) = self.scratch.get(IGNORED_OUTLIERS.min(len / 4)) else {
            self.floor = None;
            self.ranked_spread = 0.0;
            return;
        };
        self.floor = Some(floor);
        // With fewer packets than the outliers ignored, nothing is known to recur yet.
        self.ranked_spread = match len.checked_sub(IGNORED_OUTLIERS + 1) {
            Some(k) => (self.scratch[k] - floor).max(0.0),
            None => 0.0,
        };
    }

    /// Records a late packet (one the current target would not have waited for) as part of
    /// a peak, and forgets old peaks.
    fn note_peak(&mut self, arrival: Instant, spread: f64) {
        while self.peaks.front().is_some_and(|p| arrival.saturating_duration_since(p.start) > PEAK_MEMORY) {
            self.peaks.pop_front();
        }
        // Late: it used more than the target minus half the margin. (Not the whole margin: a
        // spread the target was set from must not count as a peak again and keep it up.)
        if spread <= self.target.as_secs_f64() - MARGIN / 2.0 {
            return;
        }
        match self.peaks.back_mut() {
            Some(last) if arrival.saturating_duration_since(last.start) < PEAK_CLUSTER => {
                last.height = last.height.max(spread);
            }
            _ => {
                if self.peaks.len() == MAX_PEAKS {
                    self.peaks.pop_front();
                }
                self.peaks.push_back(Peak { start: arrival, height: spread });
            }
        }
    }

    /// The spread the recent packets call for: the larger of the window rank and, when peaks
    /// recur, the second-highest remembered peak (a single huge one is not trusted alone).
    fn needed_spread(&self) -> f64 {
        // The second-highest peak (0 with fewer than two).
        let (mut highest, mut second) = (0.0f64, 0.0f64);
        for height in self.peaks.iter().map(|p| p.height) {
            if height > highest {
                second = highest;
                highest = height;
            } else if height > second {
                second = height;
            }
        }
        self.ranked_spread.max(second)
    }

    /// Raises the target at once to what is needed, lowers it at most `DECAY_PER_SECOND`.
    fn update_target(&mut self, now: Instant) {
        let needed = self.needed_spread() + MARGIN;
        let needed = Duration::try_from_secs_f64(needed).unwrap_or(self.max).clamp(self.min, self.max);
        let elapsed = self.updated.map_or(0.0, |t| seconds_between(t, now).max(0.0));
        self.updated = Some(now);
        if needed >= self.target {
            self.target = needed;
        } else {
            let step = Duration::try_from_secs_f64(elapsed * DECAY_PER_SECOND).unwrap_or(self.max);
            self.target = self.target.saturating_sub(step).max(needed);
        }
    }
}

/// `to - from` in seconds, negative when `to` is earlier.
fn seconds_between(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64(),
        None => -from.duration_since(to).as_secs_f64(),
    }
}

#[cfg(test)]
#[path = "jitter_estimator_tests.rs"]
mod tests;
