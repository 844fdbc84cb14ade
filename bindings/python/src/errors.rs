//! The core's error enum mapped, once, to the exception classes of `livekit_core.errors`
//! (one per variant under `LiveKitError`), and RPC errors to `livekit_core.rtc.RpcError`.
//! The errors are built lazily, so tokio threads create them without the GIL.

use livekit_core::data::RpcError as CoreRpcError;
use livekit_core::Error;
use pyo3::prelude::*;

mod classes {
    pyo3::import_exception!(livekit_core.errors, UnauthorizedError);
    pyo3::import_exception!(livekit_core.errors, NotAllowedError);
    pyo3::import_exception!(livekit_core.errors, LimitExceededError);
    pyo3::import_exception!(livekit_core.errors, InvalidArgumentError);
    pyo3::import_exception!(livekit_core.errors, ConnectionFailedError);
    pyo3::import_exception!(livekit_core.errors, RequestTimeoutError);
    pyo3::import_exception!(livekit_core.errors, DisconnectedError);
    pyo3::import_exception!(livekit_core.errors, StreamError);
    pyo3::import_exception!(livekit_core.errors, ServerError);
    pyo3::import_exception!(livekit_core.errors, InternalError);
    pyo3::import_exception!(livekit_core.rtc.rpc, RpcError);
}

/// Converts a core error to the matching Python exception, message included.
pub fn to_py(err: Error) -> PyErr {
    use classes::*;
    let message = err.to_string();
    match err {
        Error::Unauthorized { .. } => UnauthorizedError::new_err(message),
        Error::NotAllowed(_) => NotAllowedError::new_err(message),
        Error::LimitExceeded { .. } => LimitExceededError::new_err(message),
        Error::InvalidArgument(_) => InvalidArgumentError::new_err(message),
        Error::Connection(_) => ConnectionFailedError::new_err(message),
        Error::Timeout { .. } => RequestTimeoutError::new_err(message),
        Error::Disconnected => DisconnectedError::new_err(message),
        Error::Stream(_) => StreamError::new_err(message),
        Error::Server(_) => ServerError::new_err(message),
        _ => InternalError::new_err(message),
    }
}

pub trait IntoPyResult<T> {
    fn py(self) -> PyResult<T>;
}

impl<T, E: Into<Error>> IntoPyResult<T> for Result<T, E> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| to_py(e.into()))
    }
}

/// An RPC failure as `livekit_core.rtc.RpcError(code, message, data)`.
pub fn rpc_to_py(err: CoreRpcError) -> PyErr {
    classes::RpcError::new_err((err.code, err.message, err.data))
}
