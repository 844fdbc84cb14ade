//! The reliable packets we sent that the server may not have yet, for a resume to send again.
//! Pure state, no I/O.
//!
//! webrtc-rs releases a data channel's buffered amount only when the peer's SCTP acknowledges
//! the bytes, so the newest `buffered_amount` bytes are exactly what the server has not
//! acknowledged. Bytes it acknowledged may still be unprocessed when its connection breaks, so
//! the buffer also keeps a floor of the newest packets beyond that.

use std::collections::VecDeque;

use bytes::Bytes;

/// How many bytes of the newest sent packets are kept whatever the channel reports acknowledged
/// (the Swift SDK keeps 1.25 × 2 MiB; we keep one channel window).
pub(crate) const RESEND_FLOOR_BYTES: usize = 2 * 1024 * 1024;

/// Sent reliable packets, oldest first, each with its sequence number.
#[derive(Debug)]
pub(crate) struct ResendBuffer {
    packets: VecDeque<(u32, Bytes)>,
    bytes: usize,
    floor_bytes: usize,
}

impl Default for ResendBuffer {
    fn default() -> Self {
        Self::with_floor(RESEND_FLOOR_BYTES)
    }
}

impl ResendBuffer {
    pub fn with_floor(floor_bytes: usize) -> Self {
        Self { packets: VecDeque::new(), bytes: 0, floor_bytes }
    }

    /// Remembers a packet just handed to the channel.
    pub fn push(&mut self, sequence: u32, packet: Bytes) {
        self.bytes += packet.len();
        self.packets.push_back((sequence, packet));
    }

    /// Forgets the oldest packets while what stays still covers both the `unacknowledged` bytes
    /// the channel reports and the floor.
    pub fn trim(&mut self, unacknowledged: usize) {
        let keep = unacknowledged.max(self.floor_bytes);
        while let Some((_, oldest)) = self.packets.front() {
            if self.bytes - oldest.len() < keep {
                break;
            }
            self.bytes -= oldest.len();
            self.packets.pop_front();
        }
    }

    /// The packets numbered after `last_received` (the server's `last_message_seq`), oldest
    /// first. `gap` is true when the oldest kept packet comes later than `last_received + 1`:
    /// some packets in between are no longer held.
    pub fn after(&self, last_received: u32) -> (Vec<Bytes>, bool) {
        let packets: Vec<Bytes> =
            self.packets.iter().filter(|(seq, _)| *seq > last_received).map(|(_, p)| p.clone()).collect();
        let gap = match self.packets.front() {
            Some((oldest, _)) => *oldest > last_received.wrapping_add(1) && !packets.is_empty(),
            None => false,
        };
        (packets, gap)
    }

    /// The newest packets that together hold at least `unacknowledged` bytes: what the server's
    /// SCTP never acknowledged, oldest first.
    pub fn unacknowledged(&self, unacknowledged: usize) -> Vec<(u32, Bytes)> {
        let mut total = 0;
        let mut tail: Vec<(u32, Bytes)> = Vec::new();
        for (seq, packet) in self.packets.iter().rev() {
            if total >= unacknowledged {
                break;
            }
            total += packet.len();
            tail.push((*seq, packet.clone()));
        }
        tail.reverse();
        tail
    }

    /// Bytes held.
    #[cfg(test)]
    pub fn len_bytes(&self) -> usize {
        self.bytes
    }

    /// Forgets everything.
    #[cfg(test)]
    pub fn clear(&mut self) {
        self.packets.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(len: usize) -> Bytes {
        Bytes::from(vec![0u8; len])
    }

    fn filled(floor: usize, count: u32, len: usize) -> ResendBuffer {
        let mut buffer = ResendBuffer::with_floor(floor);
        for seq in 1..=count {
            buffer.push(seq, packet(len));
        }
        buffer
    }

    #[test]
    fn trim_keeps_the_floor_when_everything_is_acknowledged() {
        let mut buffer = filled(250, 10, 100);
        buffer.trim(0);
        assert_eq!(buffer.len_bytes(), 300, "the newest packets covering 250 bytes stay");
        let (packets, _) = buffer.after(0);
        assert_eq!(packets.len(), 3);
    }

    #[test]
    fn trim_keeps_every_unacknowledged_byte_above_the_floor() {
        let mut buffer = filled(100, 10, 100);
        buffer.trim(650);
        assert_eq!(buffer.len_bytes(), 700);
        buffer.trim(0);
        assert_eq!(buffer.len_bytes(), 100);
    }

    #[test]
    fn after_returns_what_the_server_did_not_get_in_order() {
        let buffer = filled(10_000, 5, 10);
        let (packets, gap) = buffer.after(3);
        assert_eq!(packets.len(), 2);
        assert!(!gap);
        let (packets, gap) = buffer.after(5);
        assert!(packets.is_empty() && !gap, "nothing to resend when the server has everything");
    }

    #[test]
    fn after_reports_a_gap_when_older_packets_were_trimmed() {
        let mut buffer = filled(20, 5, 10);
        buffer.trim(0);
        let (packets, gap) = buffer.after(1);
        assert_eq!(packets.len(), 2, "only 4 and 5 are still held");
        assert!(gap);
    }

    #[test]
    fn unacknowledged_is_the_newest_tail_covering_the_bytes() {
        let buffer = filled(0, 5, 10);
        let tail: Vec<u32> = buffer.unacknowledged(15).into_iter().map(|(seq, _)| seq).collect();
        assert_eq!(tail, vec![4, 5]);
        assert!(buffer.unacknowledged(0).is_empty());
    }

    #[test]
    fn clear_forgets_everything() {
        let mut buffer = filled(0, 3, 10);
        buffer.clear();
        assert_eq!(buffer.len_bytes(), 0);
        assert!(buffer.after(0).0.is_empty());
    }
}
