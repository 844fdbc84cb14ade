//! `AudioSource`: where an app pushes PCM for a local audio track. A tokio task paces the
//! capture queue at one 10 ms chunk per 10 ms and encodes it; the engine attaches to receive
//! the packets. The pacing and encoding logic lives in `CaptureQueue` and `AudioSendPipeline`;
//! this file only owns the task, the locks and the waiting.

use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::capture_queue::{Admission, CaptureQueue};
use super::frame::AudioFrame;
use super::packets::EncodedAudio;
use super::send_pipeline::AudioSendPipeline;
use crate::error::{Error, Result};

/// The pacing period: one 10 ms chunk per tick.
const PACING_INTERVAL: Duration = Duration::from_millis(10);
/// Encoded packets buffered towards the engine (1 s); beyond that they are dropped, as a
/// real-time sender would.
const ATTACH_CAPACITY: usize = 50;

/// A source of PCM audio for a local track, paced like the official SDK's native source.
///
/// Captures are queued; `capture_frame` returns once at most `queue_ms` of audio is waiting,
/// so an app that captures in a loop is held to real time. When the queue is empty the source
/// sends silence, so the track stays alive while the app pauses. Cloning is cheap and every
/// clone drives the same source.
///
/// ```
/// # async fn demo() -> livekit_core::Result<()> {
/// use livekit_core::{AudioFrame, AudioSource};
/// let source = AudioSource::new(48_000, 1, 100)?;
/// let tone: Vec<i16> = (0..4_800).map(|n| ((n as f32 * 0.0576).sin() * 8_000.0) as i16).collect();
/// source.capture_frame(&AudioFrame::new(tone, 48_000, 1)?).await?; // 100 ms, back-pressured
/// source.wait_for_playout().await;
/// source.close();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AudioSource {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AudioSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioSource")
            .field("sample_rate", &self.inner.sample_rate)
            .field("num_channels", &self.inner.num_channels)
            .finish()
    }
}

struct Inner {
    sample_rate: u32,
    num_channels: u32,
    state: Mutex<State>,
    /// Woken after every pacing tick, `clear_queue` and `close`.
    changed: Notify,
    /// Captures take turns, in call order, so frames are queued in that order.
    capture_turn: tokio::sync::Mutex<()>,
}

struct State {
    queue: CaptureQueue,
    /// Taken by the pacing task when it starts.
    pipeline: Option<AudioSendPipeline>,
    pacing: Option<JoinHandle<()>>,
    sink: Option<mpsc::Sender<EncodedAudio>>,
    /// A bitrate for the pacing task to apply at its next tick.
    new_bitrate: Option<i32>,
    /// A DTX setting for the pacing task to apply at its next tick.
    new_dtx: Option<bool>,
    /// The latest fraction lost the server reported, for the pacing task's FEC plan.
    new_loss_report: Option<f32>,
    closed: bool,
}

