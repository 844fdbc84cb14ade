//! Spawning through one future type. tokio compiles its task machinery (about 2.5 KB of code:
//! poll, cancel, join and drop paths) once per spawned future type; boxing every task of ours
//! into the same type keeps one copy instead of one per spawn site (docs/platforms.md, Size
//! goals). The box costs one allocation per task, which is nothing next to a task's own.

use std::future::Future;
use std::pin::Pin;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// A task of ours: every spawn gives tokio this one type.
type BoxedTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// `tokio::spawn`, boxed. Panics outside a tokio runtime, as `tokio::spawn` does.
pub fn spawn(task: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
    tokio::spawn(Box::pin(task) as BoxedTask)
}

/// `Handle::spawn`, boxed.
pub fn spawn_on(runtime: &Handle, task: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
    runtime.spawn(Box::pin(task) as BoxedTask)
}
