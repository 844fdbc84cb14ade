//! RTP video as a hostile publisher could send it (any sequence numbers, timestamps, marker
//! bits, payloads and arrival times) into what a `VideoStream` runs: the frame assembler, the
//! VP8/H.264/VP9 depacketizers and the decoders. Whatever arrives, nothing panics, the assembler
//! holds a bounded number of packets, and a decoded picture has sane dimensions.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::framing::length_prefixed;
use crate::media::frame_assembler::{Assembled, FrameAssembler};
use crate::media::video_codec::{new_decoder, VideoCodec};
use crate::media::video_depacketizer::{depacketize, starts_frame};
use crate::media::{RtpPacket, MAX_VIDEO_DIMENSION};

/// Bytes before the payload in each record: sequence (2), timestamp (4), marker (1), arrival
/// step in ms (1).
const RECORD_HEADER: usize = 8;

/// The first byte picks the codec (VP8, H.264 or VP9, by its remainder of 3); then each
/// length-prefixed record is one packet.
pub fn rtp_video(data: &[u8]) {
    let Some((&codec, records)) = data.split_first() else { return };
    let codec = [VideoCodec::Vp8, VideoCodec::H264, VideoCodec::Vp9][usize::from(codec % 3)];
    let Ok(mut decoder) = new_decoder(codec) else { return }; // that codec is not built in
    let mut assembler = FrameAssembler::default();
    let mut now = Instant::now();
    for record in length_prefixed(records) {
        if record.len() < RECORD_HEADER {
            continue;
        }
        now += Duration::from_millis(u64::from(record[7]));
        let packet = RtpPacket {
            sequence: u16::from_le_bytes([record[0], record[1]]),
            timestamp: u32::from_le_bytes([record[2], record[3], record[4], record[5]]),
            marker: record[6] & 1 == 1,
            payload: Bytes::copy_from_slice(&record[RECORD_HEADER..]),
            arrival: now,
        };
        let start = starts_frame(codec, &packet.payload);
        assembler.push(packet, start);
        while let Some(assembled) = assembler.pop(now) {
            let Assembled::Picture { payloads, .. } = assembled else { continue };
            let Ok(frame) = depacketize(codec, &payloads) else { continue };
            if let Ok(Some(picture)) = decoder.decode(&frame.data) {
                assert!(picture.width() <= MAX_VIDEO_DIMENSION && picture.height() <= MAX_VIDEO_DIMENSION);
            }
        }
    }
}
