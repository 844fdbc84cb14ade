//! Jitter buffer for one audio RTP stream, as a plain type with time passed in: packets go in
//! with their arrival instant, come out in sequence order once due, and a gap is reported as
//! "lost" when its turn is due, so the decoder can use FEC from the next packet or conceal.
//!
//! Timing: the first packet (and the first after a reset or an underrun) anchors the schedule;
//! a packet with RTP timestamp `ts` is due at `anchor + target_delay + (ts - anchor_ts) / 48 kHz`.
//! The target delay is fixed (60 ms by default). There is no clock-drift compensation: if the
//! sender runs fast the buffer fills to its bound and resets, if slow it underruns and re-anchors.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Delay added to the first packet's arrival before playout: room for 2-3 packets of jitter.
pub(crate) const DEFAULT_TARGET_DELAY: Duration = Duration::from_millis(60);
/// The most packets held (2 s of 20 ms packets); anything further ahead resets the buffer.
pub(crate) const DEFAULT_CAPACITY: usize = 100;
/// RTP clock of Opus.
const CLOCK_RATE: u32 = 48_000;
/// A packet this many sequence numbers behind, with nothing buffered, is a restarted stream
/// rather than a late packet.
const RESTART_DISTANCE: i64 = 1_000;

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
    target_delay: Duration,
    capacity: usize,
    packets: BTreeMap<i64, Entry>,
    playout: Option<Playout>,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new(DEFAULT_TARGET_DELAY, DEFAULT_CAPACITY)
    }
}

impl JitterBuffer {
    /// A buffer delaying playout by `target_delay` and holding at most `capacity` packets
    /// (at least 2).
    pub(crate) fn new(target_delay: Duration, capacity: usize) -> Self {
        JitterBuffer {
            target_delay,
            capacity: capacity.max(2),
            packets: BTreeMap::new(),
            playout: None,
            stats: JitterStats::default(),
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
            // An underrun (or a pause whose timestamps did not advance): restart the schedule
            // from this packet so it gets the full target delay again.
            let playout = self.playout.as_mut().expect("checked above");
            playout.anchor = arrival + self.target_delay;
            playout.anchor_ts = timestamp;
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
        if now < self.due(&playout, expected_ts) {
            return None;
        }
        playout.next += 1;
        playout.last_ts = Some(expected_ts);
        self.playout = Some(playout);
        self.stats.lost += 1;
        let next_payload = self.packets.get(&playout.next).map(|e| e.payload.clone());
        Some(JitterOutput::Lost { sequence, next_payload })
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
        // Extended numbers start high so unwrapping backwards never goes negative.
        let next = (1i64 << 32) + i64::from(sequence);
        self.packets.insert(next, Entry { timestamp, payload });
        self.playout = Some(Playout { next, anchor: arrival + self.target_delay, anchor_ts: timestamp, last_ts: None });
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
