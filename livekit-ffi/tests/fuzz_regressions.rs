//! Replays every input the fuzzer once failed on (`fuzz/regressions/<target>/`) through the C ABI
//! with the same checks as the fuzz target, so a finding stays fixed without nightly or a
//! sanitizer build. `make fuzz` runs the target itself for longer, under AddressSanitizer.

use std::path::{Path, PathBuf};

use livekit_ffi::{livekit_ffi_drop_handle, livekit_ffi_initialize, livekit_ffi_request, INVALID_HANDLE};

extern "C" fn ignore_event(_data: *const u8, _len: usize) {}

fn regressions(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn request_target_regressions_stay_fixed() {
    // SAFETY: null names are allowed.
    unsafe { livekit_ffi_initialize(Some(ignore_event), true, std::ptr::null(), std::ptr::null()) };
    let inputs = regressions("request");
    assert!(!inputs.is_empty(), "the regression corpus is checked in");
    for path in inputs {
        let data = std::fs::read(&path).expect("a regression input");
        if livekit_ffi::fuzz_must_skip(&data) {
            continue;
        }
        let mut response = std::ptr::null();
        let mut len = 0usize;
        let handle = unsafe { livekit_ffi_request(data.as_ptr(), data.len(), &mut response, &mut len) };
        if handle != INVALID_HANDLE {
            // Read the whole response while the handle is held, as a client does.
            let bytes = unsafe { std::slice::from_raw_parts(response, len) }.to_vec();
            assert_eq!(bytes.len(), len);
            assert!(livekit_ffi_drop_handle(handle), "{}: the response handle could not be dropped", path.display());
        }
    }
}
