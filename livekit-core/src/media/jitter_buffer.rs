//! Jitter buffer for one audio RTP stream, as a plain type with time passed in: packets go in
//! with their arrival instant, come out in sequence order once due, and a gap is reported as
//! "lost" when its turn is due, so the decoder can use FEC from the next packet or conceal.
//!
//! Timing: a schedule maps RTP timestamps to due instants, `anchor + (ts - anchor_ts) / 48 kHz`.
//! A `JitterEstimator` says where the schedule should be: the fastest recent path through the
//! network plus an adaptive target delay (20..=200 ms by default, starting at 20 ms). The
//! schedule only moves toward it at points where the move is not heard:
//! - later (more delay) when the next packet is missing at its turn, so the decoder conceals
//!   anyway: waiting then gives a late packet its chance instead of conceal-and-drop, and the
//!   wait is the same concealment that a loss would have caused;
//! - to the estimate when a packet ends an underrun or a pause (the output was concealment, or
//!   the stream starts again);
//! - but never more than 20 ms later at once, nor more often than once per 200 ms: a target
//!   that jumped (late retransmissions raise it by 100 ms and more) is reached in steps, because
//!   concealment longer than a packet or two fades to silence, an audible dropout;
//! - earlier (less delay) only through `pop_surplus`: the receive pipeline takes the next packet
//!   early and cross-fades the two into one packet's length, at most once per 200 ms.
//!
//! A sender whose clock runs fast makes the floor drift earlier, which the surplus path absorbs;
//! one that runs slow causes an occasional underrun, after which the schedule re-anchors.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::jitter_estimator::{JitterEstimator, MAX_TARGET_DELAY, MIN_TARGET_DELAY};

/// The most packets held (2 s of 20 ms packets); anything further ahead resets the buffer.
pub(crate) const DEFAULT_CAPACITY: usize = 100;
/// RTP clock of Opus.
const CLOCK_RATE: u32 = 48_000;
/// A packet this many sequence numbers behind, with nothing buffered, is a restarted stream
/// rather than a late packet.
const RESTART_DISTANCE: i64 = 1_000;
/// The least time between two packets handed out early by `pop_surplus`: each one shortens the
/// audio by a packet (a cross-fade), so they are spaced to stay unobtrusive (at most 10% faster).
const SHRINK_INTERVAL: Duration = Duration::from_millis(200);
/// With this much surplus or more (after a stall: a starved process or network adds its whole
/// length), shedding goes faster, one packet per `FAST_SHRINK_INTERVAL` (at most 50% faster for
/// a moment): three packets of extra delay are worse than a brief speed-up.
const FAST_SHRINK_SURPLUS: Duration = Duration::from_millis(60);
/// The least time between two early packets while the surplus is at least `FAST_SHRINK_SURPLUS`.
const FAST_SHRINK_INTERVAL: Duration = Duration::from_millis(40);
/// The most delay one move of the schedule adds: one packet of concealment. libopus's
/// concealment of the official SDK's hybrid-mode packets (what it sends under loss, for FEC)
/// was down to 2 % of the level 30 ms in, where FEC from the next packet would have given sound.
const STRETCH_STEP: Duration = Duration::from_millis(20);
/// The least time between two moves that add delay, so their concealments stay apart.
const STRETCH_INTERVAL: Duration = Duration::from_millis(200);
/// The longest Opus packet (120 ms) in RTP ticks: timestamps advancing faster than this per
/// sequence number mean the sender paused.
const MAX_PACKET_TICKS: u32 = 120 * CLOCK_RATE / 1000;

/// What `pop` hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JitterOutput {
    /// The next packet in sequence.
    Packet { sequence: u16, timestamp: u32, payload: Bytes },
    /// The packet with this sequence number did not arrive in time. `next_payload` is the
    /// packet after it when already here: its in-band FEC may recover the lost audio.
    Lost { sequence: u16, next_payload: Option<Bytes> },
}

/// What `push` did with a packet (for statistics and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushOutcome {
    /// Held for playout.
    Buffered,
    /// Already held: dropped.
    Duplicate,
    /// Its turn has passed (played or declared lost): dropped.
    Late,
    /// Too far from the current position: the buffer was emptied and restarted at this packet.
    Reset,
}

