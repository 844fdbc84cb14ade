//! The capture queue and 10 ms pacer of an audio source, as a plain type: the caller pushes
//! frames and calls `tick` once per 10 ms. No clock, no tasks; `AudioSource` drives it.
//!
//! Semantics copy the official native audio source: the buffer holds up to twice the queue
//! size, a capture may complete once at most `queue_size` is buffered, and each tick emits one
//! 10 ms chunk. Unlike the official source, an empty buffer emits silence, so a paused app keeps
//! RTP flowing and never looks like a dead track to the server.

use std::collections::VecDeque;
use std::time::Duration;

use super::frame::{samples_per_10ms, validate_paced_format, AudioFrame};
use crate::error::{Error, Result};

/// The longest frame one capture accepts.
pub(crate) const MAX_FRAME_MS: u32 = 1_000;

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The frame is queued.
    Queued,
    /// No room yet: push again after some ticks have drained the buffer.
    Full,
}

/// Buffers captured PCM and releases it in 10 ms chunks.
#[derive(Debug)]
pub(crate) struct CaptureQueue {
    sample_rate: u32,
    num_channels: u32,
    /// Interleaved samples in one 10 ms chunk.
    chunk_len: usize,
    /// A capture may complete once at most this many samples are buffered.
    queue_len: usize,
    /// The buffer never holds more than this (twice the queue).
    capacity: usize,
    buffer: VecDeque<i16>,
}

impl CaptureQueue {
    /// A queue for frames of this rate and channel count. `queue_ms` is rounded up to whole
    /// 10 ms chunks, with at least one chunk (0 means "the smallest queue").
    pub(crate) fn new(sample_rate: u32, num_channels: u32, queue_ms: u32) -> Result<Self> {
        validate_paced_format(sample_rate, num_channels)?;
        if queue_ms > 10 * MAX_FRAME_MS {
            return Err(Error::InvalidArgument(format!(
                "queue of {queue_ms} ms is over the limit of {} ms",
                10 * MAX_FRAME_MS
            )));
        }
        let chunk_len = samples_per_10ms(sample_rate) * num_channels as usize;
        let chunks = queue_ms.div_ceil(10).max(1) as usize;
        let queue_len = chunks * chunk_len;
        Ok(CaptureQueue {
            sample_rate,
            num_channels,
            chunk_len,
            queue_len,
            capacity: 2 * queue_len,
            buffer: VecDeque::with_capacity(2 * queue_len),
        })
    }

    /// Checks a frame without queueing it: the source's rate and channels, a whole number of
    /// 10 ms chunks, between 10 ms and 1 s, and not larger than the buffer can ever hold.
    pub(crate) fn check(&self, frame: &AudioFrame) -> Result<()> {
        if frame.sample_rate() != self.sample_rate || frame.num_channels() != self.num_channels {
            return Err(Error::InvalidArgument(format!(
                "frame is {} Hz/{} ch but the source is {} Hz/{} ch",
                frame.sample_rate(),
                frame.num_channels(),
                self.sample_rate,
                self.num_channels
            )));
        }
        let per_10ms = samples_per_10ms(self.sample_rate);
        let samples = frame.samples_per_channel() as usize;
        if !samples.is_multiple_of(per_10ms) || samples == 0 || samples > per_10ms * (MAX_FRAME_MS as usize / 10) {
            return Err(Error::InvalidArgument(format!(
                "frame of {samples} samples per channel is not a whole number of 10 ms ({per_10ms} samples) \
                 between 10 ms and {MAX_FRAME_MS} ms"
            )));
        }
        if frame.data().len() > self.capacity {
            return Err(Error::LimitExceeded {
                what: "audio frame (as bytes of i16 samples)".into(),
                limit: self.capacity * 2,
                actual: frame.data().len() * 2,
            });
        }
        Ok(())
    }

    /// Queues the frame if it fits now.
    pub(crate) fn try_push(&mut self, frame: &AudioFrame) -> Result<Admission> {
        self.check(frame)?;
        if self.buffer.len() + frame.data().len() > self.capacity {
            return Ok(Admission::Full);
        }
        self.buffer.extend(frame.data().iter().copied());
        Ok(Admission::Queued)
    }

