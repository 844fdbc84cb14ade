//! The media layer between `room/` and `engine/`: audio as small plain parts in a line, each
//! with time passed in and unit tests that need no network. It must not touch the engine or
//! the room; the engine moves the packets these parts produce and consume.
//!
//! Send: `AudioSource` (tokio) -> `CaptureQueue` (10 ms pacing, back-pressure) ->
//! `AudioSendPipeline` (`ChunkResampler` to 48 kHz, `OpusEncoder` 20 ms, `audio_level`) ->
//! `EncodedAudio`. Receive: RTP payloads -> `AudioReceivePipeline` (`JitterBuffer`
//! with a `JitterEstimator`,
//! `OpusDecoder` with FEC/PLC, `ChunkResampler`) -> 10 ms `AudioFrame`s, driven by the tokio
//! task of an `AudioStream`. See docs/media.md. `AudioResampler` is the public streaming converter for users.

// Parts the engine will call are crate-private and not wired yet.
#![allow(dead_code)]

mod audio_level;
mod audio_resampler;
mod box_scale;
mod capture_queue;
mod frame;
pub(crate) mod frame_assembler;
mod frame_queue;
mod h264_codec;
mod jitter_buffer;
mod jitter_estimator;
mod packets;
mod polyphase;
mod red;
mod red_receiver;
mod resampler;
#[cfg(test)]
pub(crate) mod test_support;
pub(crate) mod video_codec;
mod video_convert;
pub(crate) mod video_depacketizer;
mod video_frame;
mod video_rate;
mod video_rotate;
mod video_scale;
mod video_send;
mod video_source;
mod video_stream;
mod vp8_codec;

#[cfg(feature = "audio")]
mod audio_source;
#[cfg(feature = "audio")]
mod audio_stream;
#[cfg(feature = "audio")]
mod fec_planner;
#[cfg(feature = "audio")]
mod opus_codec;
#[cfg(feature = "audio")]
mod receive_pipeline;
#[cfg(feature = "audio")]
mod send_pipeline;
#[cfg(not(feature = "audio"))]
mod without_audio;

pub use audio_resampler::{AudioResampler, MAX_RESAMPLER_CHANNELS, MAX_RESAMPLER_PUSH_SAMPLES};
#[cfg(feature = "audio")]
pub use audio_source::AudioSource;
#[cfg(feature = "audio")]
pub use audio_stream::AudioStream;
pub use frame::{AudioFrame, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
pub(crate) use packets::{EncodedAudio, RtpPacket};
pub(crate) use red::RedEncoder;
pub(crate) use red_receiver::RedReceiver;
#[cfg(feature = "video-bench")]
pub use video_codec::bench as video_codec_bench;
pub use video_codec::VideoCodec;
pub use video_convert::PictureRef;
pub use video_frame::{I420Buffer, VideoFormat, VideoFrame, VideoRotation, MAX_VIDEO_DIMENSION};
pub(crate) use video_rate::{default_max_bitrate, enabled_layers, layer_size, video_layers, LayerSpec, SenderFeedback};
pub(crate) use video_scale::Scaler;
pub(crate) use video_send::{EncodedPicture, VideoSendPipeline};
pub use video_source::VideoSource;
pub(crate) use video_source::{CapturedPicture, LatestPicture};
pub(crate) use video_stream::RequestKeyframe;
pub use video_stream::VideoStream;
#[cfg(not(feature = "audio"))]
pub use without_audio::{AudioSource, AudioStream};

#[cfg(feature = "audio")]
#[allow(unused_imports)]
pub(crate) use receive_pipeline::AudioReceivePipeline;
#[cfg(feature = "audio")]
#[allow(unused_imports)]
pub(crate) use send_pipeline::AudioSendPipeline;
