//! The shape most stream requests share: an async operation whose callback is
//! `{async_id, oneof result { <value>, StreamError error }}`.

use std::future::Future;

use crate::proto::{ffi_event, StreamError};
use crate::server::server;

/// How one kind of stream callback is built from a value or an error.
pub struct StreamCallback<T, O> {
    pub success: fn(T) -> O,
    pub failure: fn(StreamError) -> O,
    pub event: fn(u64, O) -> ffi_event::Message,
}

/// Runs `work` and answers with one callback: its value, or its error (a panic included) as a
/// `StreamError`.
pub fn spawn<T, O, W>(async_id: u64, work: W, callback: StreamCallback<T, O>)
where
    W: Future<Output = Result<T, String>> + Send + 'static,
    T: Send + 'static,
    O: 'static,
{
    let StreamCallback { success, failure, event } = callback;
    let done = async move {
        let outcome = match work.await {
            Ok(value) => success(value),
            Err(description) => failure(StreamError { description }),
        };
        event(async_id, outcome)
    };
    server().spawn_callback(async_id, done, move |async_id, description| {
        event(async_id, failure(StreamError { description }))
    });
}
