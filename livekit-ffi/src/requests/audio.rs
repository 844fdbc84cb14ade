//! Audio sources: creating one, capturing frames into it and clearing its queue. A capture
//! copies the caller's samples once, during the request, then waits in the source's own task
//! (captures run in request order) until the core's queue is back under its size.

use livekit_core::{AudioFrame, AudioSource};
use tokio::sync::mpsc;

use crate::error::{FfiError, FfiResult};
use crate::events;
use crate::handles::FfiHandle;
use crate::proto::{self, ffi_event};
use crate::server::server;

/// The queue size the official SDK defaults to when a request leaves it out.
const DEFAULT_QUEUE_MS: u32 = 1000;

/// The longest frame a capture may carry, in samples per channel per Hz (the core takes at
/// most 1 s); checked before the caller's memory is read.
const MAX_FRAME_SECONDS: u32 = 1;

/// An audio source as the client holds it: the core source and the queue of its capture task.
#[derive(Clone)]
pub struct FfiAudioSource {
    /// The core source (tracks created from it share it).
    pub source: AudioSource,
    captures: mpsc::UnboundedSender<(u64, AudioFrame)>,
}

/// A native source of the asked rate, channels and queue size, with its capture task.
pub fn new_audio_source(request: proto::NewAudioSourceRequest) -> FfiResult<proto::NewAudioSourceResponse> {
    if request.r#type() == proto::AudioSourceType::AudioSourcePlatform || request.platform_audio_handle.is_some() {
        return Err(FfiError::NotImplemented {
            name: "new_audio_source with AUDIO_SOURCE_PLATFORM",
            number: 26,
            why: " (platform audio devices are not available in livekit-core: capture frames into a native source)",
        });
    }
    if let Some(options) = &request.options {
        if options.echo_cancellation || options.noise_suppression || options.auto_gain_control {
            return Err(FfiError::InvalidArgument(
                "AudioSourceOptions: echo cancellation, noise suppression and auto gain control are not \
                 implemented by livekit-core; leave them off"
                    .into(),
            ));
        }
    }
    let (Some(sample_rate), Some(num_channels)) = (request.sample_rate, request.num_channels) else {
        return Err(FfiError::InvalidArgument("new_audio_source needs sample_rate and num_channels".into()));
    };
    let queue_ms = request.queue_size_ms.unwrap_or(DEFAULT_QUEUE_MS);
    let source = AudioSource::new(sample_rate, num_channels, queue_ms)
        .map_err(|error| FfiError::InvalidArgument(format!("new_audio_source: {error}")))?;
    let (captures, queue) = mpsc::unbounded_channel();
    server().spawn(run_captures(source.clone(), queue));
    let handle = server().handles.insert(FfiHandle::AudioSource(FfiAudioSource { source, captures }));
    Ok(proto::NewAudioSourceResponse {
        source: proto::OwnedAudioSource {
            handle: proto::FfiOwnedHandle { id: handle },
            info: proto::AudioSourceInfo { r#type: proto::AudioSourceType::AudioSourceNative as i32 },
        },
    })
}

/// Runs a source's captures one after the other; ends when the client drops the source.
async fn run_captures(source: AudioSource, mut queue: mpsc::UnboundedReceiver<(u64, AudioFrame)>) {
    while let Some((async_id, frame)) = queue.recv().await {
        let error = source.capture_frame(&frame).await.err().map(|error| error.to_string());
        events::send(capture_callback(async_id, error));
    }
}

fn capture_callback(async_id: u64, error: Option<String>) -> ffi_event::Message {
    ffi_event::Message::CaptureAudioFrame(proto::CaptureAudioFrameCallback { async_id, error })
}

