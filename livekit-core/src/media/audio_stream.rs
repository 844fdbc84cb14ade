//! `AudioStream`: the PCM of one remote audio track, as 10 ms `AudioFrame`s. A tokio task owns
//! an `AudioReceivePipeline`: it pushes the RTP packets the engine broadcasts as they arrive
//! and polls one frame every 10 ms on a fixed deadline grid (no drift), into a bounded buffer
//! the app reads with `recv` or as a `Stream`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

use super::packets::RtpPacket;
use tokio::time::Instant;

use super::frame::AudioFrame;
use super::frame_queue::{EndOnDrop, FrameQueue};
use super::receive_pipeline::{AudioReceivePipeline, POLL_INTERVAL};
use crate::error::{Error, Result};

/// Frames buffered for the app (0.5 s). When the app reads slower than real time the oldest
/// buffered frames are dropped, so it always gets the most recent audio and the pipeline
/// never waits for it.
pub(crate) const FRAME_CAPACITY: usize = 50;

/// If the task falls further behind its 10 ms grid than this (a suspended process, a starved
/// runtime), it skips ahead instead of decoding the whole backlog at once.
const MAX_CATCH_UP: Duration = Duration::from_secs(1);

/// The decoded audio of a remote track: continuous 10 ms [`AudioFrame`]s at the sample rate
/// and channel count asked for.
///
/// Read it with [`AudioStream::recv`] or as a [`Stream`]. Frames come at real-time pace, one
/// per 10 ms once playout has started (20 ms after the first packet, more on a jittery network:
/// the delay adapts to the jitter measured); lost packets and
/// pauses of the sender are concealed so the output stays continuous. Up to 0.5 s of frames is
/// buffered; a reader slower than real time loses the oldest frames, never the newest. The
/// stream ends (`None`) once the track has ended and what was buffered has been read, or after
/// [`AudioStream::close`]. Dropping it stops the decoding task.
pub struct AudioStream {
    shared: Arc<FrameQueue<AudioFrame>>,
    task: Option<JoinHandle<()>>,
    sample_rate: u32,
    num_channels: u32,
}

impl std::fmt::Debug for AudioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioStream")
            .field("sample_rate", &self.sample_rate)
            .field("num_channels", &self.num_channels)
            .finish()
    }
}

impl AudioStream {
    /// Starts decoding the packets of one remote track into frames of `sample_rate` Hz
    /// (8000..=48000, a multiple of 100) and `num_channels` (1 or 2). Fails with
    /// [`Error::InvalidArgument`] for another format, [`Error::Internal`] outside a tokio
    /// runtime.
    pub(crate) fn from_packets(
        packets: broadcast::Receiver<RtpPacket>,
        sample_rate: u32,
        num_channels: u32,
    ) -> Result<AudioStream> {
        let pipeline = AudioReceivePipeline::new(sample_rate, num_channels)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Internal("AudioStream needs a running tokio runtime".into()))?;
        let shared = FrameQueue::new(FRAME_CAPACITY);
        let task = crate::tasks::spawn_on(&runtime, decode(packets, pipeline, EndOnDrop(shared.clone())));
        Ok(AudioStream { shared, task: Some(task), sample_rate, num_channels })
    }

    /// A stream whose frames a task of the caller's pushes: `spawn` gets the queue (ended
    /// when the task drops it) and returns the task, which the stream aborts when dropped.
    pub(crate) fn from_task(
        sample_rate: u32,
        num_channels: u32,
        spawn: impl FnOnce(EndOnDrop<AudioFrame>) -> Result<JoinHandle<()>>,
    ) -> Result<AudioStream> {
        super::frame::validate_paced_format(sample_rate, num_channels)?;
        let shared = FrameQueue::new(FRAME_CAPACITY);
        let task = spawn(EndOnDrop(shared.clone()))?;
        Ok(AudioStream { shared, task: Some(task), sample_rate, num_channels })
    }

    /// The next 10 ms frame, waiting for it; `None` once the stream has ended.
    pub async fn recv(&mut self) -> Option<AudioFrame> {
        std::future::poll_fn(|cx| self.poll_frame(cx)).await
    }

    /// The sample rate of every frame, in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The channel count of every frame (1 or 2).
    pub fn num_channels(&self) -> u32 {
        self.num_channels
    }

    /// Stops decoding and drops the buffered frames; `recv` returns `None` from now on.
    pub fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.shared.close();
    }

    /// How many frames were dropped because the reader was more than 0.5 s behind.
    pub(crate) fn dropped_frames(&self) -> u64 {
        self.shared.dropped()
    }

    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<AudioFrame>> {
        self.shared.poll_pop(cx)
    }
}

impl Stream for AudioStream {
    type Item = AudioFrame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AudioFrame>> {
        self.get_mut().poll_frame(cx)
    }
}

impl Drop for AudioStream {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The decoding task: packets in as they come, one frame out per 10 ms once playout has
/// started. Ends when the packet sender is gone and the jitter buffer has played out.
async fn decode(
    mut packets: broadcast::Receiver<RtpPacket>,
    mut pipeline: AudioReceivePipeline,
    out: EndOnDrop<AudioFrame>,
) {
    // The next poll on the 10 ms grid; `None` until playout starts.
    let mut next_poll: Option<Instant> = None;
    let mut receiving = true;
    loop {
        if !receiving && next_poll.is_some() && pipeline.is_drained() {
            return;
        }
        let deadline = next_poll.or_else(|| pipeline.next_due().map(Instant::from_std));
        tokio::select! {
            // Packets first, so a packet arriving at a poll's instant is in time for it.
            biased;
            received = packets.recv(), if receiving => match received {
                Ok(p) => {
                    pipeline.push_packet(p.sequence, p.timestamp, p.payload, p.arrival);
                }
                Err(RecvError::Lagged(missed)) => {
                    // Not fatal: the jitter buffer sees the gap and conceals it.
                    log::warn!("audio stream: fell behind the engine, {missed} packets skipped");
                }
                Err(RecvError::Closed) => receiving = false,
            },
            _ = sleep_until_opt(deadline), if deadline.is_some() => {
                let now = Instant::now();
                let Some(mut due) = next_poll else {
                    // The first packet is due: start playout on a grid from here.
                    match pipeline.poll_frame(now.into_std()) {
                        Ok(Some(frame)) => {
                            out.0.push(frame);
                            next_poll = Some(now + POLL_INTERVAL);
                        }
                        // Cannot happen (the jitter buffer hands out what `next_due` announced);
                        // if it did, wait a poll interval rather than spin on the same deadline.
                        Ok(None) => tokio::time::sleep(POLL_INTERVAL).await,
                        Err(err) => {
                            log::error!("audio stream: decoding failed, stream ended: {err}");
                            return;
                        }
                    }
                    continue;
                };
                if now.duration_since(due) > MAX_CATCH_UP {
                    log::warn!("audio stream: {:?} behind, skipping ahead", now.duration_since(due));
                    due = now;
                }
                while due <= now {
                    if !receiving && pipeline.is_drained() {
                        return;
                    }
                    match pipeline.poll_frame(due.into_std()) {
                        Ok(Some(frame)) => out.0.push(frame),
                        Ok(None) => {}
                        Err(err) => {
                            log::error!("audio stream: decoding failed, stream ended: {err}");
                            return;
                        }
                    }
                    due += POLL_INTERVAL;
                }
                next_poll = Some(due);
            }
            else => return,
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "audio_stream_tests.rs"]
mod tests;
