//! Audio streams: a task per stream sends each decoded frame of a remote track as an
//! `AudioStreamEvent` with an owned buffer, then `eos` when the track ends or the client drops
//! the stream's handle. A stream from a participant follows whichever track of the asked source
//! it publishes and we receive, now or later, and ends when the participant leaves.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use livekit_core::{AudioStream, RemoteAudioTrack, RemoteParticipant, RemoteTrack, TrackSource};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::audio::{owned_frame, owned_samples};
use super::track_events::core_source;
use crate::error::{FfiError, FfiResult};
use crate::events;
use crate::handles::FfiHandle;
use crate::proto::{self, audio_stream_event, ffi_event};
use crate::server::server;

/// How often a stream from a participant looks for the track it should read.
const TRACK_POLL: Duration = Duration::from_millis(20);

/// What the handle table keeps for a stream; dropping it stops the stream's task.
pub type StreamStop = oneshot::Sender<()>;

/// The streams following a participant, by participant sid, told when it leaves.
static FOLLOWERS: LazyLock<Mutex<HashMap<String, Vec<oneshot::Sender<()>>>>> = LazyLock::new(Default::default);

/// A remote participant left: the streams following it end (with `eos`). Called by the room's
/// event forwarder.
pub fn participant_left(sid: &str) {
    // Dropping the senders wakes the streams.
    FOLLOWERS.lock().remove(sid);
}

/// Resolves (with an error) when `participant` leaves: what a stream following it waits on.
pub fn watch_participant(participant: &RemoteParticipant) -> oneshot::Receiver<()> {
    let (left_tx, left) = oneshot::channel();
    FOLLOWERS.lock().entry(participant.sid()).or_default().push(left_tx);
    left
}

/// The rate and layout a stream delivers, and how many milliseconds each frame holds.
#[derive(Clone, Copy)]
struct Format {
    sample_rate: u32,
    num_channels: u32,
    frame_ms: u32,
}

impl Format {
    fn new(sample_rate: Option<u32>, num_channels: Option<u32>, frame_size_ms: Option<u32>) -> FfiResult<Self> {
        let frame_ms = frame_size_ms.unwrap_or(10);
        if frame_ms == 0 || !frame_ms.is_multiple_of(10) || frame_ms > 1000 {
            return Err(FfiError::InvalidArgument(format!(
                "audio stream: frame_size_ms {frame_ms} (livekit-core delivers multiples of 10 ms, up to 1000)"
            )));
        }
        Ok(Self { sample_rate: sample_rate.unwrap_or(48_000), num_channels: num_channels.unwrap_or(1), frame_ms })
    }

    /// Opens a core stream; its task starts on the library's runtime.
    fn open(&self, track: &RemoteAudioTrack) -> livekit_core::Result<AudioStream> {
        let _runtime = server().runtime().enter();
        AudioStream::new(track, self.sample_rate, self.num_channels)
    }
}

/// A stream of a subscribed remote audio track.
pub fn new_audio_stream(request: proto::NewAudioStreamRequest) -> FfiResult<proto::NewAudioStreamResponse> {
    refuse_filter(request.audio_filter_module_id.as_deref())?;
    let track = server().handles.remote_audio_track(request.track_handle)?;
    let format = Format::new(request.sample_rate, request.num_channels, request.frame_size_ms)?;
    let stream =
        format.open(&track).map_err(|error| FfiError::InvalidArgument(format!("new_audio_stream: {error}")))?;
    let (id, stop) = register();
    server().runtime().spawn(async move {
        let mut stop = stop;
        pump(id, stream, format, &mut stop).await;
        send_eos(id);
    });
    Ok(proto::NewAudioStreamResponse { stream: owned_stream(id) })
}

