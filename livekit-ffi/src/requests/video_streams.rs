//! Video streams: a task per stream sends each decoded picture of a remote track as a
//! `VideoStreamEvent` with an owned buffer (tightly packed, in the asked format), then `eos`
//! when the track ends or the client drops the stream's handle. A stream from a participant
//! follows whichever video track of the asked source it publishes and we receive, now or
//! later, and ends when the participant leaves.

use std::collections::HashMap;
use std::future::Future;
use std::sync::LazyLock;

use livekit_core::{RemoteParticipant, RemoteVideoTrack, TrackSource, VideoFormat, VideoStream};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::track_events::core_source;
use super::video::{core_format, owned_picture, proto_rotation};
use crate::error::{FfiError, FfiResult};
use crate::events;
use crate::handles::FfiHandle;
use crate::proto::{self, ffi_event, video_stream_event};
use crate::server::server;

/// The streams reading a track, by track sid, told when the client hears the track ended.
static READERS: LazyLock<Mutex<HashMap<String, Vec<oneshot::Sender<()>>>>> = LazyLock::new(Default::default);

/// The client was told a remote track ended (unsubscribed, unpublished, its participant left):
/// the video streams reading it end (with `eos`). The core's stream of a track keeps waiting for
/// packets after the server stops sending them, so the room's event forwarder says it here.
pub fn track_ended(sid: &str) {
    // Dropping the senders wakes the streams.
    READERS.lock().remove(sid);
}

/// Resolves (with an error) when `track_ended(sid)` is called.
fn watch_track(sid: String) -> oneshot::Receiver<()> {
    let (ended_tx, ended) = oneshot::channel();
    READERS.lock().entry(sid).or_default().push(ended_tx);
    ended
}

/// The format a stream delivers: the asked one, I420 (what the decoder gives) by default.
fn stream_format(format: Option<i32>) -> FfiResult<VideoFormat> {
    match format {
        None => Ok(VideoFormat::I420),
        Some(value) => core_format(
            proto::VideoBufferType::try_from(value)
                .map_err(|_| FfiError::InvalidArgument(format!("video stream: unknown buffer type {value}")))?,
        ),
    }
}

/// Opens a core stream; its task starts on the library's runtime.
fn open(track: &RemoteVideoTrack, format: VideoFormat) -> livekit_core::Result<VideoStream> {
    let _runtime = server().runtime().enter();
    VideoStream::new(track, format)
}

/// Opens a core stream following the participant's video track of `source`.
fn follow(
    participant: &RemoteParticipant,
    source: TrackSource,
    format: VideoFormat,
) -> livekit_core::Result<VideoStream> {
    let _runtime = server().runtime().enter();
    VideoStream::from_participant(participant, source, format)
}

fn refuse_web_stream(kind: proto::VideoStreamType) -> FfiResult<()> {
    if kind != proto::VideoStreamType::VideoStreamNative {
        return Err(FfiError::InvalidArgument(format!(
            "video stream type {} is not supported by livekit-core (VIDEO_STREAM_NATIVE is)",
            kind.as_str_name()
        )));
    }
    Ok(())
}

/// A stream of a subscribed remote video track.
pub fn new_video_stream(request: proto::NewVideoStreamRequest) -> FfiResult<proto::NewVideoStreamResponse> {
    refuse_web_stream(request.r#type())?;
    let track = server().handles.remote_video_track(request.track_handle)?;
    let format = stream_format(request.format)?;
    let stream =
        open(&track, format).map_err(|error| FfiError::InvalidArgument(format!("new_video_stream: {error}")))?;
    let ended = watch_track(track.sid());
    let id = start(stream, format, async move {
        let _ = ended.await;
    });
    Ok(proto::NewVideoStreamResponse { stream: owned_stream(id) })
}

/// A stream of whichever video track of the asked source the participant has, until it leaves
/// (the core's `VideoStream::from_participant`).
pub fn video_stream_from_participant(
    request: proto::VideoStreamFromParticipantRequest,
) -> FfiResult<proto::VideoStreamFromParticipantResponse> {
    refuse_web_stream(request.r#type())?;
    let participant = server().handles.remote_participant(request.participant_handle)?;
    let format = stream_format(request.format)?;
    let source = core_source(request.track_source);
    let stream = follow(&participant, source, format)
        .map_err(|error| FfiError::InvalidArgument(format!("video_stream_from_participant: {error}")))?;
    let id = start(stream, format, std::future::pending());
    Ok(proto::VideoStreamFromParticipantResponse { stream: owned_stream(id) })
}

/// Registers a stream handle (its events carry the id, so it is known before the task starts)
/// and sends the stream's pictures, then `eos`, until the stream ends, `ended` resolves or the
/// handle is dropped.
fn start(stream: VideoStream, format: VideoFormat, ended: impl Future<Output = ()> + Send + 'static) -> u64 {
    let (stop_tx, mut stop) = oneshot::channel();
    let id = server().handles.insert(FfiHandle::VideoStream(stop_tx));
    server().spawn(async move {
        pump(id, stream, format, &mut stop, ended).await;
        send_eos(id);
    });
    id
}

fn owned_stream(id: u64) -> proto::OwnedVideoStream {
    proto::OwnedVideoStream {
        handle: proto::FfiOwnedHandle { id },
        info: proto::VideoStreamInfo { r#type: proto::VideoStreamType::VideoStreamNative as i32 },
    }
}

/// Sends the stream's pictures until the stream ends, `ended` resolves or the client drops the
/// stream.
async fn pump(
    id: u64,
    mut stream: VideoStream,
    format: VideoFormat,
    stop: &mut oneshot::Receiver<()>,
    ended: impl Future<Output = ()>,
) {
    tokio::pin!(ended);
    loop {
        let frame = tokio::select! {
            _ = &mut *stop => return,
            () = &mut ended => return,
            frame = stream.recv() => frame,
        };
        let Some(frame) = frame else { return };
        let buffer = owned_picture(frame.data().clone(), format, frame.width(), frame.height());
        send(
            id,
            video_stream_event::Message::FrameReceived(proto::VideoFrameReceived {
                buffer,
                timestamp_us: frame.timestamp_us,
                rotation: proto_rotation(frame.rotation) as i32,
            }),
        );
    }
}

fn send_eos(id: u64) {
    send(id, video_stream_event::Message::Eos(proto::VideoStreamEos {}));
}

fn send(stream_handle: u64, message: video_stream_event::Message) {
    events::send(ffi_event::Message::VideoStreamEvent(proto::VideoStreamEvent {
        stream_handle,
        message: Some(message),
    }));
}