/// Counters since creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct JitterStats {
    pub lost: u64,
    pub late: u64,
    pub duplicate: u64,
    pub resets: u64,
    /// Packets handed out early by `pop_surplus` (each shortened the delay by a packet).
    pub shrinks: u64,
}

#[derive(Debug)]
struct Entry {
    timestamp: u32,
    payload: Bytes,
}

/// Where playout stands.
#[derive(Debug, Clone, Copy)]
struct Playout {
    /// Extended (unwrapped) sequence number of the next packet to hand out.
    next: i64,
    /// When the packet with `anchor_ts` is due.
    anchor: Instant,
    anchor_ts: u32,
    /// RTP timestamp of the last packet handed out (or declared lost).
    last_ts: Option<u32>,
}

/// Reorders, times and bounds incoming audio packets.
#[derive(Debug)]
pub(crate) struct JitterBuffer {
    estimator: JitterEstimator,
    capacity: usize,
    packets: BTreeMap<i64, Entry>,
    playout: Option<Playout>,
    stats: JitterStats,
    /// When `pop_surplus` last handed out a packet.
    last_shrink: Option<Instant>,
    /// When the schedule last moved later (`stretch`).
    last_stretch: Option<Instant>,
}

impl Default for JitterBuffer {
    /// The adaptive buffer the receive pipeline uses: 20..=200 ms, 100 packets.
    fn default() -> Self {
        Self::adaptive(MIN_TARGET_DELAY, MAX_TARGET_DELAY, DEFAULT_CAPACITY)
    }
}

impl JitterBuffer {
    /// A buffer with a fixed target delay (the estimator bounded to one value), holding at
    /// most `capacity` packets (at least 2).
    pub(crate) fn new(target_delay: Duration, capacity: usize) -> Self {
        Self::adaptive(target_delay, target_delay, capacity)
    }

    /// A buffer whose target delay adapts to the measured jitter within `min..=max`.
    pub(crate) fn adaptive(min: Duration, max: Duration, capacity: usize) -> Self {
        JitterBuffer {
            estimator: JitterEstimator::new(min, max),
            capacity: capacity.max(2),
            packets: BTreeMap::new(),
            playout: None,
            stats: JitterStats::default(),
            last_shrink: None,
            last_stretch: None,
        }
    }

    /// Takes a received packet.
    pub(crate) fn push(&mut self, sequence: u16, timestamp: u32, payload: Bytes, arrival: Instant) -> PushOutcome {
        let Some(playout) = self.playout else {
            self.restart(sequence, timestamp, payload, arrival);
            return PushOutcome::Buffered;
        };
        // Unwrap the 16-bit sequence relative to the playout position.
        let diff = i64::from(sequence.wrapping_sub(playout.next as u16) as i16);
        if diff < 0 {
            if diff < -RESTART_DISTANCE && self.packets.is_empty() {
                self.stats.resets += 1;
                self.restart(sequence, timestamp, payload, arrival);
                return PushOutcome::Reset;
            }
            self.stats.late += 1;
            // Its arrival is the clearest sign the delay is too short, unless no delay within
            // bounds would have saved it (a stray copy of an old packet): that says nothing.
            if self.estimator.spread(arrival, timestamp).is_some_and(|s| s <= self.estimator.max()) {
                self.estimator.observe(arrival, timestamp);
            }
            return PushOutcome::Late;
        }
        if diff >= self.capacity as i64 {
            // Keeps hostile or runaway input bounded, and follows a sender that jumped ahead.
            self.stats.resets += 1;
            self.restart(sequence, timestamp, payload, arrival);
            return PushOutcome::Reset;
        }
        let key = playout.next + diff;
        if self.packets.contains_key(&key) {
            self.stats.duplicate += 1;
            return PushOutcome::Duplicate;
        }
        if self.packets.is_empty() && self.due(&playout, timestamp) < arrival {
            // An underrun or a pause ends (or nearly: nothing is buffered and this packet is past
            // its turn): the output has been, or was about to be, concealment, so the schedule
            // can move to the estimate. A jump no jitter within bounds explains (a pause whose
            // timestamps did not advance) starts a new timeline instead.
            let mut paused = self.estimator.spread(arrival, timestamp).is_some_and(|s| s > self.estimator.max());
            if paused {
                self.estimator.rebase();
            }
            // After a pause of the sender (mute, DTX: its clock ran on while it sent nothing) the
            // output was silence, so any delay can be added unheard; after an underrun in the
            // middle of sound, only a step that concealment covers.
            paused |= playout.last_ts.is_none_or(|last| {
                let ticks_per_packet = timestamp.wrapping_sub(last) / (diff as u32 + 1);
                ticks_per_packet > MAX_PACKET_TICKS
            });
            self.estimator.observe(arrival, timestamp);
            // Due at the estimate even when that is before it arrived. A caller that runs on
            // time is past that instant already and plays it at its next poll; one that was
            // starved along with the packets' reception (a stalled process) catches up with
            // polls at the instants it missed, and these then play the packets themselves
            // instead of concealment followed by the whole stall as extra delay.
            let ideal = self.estimator.ideal_due(timestamp).unwrap_or(arrival);
            let due = if paused { ideal } else { self.stretch(arrival, ideal) };
            if let Some(playout) = self.playout.as_mut() {
                playout.anchor = due;
                playout.anchor_ts = timestamp;
            }
        } else {
            self.estimator.observe(arrival, timestamp);
        }
        self.packets.insert(key, Entry { timestamp, payload });
        PushOutcome::Buffered
    }

