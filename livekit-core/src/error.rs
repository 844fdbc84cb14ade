//! The one error type of the core. Each variant is something a caller can act on; bindings map
//! the variants to their own exception types once.

use std::time::Duration;

/// The result of the core's fallible calls: `Error` unless another error type is named.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a call of the core failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The token was refused (bad signature, expired, other room, missing grant to join).
    #[error("unauthorized: {reason}")]
    Unauthorized {
        /// Why: the server's message, or what is wrong with the token.
        reason: String,
    },

    /// The token lacks a grant the call needs; the message names the grant.
    #[error("not allowed: {0}")]
    NotAllowed(String),

    /// A value is larger than the server or the protocol accepts.
    #[error("{what} is {actual} bytes, over the limit of {limit} bytes")]
    LimitExceeded {
        /// What was too large (the payload, the attributes...).
        what: String,
        /// The largest size accepted, in bytes.
        limit: usize,
        /// The size given, in bytes.
        actual: usize,
    },

    /// The caller passed something malformed (URL, identity, empty key...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The server could not be reached or the connection broke.
    #[error("connection failed: {0}")]
    Connection(String),

    /// An operation did not finish in time.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long it was waited for.
        after: Duration,
    },

    /// The room is disconnected: the call came after `disconnect()` or after the server closed it.
    #[error("the room is disconnected")]
    Disconnected,

    /// A data stream failed: the sender aborted it or left, or its data was inconsistent.
    #[error("data stream: {0}")]
    Stream(String),

    /// The server answered a request with an error this enum has no better variant for.
    #[error("the server refused the request: {0}")]
    Server(String),

    /// A fault inside the client or the WebRTC stack.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn timeout(what: impl Into<String>, after: Duration) -> Self {
        Error::Timeout { what: what.into(), after }
    }

    pub(crate) fn internal(err: impl std::fmt::Display) -> Self {
        Error::Internal(err.to_string())
    }
}
