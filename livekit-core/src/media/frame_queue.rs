//! `FrameQueue`: the bounded hand-over between a decoding task and the app reading a stream
//! (audio or video). When the reader falls behind, the oldest frames go, never the newest, so
//! the task never waits for the app.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

/// Frames from a task to a reader, at most `capacity` held.
pub(crate) struct FrameQueue<T> {
    capacity: usize,
    buffer: Mutex<Buffer<T>>,
}

struct Buffer<T> {
    frames: VecDeque<T>,
    /// The task has finished: nothing more will be added.
    ended: bool,
    /// The reader closed the stream: frames the task still pushes (it may be mid-step on
    /// another worker when aborted) are discarded.
    closed: bool,
    /// Frames dropped because the reader was behind.
    dropped: u64,
    /// The reader waiting for a frame.
    waker: Option<Waker>,
}

impl<T> FrameQueue<T> {
    pub fn new(capacity: usize) -> Arc<Self> {
        let buffer = Buffer { frames: VecDeque::new(), ended: false, closed: false, dropped: 0, waker: None };
        Arc::new(Self { capacity: capacity.max(1), buffer: Mutex::new(buffer) })
    }

    /// Adds a frame, dropping the oldest when full.
    pub fn push(&self, frame: T) {
        let mut buffer = self.buffer.lock();
        if buffer.closed {
            return;
        }
        if buffer.frames.len() >= self.capacity {
            buffer.frames.pop_front();
            buffer.dropped += 1;
        }
        buffer.frames.push_back(frame);
        Self::wake(buffer);
    }

    /// No more frames will come; the reader gets `None` once the queue is empty.
    pub fn end(&self) {
        let mut buffer = self.buffer.lock();
        buffer.ended = true;
        Self::wake(buffer);
    }

    /// The reader is done: what is held is dropped and nothing more is taken.
    pub fn close(&self) {
        let mut buffer = self.buffer.lock();
        buffer.frames.clear();
        buffer.closed = true;
        buffer.ended = true;
    }

    /// How many frames were dropped because the reader was behind.
    pub fn dropped(&self) -> u64 {
        self.buffer.lock().dropped
    }

    /// The next frame, `None` once ended and empty, or pending (the waker is kept).
    pub fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut buffer = self.buffer.lock();
        if let Some(frame) = buffer.frames.pop_front() {
            return Poll::Ready(Some(frame));
        }
        if buffer.ended {
            return Poll::Ready(None);
        }
        buffer.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn wake(mut buffer: parking_lot::MutexGuard<'_, Buffer<T>>) {
        let waker = buffer.waker.take();
        drop(buffer);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Ends the queue when the task that fills it finishes, however it finishes (end, error, abort).
pub(crate) struct EndOnDrop<T>(pub Arc<FrameQueue<T>>);

impl<T> Drop for EndOnDrop<T> {
    fn drop(&mut self) {
        self.0.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll<T>(queue: &FrameQueue<T>) -> Poll<Option<T>> {
        queue.poll_pop(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn the_oldest_frames_go_when_the_reader_is_behind() {
        let queue = FrameQueue::new(2);
        (1..=3).for_each(|i| queue.push(i));
        assert_eq!((poll(&queue), poll(&queue), queue.dropped()), (Poll::Ready(Some(2)), Poll::Ready(Some(3)), 1));
        assert_eq!(poll(&queue), Poll::Pending);
        drop(EndOnDrop(queue.clone()));
        assert_eq!(poll(&queue), Poll::Ready(None));
    }

    #[test]
    fn a_closed_queue_takes_nothing() {
        let queue = FrameQueue::new(4);
        queue.push(1);
        queue.close();
        queue.push(2);
        assert_eq!(poll(&queue), Poll::Ready(None));
    }
}