/// Copies the frame now and queues the capture; its callback comes once the core took it.
pub fn capture_audio_frame(request: proto::CaptureAudioFrameRequest) -> FfiResult<proto::CaptureAudioFrameResponse> {
    let source = server().handles.audio_source(request.source_handle)?;
    let frame = read_frame(&request.buffer)?;
    if (frame.sample_rate(), frame.num_channels()) != (source.source.sample_rate(), source.source.num_channels()) {
        return Err(FfiError::InvalidArgument(format!(
            "audio frame: {} Hz, {} channel(s), but the source takes {} Hz, {} channel(s)",
            frame.sample_rate(),
            frame.num_channels(),
            source.source.sample_rate(),
            source.source.num_channels()
        )));
    }
    let async_id = server().async_id(request.request_async_id);
    if let Err(mpsc::error::SendError((async_id, _))) = source.captures.send((async_id, frame)) {
        // The capture task is gone (the runtime is shutting down): answer at once.
        events::send(capture_callback(async_id, Some("the audio source is closed".into())));
    }
    Ok(proto::CaptureAudioFrameResponse { async_id })
}

/// Drops the audio queued in the source; a waiting capture completes.
pub fn clear_audio_buffer(request: proto::ClearAudioBufferRequest) -> FfiResult<proto::ClearAudioBufferResponse> {
    server().handles.audio_source(request.source_handle)?.source.clear_queue();
    Ok(proto::ClearAudioBufferResponse {})
}

/// Copies the caller's interleaved samples into a core frame, after checking the sizes so no
/// more than one second of audio is ever read from the pointer.
pub fn read_frame(buffer: &proto::AudioFrameBufferInfo) -> FfiResult<AudioFrame> {
    let (rate, channels, samples) = (buffer.sample_rate, buffer.num_channels, buffer.samples_per_channel);
    if !(livekit_core::media::MIN_SAMPLE_RATE..=livekit_core::media::MAX_SAMPLE_RATE).contains(&rate) {
        return Err(FfiError::InvalidArgument(format!("audio frame: sample rate {rate} Hz is not supported")));
    }
    if !(1..=2).contains(&channels) {
        return Err(FfiError::InvalidArgument(format!("audio frame: {channels} channels (1 or 2 are supported)")));
    }
    if samples == 0 || samples > rate * MAX_FRAME_SECONDS {
        return Err(FfiError::InvalidArgument(format!(
            "audio frame: {samples} samples per channel (1 up to one second, {rate}, are accepted)"
        )));
    }
    if buffer.data_ptr == 0 {
        return Err(FfiError::InvalidArgument("audio frame: data_ptr is null".into()));
    }
    let len = samples as usize * channels as usize;
    // SAFETY: the protocol says data_ptr points at num_channels * samples_per_channel int16
    // samples that stay valid during the request; the sizes were bounded above. Read as bytes,
    // so an odd address is fine.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.data_ptr as *const u8, len * 2) };
    let data = bytes.chunks_exact(2).map(|pair| i16::from_ne_bytes([pair[0], pair[1]])).collect();
    AudioFrame::new(data, rate, channels).map_err(|error| FfiError::InvalidArgument(format!("audio frame: {error}")))
}

/// A received frame as an owned buffer: the samples move into a handle (no copy) that the
/// client reads through the pointer and then drops.
pub fn owned_frame(frame: AudioFrame) -> proto::OwnedAudioFrameBuffer {
    let (rate, channels, samples) = (frame.sample_rate(), frame.num_channels(), frame.samples_per_channel());
    owned_samples(frame.into_data().into_boxed_slice(), rate, channels, samples)
}

/// Interleaved samples as an owned buffer handle.
pub fn owned_samples(
    data: Box<[i16]>,
    sample_rate: u32,
    num_channels: u32,
    samples_per_channel: u32,
) -> proto::OwnedAudioFrameBuffer {
    let info =
        proto::AudioFrameBufferInfo { data_ptr: data.as_ptr() as u64, num_channels, sample_rate, samples_per_channel };
    let handle = server().handles.insert(FfiHandle::Samples(data));
    proto::OwnedAudioFrameBuffer { handle: proto::FfiOwnedHandle { id: handle }, info }
}

/// Platform audio (the machine's microphones and speakers) is not part of livekit-core: the
/// response says so in its error field, which the official SDK raises as `PlatformAudioError`.
pub fn new_platform_audio(_: proto::NewPlatformAudioRequest) -> proto::NewPlatformAudioResponse {
    proto::NewPlatformAudioResponse {
        message: Some(proto::new_platform_audio_response::Message::Error(
            "platform audio devices are not available in livekit-core: capture frames into an AudioSource".into(),
        )),
    }
}
