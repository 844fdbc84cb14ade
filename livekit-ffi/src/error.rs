//! Why a request failed, as a typed error for Rust and a code plus message for C
//! (`livekit_ffi_last_error`). The official protocol itself only knows "handle 0"; the code and
//! message are extra, for C/C++ users and logs.

use std::cell::RefCell;

/// What went wrong with a request, as C sees it. `LK_FFI_OK` means the last request succeeded.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LkFfiErrorCode {
    LkFfiOk = 0,
    /// `livekit_ffi_initialize` was not called yet.
    LkFfiNotInitialized = 1,
    /// `livekit_ffi_dispose` was called; initialize again to go on.
    LkFfiDisposed = 2,
    /// The bytes are not a valid `FfiRequest` (bad protobuf, invalid UTF-8 in a string...).
    LkFfiMalformedRequest = 3,
    /// The request names no operation.
    LkFfiEmptyRequest = 4,
    /// A handle id the library does not know (never given, dropped or consumed).
    LkFfiUnknownHandle = 5,
    /// A handle of another kind than the request needs (a room where a participant is expected).
    LkFfiWrongHandleType = 6,
    /// A field value the library refuses (a null data pointer, an unknown invocation id...).
    LkFfiInvalidArgument = 7,
    /// A request of the official protocol that livekit-core does not implement yet.
    LkFfiNotImplemented = 8,
    /// A bug in the library, caught before it crossed the C ABI.
    LkFfiInternal = 9,
}

#[derive(Debug, thiserror::Error)]
pub enum FfiError {
    #[error("livekit_ffi_initialize has not been called")]
    NotInitialized,
    #[error("livekit_ffi_dispose was called; call livekit_ffi_initialize again first")]
    Disposed,
    #[error("the request is not a valid FfiRequest: {0}")]
    Malformed(#[from] prost::DecodeError),
    #[error("the request is empty: it names no operation")]
    Empty,
    #[error("unknown handle {0}: it was never given out, or was dropped or consumed")]
    UnknownHandle(u64),
    #[error("handle {id} is a {actual}, but the request needs a {expected}")]
    WrongHandleType { id: u64, expected: &'static str, actual: &'static str },
    #[error("{0}")]
    InvalidArgument(String),
    #[error("request `{name}` (FfiRequest field {number}) is not implemented by livekit-core yet{why}")]
    NotImplemented { name: &'static str, number: u32, why: &'static str },
    #[error("internal error: {0}")]
    Internal(String),
}

impl FfiError {
    pub fn code(&self) -> LkFfiErrorCode {
        match self {
            Self::NotInitialized => LkFfiErrorCode::LkFfiNotInitialized,
            Self::Disposed => LkFfiErrorCode::LkFfiDisposed,
            Self::Malformed(_) => LkFfiErrorCode::LkFfiMalformedRequest,
            Self::Empty => LkFfiErrorCode::LkFfiEmptyRequest,
            Self::UnknownHandle(_) => LkFfiErrorCode::LkFfiUnknownHandle,
            Self::WrongHandleType { .. } => LkFfiErrorCode::LkFfiWrongHandleType,
            Self::InvalidArgument(_) => LkFfiErrorCode::LkFfiInvalidArgument,
            Self::NotImplemented { .. } => LkFfiErrorCode::LkFfiNotImplemented,
            Self::Internal(_) => LkFfiErrorCode::LkFfiInternal,
        }
    }
}

pub type FfiResult<T> = Result<T, FfiError>;

thread_local! {
    static LAST_ERROR: RefCell<(LkFfiErrorCode, String)> = const { RefCell::new((LkFfiErrorCode::LkFfiOk, String::new())) };
}

/// Remembers the outcome of this thread's last request, for `livekit_ffi_last_error`.
pub fn set_last_error(error: Option<&FfiError>) {
    LAST_ERROR.with(|last| {
        let mut last = last.borrow_mut();
        match error {
            None => {
                last.0 = LkFfiErrorCode::LkFfiOk;
                last.1.clear();
            }
            Some(error) => *last = (error.code(), error.to_string()),
        }
    });
}

pub fn last_error() -> (LkFfiErrorCode, String) {
    LAST_ERROR.with(|last| last.borrow().clone())
}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".to_string()
    }
}
