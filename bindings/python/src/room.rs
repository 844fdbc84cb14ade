//! `NativeRoom`: one connected core room, the merged event channel the Python listen task drains,
//! the handler registrations (streams, RPC) that feed that same channel, and simulated faults.

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::time::Duration;

use livekit_core::data::RpcError;
use livekit_core::room::SimulateScenario;
use livekit_core::{PeerConnectionMode, Room, RoomOptions};
use pyo3::exceptions::{PyNotImplementedError, PyValueError};
use pyo3::prelude::*;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::errors::IntoPyResult;
use crate::events::{self, NativeEvent};
use crate::participant::NativeParticipant;
use crate::rpc::RpcResponder;
use crate::runtime::{self, awaitable, Lazy};

/// At most this many events cross into Python per wake-up of the listen task.
const MAX_BATCH: usize = 512;

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeRoom {
    room: ManuallyDrop<Room>,
    sender: mpsc::UnboundedSender<NativeEvent>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<NativeEvent>>>,
}

impl Drop for NativeRoom {
    fn drop(&mut self) {
        // The core leaves the room from a task when its last handle drops; give it the runtime.
        let _guard = runtime::enter();
        // SAFETY: `room` is not used after this point; this is the only place it is dropped.
        unsafe { ManuallyDrop::drop(&mut self.room) };
    }
}

/// `connect(url, token, auto_subscribe, connect_timeout, reconnect_max_attempts,
/// single_peer_connection)`: an awaitable of a `NativeRoom`. `None` keeps the core's default for
/// the timeout and the attempts; `single_peer_connection=False` always uses two connections.
#[pyfunction]
#[pyo3(signature = (
    url, token, auto_subscribe=true, connect_timeout=None, reconnect_max_attempts=None, single_peer_connection=true
))]
pub fn connect<'py>(
    py: Python<'py>,
    url: String,
    token: String,
    auto_subscribe: bool,
    connect_timeout: Option<f64>,
    reconnect_max_attempts: Option<u32>,
    single_peer_connection: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let peer_connection_mode = if single_peer_connection { PeerConnectionMode::Auto } else { PeerConnectionMode::Dual };
    let mut options = RoomOptions { auto_subscribe, peer_connection_mode, ..RoomOptions::default() };
    if let Some(max_attempts) = reconnect_max_attempts {
        options.reconnect_policy.max_attempts = max_attempts;
    }
    if let Some(secs) = connect_timeout {
        options.connect_timeout = Duration::try_from_secs_f64(secs).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err("connect_timeout must be a positive number of seconds")
        })?;
    }
    awaitable(py, async move {
        let (room, mut core_events) = Room::connect(&url, &token, options).await.py()?;
        let (sender, receiver) = mpsc::unbounded_channel();
        let forward = sender.clone();
        livekit_core::tasks::spawn(async move {
            while let Some(event) = core_events.recv().await {
                if forward.send(NativeEvent::Room(event)).is_err() {
                    return;
                }
            }
        });
        Ok(NativeRoom { room: ManuallyDrop::new(room), sender, receiver: Arc::new(Mutex::new(receiver)) })
    })
}

