//! Groups the RTP packets of a video stream into whole pictures, in order. Packets may arrive
//! late or out of order (NACK retransmissions); a picture is complete when every sequence
//! number from its first packet to its marker is there. A hole that stays open longer than
//! `MAX_WAIT` is given up on: the assembler skips to the next picture start and says the
//! stream broke, so the caller asks for a keyframe. Time is passed in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::packets::RtpPacket;

/// How long a missing packet may be waited for (a NACK round trip or two).
pub(crate) const MAX_WAIT: Duration = Duration::from_millis(150);
/// Packets held at most (about a second of 2 Mbps video); beyond it the oldest hole is skipped.
const MAX_HELD_PACKETS: usize = 1024;

/// What the assembler hands out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Assembled {
    /// The payloads of one picture, in order.
    Picture { timestamp: u32, payloads: Vec<Bytes> },
    /// Packets were lost for good: what follows does not decode until a keyframe.
    Broken,
}

struct Held {
    packet: RtpPacket,
    starts_frame: bool,
}

/// Sequence numbers unwrapped to 64 bits, packets held by them until their picture is whole.
#[derive(Default)]
pub(crate) struct FrameAssembler {
    held: BTreeMap<u64, Held>,
    /// Where the next picture starts; `None` until the first picture start is seen.
    next: Option<u64>,
    last_unwrapped: Option<u64>,
}

impl FrameAssembler {
    /// Takes a packet; `starts_frame` is the codec's verdict on its payload.
    pub fn push(&mut self, packet: RtpPacket, starts_frame: bool) {
        let sequence = self.unwrap(packet.sequence);
        if self.next.is_some_and(|next| sequence < next) {
            return; // a duplicate or a retransmission too late to use
        }
        if self.next.is_none() && !starts_frame {
            return; // nothing decodes before the first picture start
        }
        self.next.get_or_insert(sequence);
        self.held.insert(sequence, Held { packet, starts_frame });
        if self.held.len() > MAX_HELD_PACKETS {
            self.held.pop_first();
        }
    }

    /// The next complete picture, or `Broken` once a hole has waited too long (as of `now`).
    pub fn pop(&mut self, now: Instant) -> Option<Assembled> {
        let next = self.next?;
        if let Some(picture) = self.take_complete(next) {
            return Some(picture);
        }
        let oldest_arrival = self.held.values().map(|h| h.packet.arrival).min()?;
        if now.saturating_duration_since(oldest_arrival) > MAX_WAIT {
            self.skip_to_next_start(next);
            return Some(Assembled::Broken);
        }
        None
    }

    /// The picture starting at `first` if all its packets are here.
    fn take_complete(&mut self, first: u64) -> Option<Assembled> {
        let start = self.held.get(&first)?;
        if !start.starts_frame {
            return None;
        }
        let timestamp = start.packet.timestamp;
        let mut last = first;
        loop {
            let held = self.held.get(&last)?;
            if held.packet.timestamp != timestamp {
                return None; // the picture ended without a marker: wait for the hole to time out
            }
            if held.packet.marker {
                break;
            }
            last += 1;
        }
        let payloads = (first..=last).filter_map(|s| self.held.remove(&s)).map(|h| h.packet.payload).collect();
        self.next = Some(last + 1);
        Some(Assembled::Picture { timestamp, payloads })
    }

    /// Drops what is held up to the first picture start after `from`, which becomes the next.
    fn skip_to_next_start(&mut self, from: u64) {
        let restart = self.held.range(from + 1..).find(|(_, h)| h.starts_frame).map(|(&s, _)| s);
        match restart {
            Some(restart) => {
                self.held = self.held.split_off(&restart);
                self.next = Some(restart);
            }
            None => {
                self.held.clear();
                self.next = None;
            }
        }
    }

    fn unwrap(&mut self, sequence: u16) -> u64 {
        let unwrapped = match self.last_unwrapped {
            None => (1 << 16) + u64::from(sequence),
            Some(last) => {
                let delta = i64::from(sequence.wrapping_sub(last as u16) as i16);
                last.saturating_add_signed(delta)
            }
        };
        if self.last_unwrapped.is_none_or(|last| unwrapped > last) {
            self.last_unwrapped = Some(unwrapped);
        }
        unwrapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(sequence: u16, timestamp: u32, marker: bool, arrival: Instant) -> RtpPacket {
        RtpPacket { sequence, timestamp, marker, payload: Bytes::from(vec![sequence as u8]), arrival }
    }

    /// Pictures of `n` packets each from sequence `first`, 3000 ticks apart.
    fn pictures(first: u16, count: usize, n: u16, now: Instant) -> Vec<(RtpPacket, bool)> {
        let mut out = Vec::new();
        for p in 0..count as u16 {
            for i in 0..n {
                let sequence = first.wrapping_add(p * n + i);
                out.push((packet(sequence, 3000 * u32::from(p), i == n - 1, now), i == 0));
            }
        }
        out
    }

    fn timestamps(assembler: &mut FrameAssembler, now: Instant) -> Vec<Option<u32>> {
        std::iter::from_fn(|| assembler.pop(now))
            .map(|a| match a {
                Assembled::Picture { timestamp, .. } => Some(timestamp),
                Assembled::Broken => None,
            })
            .collect()
    }

    #[test]
    fn pictures_come_out_whole_and_in_order_across_the_wrap() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::default();
        let mut packets = pictures(65_530, 4, 3, now);
        packets.swap(1, 4); // reordered
        for (packet, start) in packets {
            assembler.push(packet, start);
        }
        assert_eq!(timestamps(&mut assembler, now), [Some(0), Some(3000), Some(6000), Some(9000)]);
    }

    #[test]
    fn a_late_packet_completes_its_picture_within_the_wait() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::default();
        let packets = pictures(100, 2, 3, now);
        for (i, (packet, start)) in packets.iter().cloned().enumerate() {
            if i != 1 {
                assembler.push(packet, start);
            }
        }
        assert_eq!(assembler.pop(now + Duration::from_millis(50)), None);
        let (late, start) = packets[1].clone();
        assembler.push(late, start);
        assert_eq!(timestamps(&mut assembler, now + Duration::from_millis(60)), [Some(0), Some(3000)]);
    }

    #[test]
    fn a_hole_that_stays_is_skipped_and_reported() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::default();
        for (i, (packet, start)) in pictures(7, 3, 2, now).into_iter().enumerate() {
            if i != 1 {
                assembler.push(packet, start);
            }
        }
        assert_eq!(timestamps(&mut assembler, now), Vec::<Option<u32>>::new());
        assert_eq!(timestamps(&mut assembler, now + MAX_WAIT * 2), [None, Some(3000), Some(6000)]);
    }

    #[test]
    fn nothing_before_the_first_picture_start_and_no_duplicates() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::default();
        let packets = pictures(1, 2, 2, now);
        assembler.push(packets[1].0.clone(), false); // the tail of a picture we joined mid-way
        for (packet, start) in packets.iter().skip(2).cloned() {
            assembler.push(packet.clone(), start);
            assembler.push(packet, start);
        }
        assert_eq!(timestamps(&mut assembler, now), [Some(3000)]);
    }
}
