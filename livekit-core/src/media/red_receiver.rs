//! RED (RFC 2198) for received audio. livekit-server sends a single peer connection RED when
//! the publisher sent RED, whatever that connection offered for the section (its answer adds
//! RED back), so the receive path unwraps it: the primary always, and a redundant block only
//! when it carries a packet that never arrived (the loss RED is there to repair). A plain type:
//! payloads in, Opus packets out.
//!
//! Block positions follow the server's reading (`pkg/sfu/redprimaryreceiver.go`): the last
//! redundant block is the packet one sequence number before the primary, the one before it two.

use bytes::Bytes;

/// One Opus packet taken out of a RED payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UnwrappedPacket {
    pub sequence: u16,
    pub timestamp: u32,
    pub payload: Bytes,
}

/// Why a RED payload could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MalformedRed(pub &'static str);

/// A RED payload read: the redundant blocks (payload type, timestamp offset, data; oldest
/// first) and the primary (payload type, data).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RedBlocks {
    pub redundant: Vec<(u8, u32, Bytes)>,
    pub primary: (u8, Bytes),
}

/// Redundant blocks a payload may announce: the server sends two; more is not RED we know.
const MAX_BLOCKS: usize = 16;

/// Reads a RED payload (headers, then the blocks in header order, then the primary).
pub(crate) fn parse_red(payload: &Bytes) -> Result<RedBlocks, MalformedRed> {
    let mut headers = Vec::new();
    let mut at = 0;
    loop {
        let Some(&first) = payload.get(at) else { return Err(MalformedRed("it ends inside its headers")) };
        if first & 0x80 == 0 {
            at += 1; // the primary's one-byte header
            let primary_type = first;
            return read_blocks(payload, headers, at, primary_type);
        }
        let Some(header) = payload.get(at..at + 4) else { return Err(MalformedRed("a block header is cut short")) };
        if headers.len() == MAX_BLOCKS {
            return Err(MalformedRed("it announces too many blocks"));
        }
        let header = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        headers.push(((header >> 24) as u8 & 0x7f, (header >> 10) & 0x3fff, (header & 0x3ff) as usize));
        at += 4;
    }
}

/// The blocks after the headers: each redundant one at its announced length, the primary last.
fn read_blocks(
    payload: &Bytes,
    headers: Vec<(u8, u32, usize)>,
    mut at: usize,
    primary_type: u8,
) -> Result<RedBlocks, MalformedRed> {
    let mut redundant = Vec::with_capacity(headers.len());
    for (payload_type, timestamp_offset, length) in headers {
        if payload.len() < at + length {
            return Err(MalformedRed("a block is longer than the payload"));
        }
        redundant.push((payload_type, timestamp_offset, payload.slice(at..at + length)));
        at += length;
    }
    Ok(RedBlocks { redundant, primary: (primary_type, payload.slice(at..)) })
}

/// Unwraps one received RED stream, remembering the newest sequence number seen so that a
/// redundant block is used only to fill a gap.
#[derive(Debug, Default)]
pub(crate) struct RedReceiver {
    newest: Option<u16>,
}

