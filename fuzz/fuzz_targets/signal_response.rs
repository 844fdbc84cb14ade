//! Fuzzes what a broken or hostile server sends: a sequence of length-prefixed
//! `SignalResponse`s into the room's participant, track and speaker bookkeeping. Run:
//! `make fuzz FUZZ_TARGET=signal_response`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| livekit_core::fuzzing::signal_responses(data));
