//! The one tokio runtime every room of the process shares, and the bridge from Rust futures to
//! asyncio awaitables resolved on the caller's running loop.

use std::future::Future;

use pyo3::prelude::*;

/// Runs `fut` on the shared tokio runtime and returns an awaitable for the calling loop.
pub fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, fut)
}

/// Enters the runtime so that drops which spawn cleanup tasks (a room leaving) find it.
pub fn enter() -> tokio::runtime::EnterGuard<'static> {
    pyo3_async_runtimes::tokio::get_runtime().enter()
}
