//! RED (RFC 2198) for published audio: each packet also carries the two packets sent before
//! it, so a lost packet is rebuilt from one of the next two. livekit-server reads the blocks by
//! position (the last redundant block is the previous sequence number, the one before it the
//! one before that: `pkg/sfu/redprimaryreceiver.go`) and rebuilds lost Opus packets for
//! subscribers that take plain Opus. A plain type: timestamps in, payloads out.
//!
//! Layout: one 4-byte header per redundant block (F=1, payload type, timestamp offset
//! 14 bits, length 10 bits), a 1-byte header for the primary (F=0, payload type), then the
//! redundant blocks oldest first, then the primary.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

/// Previous packets carried in each packet: what the server reads (`maxRedCount`).
pub(crate) const REDUNDANT_BLOCKS: usize = 2;
/// A block's timestamp offset has 14 bits: older packets cannot be referenced.
const MAX_TIMESTAMP_OFFSET: u32 = (1 << 14) - 1;
/// A block's length has 10 bits.
const MAX_BLOCK_LENGTH: usize = (1 << 10) - 1;
/// Redundancy is dropped (oldest first) rather than push a packet past this size: the primary
/// must never be the one that does not fit in a datagram.
const MAX_RED_PAYLOAD: usize = 1_100;

/// Wraps each Opus packet with the ones sent before it.
#[derive(Debug)]
pub(crate) struct RedEncoder {
    payload_type: u8,
    /// The last packets sent (timestamp, Opus payload), oldest first.
    history: VecDeque<(u32, Bytes)>,
}

impl RedEncoder {
    /// `payload_type` is the negotiated Opus payload type the blocks name.
    pub(crate) fn new(payload_type: u8) -> Self {
        RedEncoder { payload_type: payload_type & 0x7f, history: VecDeque::with_capacity(REDUNDANT_BLOCKS) }
    }

    /// The RED payload for the Opus packet `primary` at RTP `timestamp`: the previous packets
    /// that still fit (always the most recent ones, so positions stay right), then `primary`.
    pub(crate) fn encode(&mut self, timestamp: u32, primary: &Bytes) -> Bytes {
        let mut size = 1 + primary.len();
        let mut kept = 0;
        for (previous_timestamp, previous) in self.history.iter().rev() {
            let offset = timestamp.wrapping_sub(*previous_timestamp);
            let fits = offset > 0
                && offset <= MAX_TIMESTAMP_OFFSET
                && previous.len() <= MAX_BLOCK_LENGTH
                && size + 4 + previous.len() <= MAX_RED_PAYLOAD;
            if !fits {
                break;
            }
            size += 4 + previous.len();
            kept += 1;
        }
        let redundant: Vec<&(u32, Bytes)> = self.history.iter().skip(self.history.len() - kept).collect();
        let mut out = BytesMut::with_capacity(size);
        for (previous_timestamp, previous) in &redundant {
            let offset = timestamp.wrapping_sub(*previous_timestamp);
            let header = 0x8000_0000 | u32::from(self.payload_type) << 24 | offset << 10 | previous.len() as u32;
            out.put_u32(header);
        }
        out.put_u8(self.payload_type);
        for (_, previous) in &redundant {
            out.put_slice(previous);
        }
        out.put_slice(primary);

        if self.history.len() == REDUNDANT_BLOCKS {
            self.history.pop_front();
        }
        self.history.push_back((timestamp, primary.clone()));
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One block as a reader (the server) sees it.
    #[derive(Debug, PartialEq)]
    struct Block {
        payload_type: u8,
        timestamp_offset: u32,
        data: Vec<u8>,
    }

    /// Splits a RED payload into its redundant blocks (oldest first) and the primary, with the
    /// receive side's reader.
    fn split(payload: &Bytes) -> (Vec<Block>, Block) {
        let blocks = crate::media::red_receiver::parse_red(payload).expect("well-formed RED");
        let block = |payload_type, timestamp_offset, data: &Bytes| Block {
            payload_type,
            timestamp_offset,
            data: data.to_vec(),
        };
        let redundant = blocks.redundant.iter().map(|(kind, offset, data)| block(*kind, *offset, data)).collect();
        let (primary_type, primary) = &blocks.primary;
        (redundant, block(*primary_type, 0, primary))
    }

    fn opus(byte: u8, len: usize) -> Bytes {
        Bytes::from(vec![byte; len])
    }

    #[test]
    fn each_packet_carries_the_two_before_it_oldest_first() {
        let mut red = RedEncoder::new(111);
        let (blocks, primary) = split(&red.encode(1_000, &opus(1, 50)));
        assert!(blocks.is_empty(), "the first packet has nothing before it");
        assert_eq!(primary, Block { payload_type: 111, timestamp_offset: 0, data: vec![1; 50] });

        red.encode(1_960, &opus(2, 40));
        let (blocks, primary) = split(&red.encode(2_920, &opus(3, 30)));
        assert_eq!(
            blocks,
            vec![
                Block { payload_type: 111, timestamp_offset: 1_920, data: vec![1; 50] },
                Block { payload_type: 111, timestamp_offset: 960, data: vec![2; 40] },
            ]
        );
        assert_eq!(primary.data, vec![3; 30]);

        let (blocks, _) = split(&red.encode(3_880, &opus(4, 30)));
        assert_eq!(blocks.iter().map(|b| b.data[0]).collect::<Vec<_>>(), vec![2, 3], "only two are carried");
    }

    #[test]
    fn a_block_too_old_for_14_bits_is_left_out_and_so_is_everything_older() {
        let mut red = RedEncoder::new(111);
        red.encode(0, &opus(1, 20));
        red.encode(960, &opus(2, 20));
        // After a long DTX pause the older packet is 17 000 samples back, the newer 16 040.
        let (blocks, _) = split(&red.encode(17_000, &opus(3, 20)));
        assert_eq!(blocks.iter().map(|b| b.data[0]).collect::<Vec<_>>(), vec![2], "the older one is out of reach");
        let (blocks, _) = split(&red.encode(40_000, &opus(9, 20)));
        assert!(blocks.is_empty(), "both are out of reach: {blocks:?}");
        red.encode(40_960, &opus(4, 20));
        let (blocks, _) = split(&red.encode(41_920, &opus(5, 20)));
        assert_eq!(blocks.iter().map(|b| b.data[0]).collect::<Vec<_>>(), vec![9, 4]);
    }

    #[test]
    fn timestamps_wrap_around() {
        let mut red = RedEncoder::new(111);
        red.encode(u32::MAX - 100, &opus(1, 20));
        let (blocks, _) = split(&red.encode(859, &opus(2, 20)));
        assert_eq!(blocks[0].timestamp_offset, 960);
    }

    #[test]
    fn large_packets_keep_the_primary_and_drop_redundancy_that_would_not_fit() {
        let mut red = RedEncoder::new(111);
        red.encode(0, &opus(1, 1_200)); // over 10 bits of length: never redundant
        let (blocks, primary) = split(&red.encode(960, &opus(2, 600)));
        assert!(blocks.is_empty());
        assert_eq!(primary.data.len(), 600);
        let payload = red.encode(1_920, &opus(3, 600));
        assert!(split(&payload).0.is_empty(), "600 + 600 is over the size limit");
        assert!(payload.len() <= MAX_RED_PAYLOAD);
    }
}
