//! The capture queue and 10 ms pacer of an audio source, as a plain type: the caller pushes
//! frames and calls `tick` once per 10 ms. No clock, no tasks; `AudioSource` drives it.
//!
//! Semantics copy the official native audio source: the buffer holds up to twice the queue
//! size, a capture may complete once at most `queue_size` is buffered, and each tick emits one
//! 10 ms chunk. Unlike the official source, an empty buffer emits silence, so a paused app keeps
//! RTP flowing and never looks like a dead track to the server.
//!
//! Frames may have any length up to 1 s (1024 samples from a file decoder, 5 ms from a device):
//! the queue is a flat sample buffer, so a remainder shorter than 10 ms joins the next capture.
//! If a tick finds only such a remainder (the app did not capture in time), the remainder is
//! padded with silence to a full chunk and played, rather than held back forever.

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

    /// Checks a frame without queueing it: the source's rate and channels, at most 1 s long
    /// (any non-empty length below that). A frame larger than the buffer is queued in pieces
    /// (`AudioSource::capture_frame` splits it at `capacity`).
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
        // `AudioFrame` already guarantees a non-empty frame of whole samples on every channel.
        let samples = frame.samples_per_channel() as usize;
        let max = self.sample_rate as usize * MAX_FRAME_MS as usize / 1_000;
        if samples > max {
            return Err(Error::InvalidArgument(format!(
                "frame of {samples} samples per channel is longer than {MAX_FRAME_MS} ms ({max} samples)"
            )));
        }
        Ok(())
    }

    /// How many interleaved samples the buffer holds (twice the queue): the largest piece
    /// `try_push` can ever take.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Queues the frame if it fits now.
    pub(crate) fn try_push(&mut self, frame: &AudioFrame) -> Result<Admission> {
        self.check(frame)?;
        if frame.data().len() > self.capacity {
            return Err(Error::Internal(format!(
                "a piece of {} samples over the buffer's {}",
                frame.data().len(),
                self.capacity
            )));
        }
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

    /// One 10 ms step of time: the next 10 ms of interleaved PCM; silence when empty; a
    /// remainder shorter than 10 ms padded with silence when nothing else is buffered.
    pub(crate) fn tick(&mut self) -> Vec<i16> {
        let take = self.chunk_len.min(self.buffer.len());
        let mut chunk: Vec<i16> = self.buffer.drain(..take).collect();
        chunk.resize(self.chunk_len, 0);
        chunk
    }

    /// Drops everything queued.
    pub(crate) fn clear(&mut self) {
        self.buffer.clear();
    }

    /// How long the buffered audio plays, a partial 10 ms remainder included.
    pub(crate) fn queued_duration(&self) -> Duration {
        let samples = (self.buffer.len() / self.num_channels as usize) as u64;
        Duration::from_nanos(samples * 1_000_000_000 / u64::from(self.sample_rate))
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
        for bad in [wrong_rate, wrong_channels] {
            assert!(matches!(q.try_push(&bad), Err(Error::InvalidArgument(_))), "{bad:?}");
        }
        // 1 s is a valid length; a 100 ms queue (200 ms buffer) takes it in pieces, never whole.
        assert!(q.check(&frame(1_000, 0)).is_ok());
        assert!(matches!(q.try_push(&frame(1_000, 0)), Err(Error::Internal(_))));
        let just_over_1s = AudioFrame::new(vec![0; 48_001], 48_000, 1).unwrap();
        assert!(matches!(q.try_push(&just_over_1s), Err(Error::InvalidArgument(_))));
        let mut big = CaptureQueue::new(48_000, 1, 500).unwrap();
        assert_eq!(big.try_push(&frame(1_000, 0)).unwrap(), Admission::Queued);
        assert!(matches!(big.try_push(&just_over_1s), Err(Error::InvalidArgument(_))));
        assert!(CaptureQueue::new(44_100, 3, 100).is_err());
        assert!(CaptureQueue::new(44_150, 1, 100).is_err());
        assert!(q.is_played_out(), "nothing bad was queued");
    }

    /// Interleaved frame whose samples count up from `from`, to check order and continuity.
    fn ramp(from: usize, samples_per_channel: usize, rate: u32, channels: u32) -> AudioFrame {
        let data = (from..from + samples_per_channel * channels as usize).map(|n| n as i16).collect();
        AudioFrame::new(data, rate, channels).unwrap()
    }

    #[test]
    fn a_1024_sample_frame_plays_as_whole_chunks_and_a_padded_remainder() {
        let mut q = CaptureQueue::new(48_000, 1, 100).unwrap();
        q.try_push(&ramp(0, 1_024, 48_000, 1)).unwrap();
        assert_eq!(q.queued_duration(), Duration::from_nanos(1_024 * 1_000_000_000 / 48_000));
        assert_eq!(q.tick(), (0..480).collect::<Vec<i16>>());
        assert_eq!(q.tick(), (480..960).collect::<Vec<i16>>());
        // 64 samples (1.33 ms) left: still counted, and the next capture continues them.
        assert_eq!(q.queued_duration(), Duration::from_nanos(64 * 1_000_000_000 / 48_000));
        assert!(!q.is_played_out());
        q.try_push(&ramp(1_024, 1_024, 48_000, 1)).unwrap();
        for n in 2..4 {
            assert_eq!(q.tick(), (n * 480..(n + 1) * 480).map(|v| v as i16).collect::<Vec<i16>>());
        }
        // 2048 - 1920 = 128 samples left and nothing more captured: padded, not held forever.
        let last = q.tick();
        assert_eq!(&last[..128], (1_920..2_048).map(|v| v as i16).collect::<Vec<i16>>().as_slice());
        assert!(last[128..].iter().all(|&s| s == 0) && last.len() == 480);
        assert!(q.is_played_out());
        assert_eq!(q.tick(), vec![0; 480]);
    }

    #[test]
    fn five_ms_frames_join_into_chunks() {
        let mut q = CaptureQueue::new(48_000, 2, 20).unwrap();
        q.try_push(&ramp(0, 240, 48_000, 2)).unwrap();
        assert_eq!(q.queued_duration(), Duration::from_millis(5));
        assert!(q.may_complete());
        q.try_push(&ramp(480, 240, 48_000, 2)).unwrap();
        assert_eq!(q.queued_duration(), Duration::from_millis(10));
        assert_eq!(q.tick(), (0..960).collect::<Vec<i16>>());
        // A lone 5 ms frame when the queue runs dry: half tone, half silence.
        q.try_push(&ramp(0, 240, 48_000, 2)).unwrap();
        let chunk = q.tick();
        assert_eq!(&chunk[..480], (0..480).collect::<Vec<i16>>().as_slice());
        assert_eq!(&chunk[480..], &[0; 480][..]);
        // Back-pressure counts samples, not frames: 20 ms queue, 40 ms buffer.
        for _ in 0..8 {
            assert_eq!(q.try_push(&ramp(0, 240, 48_000, 2)).unwrap(), Admission::Queued);
        }
        assert!(!q.may_complete());
        assert_eq!(q.try_push(&ramp(0, 240, 48_000, 2)).unwrap(), Admission::Full);
        q.tick();
        q.tick();
        assert!(q.may_complete());
        assert_eq!(q.queued_duration(), Duration::from_millis(20));
    }

    #[test]
    fn frames_at_44_1_khz_of_any_length() {
        let mut q = CaptureQueue::new(44_100, 2, 50).unwrap();
        // 441 samples is exactly 10 ms at 44.1 kHz.
        q.try_push(&ramp(0, 441, 44_100, 2)).unwrap();
        assert_eq!(q.queued_duration(), Duration::from_millis(10));
        assert_eq!(q.tick(), (0..882).collect::<Vec<i16>>());
        // 512 samples: one chunk and 71 samples that wait for the next frame.
        q.try_push(&ramp(0, 512, 44_100, 2)).unwrap();
        q.try_push(&ramp(1_024, 512, 44_100, 2)).unwrap();
        assert_eq!(q.tick(), (0..882).collect::<Vec<i16>>());
        assert_eq!(q.tick(), (882..1_764).map(|v| v as i16).collect::<Vec<i16>>());
        assert_eq!(q.queued_duration(), Duration::from_nanos(142 * 1_000_000_000 / 44_100));
        let last = q.tick();
        assert_eq!(&last[..284], (1_764..2_048).map(|v| v as i16).collect::<Vec<i16>>().as_slice());
        assert!(q.is_played_out());
    }
}
