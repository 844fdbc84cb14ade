//! The answer path of an incoming RPC call: the Python layer runs the user's handler and gives
//! its result (or error) to the `RpcResponder` the call arrived with.

use livekit_core::data::{RpcError, RpcErrorCode};
use parking_lot::Mutex;
use pyo3::prelude::*;
use tokio::sync::oneshot;

type Answer = Result<String, RpcError>;

#[pyclass(frozen, module = "livekit_core._native")]
pub struct RpcResponder {
    answer: Mutex<Option<oneshot::Sender<Answer>>>,
}

impl RpcResponder {
    pub fn new(answer: oneshot::Sender<Answer>) -> Self {
        Self { answer: Mutex::new(Some(answer)) }
    }

    fn send(&self, answer: Answer) {
        // A second answer, or one after the caller gave up, has nobody to go to.
        if let Some(sender) = self.answer.lock().take() {
            let _ = sender.send(answer);
        }
    }
}

#[pymethods]
impl RpcResponder {
    fn respond(&self, payload: String) {
        self.send(Ok(payload));
    }

    /// An error with the caller-visible code, message and data (an `RpcError` raised by the
    /// handler, or 1500 application error for anything else).
    #[pyo3(signature = (code, message, data=None))]
    fn fail(&self, code: u32, message: String, data: Option<String>) {
        self.send(Err(RpcError::new(code, message, data)));
    }

    /// The handler raised something that is not an `RpcError`.
    fn fail_application(&self) {
        self.send(Err(RpcError::built_in(RpcErrorCode::ApplicationError, None)));
    }
}
