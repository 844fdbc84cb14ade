//! Fuzzes what a hostile publisher sends as video: RTP packets with any sequence numbers,
//! timestamps, marker bits, payloads and arrival times into the frame assembler, the VP8 and
//! H.264 depacketizers and the decoders. Run: `make fuzz FUZZ_TARGET=rtp_video`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| livekit_core::fuzzing::rtp_video(data));
