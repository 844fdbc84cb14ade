//! The errors Kotlin and Swift see: one enum mirroring the core's `Error` variant for variant
//! (Kotlin `LiveKitException.NotAllowed`, Swift `throws LiveKitError.NotAllowed`), and the
//! RPC error with the official codes. Translated here once; no other file builds them.

use livekit_core::data::RpcError as CoreRpcError;
use livekit_core::Error;

/// What went wrong, one variant per thing a caller can act on (see the core's `Error`).
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum LiveKitError {
    #[error("unauthorized: {reason}")]
    Unauthorized { reason: String },
    #[error("not allowed: {reason}")]
    NotAllowed { reason: String },
    #[error("{what} is {actual} bytes, over the limit of {limit} bytes")]
    LimitExceeded { what: String, limit: u64, actual: u64 },
    #[error("invalid argument: {reason}")]
    InvalidArgument { reason: String },
    #[error("connection failed: {reason}")]
    Connection { reason: String },
    #[error("{what} timed out after {after_ms} ms")]
    Timeout { what: String, after_ms: u64 },
    #[error("the room is disconnected")]
    Disconnected,
    #[error("data stream: {reason}")]
    Stream { reason: String },
    #[error("the server refused the request: {reason}")]
    Server { reason: String },
    /// A fault inside the client, or a foreign callback that failed unexpectedly.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl From<Error> for LiveKitError {
    fn from(err: Error) -> Self {
        match err {
            Error::Unauthorized { reason } => Self::Unauthorized { reason },
            Error::NotAllowed(reason) => Self::NotAllowed { reason },
            Error::LimitExceeded { what, limit, actual } => {
                Self::LimitExceeded { what, limit: limit as u64, actual: actual as u64 }
            }
            Error::InvalidArgument(reason) => Self::InvalidArgument { reason },
            Error::Connection(reason) => Self::Connection { reason },
            Error::Timeout { what, after } => Self::Timeout { what, after_ms: after.as_millis() as u64 },
            Error::Disconnected => Self::Disconnected,
            Error::Stream(reason) => Self::Stream { reason },
            Error::Server(reason) => Self::Server { reason },
            Error::Internal(reason) => Self::Internal { reason },
            // The core's enum is non-exhaustive: a variant added later still crosses, typed.
            other => Self::Internal { reason: other.to_string() },
        }
    }
}

impl From<livekit_core::data::StreamError> for LiveKitError {
    fn from(err: livekit_core::data::StreamError) -> Self {
        Error::from(err).into()
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for LiveKitError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Internal { reason: format!("a foreign callback failed: {}", err.reason) }
    }
}

/// An RPC failure: a built-in code (1400 unsupported method, 1401 recipient not found, 1402
/// request too large, 1500 application error, 1501 connection timeout, 1502 response timeout,
/// 1503 recipient disconnected...) or the callee's own code. Handlers throw it to answer with
/// an error; any other failure of a handler reaches the caller as 1500.
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum RpcError {
    #[error("RPC error {code}: {reason}")]
    Failed { code: u32, reason: String, data: Option<String> },
}

impl From<CoreRpcError> for RpcError {
    fn from(err: CoreRpcError) -> Self {
        Self::Failed { code: err.code, reason: err.message, data: err.data }
    }
}

impl From<RpcError> for CoreRpcError {
    fn from(err: RpcError) -> Self {
        let RpcError::Failed { code, reason, data } = err;
        CoreRpcError::new(code, reason, data)
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for RpcError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let code = livekit_core::data::RpcErrorCode::ApplicationError as u32;
        Self::Failed { code, reason: "the handler failed".into(), data: Some(err.reason) }
    }
}

pub type Result<T, E = LiveKitError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn core_errors_keep_their_variant_and_fields() {
        let limit = Error::LimitExceeded { what: "the metadata".into(), limit: 10, actual: 11 };
        assert!(matches!(
            LiveKitError::from(limit),
            LiveKitError::LimitExceeded { what, limit: 10, actual: 11 } if what == "the metadata"
        ));
        let timeout = Error::Timeout { what: "join".into(), after: Duration::from_millis(1500) };
        assert!(matches!(LiveKitError::from(timeout), LiveKitError::Timeout { after_ms: 1500, .. }));
        assert!(matches!(LiveKitError::from(Error::Disconnected), LiveKitError::Disconnected));
        let denied = LiveKitError::from(Error::NotAllowed("needs canUpdateOwnMetadata".into()));
        assert_eq!(denied.to_string(), "not allowed: needs canUpdateOwnMetadata");
    }

    #[test]
    fn rpc_errors_cross_both_ways_with_code_and_data() {
        let ours = RpcError::Failed { code: 4001, reason: "no seats".into(), data: Some("row 3".into()) };
        let core = CoreRpcError::from(ours);
        assert_eq!((core.code, core.message.as_str(), core.data.as_deref()), (4001, "no seats", Some("row 3")));
        let RpcError::Failed { code, reason, data } = RpcError::from(core);
        assert_eq!((code, reason.as_str(), data.as_deref()), (4001, "no seats", Some("row 3")));
    }
}
