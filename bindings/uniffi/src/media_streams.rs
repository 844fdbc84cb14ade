//! Received media: `AudioStream` and `VideoStream` over a remote track, read with a suspend
//! `next()` (Kotlin wraps it in a `Flow`, Swift in an `AsyncSequence`). The decoding is the
//! core's; this file only hands frames over and lets `cancel()` end a waiting `next()`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::stream::{Stream, StreamExt};
use tokio::sync::Notify;

use crate::error::Result;
use crate::media::{AudioFrame, VideoFormat, VideoFrame};
use crate::participant::Participant;
use crate::tracks::RemoteTrack;
use livekit_core::TrackSource;

/// The remote participant a stream follows.
fn remote(participant: &Participant) -> livekit_core::Result<&livekit_core::RemoteParticipant> {
    match &participant.0 {
        livekit_core::Participant::Remote(remote) => Ok(remote),
        _ => Err(livekit_core::Error::InvalidArgument("a stream follows a remote participant, not ourselves".into())),
    }
}

/// A core stream with a `close()` that also ends a `next()` waiting on another thread: the
/// core's `close` needs the stream itself, which that `next()` holds.
struct Reader<S> {
    stream: tokio::sync::Mutex<Option<S>>,
    closed: AtomicBool,
    close_now: Notify,
}

impl<S: Stream + Unpin> Reader<S> {
    fn new(stream: S) -> Self {
        Self { stream: tokio::sync::Mutex::new(Some(stream)), closed: AtomicBool::new(false), close_now: Notify::new() }
    }

    async fn next(&self) -> Option<S::Item> {
        let close_now = self.close_now.notified();
        tokio::pin!(close_now);
        // Registered before the flag is read, so a close() in between still wakes us.
        close_now.as_mut().enable();
        if !self.closed.load(Ordering::Acquire) {
            let read = async {
                let mut stream = self.stream.lock().await;
                stream.as_mut()?.next().await
            };
            tokio::select! {
                item = read => return item,
                _ = close_now => {}
            }
        }
        // Dropping the core stream stops its decoding task.
        self.stream.lock().await.take();
        None
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.close_now.notify_waiters();
        if let Ok(mut stream) = self.stream.try_lock() {
            stream.take();
        }
    }
}

/// The decoded audio of a remote track: continuous 10 ms frames at the rate and channel
/// count asked for (the core's `AudioStream`: lost packets concealed, up to 0.5 s buffered for
/// a slow reader, which then loses the oldest frames).
#[derive(uniffi::Object)]
pub struct AudioStream {
    reader: Reader<livekit_core::AudioStream>,
    sample_rate: u32,
    num_channels: u32,
}

#[uniffi::export(async_runtime = "tokio")]
impl AudioStream {
    /// Starts decoding `track` (audio) into frames of `sample_rate` Hz (8000..=48000, a
    /// multiple of 100) and `num_channels` (1 or 2). Async only because the core's decoding
    /// task needs the runtime. Fails for a video track or one that has ended.
    #[uniffi::constructor(default(sample_rate = 48000, num_channels = 1))]
    pub async fn from_track(track: Arc<RemoteTrack>, sample_rate: u32, num_channels: u32) -> Result<Arc<Self>> {
        let stream = livekit_core::AudioStream::new(track.audio()?, sample_rate, num_channels)?;
        Ok(Arc::new(Self { reader: Reader::new(stream), sample_rate, num_channels }))
    }

    /// The audio of whichever track of `source` (usually the microphone) the remote
    /// `participant` has while we receive it: waits while there is none (not yet subscribed,
    /// unpublished, republished after a reconnect) and ends when the participant leaves.
    #[uniffi::constructor(default(sample_rate = 48000, num_channels = 1))]
    pub async fn from_participant(
        participant: Arc<Participant>,
        source: TrackSource,
        sample_rate: u32,
        num_channels: u32,
    ) -> Result<Arc<Self>> {
        let stream =
            livekit_core::AudioStream::from_participant(remote(&participant)?, source, sample_rate, num_channels)?;
        Ok(Arc::new(Self { reader: Reader::new(stream), sample_rate, num_channels }))
    }

    /// The next 10 ms frame, waiting for it; null once the track ended or after `cancel()`.
    pub async fn next(&self) -> Option<AudioFrame> {
        self.reader.next().await.map(AudioFrame::from)
    }

    /// The sample rate of every frame.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The channel count of every frame.
    pub fn num_channels(&self) -> u32 {
        self.num_channels
    }

    /// Stops decoding; `next()` returns null from now on, one already waiting included.
    /// (Named `cancel`: `close` is Kotlin's `AutoCloseable.close`, which also frees the object.)
    pub fn cancel(&self) {
        self.reader.close()
    }
}

/// The decoded pictures of a remote video track in the format asked for (the core's
/// `VideoStream`: up to four held for a slow reader, which then gets the newest).
#[derive(uniffi::Object)]
pub struct VideoStream {
    reader: Reader<livekit_core::VideoStream>,
    format: VideoFormat,
}

#[uniffi::export(async_runtime = "tokio")]
impl VideoStream {
    /// Starts decoding `track` (video) into pictures of `format` (I420 costs no conversion).
    /// Fails for an audio track, one that has ended, or a codec this build cannot decode.
    #[uniffi::constructor]
    pub async fn from_track(track: Arc<RemoteTrack>, format: VideoFormat) -> Result<Arc<Self>> {
        let stream = livekit_core::VideoStream::new(track.video()?, format.into())?;
        Ok(Arc::new(Self { reader: Reader::new(stream), format }))
    }

    /// The pictures of whichever track of `source` (the camera, a screen share) the remote
    /// `participant` has while we receive it: waits while there is none and ends when the
    /// participant leaves.
    #[uniffi::constructor]
    pub async fn from_participant(
        participant: Arc<Participant>,
        source: TrackSource,
        format: VideoFormat,
    ) -> Result<Arc<Self>> {
        let stream = livekit_core::VideoStream::from_participant(remote(&participant)?, source, format.into())?;
        Ok(Arc::new(Self { reader: Reader::new(stream), format }))
    }

    /// The next picture, waiting for it; null once the track ended or after `cancel()`.
    pub async fn next(&self) -> Option<VideoFrame> {
        let format = self.format;
        self.reader.next().await.map(|frame| VideoFrame::from_core(frame, format))
    }

    /// The format every picture comes in.
    pub fn format(&self) -> VideoFormat {
        self.format
    }

    /// Stops decoding; `next()` returns null from now on, one already waiting included.
    /// (Named `cancel`: `close` is Kotlin's `AutoCloseable.close`, which also frees the object.)
    pub fn cancel(&self) {
        self.reader.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn close_ends_a_waiting_next() {
        let reader = Arc::new(Reader::new(futures_util::stream::pending::<u32>()));
        let waiting = tokio::spawn({
            let reader = reader.clone();
            async move { reader.next().await }
        });
        tokio::task::yield_now().await;
        reader.close();
        assert_eq!(tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await.unwrap().unwrap(), None);
        assert_eq!(reader.next().await, None);
    }

    #[tokio::test]
    async fn next_reads_until_the_stream_ends() {
        let reader = Reader::new(futures_util::stream::iter([1, 2]));
        assert_eq!((reader.next().await, reader.next().await, reader.next().await), (Some(1), Some(2), None));
    }
}