impl RedReceiver {
    /// The Opus packets in the RED packet `sequence`/`timestamp`, oldest first: the redundant
    /// blocks for packets newer than any seen (lost ones), then the primary. Empty blocks
    /// (nothing to repair, or DTX) are left out.
    pub(crate) fn unwrap(
        &mut self,
        sequence: u16,
        timestamp: u32,
        payload: &Bytes,
    ) -> Result<Vec<UnwrappedPacket>, MalformedRed> {
        let blocks = parse_red(payload)?;
        let mut packets = Vec::with_capacity(blocks.redundant.len() + 1);
        if let Some(newest) = self.newest {
            let count = blocks.redundant.len();
            for (index, (_, timestamp_offset, data)) in blocks.redundant.into_iter().enumerate() {
                let block_sequence = sequence.wrapping_sub((count - index) as u16);
                let missed = (block_sequence.wrapping_sub(newest) as i16) > 0;
                if missed && !data.is_empty() {
                    let timestamp = timestamp.wrapping_sub(timestamp_offset);
                    packets.push(UnwrappedPacket { sequence: block_sequence, timestamp, payload: data });
                }
            }
        }
        let (_, primary) = blocks.primary;
        if !primary.is_empty() {
            packets.push(UnwrappedPacket { sequence, timestamp, payload: primary });
        }
        let is_newer = self.newest.is_none_or(|newest| (sequence.wrapping_sub(newest) as i16) > 0);
        if is_newer {
            self.newest = Some(sequence);
        }
        Ok(packets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::RedEncoder;

    /// RED payloads as our sender makes them: sequence numbers from 100, 960 samples apart,
    /// Opus packets of one repeated byte (1, 2, 3...).
    fn red_stream(count: u8) -> Vec<(u16, u32, Bytes)> {
        let mut encoder = RedEncoder::new(111);
        (1..=count)
            .map(|n| {
                let timestamp = u32::from(n) * 960;
                (99 + u16::from(n), timestamp, encoder.encode(timestamp, &Bytes::from(vec![n; 30])))
            })
            .collect()
    }

    fn first_bytes(packets: &[UnwrappedPacket]) -> Vec<(u16, u32, u8)> {
        packets.iter().map(|p| (p.sequence, p.timestamp, p.payload[0])).collect()
    }

    #[test]
    fn without_loss_only_the_primaries_come_out() {
        let mut receiver = RedReceiver::default();
        for (sequence, timestamp, payload) in red_stream(5) {
            let packets = receiver.unwrap(sequence, timestamp, &payload).unwrap();
            assert_eq!(first_bytes(&packets), vec![(sequence, timestamp, (sequence - 99) as u8)]);
        }
    }

    #[test]
    fn lost_packets_come_back_from_the_next_ones_with_their_own_numbers() {
        let stream = red_stream(6);
        let mut receiver = RedReceiver::default();
        receiver.unwrap(stream[0].0, stream[0].1, &stream[0].2).unwrap();
        // Packets 2 and 3 are lost; packet 4 carries both.
        let packets = receiver.unwrap(stream[3].0, stream[3].1, &stream[3].2).unwrap();
        assert_eq!(first_bytes(&packets), vec![(101, 1_920, 2), (102, 2_880, 3), (103, 3_840, 4)]);
        // Packet 5 carries 3 and 4 again: neither is new.
        let packets = receiver.unwrap(stream[4].0, stream[4].1, &stream[4].2).unwrap();
        assert_eq!(first_bytes(&packets), vec![(104, 4_800, 5)]);
    }

    #[test]
    fn the_first_packet_gives_only_its_primary_and_a_late_one_is_kept() {
        let stream = red_stream(4);
        let mut receiver = RedReceiver::default();
        let packets = receiver.unwrap(stream[2].0, stream[2].1, &stream[2].2).unwrap();
        assert_eq!(first_bytes(&packets), vec![(102, 2_880, 3)], "what came before we listened is not a loss");
        receiver.unwrap(stream[3].0, stream[3].1, &stream[3].2).unwrap();
        let late = receiver.unwrap(stream[1].0, stream[1].1, &stream[1].2).unwrap();
        assert_eq!(first_bytes(&late), vec![(101, 1_920, 2)], "a reordered primary is still passed on");
        let next = red_stream(5).pop().unwrap();
        let packets = receiver.unwrap(next.0, next.1, &next.2).unwrap();
        assert_eq!(first_bytes(&packets), vec![(104, 4_800, 5)], "the late one did not move the newest back");
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut receiver = RedReceiver::default();
        let mut encoder = RedEncoder::new(111);
        let payloads: Vec<Bytes> =
            (0..3u8).map(|n| encoder.encode(u32::from(n) * 960, &Bytes::from(vec![n; 10]))).collect();
        receiver.unwrap(65_534, 0, &payloads[0]).unwrap();
        let packets = receiver.unwrap(0, 1_920, &payloads[2]).unwrap();
        assert_eq!(first_bytes(&packets), vec![(65_535, 960, 1), (0, 1_920, 2)]);
    }

    #[test]
    fn malformed_payloads_are_refused() {
        let mut receiver = RedReceiver::default();
        let cases: [(&[u8], &str); 4] = [
            (&[], "it ends inside its headers"),
            (&[0x80 | 111, 0, 0], "a block header is cut short"),
            (&[0x80 | 111, 0x00, 0x0f, 0xff, 111, 1, 2], "a block is longer than the payload"),
            (&[0xff; 80], "it announces too many blocks"),
        ];
        for (payload, why) in cases {
            assert_eq!(receiver.unwrap(1, 960, &Bytes::copy_from_slice(payload)), Err(MalformedRed(why)));
        }
    }

    #[test]
    fn an_empty_primary_and_empty_blocks_give_nothing() {
        let mut receiver = RedReceiver::default();
        assert!(receiver.unwrap(1, 960, &Bytes::from_static(&[111])).unwrap().is_empty());
        let block_header = [0x80 | 111, 0x00, 0x0f << 2, 0x00];
        let payload = Bytes::from([&block_header[..], &[111]].concat());
        assert!(receiver.unwrap(3, 2_880, &payload).unwrap().is_empty());
    }
}
