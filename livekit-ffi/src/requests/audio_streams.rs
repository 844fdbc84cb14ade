//! Audio streams: a task per stream sends each decoded frame of a remote track as an
//! `AudioStreamEvent` with an owned buffer, then `eos` when the track ends or the client drops
//! the stream's handle. A stream from a participant follows whichever track of the asked source
//! it publishes and we receive, now or later, and ends when the participant leaves.

use livekit_core::{AudioStream, RemoteAudioTrack, RemoteParticipant, TrackSource};
use tokio::sync::oneshot;

use super::audio::{owned_frame, owned_samples};
use super::track_events::core_source;
use crate::error::{FfiError, FfiResult};
use crate::events;
use crate::handles::FfiHandle;
use crate::proto::{self, audio_stream_event, ffi_event};
use crate::server::server;

/// What the handle table keeps for a stream; dropping it stops the stream's task.
pub type StreamStop = oneshot::Sender<()>;

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

    /// Opens a core stream following the participant's track of `source`.
    fn follow(&self, participant: &RemoteParticipant, source: TrackSource) -> livekit_core::Result<AudioStream> {
        let _runtime = server().runtime().enter();
        AudioStream::from_participant(participant, source, self.sample_rate, self.num_channels)
    }
}

/// A stream of a subscribed remote audio track.
pub fn new_audio_stream(request: proto::NewAudioStreamRequest) -> FfiResult<proto::NewAudioStreamResponse> {
    refuse_filter(request.audio_filter_module_id.as_deref())?;
    let track = server().handles.remote_audio_track(request.track_handle)?;
    let format = Format::new(request.sample_rate, request.num_channels, request.frame_size_ms)?;
    let stream =
        format.open(&track).map_err(|error| FfiError::InvalidArgument(format!("new_audio_stream: {error}")))?;
    let id = start(stream, format);
    Ok(proto::NewAudioStreamResponse { stream: owned_stream(id) })
}

/// A stream of whichever track of the asked source the participant has, until it leaves
/// (the core's `AudioStream::from_participant`).
pub fn audio_stream_from_participant(
    request: proto::AudioStreamFromParticipantRequest,
) -> FfiResult<proto::AudioStreamFromParticipantResponse> {
    refuse_filter(request.audio_filter_module_id.as_deref())?;
    let participant = server().handles.remote_participant(request.participant_handle)?;
    let format = Format::new(request.sample_rate, request.num_channels, request.frame_size_ms)?;
    let source = core_source(request.track_source.unwrap_or(proto::TrackSource::SourceMicrophone as i32));
    let stream = format
        .follow(&participant, source)
        .map_err(|error| FfiError::InvalidArgument(format!("audio_stream_from_participant: {error}")))?;
    let id = start(stream, format);
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

/// Registers a stream handle (its events carry the id, so it is known before the task starts)
/// and sends the stream's frames, then `eos`, until the stream ends or the handle is dropped.
fn start(stream: AudioStream, format: Format) -> u64 {
    let (stop_tx, mut stop) = oneshot::channel();
    let id = server().handles.insert(FfiHandle::AudioStream(stop_tx));
    server().spawn(async move {
        pump(id, stream, format, &mut stop).await;
        send_eos(id);
    });
    id
}

fn owned_stream(id: u64) -> proto::OwnedAudioStream {
    proto::OwnedAudioStream {
        handle: proto::FfiOwnedHandle { id },
        info: proto::AudioStreamInfo { r#type: proto::AudioStreamType::AudioStreamNative as i32 },
    }
}

/// Sends the stream's frames, grouped to the asked frame size, until the stream ends or the
/// client drops the stream.
async fn pump(id: u64, mut stream: AudioStream, format: Format, stop: &mut oneshot::Receiver<()>) {
    let per_frame = (format.sample_rate * format.frame_ms / 1000 * format.num_channels) as usize;
    let mut pending: Vec<i16> = Vec::new();
    loop {
        let frame = tokio::select! {
            _ = &mut *stop => return,
            frame = stream.recv() => frame,
        };
        let Some(frame) = frame else { return };
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