#[pymethods]
impl NativeRoom {
    /// Waits for the next events and returns them as a list of tuples, or `None` once closed.
    fn next_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let receiver = self.receiver.clone();
        awaitable(py, async move {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else { return Ok(None) };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            Ok(Some(Lazy::new(move |py| events::to_py_list(py, batch))))
        })
    }

    fn disconnect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let room = (*self.room).clone();
        awaitable(py, async move { room.disconnect().await.py() })
    }

    #[getter]
    fn sid(&self) -> String {
        self.room.sid()
    }

    #[getter]
    fn name(&self) -> String {
        self.room.name()
    }

    #[getter]
    fn metadata(&self) -> String {
        self.room.metadata()
    }

    #[getter]
    fn connected(&self) -> bool {
        self.room.connection_state() == livekit_core::ConnectionState::Connected
    }

    /// Causes a fault for tests of reconnection; `kind` is a `SimulateScenarioKind` number.
    fn simulate_scenario<'py>(&self, py: Python<'py>, kind: i32) -> PyResult<Bound<'py, PyAny>> {
        let scenario = simulate_scenario(kind)?;
        let room = (*self.room).clone();
        awaitable(py, async move { room.simulate_scenario(scenario).await.py() })
    }

    fn local_participant(&self) -> NativeParticipant {
        NativeParticipant::new(livekit_core::Participant::Local(self.room.local_participant()))
    }

    fn remote_participants(&self) -> Vec<NativeParticipant> {
        self.room
            .remote_participants()
            .into_values()
            .map(|p| NativeParticipant::new(livekit_core::Participant::Remote(p)))
            .collect()
    }

    fn set_session_metadata<'py>(&self, py: Python<'py>, value: String) -> PyResult<Bound<'py, PyAny>> {
        let room = (*self.room).clone();
        awaitable(py, async move { room.set_session_metadata(&value).await.py() })
    }

    /// Streams on `topic` arrive as `("byte_stream", reader, sender_identity)` events.
    fn register_byte_stream_handler(&self, topic: &str) -> PyResult<()> {
        let sender = self.sender.clone();
        self.room
            .register_byte_stream_handler(topic, move |reader, identity| {
                let _ = sender.send(NativeEvent::ByteStream(reader, identity));
            })
            .py()
    }

    fn register_text_stream_handler(&self, topic: &str) -> PyResult<()> {
        let sender = self.sender.clone();
        self.room
            .register_text_stream_handler(topic, move |reader, identity| {
                let _ = sender.send(NativeEvent::TextStream(reader, identity));
            })
            .py()
    }

    fn unregister_byte_stream_handler(&self, topic: &str) {
        self.room.unregister_byte_stream_handler(topic);
    }

    fn unregister_text_stream_handler(&self, topic: &str) {
        self.room.unregister_text_stream_handler(topic);
    }

    /// Calls of `method` arrive as `("rpc", responder, method, request_id, caller, payload,
    /// response_timeout)` events; the caller gets what the responder is given.
    fn register_rpc_method(&self, method: String) {
        let sender = self.sender.clone();
        let name = method.clone();
        self.room.local_participant().register_rpc_method(method, move |data| {
            let (answer, answered) = oneshot::channel();
            let event = NativeEvent::Rpc { method: name.clone(), data, responder: RpcResponder::new(answer) };
            let delivered = sender.send(event).is_ok();
            Box::pin(async move {
                if !delivered {
                    return Err(RpcError::built_in(livekit_core::data::RpcErrorCode::RecipientDisconnected, None));
                }
                answered.await.unwrap_or_else(|_| {
                    Err(RpcError::built_in(livekit_core::data::RpcErrorCode::ApplicationError, None))
                })
            })
        });
    }

    fn unregister_rpc_method(&self, method: &str) {
        self.room.local_participant().unregister_rpc_method(method);
    }
}

/// How long the server reports us speaking for `SIMULATE_SPEAKER` (as the official library).
const SPEAKER_SECONDS: i32 = 3;

/// The core's scenario for a `SimulateScenarioKind` number (the official SDK's numbering).
fn simulate_scenario(kind: i32) -> PyResult<SimulateScenario> {
    Ok(match kind {
        0 => SimulateScenario::SignalReconnect,
        1 => SimulateScenario::Speaker { seconds: SPEAKER_SECONDS },
        2 => SimulateScenario::NodeFailure,
        3 => SimulateScenario::ServerLeave,
        4 => SimulateScenario::Migration,
        5 | 6 => {
            let name = if kind == 5 { "SIMULATE_FORCE_TCP" } else { "SIMULATE_FORCE_TLS" };
            return Err(PyNotImplementedError::new_err(format!(
                "{name} is not implemented by livekit-core (it has no ICE candidate protocol switch)"
            )));
        }
        7 => SimulateScenario::FullReconnect,
        8 => SimulateScenario::DisconnectSignalOnResume,
        _ => return Err(PyValueError::new_err(format!("{kind} is not a SimulateScenarioKind"))),
    })
}