impl AudioSource {
    /// A source of `sample_rate` Hz (8000..=48000, a multiple of 100) and `num_channels`
    /// (1 or 2) holding up to `queue_ms` of audio before a capture waits (rounded up to 10 ms;
    /// 0 means 10 ms; at most 10 s).
    pub fn new(sample_rate: u32, num_channels: u32, queue_ms: u32) -> Result<AudioSource> {
        let queue = CaptureQueue::new(sample_rate, num_channels, queue_ms)?;
        let pipeline = AudioSendPipeline::new(sample_rate, num_channels)?;
        Ok(AudioSource {
            inner: Arc::new(Inner {
                sample_rate,
                num_channels,
                state: Mutex::new(State {
                    queue,
                    pipeline: Some(pipeline),
                    pacing: None,
                    sink: None,
                    new_bitrate: None,
                    new_dtx: None,
                    new_loss_report: None,
                    closed: false,
                }),
                changed: Notify::new(),
                capture_turn: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The sample rate frames must have.
    pub fn sample_rate(&self) -> u32 {
        self.inner.sample_rate
    }

    /// The channel count frames must have.
    pub fn num_channels(&self) -> u32 {
        self.inner.num_channels
    }

    /// Queues a frame of the source's rate and channels, of any length up to 1 s (e.g. 1024
    /// samples from a file decoder); the pacer cuts the queued audio into 10 ms chunks, and a
    /// remainder shorter than 10 ms joins the next capture (or is padded with silence if the
    /// queue runs dry before it comes). Waits while the buffer (twice the queue) has no room,
    /// then until at most the queue size is buffered; a frame larger than the buffer goes in
    /// piece by piece as room frees. Fails with [`Error::InvalidArgument`] for a bad frame or a
    /// closed source.
    pub async fn capture_frame(&self, frame: &AudioFrame) -> Result<()> {
        let capacity = {
            let state = self.inner.state.lock();
            state.queue.check(frame)?;
            state.queue.capacity()
        };
        let _turn = self.inner.capture_turn.lock().await;
        self.start_pacing()?;
        if frame.data().len() <= capacity {
            self.wait_for(|state| Ok(state.queue.try_push(frame)? == Admission::Queued)).await?;
        } else {
            // Whole samples on every channel in each piece.
            let piece_len = capacity - capacity % self.inner.num_channels as usize;
            for piece in frame.data().chunks(piece_len) {
                let piece = AudioFrame::new(piece.to_vec(), self.inner.sample_rate, self.inner.num_channels)?;
                self.wait_for(|state| Ok(state.queue.try_push(&piece)? == Admission::Queued)).await?;
            }
        }
        self.wait_for(|state| Ok(state.queue.may_complete())).await
    }

    /// Drops the queued audio; a waiting capture completes.
    pub fn clear_queue(&self) {
        self.inner.state.lock().queue.clear();
        self.inner.changed.notify_waiters();
    }

    /// How much captured audio is waiting to be played out.
    pub fn queued_duration(&self) -> Duration {
        self.inner.state.lock().queue.queued_duration()
    }

    /// Returns once everything captured so far has been played out (or the source closed).
    pub async fn wait_for_playout(&self) {
        // The only error is "closed", which also means nothing is left to play.
        let _ = self.wait_for(|state| Ok(state.queue.is_played_out())).await;
    }

    /// Stops the source: queued audio is dropped, the pacing task ends, captures fail.
    pub fn close(&self) {
        let mut state = self.inner.state.lock();
        state.closed = true;
        state.queue.clear();
        state.sink = None;
        if let Some(task) = state.pacing.take() {
            task.abort();
        }
        drop(state);
        self.inner.changed.notify_waiters();
    }

    /// Whether [`Self::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.state.lock().closed
    }

    /// Routes the encoded packets to a new receiver (replacing any previous one) and starts
    /// pacing if a tokio runtime is running. For the engine, when the track is published.
    pub(crate) fn attach(&self) -> mpsc::Receiver<EncodedAudio> {
        let (tx, rx) = mpsc::channel(ATTACH_CAPACITY);
        let mut state = self.inner.state.lock();
        if !state.closed {
            state.sink = Some(tx);
        }
        drop(state);
        // Without a runtime here, pacing starts with the first capture instead.
        let _ = self.start_pacing();
        rx
    }

    /// Sets the Opus bitrate (bits per second, 6000..=510000) from the next packet on.
    pub(crate) fn set_bitrate(&self, bitrate_bps: u32) -> Result<()> {
        if !(6_000..=510_000).contains(&bitrate_bps) {
            return Err(Error::InvalidArgument(format!(
                "an audio bitrate of {bitrate_bps} bps is outside Opus's 6000..=510000"
            )));
        }
        self.inner.state.lock().new_bitrate = Some(bitrate_bps as i32);
        Ok(())
    }

    /// Turns Opus DTX on or off from the next packet on (see `EncodedAudio::is_dtx_gap`).
    pub(crate) fn set_dtx(&self, dtx: bool) {
        self.inner.state.lock().new_dtx = Some(dtx);
    }

    /// Takes the fraction of packets lost (0..=1) from one of the server's receiver reports on
    /// the published track: the encoder plans in-band FEC for the loss it sees.
    pub(crate) fn report_loss(&self, fraction_lost: f32) {
        self.inner.state.lock().new_loss_report = Some(fraction_lost);
    }

    /// Stops routing packets; pacing goes on so captures still complete.
    pub(crate) fn detach(&self) {
        self.inner.state.lock().sink = None;
    }

    fn start_pacing(&self) -> Result<()> {
        let mut state = self.inner.state.lock();
        if state.closed {
            return Err(closed());
        }
        let Some(pipeline) = state.pipeline.take() else { return Ok(()) };
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime,
            Err(_) => {
                state.pipeline = Some(pipeline);
                return Err(Error::Internal("AudioSource needs a running tokio runtime".into()));
            }
        };
        state.pacing = Some(crate::tasks::spawn_on(&runtime, pace(Arc::downgrade(&self.inner), pipeline)));
        Ok(())
    }

    /// Waits until `ready` holds, re-checking after every change; fails once closed.
    async fn wait_for(&self, mut ready: impl FnMut(&mut State) -> Result<bool>) -> Result<()> {
        loop {
            // Registered before checking, so a tick between the check and the await is not missed.
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.inner.state.lock();
                if state.closed {
                    return Err(closed());
                }
                if ready(&mut state)? {
                    return Ok(());
                }
            }
            changed.await;
        }
    }
}

fn closed() -> Error {
    Error::InvalidArgument("the audio source is closed".into())
}

/// The pacing task: every 10 ms take a chunk (silence when empty), encode, hand it on. Burst
/// catch-up keeps the long-run rate exact after a stall; it ends with the source.
async fn pace(source: Weak<Inner>, mut pipeline: AudioSendPipeline) {
    let mut interval = tokio::time::interval(PACING_INTERVAL);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    loop {
        interval.tick().await;
        let Some(inner) = source.upgrade() else { return };
        let (chunk, sink) = {
            let mut state = inner.state.lock();
            if state.closed {
                return;
            }
            if let Some(bitrate) = state.new_bitrate.take() {
                if let Err(err) = pipeline.set_bitrate(bitrate) {
                    log::warn!("audio source: bitrate {bitrate} refused: {err}");
                }
            }
            if let Some(dtx) = state.new_dtx.take() {
                if let Err(err) = pipeline.set_dtx(dtx) {
                    log::warn!("audio source: DTX setting refused: {err}");
                }
            }
            if let Some(fraction_lost) = state.new_loss_report.take() {
                if let Err(err) = pipeline.observe_loss(std::time::Instant::now(), fraction_lost) {
                    log::warn!("audio source: FEC setting refused: {err}");
                }
            }
            (state.queue.tick(), state.sink.clone())
        };
        inner.changed.notify_waiters();
        match pipeline.push_10ms(&chunk) {
            Ok(Some(packet)) => {
                if let Some(sink) = sink {
                    if let Err(mpsc::error::TrySendError::Closed(_)) = sink.try_send(packet) {
                        let mut state = inner.state.lock();
                        if state.sink.as_ref().is_some_and(|s| s.same_channel(&sink)) {
                            state.sink = None;
                        }
                    }
                    // A full channel drops the packet: late audio is worse than lost audio.
                }
            }
            Ok(None) => {}
            Err(err) => log::warn!("audio source: encoding failed, chunk dropped: {err}"),
        }
    }
}

#[cfg(test)]
#[path = "audio_source_tests.rs"]
mod tests;
