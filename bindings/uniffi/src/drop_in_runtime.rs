//! Core values whose `Drop` needs the tokio runtime (a room leaves, a writer sends its
//! trailer). A foreign garbage collector drops objects on its own threads, outside any
//! runtime, where those drops would silently do nothing; this wrapper drops them inside it.

use std::mem::ManuallyDrop;
use std::ops::Deref;

pub(crate) struct DropInRuntime<T> {
    value: ManuallyDrop<T>,
    runtime: tokio::runtime::Handle,
}

impl<T> DropInRuntime<T> {
    /// Must be called inside the runtime (any exported async function runs there).
    pub(crate) fn new(value: T) -> Self {
        Self { value: ManuallyDrop::new(value), runtime: tokio::runtime::Handle::current() }
    }
}

impl<T> Deref for DropInRuntime<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for DropInRuntime<T> {
    fn drop(&mut self) {
        let _inside = self.runtime.enter();
        // SAFETY: `value` is dropped once, here, and never used after.
        unsafe { ManuallyDrop::drop(&mut self.value) }
    }
}
