//! `VideoStream`: the decoded pictures of one remote video track. A tokio task assembles the
//! RTP packets the engine broadcasts into pictures, decodes them off the async threads and
//! hands them to the app in the format it asked for. After a loss it drops pictures until a
//! keyframe and asks the sender for one (PLI), at most every `KEYFRAME_REQUEST_INTERVAL`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::stream::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

use super::frame_assembler::{Assembled, FrameAssembler};
use super::frame_queue::{EndOnDrop, FrameQueue};
use super::packets::RtpPacket;
use super::video_codec::{new_decoder, VideoCodec, VideoDecoder};
use super::video_depacketizer::{depacketize, starts_frame};
use super::video_frame::{VideoFormat, VideoFrame};
use crate::error::{Error, Result};

/// Pictures held for a reader that is behind; older ones are dropped (video wants the newest).
const FRAME_CAPACITY: usize = 4;
/// Keyframe requests are spaced at least this far apart (the answer takes a round trip).
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);
/// How often held packets are looked at again while a hole waits for a retransmission.
const HOLE_CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// Asks the publisher for a keyframe.
pub(crate) type RequestKeyframe = Arc<dyn Fn() + Send + Sync>;

/// The decoded pictures of a remote video track, as [`VideoFrame`]s in the format asked for.
///
/// Read it with [`VideoStream::recv`] or as a [`Stream`]. Pictures follow the sender's
/// resolution changes; up to four are held for a slow reader, which then gets the newest.
/// The stream ends (`None`) when the track ends or after [`VideoStream::close`].
pub struct VideoStream {
    queue: Arc<FrameQueue<VideoFrame>>,
    task: Option<JoinHandle<()>>,
    format: VideoFormat,
}

impl std::fmt::Debug for VideoStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoStream").field("format", &self.format).finish()
    }
}

impl VideoStream {
    /// Starts decoding `codec` packets into pictures of `format`. Fails when the codec is not
    /// built in, or outside a tokio runtime.
    pub(crate) fn from_packets(
        packets: broadcast::Receiver<RtpPacket>,
        codec: VideoCodec,
        request_keyframe: RequestKeyframe,
        format: VideoFormat,
    ) -> Result<Self> {
        let decoder = new_decoder(codec)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Internal("VideoStream needs a running tokio runtime".into()))?;
        let queue = FrameQueue::new(FRAME_CAPACITY);
        let receiver = Receiver {
            codec,
            format,
            decoder: Some(decoder),
            assembler: FrameAssembler::default(),
            request_keyframe,
            waiting_for_keyframe: true,
            last_request: None,
            first_timestamp: None,
            out: EndOnDrop(queue.clone()),
        };
        let task = crate::tasks::spawn_on(&runtime, receiver.run(packets));
        Ok(Self { queue, task: Some(task), format })
    }

    /// A stream whose pictures a task of the caller's pushes: `spawn` gets the queue (ended
    /// when the task drops it) and returns the task, which the stream aborts when dropped.
    pub(crate) fn from_task(
        format: VideoFormat,
        spawn: impl FnOnce(EndOnDrop<VideoFrame>) -> Result<JoinHandle<()>>,
    ) -> Result<Self> {
        let queue = FrameQueue::new(FRAME_CAPACITY);
        let task = spawn(EndOnDrop(queue.clone()))?;
        Ok(Self { queue, task: Some(task), format })
    }

    /// The next picture, waiting for it; `None` once the stream has ended.
    pub async fn recv(&mut self) -> Option<VideoFrame> {
        std::future::poll_fn(|cx| self.queue.poll_pop(cx)).await
    }

    /// The format every picture comes in.
    pub fn format(&self) -> VideoFormat {
        self.format
    }

    /// Stops decoding and drops the held pictures; `recv` returns `None` from now on.
    pub fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.queue.close();
    }
}

impl Stream for VideoStream {
    type Item = VideoFrame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<VideoFrame>> {
        self.queue.poll_pop(cx)
    }
}

impl Drop for VideoStream {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The decoding task's state.
struct Receiver {
    codec: VideoCodec,
    format: VideoFormat,
    /// Lent to a blocking thread while it decodes.
    decoder: Option<Box<dyn VideoDecoder>>,
    assembler: FrameAssembler,
    request_keyframe: RequestKeyframe,
    /// After a loss or at the start: pictures are dropped until a keyframe.
    waiting_for_keyframe: bool,
    last_request: Option<Instant>,
    first_timestamp: Option<u32>,
    out: EndOnDrop<VideoFrame>,
}

impl Receiver {
    async fn run(mut self, mut packets: broadcast::Receiver<RtpPacket>) {
        loop {
            let received = tokio::time::timeout(HOLE_CHECK_INTERVAL, packets.recv()).await;
            match received {
                Ok(Ok(packet)) => {
                    let start = starts_frame(self.codec, &packet.payload);
                    self.assembler.push(packet, start);
                }
                Ok(Err(RecvError::Lagged(missed))) => log::warn!("video stream: {missed} packets skipped (behind)"),
                Ok(Err(RecvError::Closed)) => return,
                Err(_elapsed) => {}
            }
            while let Some(assembled) = self.assembler.pop(Instant::now()) {
                if let Err(e) = self.handle(assembled).await {
                    log::debug!("video stream: {e}");
                    self.lost_picture();
                }
            }
        }
    }

    async fn handle(&mut self, assembled: Assembled) -> Result<()> {
        let (timestamp, payloads) = match assembled {
            Assembled::Broken => return Err(Error::Stream("packets lost".into())),
            Assembled::Picture { timestamp, payloads } => (timestamp, payloads),
        };
        let frame = depacketize(self.codec, &payloads)?;
        if self.waiting_for_keyframe && !frame.keyframe {
            self.ask_for_keyframe();
            return Ok(());
        }
        let mut decoder = self.decoder.take().ok_or_else(|| Error::Internal("the decoder was lost".into()))?;
        let data = frame.data;
        let (decoder, decoded) = tokio::task::spawn_blocking(move || {
            let decoded = decoder.decode(&data);
            (decoder, decoded)
        })
        .await
        .map_err(|e| Error::Internal(format!("video decoding stopped: {e}")))?;
        self.decoder = Some(decoder);
        let Some(picture) = decoded? else { return Ok(()) };
        self.waiting_for_keyframe = false;
        let mut frame = picture.into_frame(self.format)?;
        let first = *self.first_timestamp.get_or_insert(timestamp);
        // 90 kHz ticks since the first picture, in µs (wraps after 13 hours, as RTP does).
        frame.timestamp_us = i64::from(timestamp.wrapping_sub(first)) * 100 / 9;
        self.out.0.push(frame);
        Ok(())
    }

    fn lost_picture(&mut self) {
        self.waiting_for_keyframe = true;
        self.ask_for_keyframe();
    }

    fn ask_for_keyframe(&mut self) {
        let now = Instant::now();
        if self.last_request.is_none_or(|at| now.duration_since(at) >= KEYFRAME_REQUEST_INTERVAL) {
            self.last_request = Some(now);
            (self.request_keyframe)();
        }
    }
}

#[cfg(all(test, feature = "vp8"))]
#[path = "video_stream_tests.rs"]
mod tests;
