//! The C ABI: the four functions of the official livekit-ffi, plus `livekit_ffi_last_error`.
//! Every entry point catches panics, so none crosses into the caller.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use prost::Message;

use crate::error::{last_error, panic_message, set_last_error, FfiError, FfiResult, LkFfiErrorCode};
use crate::handles::FfiHandle;
use crate::logger;
use crate::proto::FfiResponse;
use crate::requests;
use crate::server::server;

/// The event callback: one serialized `FfiEvent` per call, from any thread, valid only during
/// the call. Null turns events off.
pub type LkFfiCallback = Option<unsafe extern "C" fn(data: *const u8, len: usize)>;

/// The id `livekit_ffi_request` returns on failure; no handle ever has it.
pub const INVALID_HANDLE: u64 = 0;

/// Sets the event callback and whether the library's logs come as `FfiEvent.logs` events.
/// `sdk` and `sdk_version` name the calling SDK (NUL-terminated, may be null). May be called
/// again; the last call wins. The callback gets one serialized `FfiEvent` per call, from any
/// thread; the bytes are valid only during the call.
///
/// # Safety
/// `sdk` and `sdk_version` are null or point to NUL-terminated strings valid during the call.
#[no_mangle]
pub unsafe extern "C" fn livekit_ffi_initialize(
    callback: LkFfiCallback,
    capture_logs: bool,
    sdk: *const c_char,
    sdk_version: *const c_char,
) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller passes null or NUL-terminated strings (the contract above), read
        // only during this call.
        let (sdk, sdk_version) = unsafe { (lossy_string(sdk), lossy_string(sdk_version)) };
        server().initialize(callback, capture_logs, sdk, sdk_version);
    }));
    if let Err(panic) = outcome {
        eprintln!("livekit_ffi_initialize failed: {}", panic_message(&*panic));
    }
}

unsafe fn lossy_string(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    CStr::from_ptr(text).to_string_lossy().into_owned()
}

/// Handles one serialized `FfiRequest` (`data`, `len`). On success, writes a pointer to the
/// serialized `FfiResponse` and its length, and returns the handle that owns those bytes: drop
/// it with `livekit_ffi_drop_handle` once read. On failure returns 0 and leaves the outputs
/// untouched; `livekit_ffi_last_error` says why.
///
/// # Safety
/// `data` points to `len` readable bytes; `res_ptr` and `res_len` are writable.
#[no_mangle]
pub unsafe extern "C" fn livekit_ffi_request(
    data: *const u8,
    len: usize,
    res_ptr: *mut *const u8,
    res_len: *mut usize,
) -> u64 {
    let outcome = catch_unwind(AssertUnwindSafe(|| request(data, len, res_ptr, res_len)));
    let result = outcome.unwrap_or_else(|panic| Err(FfiError::Internal(panic_message(&*panic))));
    set_last_error(result.as_ref().err());
    match result {
        Ok(handle) => handle,
        Err(error) => {
            report(&error);
            INVALID_HANDLE
        }
    }
}

unsafe fn request(data: *const u8, len: usize, res_ptr: *mut *const u8, res_len: *mut usize) -> FfiResult<u64> {
    server().ensure_initialized()?;
    if res_ptr.is_null() || res_len.is_null() {
        return Err(FfiError::InvalidArgument("res_ptr and res_len must not be null".into()));
    }
    let bytes = match (data.is_null(), len) {
        (_, 0) => &[][..],
        (true, _) => return Err(FfiError::InvalidArgument(format!("data is null but len is {len}"))),
        (false, _) => std::slice::from_raw_parts(data, len),
    };
    let response = requests::handle(bytes)?;
    let encoded: Box<[u8]> = FfiResponse { message: Some(response) }.encode_to_vec().into_boxed_slice();
    *res_ptr = encoded.as_ptr();
    *res_len = encoded.len();
    Ok(server().handles.insert(FfiHandle::Buffer(encoded)))
}

/// Failed requests are logged at error level, so SDKs that only see handle 0 (Python) still
/// show the reason. Not initialized: there is nobody to send a log event to.
fn report(error: &FfiError) {
    match error {
        FfiError::NotInitialized | FfiError::Disposed => {}
        _ => logger::error_now("livekit_ffi::request", format!("request failed: {error}")),
    }
}

/// Drops a handle the library gave out. Returns false if the id is unknown (never given, or
/// already dropped or consumed). Dropping a room's handle leaves the room.
#[no_mangle]
pub extern "C" fn livekit_ffi_drop_handle(handle: u64) -> bool {
    let outcome = catch_unwind(|| match server().handles.remove(handle) {
        Some(FfiHandle::Room(room)) => {
            requests::room::leave_in_background(room);
            true
        }
        Some(_) => true,
        None => false,
    });
    outcome.unwrap_or_else(|panic| {
        eprintln!("livekit_ffi_drop_handle failed: {}", panic_message(&*panic));
        false
    })
}

/// Leaves every room, forgets every handle and stops the callback: no event arrives after it
/// returns. `livekit_ffi_initialize` starts the library again.
#[no_mangle]
pub extern "C" fn livekit_ffi_dispose() {
    if let Err(panic) = catch_unwind(|| server().dispose()) {
        eprintln!("livekit_ffi_dispose failed: {}", panic_message(&*panic));
    }
}

/// Why this thread's last `livekit_ffi_request` failed (`LK_FFI_OK` if it succeeded). Copies the
/// message, NUL-terminated and cut to `capacity`, into `message` unless it is null, and returns
/// the code. Not part of the official protocol: an addition for C and C++ callers.
///
/// # Safety
/// `message` is null or points to `capacity` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn livekit_ffi_last_error(message: *mut c_char, capacity: usize) -> LkFfiErrorCode {
    let (code, text) = last_error();
    if !message.is_null() && capacity > 0 {
        let len = text.len().min(capacity - 1);
        std::ptr::copy_nonoverlapping(text.as_ptr(), message.cast::<u8>(), len);
        *message.add(len) = 0;
    }
    code
}
