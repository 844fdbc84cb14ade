// Video over the official protocol: a source the caller captures RGBA or I420 pictures into, the
// local track it feeds and its publish, and streams of a remote track's decoded pictures
// (docs/ffi-protocol.md). The request builders fill the official messages and nothing more, as in
// audio.hpp; VideoSource, VideoFrame and VideoStream own the handles those requests give out.
//
// Copies: a capture passes a pointer to the caller's pixels, which the library reads once during
// the request. A received picture stays in library memory and VideoFrame points into it until it
// drops the buffer's handle; copy() is the one copy, made only if the caller asks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "audio.hpp"
#include "ffi_client.hpp"

namespace livekit::ffi {

// --- Pictures in the caller's memory ---------------------------------------------------------------

/// An RGBA picture at `pixels`; `stride` is bytes per row (0: 4 x width). Not copied here: the
/// pointer must stay valid until the request that takes the info returns.
inline proto::VideoBufferInfo rgba_picture(const uint8_t* pixels, uint32_t width, uint32_t height,
                                           uint32_t stride = 0) {
  proto::VideoBufferInfo info;
  info.set_type(proto::RGBA);
  info.set_width(width);
  info.set_height(height);
  info.set_data_ptr(reinterpret_cast<uintptr_t>(pixels));
  info.set_stride(stride);
  return info;
}

/// One plane of a planar picture: where it starts and its bytes per row.
struct Plane {
  const uint8_t* data = nullptr;
  uint32_t stride = 0;
};

/// An I420 picture in three planes (U and V are half the width and height, rounded up); a
/// stride of 0 means the plane's rows are packed.
inline proto::VideoBufferInfo i420_picture(Plane y, Plane u, Plane v, uint32_t width, uint32_t height) {
  proto::VideoBufferInfo info;
  info.set_type(proto::I420);
  info.set_width(width);
  info.set_height(height);
  info.set_data_ptr(reinterpret_cast<uintptr_t>(y.data));
  const uint32_t chroma_width = (width + 1) / 2, chroma_rows = (height + 1) / 2;
  const std::pair<Plane, std::pair<uint32_t, uint32_t>> planes[] = {
      {y, {width, height}}, {u, {chroma_width, chroma_rows}}, {v, {chroma_width, chroma_rows}}};
  for (const auto& [plane, shape] : planes) {
    const uint32_t stride = plane.stride != 0 ? plane.stride : shape.first;
    auto* component = info.add_components();
    component->set_data_ptr(reinterpret_cast<uintptr_t>(plane.data));
    component->set_stride(stride);
    // The library checks that each plane's size covers its rows before it reads.
    component->set_size(stride * shape.second);
  }
  return info;
}

/// Bytes of a tightly packed picture (all planes), 0 for the types livekit-core does not handle.
inline size_t packed_size(proto::VideoBufferType type, uint32_t width, uint32_t height) {
  const size_t w = width, h = height, chroma = size_t{(width + 1) / 2} * ((height + 1) / 2);
  switch (type) {
    case proto::RGBA:
    case proto::ABGR:
    case proto::ARGB:
    case proto::BGRA: return 4 * w * h;
    case proto::RGB24: return 3 * w * h;
    case proto::I420:
    case proto::NV12: return w * h + 2 * chroma;
    default: return 0;
  }
}

// --- Requests -------------------------------------------------------------------------------------

namespace requests {

/// `width` x `height` is what the server is told the track has; pictures may differ.
inline proto::FfiRequest new_video_source(uint32_t width, uint32_t height, bool is_screencast = false) {
  proto::FfiRequest request;
  auto* source = request.mutable_new_video_source();
  source->set_type(proto::VIDEO_SOURCE_NATIVE);
  source->mutable_resolution()->set_width(width);
  source->mutable_resolution()->set_height(height);
  source->set_is_screencast(is_screencast);
  return request;
}

/// Synchronous: the library copies the picture during the call; there is no callback.
/// A timestamp of 0 lets the library stamp the picture itself.
inline proto::FfiRequest capture_video_frame(uint64_t source_handle, const proto::VideoBufferInfo& picture,
                                             int64_t timestamp_us = 0,
                                             proto::VideoRotation rotation = proto::VIDEO_ROTATION_0) {
  proto::FfiRequest request;
  auto* capture = request.mutable_capture_video_frame();
  capture->set_source_handle(source_handle);
  *capture->mutable_buffer() = picture;
  capture->set_timestamp_us(timestamp_us);
  capture->set_rotation(rotation);
  return request;
}

/// A local video track fed by the source (synchronous: the response holds the track).
inline proto::FfiRequest create_video_track(const std::string& name, uint64_t source_handle) {
  proto::FfiRequest request;
  auto* create = request.mutable_create_video_track();
  create->set_name(name);
  create->set_source_handle(source_handle);
  return request;
}

/// How a video track is published. Simulcast is on by default, as in the official SDKs: the
/// server then forwards whichever layer suits each subscriber, so pictures may arrive smaller.
inline proto::TrackPublishOptions video_publish_options(proto::TrackSource source = proto::SOURCE_CAMERA,
                                                        proto::VideoCodec codec = proto::VP8,
                                                        bool simulcast = true) {
  proto::TrackPublishOptions options;
  options.set_source(source);
  options.set_video_codec(codec);
  options.set_simulcast(simulcast);
  return options;
}

/// Async, as for audio: the publish_track callback carries the publication (or an error).
inline proto::FfiRequest publish_video_track(uint64_t local_participant, uint64_t track_handle,
                                             const proto::TrackPublishOptions& options = video_publish_options()) {
  proto::FfiRequest request = publish_track(local_participant, track_handle);
  *request.mutable_publish_track()->mutable_options() = options;
  return request;
}

/// Decoded pictures of a subscribed remote track (from track_subscribed), as
/// FfiEvent.video_stream_event keyed by the stream handle, then eos when the track ends.
/// Without `format` they come as I420, what the decoder gives.
inline proto::FfiRequest new_video_stream(uint64_t track_handle,
                                          std::optional<proto::VideoBufferType> format = std::nullopt) {
  proto::FfiRequest request;
  auto* stream = request.mutable_new_video_stream();
  stream->set_track_handle(track_handle);
  stream->set_type(proto::VIDEO_STREAM_NATIVE);
  if (format) stream->set_format(*format);
  return request;
}

/// The same events, following whichever video track of `source` the participant publishes, now
/// or later; eos when it leaves.
inline proto::FfiRequest video_stream_from_participant(uint64_t participant_handle,
                                                       proto::TrackSource source = proto::SOURCE_CAMERA,
                                                       std::optional<proto::VideoBufferType> format = std::nullopt) {
  proto::FfiRequest request;
  auto* stream = request.mutable_video_stream_from_participant();
  stream->set_participant_handle(participant_handle);
  stream->set_type(proto::VIDEO_STREAM_NATIVE);
  stream->set_track_source(source);
  if (format) stream->set_format(*format);
  return request;
}

/// Synchronous: the response holds the converted picture (an owned buffer) or an error.
inline proto::FfiRequest video_convert(const proto::VideoBufferInfo& picture, proto::VideoBufferType to,
                                       bool flip_y = false) {
  proto::FfiRequest request;
  auto* convert = request.mutable_video_convert();
  *convert->mutable_buffer() = picture;
  convert->set_dst_type(to);
  convert->set_flip_y(flip_y);
  return request;
}

}  // namespace requests

// --- Pictures in library memory ----------------------------------------------------------------

/// A picture the library gave out (a received frame, a conversion's result), owned through its
/// buffer handle: the pixels are valid while this object lives, tightly packed, plane after
/// plane. Move-only; dropping it frees the library's memory.
class VideoFrame {
 public:
  VideoFrame() = default;
  explicit VideoFrame(const proto::OwnedVideoBuffer& owned, int64_t timestamp_us = 0,
                      proto::VideoRotation rotation = proto::VIDEO_ROTATION_0)
      : owner_(owned.handle()), info_(owned.info()), timestamp_us_(timestamp_us), rotation_(rotation) {}

