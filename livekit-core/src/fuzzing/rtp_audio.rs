//! RTP audio as a hostile publisher could send it (any sequence numbers, timestamps, payloads
//! and arrival times) into the receive pipeline: RED unwrapping (when the first byte's high bit
//! is set), jitter buffer, Opus decoder with FEC and concealment, resampler. Whatever arrives, the output stays 10 ms frames of the asked format
//! and decoding never fails (a failure would end the user's `AudioStream`).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::framing::length_prefixed;
use crate::media::{AudioReceivePipeline, RedReceiver};

/// Output formats a subscriber may ask for.
const FORMATS: [(u32, u32); 5] = [(48_000, 2), (48_000, 1), (16_000, 1), (8_000, 2), (44_100, 2)];
/// Bytes before the payload in each record: sequence (2), timestamp (4), arrival step in ms (1).
const RECORD_HEADER: usize = 7;

/// The first byte picks the output format (and RED); then each length-prefixed record is one packet.
pub fn rtp_audio(data: &[u8]) {
    let Some((&format, records)) = data.split_first() else { return };
    let (rate, channels) = FORMATS[usize::from(format & 0x7f) % FORMATS.len()];
    let mut red = (format & 0x80 != 0).then(RedReceiver::default);
    let mut pipeline = AudioReceivePipeline::new(rate, channels).expect("a valid format");
    let mut now = Instant::now();
    let mut next_poll = now;
    for record in length_prefixed(records) {
        if record.len() < RECORD_HEADER {
            continue;
        }
        let sequence = u16::from_le_bytes([record[0], record[1]]);
        let timestamp = u32::from_le_bytes([record[2], record[3], record[4], record[5]]);
        now += Duration::from_millis(u64::from(record[6]));
        let payload = Bytes::copy_from_slice(&record[RECORD_HEADER..]);
        match red.as_mut() {
            None => {
                pipeline.push_packet(sequence, timestamp, payload, now);
            }
            Some(red) => {
                for opus in red.unwrap(sequence, timestamp, &payload).unwrap_or_default() {
                    pipeline.push_packet(opus.sequence, opus.timestamp, opus.payload, now);
                }
            }
        }
        while next_poll <= now {
            let frame = pipeline.poll_frame(next_poll).expect("decoding never fails, whatever arrived");
            if let Some(frame) = frame {
                assert_eq!((frame.sample_rate(), frame.num_channels()), (rate, channels));
                assert_eq!(frame.samples_per_channel(), rate / 100, "10 ms frames");
            }
            next_poll += Duration::from_millis(10);
        }
    }
}
