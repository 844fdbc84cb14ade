//! Fuzzes the request decoder and dispatcher through the C ABI: any bytes must give a response
//! or a typed error, never a crash. `connect` requests are skipped (they would open network
//! connections to whatever URL the fuzzer invents), and so are the requests that read the
//! caller's samples at the address they name (see `fuzz_must_skip`). Run:
//! `make fuzz FUZZ_TARGET=request`.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;

static INIT: Once = Once::new();

unsafe extern "C" fn ignore_event(_data: *const u8, _len: usize) {}

fuzz_target!(|data: &[u8]| {
    // SAFETY: null names are allowed.
    INIT.call_once(|| unsafe {
        livekit_ffi::livekit_ffi_initialize(Some(ignore_event), true, std::ptr::null(), std::ptr::null())
    });
    if livekit_ffi::fuzz_must_skip(data) {
        return;
    }
    let mut response = std::ptr::null();
    let mut len = 0usize;
    let handle = unsafe { livekit_ffi::livekit_ffi_request(data.as_ptr(), data.len(), &mut response, &mut len) };
    if handle != livekit_ffi::INVALID_HANDLE {
        assert!(livekit_ffi::livekit_ffi_drop_handle(handle));
    }
});
