//! The one tokio runtime every room of the process shares, and the bridge from Rust futures to
//! asyncio futures on the caller's running loop.
//!
//! Tokio threads take the GIL only here, to hand a result to the loop, and never once the
//! interpreter is shutting down: a thread that asks for the GIL during finalization is ended
//! with a forced unwind, which aborts the process when it crosses Rust frames. An `atexit` hook
//! closes that door and waits for the threads already through it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static EXITING: AtomicBool = AtomicBool::new(false);
static DELIVERING: AtomicUsize = AtomicUsize::new(0);

fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("livekit-core")
            .build()
            .expect("the tokio runtime could not start (out of threads or memory?)")
    })
}

/// Enters the runtime so that drops which spawn cleanup tasks (a room leaving) find it.
pub fn enter() -> tokio::runtime::EnterGuard<'static> {
    runtime().enter()
}

/// A value converted to Python on the loop's side of the bridge, for results that need the
/// GIL to build (lists of events, dicts).
type Convert = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send>;

pub struct Lazy(Convert);

impl Lazy {
    pub fn new(convert: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send + 'static) -> Self {
        Self(Box::new(convert))
    }
}

impl<'py> IntoPyObject<'py> for Lazy {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (self.0)(py)
    }
}

/// Runs `fut` on the shared runtime; returns an asyncio future of the running loop that gets
/// its result (or exception). Cancelling the asyncio future discards the result.
pub fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let future = event_loop.call_method0("create_future")?;
    let target = (event_loop.unbind(), future.clone().unbind());
    // Through livekit-core's boxed task type: one copy of tokio's task code for every method.
    livekit_core::tasks::spawn_on(runtime().handle(), async move {
        let result = fut.await;
        deliver(target, result);
    });
    Ok(future)
}

/// As [`awaitable`], but polls `fut` once on the calling thread first (in the runtime's
/// context, GIL held): a call that completes at once, such as a capture that finds room in the
/// queue, returns an asyncio future that is already done, without the hop to a tokio thread and
/// back through the GIL. Only for futures whose first poll is short and never blocks.
pub fn awaitable_eager<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    use futures_util::FutureExt;
    let mut fut = Box::pin(fut);
    let first_poll = {
        let _context = runtime().enter();
        fut.as_mut().now_or_never()
    };
    let Some(result) = first_poll else { return awaitable(py, fut) };
    let future = py.import("asyncio")?.call_method0("get_running_loop")?.call_method0("create_future")?;
    match result.and_then(|value| pyo3::IntoPyObjectExt::into_bound_py_any(value, py)) {
        Ok(value) => future.call_method1("set_result", (value,))?,
        Err(err) => future.call_method1("set_exception", (err.into_value(py),))?,
    };
    Ok(future)
}

fn deliver<T: for<'a> IntoPyObject<'a>>(target: (Py<PyAny>, Py<PyAny>), result: PyResult<T>) {
    DELIVERING.fetch_add(1, Ordering::SeqCst);
    if EXITING.load(Ordering::SeqCst) {
        DELIVERING.fetch_sub(1, Ordering::SeqCst);
        // Nobody waits any more; touching Python objects now could abort the process.
        std::mem::forget((target, result));
        return;
    }
    Python::attach(|py| {
        let (event_loop, future) = target;
        let (ok, value) = match result.and_then(|v| pyo3::IntoPyObjectExt::into_bound_py_any(v, py)) {
            Ok(value) => (true, value),
            Err(err) => (false, err.into_value(py).into_bound(py).into_any()),
        };
        let resolved = resolver(py).and_then(|resolve| {
            event_loop.bind(py).call_method1("call_soon_threadsafe", (resolve, future.bind(py), ok, value))
        });
        // The loop is closed: whoever awaited it is gone.
        drop(resolved);
    });
    DELIVERING.fetch_sub(1, Ordering::SeqCst);
}

fn resolver(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static RESOLVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    RESOLVE
        .get_or_try_init(py, || Ok::<_, PyErr>(wrap_pyfunction!(resolve, py)?.into_any().unbind()))
        .map(|f| f.bind(py))
}

/// Runs on the loop: sets the result unless the awaiting side cancelled the future.
#[pyfunction]
fn resolve(future: &Bound<'_, PyAny>, ok: bool, value: Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    let method = if ok { "set_result" } else { "set_exception" };
    future.call_method1(method, (value,)).map(drop)
}

/// `atexit` hook: no delivery starts after it; waits (GIL released) for those under way.
#[pyfunction]
fn shutdown(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + Duration::from_secs(2);
        while DELIVERING.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

pub fn register_exit_hook(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(shutdown, m)?;
    m.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}