    /// The next packet or loss whose time has come, if any. Call it when the decoder needs the
    /// next 20 ms; `None` means nothing is due (still buffering, or the stream paused).
    pub(crate) fn pop(&mut self, now: Instant) -> Option<JitterOutput> {
        let mut playout = self.playout?;
        let sequence = playout.next as u16;
        if let Some(entry) = self.packets.get(&playout.next) {
            if now < self.due(&playout, entry.timestamp) {
                return None;
            }
            let entry = self.packets.remove(&playout.next).expect("just seen");
            playout.next += 1;
            playout.last_ts = Some(entry.timestamp);
            self.playout = Some(playout);
            return Some(JitterOutput::Packet { sequence, timestamp: entry.timestamp, payload: entry.payload });
        }
        // A gap. Only a later packet proves something is missing; with nothing buffered the
        // sender may just be paused, and declaring losses would skip its next packets.
        let (&later, later_entry) = self.packets.iter().next()?;
        let expected_ts = self.expected_timestamp(&playout, later, later_entry.timestamp);
        let due = self.due(&playout, expected_ts);
        if now < due {
            return None;
        }
        // The missing packet's turn has come, so the decoder conceals now either way. If the
        // estimate wants more delay than the schedule gives, wait instead of declaring it lost:
        // the schedule moves later by the difference and the packet may still arrive.
        if let Some(ideal) = self.estimator.ideal_due(expected_ts).filter(|&ideal| now < ideal) {
            let later = self.stretch(now, ideal);
            if now < later {
                playout.anchor = playout.anchor.checked_add(later - due).unwrap_or(playout.anchor);
                self.playout = Some(playout);
                return None;
            }
        }
        playout.next += 1;
        playout.last_ts = Some(expected_ts);
        self.playout = Some(playout);
        self.stats.lost += 1;
        let next_payload = self.packets.get(&playout.next).map(|e| e.payload.clone());
        Some(JitterOutput::Lost { sequence, next_payload })
    }