    /// Whether a capture that queued its frame may report completion (back-pressure).
    pub(crate) fn may_complete(&self) -> bool {
        self.buffer.len() <= self.queue_len
    }

    /// One 10 ms step of time: the next 10 ms of interleaved PCM, or silence when empty.
    pub(crate) fn tick(&mut self) -> Vec<i16> {
        if self.buffer.len() < self.chunk_len {
            // Frames are whole 10 ms chunks, so the buffer is either empty or holds full chunks.
            self.buffer.clear();
            return vec![0; self.chunk_len];
        }
        self.buffer.drain(..self.chunk_len).collect()
    }

    /// Drops everything queued.
    pub(crate) fn clear(&mut self) {
        self.buffer.clear();
    }

    /// How long the buffered audio plays.
    pub(crate) fn queued_duration(&self) -> Duration {
        let chunks = self.buffer.len() / self.chunk_len;
        Duration::from_millis(10 * chunks as u64)
    }

    /// True when everything captured has been played out.
    pub(crate) fn is_played_out(&self) -> bool {
        self.buffer.is_empty()
    }

    pub(crate) fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    pub(crate) fn num_channels(&self) -> u32 {
        self.num_channels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ms: u32, value: i16) -> AudioFrame {
        AudioFrame::new(vec![value; (480 * ms / 10) as usize], 48_000, 1).unwrap()
    }

    #[test]
    fn back_pressure_follows_the_official_semantics() {
        let mut q = CaptureQueue::new(48_000, 1, 50).unwrap();
        // 50 ms fits within the queue: completes at once.
        assert_eq!(q.try_push(&frame(50, 1)).unwrap(), Admission::Queued);
        assert!(q.may_complete());
        // Another 40 ms: buffered 90 ms > 50 ms, so the capture waits...
        assert_eq!(q.try_push(&frame(40, 2)).unwrap(), Admission::Queued);
        assert!(!q.may_complete());
        // ...and 20 ms more would exceed twice the queue (110 > 100 ms).
        assert_eq!(q.try_push(&frame(20, 3)).unwrap(), Admission::Full);
        // Four ticks play 40 ms: 50 ms left, the capture may complete.
        for _ in 0..3 {
            q.tick();
            assert!(!q.may_complete());
        }
        q.tick();
        assert!(q.may_complete());
        assert_eq!(q.queued_duration(), Duration::from_millis(50));
    }

    #[test]
    fn ticks_play_in_order_then_silence_when_empty() {
        let mut q = CaptureQueue::new(48_000, 1, 100).unwrap();
        q.try_push(&frame(20, 7)).unwrap();
        assert_eq!(q.tick(), vec![7; 480]);
        assert_eq!(q.tick(), vec![7; 480]);
        assert!(q.is_played_out());
        assert_eq!(q.tick(), vec![0; 480], "an empty queue plays silence");
        q.try_push(&frame(30, 9)).unwrap();
        q.clear();
        assert!(q.is_played_out());
        assert_eq!(q.queued_duration(), Duration::ZERO);
        assert_eq!(q.tick(), vec![0; 480]);
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        let mut q = CaptureQueue::new(48_000, 1, 100).unwrap();
        let wrong_rate = AudioFrame::new(vec![0; 160], 16_000, 1).unwrap();
        let wrong_channels = AudioFrame::new(vec![0; 960], 48_000, 2).unwrap();
        let odd_length = AudioFrame::new(vec![0; 500], 48_000, 1).unwrap();
        let too_short = AudioFrame::new(vec![0; 240], 48_000, 1).unwrap();
        for bad in [wrong_rate, wrong_channels, odd_length, too_short] {
            assert!(matches!(q.try_push(&bad), Err(Error::InvalidArgument(_))), "{bad:?}");
        }
        // 1 s is a valid length, but a 100 ms queue (200 ms buffer) can never hold it.
        assert!(matches!(q.try_push(&frame(1_000, 0)), Err(Error::LimitExceeded { .. })));
        assert!(matches!(q.try_push(&frame(1_010, 0)), Err(Error::InvalidArgument(_))));
        assert!(CaptureQueue::new(44_100, 3, 100).is_err());
        assert!(CaptureQueue::new(44_150, 1, 100).is_err());
        assert!(q.is_played_out(), "nothing bad was queued");
    }
}
