//! Reliable-packet sequence numbers: stamping ours and dropping duplicates of theirs.
//! Pure state, no I/O. (Resume will add the resend buffer here.)

use std::collections::HashMap;

/// Numbers our reliable packets from 1, as receivers expect.
#[derive(Debug, Default)]
pub(crate) struct OutgoingSequence {
    last: u32,
}

impl OutgoingSequence {
    pub fn next(&mut self) -> u32 {
        self.last = self.last.wrapping_add(1).max(1);
        self.last
    }
}

/// Remembers the highest sequence seen from each sender session (sid) and rejects repeats.
/// A participant who rejoins gets a new sid, so its numbering restarts cleanly.
#[derive(Debug, Default)]
pub(crate) struct DuplicateFilter {
    highest_by_sender: HashMap<String, u32>,
}

impl DuplicateFilter {
    /// True when the packet is new. Sequence 0 means "not sequenced" (lossy or an old client).
    pub fn accept(&mut self, sender_sid: &str, sequence: u32) -> bool {
        if sequence == 0 || sender_sid.is_empty() {
            return true;
        }
        let highest = self.highest_by_sender.entry(sender_sid.to_string()).or_insert(0);
        if sequence <= *highest {
            return false;
        }
        *highest = sequence;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_sequence_starts_at_one_and_increments() {
        let mut seq = OutgoingSequence::default();
        assert_eq!((seq.next(), seq.next(), seq.next()), (1, 2, 3));
    }

    #[test]
    fn outgoing_sequence_skips_zero_on_wrap() {
        let mut seq = OutgoingSequence { last: u32::MAX };
        assert_eq!(seq.next(), 1);
    }

    #[test]
    fn duplicates_and_old_packets_are_rejected_per_sender() {
        let mut filter = DuplicateFilter::default();
        assert!(filter.accept("PA_a", 1));
        assert!(filter.accept("PA_a", 2));
        assert!(!filter.accept("PA_a", 2));
        assert!(!filter.accept("PA_a", 1));
        assert!(filter.accept("PA_b", 1), "another sender has its own numbering");
        assert!(filter.accept("PA_a", 0), "unsequenced packets always pass");
        assert!(filter.accept("PA_a", 0));
    }
}
