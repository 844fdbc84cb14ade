//! The library's global state: the runtime, the handle table, the lifecycle (initialize,
//! dispose) and the pending answers to incoming RPC calls.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use livekit_core::data::RpcError;
use parking_lot::Mutex;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::error::{panic_message, FfiError, FfiResult};
use crate::events::{self, FfiCallback};
use crate::handles::HandleTable;
use crate::logger;
use crate::proto::ffi_event;

/// An async request's future, boxed (see `Server::spawn_boxed_callback`).
type BoxedRequest = Pin<Box<dyn Future<Output = Option<ffi_event::Message>> + Send>>;
/// What builds a request's callback when it panicked.
type PanicCallback = Box<dyn FnOnce(u64, String) -> ffi_event::Message + Send>;

/// How long dispose waits for the rooms to leave before it returns anyway.
const DISPOSE_TIMEOUT: Duration = Duration::from_secs(5);

const NEVER_INITIALIZED: u8 = 0;
const INITIALIZED: u8 = 1;
const DISPOSED: u8 = 2;

pub struct FfiServer {
    pub handles: HandleTable,
    runtime: OnceLock<Runtime>,
    lifecycle: AtomicU8,
    /// The SDK name and version the client gave to initialize.
    pub client_sdk: Mutex<(String, String)>,
    /// Incoming RPC calls waiting for the client's answer, by invocation id.
    pub rpc_answers: Mutex<HashMap<u64, oneshot::Sender<Result<String, RpcError>>>>,
}

static SERVER: LazyLock<FfiServer> = LazyLock::new(|| FfiServer {
    handles: HandleTable::default(),
    runtime: OnceLock::new(),
    lifecycle: AtomicU8::new(NEVER_INITIALIZED),
    client_sdk: Mutex::new((String::new(), String::new())),
    rpc_answers: Mutex::new(HashMap::new()),
});

pub fn server() -> &'static FfiServer {
    &SERVER
}

impl FfiServer {
    pub fn runtime(&self) -> &Runtime {
        self.runtime.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("livekit-ffi")
                .build()
                .expect("the tokio runtime starts")
        })
    }

    /// Sets the callback and log capture; may be called again (the last call wins).
    pub fn initialize(&self, callback: Option<FfiCallback>, capture_logs: bool, sdk: String, sdk_version: String) {
        match callback {
            Some(callback) => events::enable(callback),
            None => events::disable(),
        }
        logger::init(capture_logs, self.runtime());
        *self.client_sdk.lock() = (sdk, sdk_version);
        self.lifecycle.store(INITIALIZED, Ordering::SeqCst);
        log::info!("livekit-core ffi {} initialized", env!("CARGO_PKG_VERSION"));
    }

    pub fn ensure_initialized(&self) -> FfiResult<()> {
        match self.lifecycle.load(Ordering::SeqCst) {
            INITIALIZED => Ok(()),
            DISPOSED => Err(FfiError::Disposed),
            _ => Err(FfiError::NotInitialized),
        }
    }

    /// Stops every event, leaves every room and forgets every handle. Returns when the rooms
    /// left or after a few seconds; no callback runs after it returns.
    pub fn dispose(&self) {
        self.lifecycle.store(DISPOSED, Ordering::SeqCst);
        events::disable();
        logger::stop_capture();
        self.rpc_answers.lock().clear();
        self.close_rooms_and_wait();
    }

    /// Leaves every room and forgets every handle, waiting at most `DISPOSE_TIMEOUT`.
    pub fn close_rooms_and_wait(&self) {
        let rooms = self.handles.clear();
        if rooms.is_empty() {
            return;
        }
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        self.spawn(async move {
            for room in rooms {
                room.room.disconnect().await.ok();
            }
            let _ = done_tx.send(());
        });
        // A plain channel, not block_on: dispose may be called from one of the runtime's threads.
        let _ = done_rx.recv_timeout(DISPOSE_TIMEOUT);
    }

    /// The async id of a request: the client's own if it set one, otherwise a fresh one.
    pub fn async_id(&self, requested: Option<u64>) -> u64 {
        requested.filter(|id| *id != 0).unwrap_or_else(|| self.handles.next_id())
    }

    /// Runs a task on the library's runtime, through livekit-core's one boxed task type.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> tokio::task::JoinHandle<()> {
        livekit_core::tasks::spawn_on(self.runtime().handle(), task)
    }

    /// Like `spawn_callback`, for a request whose future sends its own callback on success (to
    /// do something right after it) and yields only a failure's callback.
    pub fn spawn_optional_callback<F, P>(&self, async_id: u64, future: F, on_panic: P)
    where
        F: Future<Output = Option<ffi_event::Message>> + Send + 'static,
        P: FnOnce(u64, String) -> ffi_event::Message + Send + 'static,
    {
        self.spawn_boxed_callback(async_id, Box::pin(future), Box::new(on_panic));
    }

    /// The one compiled copy of the callback task: generic, it would be compiled again for
    /// every request type (its panic catching and tokio's task code with it).
    fn spawn_boxed_callback(&self, async_id: u64, future: BoxedRequest, on_panic: PanicCallback) {
        self.spawn(async move {
            let message = match AssertUnwindSafe(future).catch_unwind().await {
                Ok(message) => message,
                Err(panic) => {
                    let message = panic_message(&*panic);
                    log::error!("async request {async_id} failed inside the library: {message}");
                    Some(on_panic(async_id, format!("internal error in livekit-core: {message}")))
                }
            };
            if let Some(message) = message {
                events::send(message);
            }
        });
    }

    /// Runs an async request; its future yields the callback event, which is sent when it is
    /// done. A panic inside becomes the callback `on_panic` builds, so the client always gets
    /// exactly one callback.
    pub fn spawn_callback<F, P>(&self, async_id: u64, future: F, on_panic: P)
    where
        F: Future<Output = ffi_event::Message> + Send + 'static,
        P: FnOnce(u64, String) -> ffi_event::Message + Send + 'static,
    {
        self.spawn_optional_callback(async_id, async move { Some(future.await) }, on_panic);
    }
}
