//! The core's error enum mapped, once, to the exception classes of `livekit_core.errors`
//! (one per variant under `LiveKitError`), and RPC errors to `livekit_core.rtc.RpcError`.

use livekit_core::data::RpcError as CoreRpcError;
use livekit_core::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

macro_rules! class {
    ($py:expr, $module:literal, $name:literal) => {{
        static CELL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        CELL.import($py, $module, $name)
    }};
}

/// Converts a core error to the matching Python exception, message included.
pub fn to_py(err: Error) -> PyErr {
    Python::attach(|py| {
        let message = err.to_string();
        let class = match &err {
            Error::Unauthorized { .. } => class!(py, "livekit_core.errors", "UnauthorizedError"),
            Error::NotAllowed(_) => class!(py, "livekit_core.errors", "NotAllowedError"),
            Error::LimitExceeded { .. } => class!(py, "livekit_core.errors", "LimitExceededError"),
            Error::InvalidArgument(_) => class!(py, "livekit_core.errors", "InvalidArgumentError"),
            Error::Connection(_) => class!(py, "livekit_core.errors", "ConnectionFailedError"),
            Error::Timeout { .. } => class!(py, "livekit_core.errors", "RequestTimeoutError"),
            Error::Disconnected => class!(py, "livekit_core.errors", "DisconnectedError"),
            Error::Stream(_) => class!(py, "livekit_core.errors", "StreamError"),
            Error::Server(_) => class!(py, "livekit_core.errors", "ServerError"),
            _ => class!(py, "livekit_core.errors", "InternalError"),
        };
        match class {
            Ok(class) => PyErr::from_type(class.clone(), message),
            Err(import_failed) => import_failed,
        }
    })
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
    Python::attach(|py| match class!(py, "livekit_core.rtc.rpc", "RpcError") {
        Ok(class) => PyErr::from_type(class.clone(), (err.code, err.message, err.data)),
        Err(import_failed) => import_failed,
    })
}