  explicit operator bool() const noexcept { return static_cast<bool>(owner_); }
  proto::VideoBufferType type() const { return info_.type(); }
  uint32_t width() const { return info_.width(); }
  uint32_t height() const { return info_.height(); }
  int64_t timestamp_us() const { return timestamp_us_; }
  proto::VideoRotation rotation() const { return rotation_; }

  /// The library's description of the picture; pass it to capture() or convert requests as is.
  const proto::VideoBufferInfo& info() const { return info_; }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(info_.data_ptr())); }
  size_t size() const { return packed_size(type(), width(), height()); }

  /// Plane `index` (0 for packed pictures; Y, U, V for I420).
  Plane plane(int index) const {
    if (info_.components_size() == 0) {
      return index == 0 ? Plane{data(), info_.stride()} : Plane{};
    }
    if (index < 0 || index >= info_.components_size()) return {};
    const auto& component = info_.components(index);
    return Plane{reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(component.data_ptr())), component.stride()};
  }

  /// The pixels in the caller's own memory (the one copy, for keeping past this frame).
  std::vector<uint8_t> copy() const {
    return data() == nullptr ? std::vector<uint8_t>() : std::vector<uint8_t>(data(), data() + size());
  }

  /// A picture (in the caller's memory or a frame's) converted by the library
  /// (VideoConvertRequest); throws FfiError if the library refuses.
  static VideoFrame convert_from(const Client& client, const proto::VideoBufferInfo& picture,
                                 proto::VideoBufferType to, bool flip_y = false) {
    auto response = client.request(requests::video_convert(picture, to, flip_y)).video_convert();
    if (!response.has_buffer()) throw FfiError(LK_FFI_INVALID_ARGUMENT, response.error());
    return VideoFrame(response.buffer());
  }

  /// This picture in another format; the timestamp and rotation carry over.
  VideoFrame convert(const Client& client, proto::VideoBufferType to, bool flip_y = false) const {
    VideoFrame converted = convert_from(client, info_, to, flip_y);
    converted.timestamp_us_ = timestamp_us_;
    converted.rotation_ = rotation_;
    return converted;
  }

  /// This picture as RGBA: itself if it is already, else converted (and this one dropped).
  VideoFrame to_rgba(const Client& client) && {
    if (type() == proto::RGBA) return std::move(*this);
    VideoFrame converted = convert(client, proto::RGBA);
    owner_.reset();
    return converted;
  }

 private:
  Handle owner_;
  proto::VideoBufferInfo info_;
  int64_t timestamp_us_ = 0;
  proto::VideoRotation rotation_ = proto::VIDEO_ROTATION_0;
};

