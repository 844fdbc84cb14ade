// Builders for the audio requests: a source the caller captures 16-bit PCM into, the local
// track it feeds and its publish, and streams of the decoded audio others publish
// (docs/ffi-protocol.md). As in requests.hpp, each fills the official message and nothing more.
// 48 kHz mono is the default; any rate and layout the protocol allows work.
#pragma once

#include <cstdint>
#include <string>

#include "ffi.pb.h"

namespace livekit::ffi::requests {

namespace proto = ::livekit::proto;

/// Captures may run `queue_size_ms` ahead of real time before their callbacks wait.
inline proto::FfiRequest new_audio_source(uint32_t queue_size_ms, uint32_t sample_rate = 48000,
                                          uint32_t num_channels = 1) {
  proto::FfiRequest request;
  auto* source = request.mutable_new_audio_source();
  source->set_type(proto::AUDIO_SOURCE_NATIVE);
  source->set_sample_rate(sample_rate);
  source->set_num_channels(num_channels);
  source->set_queue_size_ms(queue_size_ms);
  return request;
}

/// `samples` is interleaved int16 the caller owns: the library copies it during the request
/// call, so it may go away right after. The capture_audio_frame callback comes once the
/// source's queue has room again; captures complete in request order.
inline proto::FfiRequest capture_audio_frame(uint64_t source_handle, const int16_t* samples,
                                             uint32_t samples_per_channel, uint32_t sample_rate = 48000,
                                             uint32_t num_channels = 1) {
  proto::FfiRequest request;
  auto* capture = request.mutable_capture_audio_frame();
  capture->set_source_handle(source_handle);
  auto* buffer = capture->mutable_buffer();
  buffer->set_data_ptr(reinterpret_cast<uintptr_t>(samples));
  buffer->set_samples_per_channel(samples_per_channel);
  buffer->set_sample_rate(sample_rate);
  buffer->set_num_channels(num_channels);
  return request;
}

/// A local audio track fed by the source (synchronous: the response holds the track).
inline proto::FfiRequest create_audio_track(const std::string& name, uint64_t source_handle) {
  proto::FfiRequest request;
  auto* create = request.mutable_create_audio_track();
  create->set_name(name);
  create->set_source_handle(source_handle);
  return request;
}

/// Async: the publish_track callback carries the publication (or an error).
inline proto::FfiRequest publish_track(uint64_t local_participant, uint64_t track_handle,
                                       proto::TrackSource source = proto::SOURCE_MICROPHONE) {
  proto::FfiRequest request;
  auto* publish = request.mutable_publish_track();
  publish->set_local_participant_handle(local_participant);
  publish->set_track_handle(track_handle);
  publish->mutable_options()->set_source(source);
  return request;
}

/// Decoded 10 ms frames of a subscribed remote track (from track_subscribed), as
/// FfiEvent.audio_stream_event keyed by the stream handle, then eos when the track ends.
inline proto::FfiRequest new_audio_stream(uint64_t track_handle, uint32_t sample_rate = 48000,
                                          uint32_t num_channels = 1) {
  proto::FfiRequest request;
  auto* stream = request.mutable_new_audio_stream();
  stream->set_track_handle(track_handle);
  stream->set_type(proto::AUDIO_STREAM_NATIVE);
  stream->set_sample_rate(sample_rate);
  stream->set_num_channels(num_channels);
  return request;
}

/// The same events, following whichever track of `source` the participant publishes, now or
/// later; eos when it leaves. No need to wait for track_subscribed.
inline proto::FfiRequest audio_stream_from_participant(uint64_t participant_handle,
                                                       proto::TrackSource source = proto::SOURCE_MICROPHONE,
                                                       uint32_t sample_rate = 48000, uint32_t num_channels = 1) {
  proto::FfiRequest request;
  auto* stream = request.mutable_audio_stream_from_participant();
  stream->set_participant_handle(participant_handle);
  stream->set_type(proto::AUDIO_STREAM_NATIVE);
  stream->set_track_source(source);
  stream->set_sample_rate(sample_rate);
  stream->set_num_channels(num_channels);
  return request;
}

}  // namespace livekit::ffi::requests