/// A stream of whichever track of the asked source the participant has, until it leaves.
pub fn audio_stream_from_participant(
    request: proto::AudioStreamFromParticipantRequest,
) -> FfiResult<proto::AudioStreamFromParticipantResponse> {
    refuse_filter(request.audio_filter_module_id.as_deref())?;
    let participant = server().handles.remote_participant(request.participant_handle)?;
    let format = Format::new(request.sample_rate, request.num_channels, request.frame_size_ms)?;
    let source = core_source(request.track_source.unwrap_or(proto::TrackSource::SourceMicrophone as i32));
    let (id, stop) = register();
    let left = watch_participant(&participant);
    server().runtime().spawn(async move {
        let mut stop = stop;
        follow_participant(id, participant, source, format, &mut stop, left).await;
        send_eos(id);
    });
    Ok(proto::AudioStreamFromParticipantResponse { stream: owned_stream(id) })
}

fn refuse_filter(module: Option<&str>) -> FfiResult<()> {
    match module {
        Some(module) if !module.is_empty() => Err(FfiError::InvalidArgument(format!(
            "audio filter plugins ({module}) are not implemented by livekit-core"
        ))),
        _ => Ok(()),
    }
}

/// A fresh stream handle; its events carry the id, so it is known before the task starts.
fn register() -> (u64, oneshot::Receiver<()>) {
    let (stop_tx, stop_rx) = oneshot::channel();
    let id = server().handles.insert(FfiHandle::AudioStream(stop_tx));
    (id, stop_rx)
}

fn owned_stream(id: u64) -> proto::OwnedAudioStream {
    proto::OwnedAudioStream {
        handle: proto::FfiOwnedHandle { id },
        info: proto::AudioStreamInfo { r#type: proto::AudioStreamType::AudioStreamNative as i32 },
    }
}

/// Reads whichever track of `source` the participant has while we receive it; between tracks
/// it waits. Returns when the client drops the stream or the participant leaves (`left`).
async fn follow_participant(
    id: u64,
    participant: RemoteParticipant,
    source: TrackSource,
    format: Format,
    stop: &mut oneshot::Receiver<()>,
    mut left: oneshot::Receiver<()>,
) {
    loop {
        let track = participant.track_publications().into_values().find_map(|publication| {
            match (publication.source() == source).then(|| publication.track()).flatten() {
                Some(RemoteTrack::Audio(track)) => Some(track),
                _ => None,
            }
        });
        if let Some(Ok(stream)) = track.map(|track| format.open(&track)) {
            tokio::select! {
                ended = pump(id, stream, format, stop) => if !ended { return },
                _ = &mut left => return,
            }
        }
        tokio::select! {
            _ = &mut *stop => return,
            _ = &mut left => return,
            _ = tokio::time::sleep(TRACK_POLL) => {}
        }
    }
}

/// Sends the stream's frames, grouped to the asked frame size. Returns true when the track
/// ended, false when the client dropped the stream.
async fn pump(id: u64, mut stream: AudioStream, format: Format, stop: &mut oneshot::Receiver<()>) -> bool {
    let per_frame = (format.sample_rate * format.frame_ms / 1000 * format.num_channels) as usize;
    let mut pending: Vec<i16> = Vec::new();
    loop {
        let frame = tokio::select! {
            _ = &mut *stop => return false,
            frame = stream.recv() => frame,
        };
        let Some(frame) = frame else { return true };
        if format.frame_ms == 10 && pending.is_empty() {
            send_frame(id, owned_frame(frame));
            continue;
        }
        pending.extend_from_slice(frame.data());
        while pending.len() >= per_frame {
            let rest = pending.split_off(per_frame);
            let data = std::mem::replace(&mut pending, rest).into_boxed_slice();
            let samples = (per_frame / format.num_channels as usize) as u32;
            send_frame(id, owned_samples(data, format.sample_rate, format.num_channels, samples));
        }
    }
}

fn send_frame(id: u64, frame: proto::OwnedAudioFrameBuffer) {
    send(id, audio_stream_event::Message::FrameReceived(proto::AudioFrameReceived { frame }));
}

fn send_eos(id: u64) {
    send(id, audio_stream_event::Message::Eos(proto::AudioStreamEos {}));
}

fn send(stream_handle: u64, message: audio_stream_event::Message) {
    events::send(ffi_event::Message::AudioStreamEvent(proto::AudioStreamEvent {
        stream_handle,
        message: Some(message),
    }));
}
