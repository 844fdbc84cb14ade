//! Fuzzes incoming data packets as other participants could send them: stream headers, chunks
//! and trailers in any order with any ids, indices, lengths and attributes, RPC requests, and
//! departures, from several senders, with time passed in. They go through our guards and the
//! official incoming stream manager with no room and no network; the input format and the
//! checks are in `livekit_core::data::fuzzing::run_input` (feature `testing`), which the
//! regression replay shares. Run: `make fuzz FUZZ_TARGET=incoming_data`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"))
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(livekit_core::data::fuzzing::run_input(data));
});
