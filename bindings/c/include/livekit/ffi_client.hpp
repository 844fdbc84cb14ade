// A thin C++ layer over the livekit-ffi C ABI (include/livekit_ffi.h): it serializes
// requests, parses responses and events, and owns handles. It decides nothing about the
// protocol; every request and event is the library's own protobuf message.
//
// Threading: the library calls the event callback from its own worker threads. The callback
// only parses the event and pushes it into a locked queue; one thread (the game's) takes events
// out with poll_events() (never blocks) or, in tests and tools, with the wait_* helpers.
#pragma once

#include <livekit_ffi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ffi.pb.h"

namespace livekit::ffi {

namespace proto = ::livekit::proto;
using Clock = std::chrono::steady_clock;

/// A failed request: the library's error code (LK_FFI_*) and message.
class FfiError : public std::runtime_error {
 public:
  FfiError(LkFfiErrorCode code, const std::string& message)
      : std::runtime_error(code_name(code) + ": " + message), code_(code) {}

  LkFfiErrorCode code() const noexcept { return code_; }

  static std::string code_name(LkFfiErrorCode code) {
    switch (code) {
      case LK_FFI_OK: return "LK_FFI_OK";
      case LK_FFI_NOT_INITIALIZED: return "LK_FFI_NOT_INITIALIZED";
      case LK_FFI_DISPOSED: return "LK_FFI_DISPOSED";
      case LK_FFI_MALFORMED_REQUEST: return "LK_FFI_MALFORMED_REQUEST";
      case LK_FFI_EMPTY_REQUEST: return "LK_FFI_EMPTY_REQUEST";
      case LK_FFI_UNKNOWN_HANDLE: return "LK_FFI_UNKNOWN_HANDLE";
      case LK_FFI_WRONG_HANDLE_TYPE: return "LK_FFI_WRONG_HANDLE_TYPE";
      case LK_FFI_INVALID_ARGUMENT: return "LK_FFI_INVALID_ARGUMENT";
      case LK_FFI_NOT_IMPLEMENTED: return "LK_FFI_NOT_IMPLEMENTED";
      case LK_FFI_INTERNAL: return "LK_FFI_INTERNAL";
    }
    return "LK_FFI_UNKNOWN_CODE(" + std::to_string(static_cast<int>(code)) + ")";
  }

 private:
  LkFfiErrorCode code_;
};

/// Nothing matching arrived before the deadline.
class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Owns one library handle and drops it once; move-only. Handles that a request consumes
/// (stream readers and writers) must be release()d before that request is sent.
class Handle {
 public:
  Handle() = default;
  explicit Handle(uint64_t id) : id_(id) {}
  explicit Handle(const proto::FfiOwnedHandle& owned) : id_(owned.id()) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, 0)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, 0);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  uint64_t id() const noexcept { return id_; }
  explicit operator bool() const noexcept { return id_ != INVALID_HANDLE; }
  /// Gives up ownership without dropping (the handle was consumed by a request).
  uint64_t release() noexcept { return std::exchange(id_, 0); }
  /// Drops the handle now; returns what livekit_ffi_drop_handle said (false: already gone).
  bool reset() noexcept {
    uint64_t id = std::exchange(id_, 0);
    return id != INVALID_HANDLE && livekit_ffi_drop_handle(id);
  }

 private:
  uint64_t id_ = INVALID_HANDLE;
};

/// Events pushed by the library's threads, taken by the caller's thread.
class EventQueue {
 public:
  void push(proto::FfiEvent event) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(std::move(event));
    }
    changed_.notify_all();
  }

  /// Everything queued now, oldest first; never waits for new events.
  std::vector<proto::FfiEvent> drain() {
    std::deque<proto::FfiEvent> taken;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      taken.swap(events_);
    }
    return {std::make_move_iterator(taken.begin()), std::make_move_iterator(taken.end())};
  }

  /// Takes out the oldest event `accept` matches, waiting until `deadline`; other events stay
  /// queued in order.
  std::optional<proto::FfiEvent> take(const std::function<bool(const proto::FfiEvent&)>& accept,
                                      Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      for (auto it = events_.begin(); it != events_.end(); ++it) {
        if (accept(*it)) {
          proto::FfiEvent found = std::move(*it);
          events_.erase(it);
          return found;
        }
      }
      if (Clock::now() >= deadline) return std::nullopt;
      changed_.wait_until(lock, deadline);
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<proto::FfiEvent> events_;
};

/// The async id a response or callback carries (every async message names it `async_id`).
template <typename Envelope>
std::optional<uint64_t> async_id_of(const Envelope& envelope) {
  const auto* reflection = envelope.GetReflection();
  const auto* field = reflection->GetOneofFieldDescriptor(envelope, Envelope::descriptor()->oneof_decl(0));
  if (field == nullptr || field->message_type() == nullptr) return std::nullopt;
  const auto& inner = reflection->GetMessage(envelope, field);
  const auto* id_field = inner.GetDescriptor()->FindFieldByName("async_id");
  if (id_field == nullptr || !inner.GetReflection()->HasField(inner, id_field)) return std::nullopt;
  return inner.GetReflection()->GetUInt64(inner, id_field);
}