/// The picture of a video stream event, owning its buffer; none for an eos. Dropping the result
/// at once is how an unwanted frame's buffer is freed.
inline std::optional<VideoFrame> take_video_frame(const proto::VideoStreamEvent& event) {
  if (!event.has_frame_received()) return std::nullopt;
  const auto& received = event.frame_received();
  return VideoFrame(received.buffer(), received.timestamp_us(), received.rotation());
}

// --- Sending ----------------------------------------------------------------------------------------

/// A native video source, its local track and its publication. Declare it after the Client: its
/// handles drop in its destructor.
class VideoSource {
 public:
  VideoSource(Client& client, uint32_t width, uint32_t height, bool is_screencast = false)
      : client_(&client),
        source_(client.request(requests::new_video_source(width, height, is_screencast)).new_video_source().source().handle()) {}

  uint64_t handle() const { return source_.id(); }
  uint64_t track_handle() const { return track_.id(); }
  /// The published track's sid; empty until published() took the callback.
  const std::string& track_sid() const { return sid_; }

  /// Hands one picture to the source (rgba_picture, i420_picture, or a VideoFrame's info()); the
  /// library has copied it when this returns. Throws FfiError on a malformed picture.
  void capture(const proto::VideoBufferInfo& picture, int64_t timestamp_us = 0,
               proto::VideoRotation rotation = proto::VIDEO_ROTATION_0) const {
    client_->request(requests::capture_video_frame(source_.id(), picture, timestamp_us, rotation));
  }

