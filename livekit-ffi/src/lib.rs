//! livekit-ffi: livekit-core behind the official livekit-ffi protocol.
//!
//! A client sends serialized `FfiRequest`s through `livekit_ffi_request` and gets an
//! `FfiResponse` back at once; long operations answer later through the event callback, as do
//! room events and logs. The messages, their field numbers and the flows match the official
//! library, so SDKs built on it (the official Python SDK) can load this one instead. See
//! docs/ffi-protocol.md for the protocol and what is not implemented yet.

mod cabi;
mod error;
mod events;
mod handles;
mod logger;
mod requests;
mod server;

/// The protocol's messages, generated from `proto/*.proto`.
#[allow(clippy::large_enum_variant)] // generated: the official schema's shapes, kept as they are
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/livekit.proto.rs"));
}

pub use cabi::{
    livekit_ffi_dispose, livekit_ffi_drop_handle, livekit_ffi_initialize, livekit_ffi_last_error, livekit_ffi_request,
    LkFfiCallback, INVALID_HANDLE,
};
pub use error::LkFfiErrorCode;
pub use requests::fuzz_must_skip;