/// The library, initialized for the lifetime of this object (one per process: the library is
/// process-wide). Destroying it disposes the library: rooms are left, handles forgotten.
class Client {
 public:
  explicit Client(bool capture_logs = false, const char* sdk = "cpp", const char* sdk_version = "0.1.0") {
    EventQueue* expected = nullptr;
    if (!active_queue().compare_exchange_strong(expected, &queue_)) {
      throw std::logic_error("livekit::ffi::Client: only one Client may exist at a time");
    }
    livekit_ffi_initialize(&Client::on_event, capture_logs, sdk, sdk_version);
  }
  ~Client() {
    livekit_ffi_dispose();  // no callback runs after this returns
    active_queue().store(nullptr);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends one request and returns its synchronous response; throws FfiError on failure.
  proto::FfiResponse request(const proto::FfiRequest& request) const {
    std::string bytes;
    if (!request.IsInitialized()) {
      throw FfiError(LK_FFI_INVALID_ARGUMENT, "missing required fields: " + request.InitializationErrorString());
    }
    request.SerializeToString(&bytes);
    const uint8_t* response_ptr = nullptr;
    size_t response_len = 0;
    Handle response(livekit_ffi_request(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                        &response_ptr, &response_len));
    if (!response) throw last_error();
    proto::FfiResponse parsed;
    if (!parsed.ParsePartialFromArray(response_ptr, static_cast<int>(response_len))) {
      throw FfiError(LK_FFI_INTERNAL, "the library's FfiResponse does not parse");
    }
    return parsed;
  }

  /// Every event queued since the last call, oldest first. Never blocks: call it once a frame.
  std::vector<proto::FfiEvent> poll_events() { return queue_.drain(); }

  /// Waits for the first event `accept` matches (others stay queued for poll_events).
  proto::FfiEvent wait_event(const std::function<bool(const proto::FfiEvent&)>& accept,
                             std::chrono::milliseconds timeout, const std::string& what = "an event") {
    auto found = queue_.take(accept, Clock::now() + timeout);
    if (!found) throw TimeoutError("no " + what + " within " + std::to_string(timeout.count()) + " ms");
    return std::move(*found);
  }

  /// Waits for the callback of async request `async_id`.
  proto::FfiEvent wait_callback(uint64_t async_id, std::chrono::milliseconds timeout) {
    return wait_event([async_id](const proto::FfiEvent& e) { return async_id_of(e) == async_id; }, timeout,
                      "callback for async id " + std::to_string(async_id));
  }

  /// Sends an async request and waits for its callback.
  proto::FfiEvent request_and_wait(const proto::FfiRequest& req, std::chrono::milliseconds timeout) {
    auto async_id = async_id_of(request(req));
    if (!async_id) throw std::logic_error("request_and_wait: the response carries no async_id");
    return wait_callback(*async_id, timeout);
  }

  /// This thread's last request error, as an exception.
  static FfiError last_error() {
    char message[1024];
    LkFfiErrorCode code = livekit_ffi_last_error(message, sizeof message);
    return FfiError(code, message);
  }

 private:
  static std::atomic<EventQueue*>& active_queue() {
    static std::atomic<EventQueue*> queue{nullptr};
    return queue;
  }

  // Runs on the library's threads: parse, queue, return quickly. Never throws into Rust.
  static void on_event(const uint8_t* data, size_t len) noexcept {
    EventQueue* queue = active_queue().load();
    if (queue == nullptr) return;
    try {
      proto::FfiEvent event;
      if (event.ParsePartialFromArray(data, static_cast<int>(len))) queue->push(std::move(event));
    } catch (...) {
      // Out of memory while queueing: the event is lost, but the library's thread survives.
    }
  }

  EventQueue queue_;
};

/// Copies a library-owned buffer (a received data packet) and drops its handle.
inline std::string take_buffer(const proto::OwnedBuffer& buffer) {
  Handle owner(buffer.handle());
  const auto* data = reinterpret_cast<const char*>(static_cast<uintptr_t>(buffer.data().data_ptr()));
  return data == nullptr ? std::string() : std::string(data, static_cast<size_t>(buffer.data().data_len()));
}

/// A received audio frame: interleaved int16 samples, copied out of the library.
struct AudioFrame {
  uint32_t sample_rate = 0;
  uint32_t num_channels = 0;
  std::vector<int16_t> samples;  // samples_per_channel * num_channels
};

/// Copies a library-owned audio frame (an audio stream event's frame_received) and drops its
/// handle.
inline AudioFrame take_audio_frame(const proto::OwnedAudioFrameBuffer& buffer) {
  Handle owner(buffer.handle());
  const auto& info = buffer.info();
  const auto* data = reinterpret_cast<const int16_t*>(static_cast<uintptr_t>(info.data_ptr()));
  size_t count = data == nullptr ? 0 : size_t{info.samples_per_channel()} * info.num_channels();
  return AudioFrame{info.sample_rate(), info.num_channels(), std::vector<int16_t>(data, data + count)};
}

}  // namespace livekit::ffi
