//! Fuzzes what a hostile publisher sends as audio: RTP packets with any sequence numbers,
//! timestamps, payloads and arrival times into the jitter buffer, the Opus decoder and the
//! resampler. Run: `make fuzz FUZZ_TARGET=rtp_audio`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| livekit_core::fuzzing::rtp_audio(data));
