//! Delivery of `FfiEvent`s through the client's callback.
//!
//! Events come from the runtime's worker threads, several at once. `disable` (dispose) must
//! guarantee that no callback runs after it returns, so each delivery counts itself in flight
//! before it reads the callback, and `disable` waits for the count to drain.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;
use prost::Message;

use crate::proto::{ffi_event, FfiEvent};

/// The client's event callback: one serialized `FfiEvent`, valid only during the call.
pub type FfiCallback = unsafe extern "C" fn(data: *const u8, len: usize);

static CALLBACK: RwLock<Option<FfiCallback>> = RwLock::new(None);
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set while this thread is inside the client's callback (a callback may call dispose).
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

pub fn enable(callback: FfiCallback) {
    *CALLBACK.write() = Some(callback);
}

/// Stops delivery; returns once no other thread is inside the callback any more.
pub fn disable() {
    *CALLBACK.write() = None;
    let own = usize::from(IN_CALLBACK.with(Cell::get));
    while IN_FLIGHT.load(Ordering::SeqCst) > own {
        std::thread::yield_now();
    }
}

/// Encodes and delivers one event; dropped silently when no callback is set (before
/// initialize or after dispose, where nobody listens).
pub fn send(message: ffi_event::Message) {
    let bytes = FfiEvent { message: Some(message) }.encode_to_vec();
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    let callback = *CALLBACK.read();
    if let Some(callback) = callback {
        IN_CALLBACK.with(|flag| flag.set(true));
        // SAFETY: the client gave this function pointer to livekit_ffi_initialize and promised
        // it can be called from any thread; the bytes live until it returns.
        unsafe { callback(bytes.as_ptr(), bytes.len()) };
        IN_CALLBACK.with(|flag| flag.set(false));
    }
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
}