    /// After `pop` handed out a packet at `now`: the next packet too, when the delay is at
    /// least a packet above the estimate (the next packet is already due by it), so the caller
    /// can merge the two into one packet's length and the delay shrinks by a packet. `None`
    /// when there is no surplus, the next packet is not here, or the last shrink was less than
    /// 200 ms ago (40 ms with 60 ms of surplus or more). Taking it moves the schedule earlier
    /// by the packet, so what follows stays due on the caller's pace.
    pub(crate) fn pop_surplus(&mut self, now: Instant) -> Option<JitterOutput> {
        let mut playout = self.playout?;
        let last_ts = playout.last_ts?;
        let entry = self.packets.get(&playout.next)?;
        // Only a packet already due by the estimate: taken now, it still plays no earlier than
        // the target allows. (No extra margin: the target has one, and one underrun puts the
        // next packets 20..30 ms past their ideal, which a margin would leave uncorrected.)
        let surplus = now.checked_duration_since(self.estimator.ideal_due(entry.timestamp)?)?;
        let interval = if surplus >= FAST_SHRINK_SURPLUS { FAST_SHRINK_INTERVAL } else { SHRINK_INTERVAL };
        if self.last_shrink.is_some_and(|t| now.saturating_duration_since(t) < interval) {
            return None;
        }
        // The packet just handed out lasts from its timestamp to this one's.
        let step = entry.timestamp.wrapping_sub(last_ts) as i32;
        if step <= 0 || step > CLOCK_RATE as i32 {
            // Not a plain next packet (a timestamp jump): no safe estimate of what is saved.
            return None;
        }
        let step = Duration::from_secs_f64(f64::from(step) / f64::from(CLOCK_RATE));
        playout.anchor = playout.anchor.checked_sub(step)?;
        let sequence = playout.next as u16;
        let entry = self.packets.remove(&playout.next)?;
        playout.next += 1;
        playout.last_ts = Some(entry.timestamp);
        self.playout = Some(playout);
        self.last_shrink = Some(now);
        self.stats.shrinks += 1;
        Some(JitterOutput::Packet { sequence, timestamp: entry.timestamp, payload: entry.payload })
    }

    /// The target delay the estimator currently asks for.
    pub(crate) fn target_delay(&self) -> Duration {
        self.estimator.target()
    }

    /// When `pop` will next have something, for a caller that sleeps until then.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        let playout = self.playout.as_ref()?;
        let (&first, entry) = self.packets.iter().next()?;
        let ts = if first == playout.next {
            entry.timestamp
        } else {
            self.expected_timestamp(playout, first, entry.timestamp)
        };
        Some(self.due(playout, ts))
    }

    /// Packets held.
    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    pub(crate) fn stats(&self) -> JitterStats {
        self.stats
    }

    fn restart(&mut self, sequence: u16, timestamp: u32, payload: Bytes, arrival: Instant) {
        self.packets.clear();
        // A new stream: its delays say nothing about the old one's floor (the target is kept).
        self.estimator.rebase();
        self.estimator.observe(arrival, timestamp);
        let anchor = self.estimator.ideal_due(timestamp).unwrap_or(arrival);
        // Extended numbers start high so unwrapping backwards never goes negative.
        let next = (1i64 << 32) + i64::from(sequence);
        self.packets.insert(next, Entry { timestamp, payload });
        self.playout = Some(Playout { next, anchor, anchor_ts: timestamp, last_ts: None });
    }

    /// Where a move of the schedule from `now` toward `ideal` may go: `ideal` when that is not
    /// later than `now` (no delay added), else at most `STRETCH_STEP` past `now`, and not past
    /// `now` at all within `STRETCH_INTERVAL` of the last such move.
    fn stretch(&mut self, now: Instant, ideal: Instant) -> Instant {
        if ideal <= now {
            return ideal;
        }
        if self.last_stretch.is_some_and(|t| now.saturating_duration_since(t) < STRETCH_INTERVAL) {
            return now;
        }
        self.last_stretch = Some(now);
        now.checked_add(STRETCH_STEP).map_or(ideal, |step| ideal.min(step))
    }

    /// The timestamp the missing `playout.next` should have, interpolated between the last
    /// handed-out packet and the first buffered one.
    fn expected_timestamp(&self, playout: &Playout, later: i64, later_ts: u32) -> u32 {
        let gap = (later - playout.next + 1) as u32;
        match playout.last_ts {
            Some(last) => last.wrapping_add(later_ts.wrapping_sub(last) / gap),
            // Nothing played yet: assume 20 ms packets.
            None => later_ts.wrapping_sub(960 * (gap - 1)),
        }
    }

    fn due(&self, playout: &Playout, timestamp: u32) -> Instant {
        let offset = timestamp.wrapping_sub(playout.anchor_ts) as i32;
        if offset <= 0 {
            // Older than the anchor (e.g. a gap just before it): due that much earlier.
            let back = Duration::from_secs_f64(f64::from(offset).abs() / f64::from(CLOCK_RATE));
            return playout.anchor.checked_sub(back).unwrap_or(playout.anchor);
        }
        playout.anchor + Duration::from_secs_f64(f64::from(offset) / f64::from(CLOCK_RATE))
    }
}

#[cfg(test)]
#[path = "jitter_buffer_tests.rs"]
mod tests;