  /// Creates the local track and sends its publish. Returns the async id whose
  /// PublishTrackCallback the caller hands to published() when it arrives (a game loop does not
  /// wait for it).
  uint64_t publish(uint64_t local_participant, const std::string& name,
                   const proto::TrackPublishOptions& options = requests::video_publish_options()) {
    track_ = Handle(client_->request(requests::create_video_track(name, source_.id())).create_video_track().track().handle());
    auto response = client_->request(requests::publish_video_track(local_participant, track_.id(), options));
    return response.publish_track().async_id();
  }

  /// Keeps the publication of the publish callback; throws std::runtime_error if it failed.
  void published(const proto::PublishTrackCallback& callback) {
    if (callback.has_error()) throw std::runtime_error("publishing the video track failed: " + callback.error());
    publication_ = Handle(callback.publication().handle());
    sid_ = callback.publication().info().sid();
  }

  /// publish() and wait for its callback, for tests and tools that may block.
  void publish_and_wait(uint64_t local_participant, const std::string& name, std::chrono::milliseconds timeout,
                        const proto::TrackPublishOptions& options = requests::video_publish_options()) {
    uint64_t async_id = publish(local_participant, name, options);
    published(client_->wait_callback(async_id, timeout).publish_track());
  }

 private:
  Client* client_;
  Handle source_, track_, publication_;
  std::string sid_;
};

// --- Receiving --------------------------------------------------------------------------------------

/// The decoded pictures of one remote video track (or participant's source). Its frames arrive
/// as FfiEvent.video_stream_event in the client's queue; each carries a buffer handle, so every
/// such event must go through take() (or take_video_frame) even if the picture is not wanted.
/// Dropping the stream ends it; frames already queued still carry their buffers.
class VideoStream {
 public:
  /// A stream of a subscribed track (track_subscribed's track handle).
  static VideoStream of_track(Client& client, uint64_t track_handle,
                              std::optional<proto::VideoBufferType> format = std::nullopt) {
    auto response = client.request(requests::new_video_stream(track_handle, format));
    return VideoStream(client, response.new_video_stream().stream().handle());
  }

  /// A stream following the participant's video of `source`, whenever it is published.
  static VideoStream of_participant(Client& client, uint64_t participant_handle,
                                    proto::TrackSource source = proto::SOURCE_CAMERA,
                                    std::optional<proto::VideoBufferType> format = std::nullopt) {
    auto response = client.request(requests::video_stream_from_participant(participant_handle, source, format));
    return VideoStream(client, response.video_stream_from_participant().stream().handle());
  }

  uint64_t handle() const { return stream_.id(); }
  /// The stream's eos went through take(): no frame follows.
  bool ended() const { return ended_; }

  /// Whether `event` is one of this stream's (a frame or its eos).
  bool owns(const proto::FfiEvent& event) const {
    return event.has_video_stream_event() && event.video_stream_event().stream_handle() == stream_.id();
  }

  /// The frame of one of this stream's events, owning its buffer; none for the eos.
  std::optional<VideoFrame> take(const proto::FfiEvent& event) {
    if (event.video_stream_event().has_eos()) ended_ = true;
    return take_video_frame(event.video_stream_event());
  }

  /// Waits for this stream's next frame (none after eos); throws TimeoutError. For tests and
  /// tools: a game takes the events out of its per-frame poll_events() instead.
  std::optional<VideoFrame> next(std::chrono::milliseconds timeout) {
    if (ended_) return std::nullopt;
    return take(client_->wait_event([this](const proto::FfiEvent& e) { return owns(e); }, timeout,
                                    "a frame of video stream " + std::to_string(stream_.id())));
  }

 private:
  VideoStream(Client& client, const proto::FfiOwnedHandle& handle) : client_(&client), stream_(handle) {}

  Client* client_;
  Handle stream_;
  bool ended_ = false;
};

}  // namespace livekit::ffi
