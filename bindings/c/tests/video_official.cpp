// Alice's half of the video exchange with the official SDK (video_official.py starts this and
// plays bob with the official Python SDK). Alice publishes a 320x240 camera through video.hpp:
// red as RGBA pictures until bob says (attribute seen=red) that he decoded red, then blue as I420
// pictures until he says seen=blue. Meanwhile she reads bob's track through a VideoStream (I420,
// converted to RGBA with VideoConvertRequest) and checks its centre is bob's colour within
// kTolerance per channel for kGoodRun frames in a row.
//
//   video_official R G B      (bob's colour; LK_URL and LK_TOKEN_A from with_server.py)
#include <livekit/connect.hpp>
#include <livekit/video.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <thread>

#include "check.hpp"

namespace lk = livekit::ffi;
namespace rq = livekit::ffi::requests;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kWidth = 320, kHeight = 240;
constexpr auto kFramePeriod = 66ms;  // ~15 fps, the camera's cadence
constexpr int kTolerance = 12;       // per channel, after VP8 and two YUV conversions
constexpr int kGoodRun = 15;         // frames of bob's colour in a row
constexpr auto kSetupTimeout = 20s;
constexpr auto kExchangeTimeout = 60s;

struct Rgb {
  int r = 0, g = 0, b = 0;
};

std::string show(const Rgb& c) {
  return "(" + std::to_string(c.r) + ", " + std::to_string(c.g) + ", " + std::to_string(c.b) + ")";
}

bool near(const Rgb& a, const Rgb& b) {
  return std::abs(a.r - b.r) <= kTolerance && std::abs(a.g - b.g) <= kTolerance && std::abs(a.b - b.b) <= kTolerance;
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') throw std::runtime_error(std::string(name) + " is not set: run under video_official.py");
  return value;
}

// The mean colour of the centre quarter of an RGBA picture (tightly packed, as the library gives).
Rgb centre_colour(const lk::VideoFrame& frame) {
  const uint32_t w = frame.width(), h = frame.height();
  long long sum[3] = {0, 0, 0}, count = 0;
  for (uint32_t y = h / 4; y < h - h / 4; ++y) {
    const uint8_t* row = frame.data() + size_t{y} * w * 4;
    for (uint32_t x = w / 4; x < w - w / 4; ++x, ++count) {
      for (int c = 0; c < 3; ++c) sum[c] += row[x * 4 + c];
    }
  }
  if (count == 0) return {};
  return Rgb{static_cast<int>(sum[0] / count), static_cast<int>(sum[1] / count), static_cast<int>(sum[2] / count)};
}

// A solid red RGBA picture.
std::vector<uint8_t> red_rgba() {
  std::vector<uint8_t> pixels(size_t{kWidth} * kHeight * 4);
  for (size_t i = 0; i < pixels.size(); i += 4) {
    pixels[i] = 255;
    pixels[i + 3] = 255;
  }
  return pixels;
}

// A solid blue I420 picture (BT.601 limited range: Y 41, U 240, V 110) with padded rows, so the
// strides the capture honours differ from the widths.
struct BlueI420 {
  static constexpr uint32_t kPad = 16;
  std::vector<uint8_t> y = std::vector<uint8_t>(size_t{kWidth + kPad} * kHeight, 41);
  std::vector<uint8_t> u = std::vector<uint8_t>(size_t{kWidth / 2 + kPad} * (kHeight / 2), 240);
  std::vector<uint8_t> v = std::vector<uint8_t>(size_t{kWidth / 2 + kPad} * (kHeight / 2), 110);

  livekit::proto::VideoBufferInfo picture() const {
    return lk::i420_picture({y.data(), kWidth + kPad}, {u.data(), kWidth / 2 + kPad}, {v.data(), kWidth / 2 + kPad},
                            kWidth, kHeight);
  }
};


// What alice sends, what she has seen of bob's track, and what bob said he saw of hers.
class Exchange {
 public:
  Exchange(lk::Client& client, const lk::Connection& alice, const lk::VideoSource& camera, Rgb bob_colour)
      : client_(client), alice_(alice), camera_(camera), bob_colour_(bob_colour) {}

  // Captures a picture per frame period and handles the events in between, until both halves
  // are done (true) or the deadline passes (false).
  bool run(lk::Clock::time_point deadline) {
    auto next_capture = lk::Clock::now();
    while (!done()) {
      if (lk::Clock::now() >= deadline || failed_) return false;
      capture();
      for (const auto& event : client_.poll_events()) on_event(event);
      next_capture += kFramePeriod;
      std::this_thread::sleep_until(next_capture);  // the camera's cadence, not a wait for an event
    }
    return true;
  }

  std::string status() const {
    return std::string("bob confirmed ") + (bob_saw_blue_ ? "red and blue" : sending_blue_ ? "red" : "nothing") +
           "; alice got " + std::to_string(frames_) + " frames of bob's track, best run " + std::to_string(best_run_) +
           " of " + std::to_string(kGoodRun) + ", last centre " + show(last_) + " (bob sends " + show(bob_colour_) +
           ", tolerance " + std::to_string(kTolerance) + ")";
  }

  lk::VideoStream* stream() { return stream_ ? &*stream_ : nullptr; }

 private:
  bool done() const { return bob_saw_blue_ && best_run_ >= kGoodRun; }

  void capture() {
    if (sending_blue_) {
      camera_.capture(blue_.picture());
    } else {
      camera_.capture(lk::rgba_picture(red_.data(), kWidth, kHeight));
    }
  }

  void on_event(const lk::proto::FfiEvent& event) {
    if (event.has_video_stream_event()) return on_video(event);
    if (!event.has_room_event() || event.room_event().room_handle() != alice_.room.id()) return;
    const auto& room = event.room_event();
    if (room.has_track_subscribed()) on_subscribed(room.track_subscribed());
    if (room.has_participant_attributes_changed()) on_attributes(room.participant_attributes_changed());
  }

  void on_subscribed(const lk::proto::TrackSubscribed& subscribed) {
    if (stream_ || subscribed.participant_identity() != "bob" ||
        subscribed.track().info().kind() != lk::proto::KIND_VIDEO) {
      return;
    }
    remote_track_ = lk::Handle(subscribed.track().handle());
    stream_.emplace(lk::VideoStream::of_track(client_, remote_track_.id()));  // I420, as decoded
    std::cout << "alice: reads bob's track " << subscribed.track().info().sid() << std::endl;
  }

  void on_video(const lk::proto::FfiEvent& event) {
    if (!stream_ || !stream_->owns(event)) {
      lk::take_video_frame(event.video_stream_event());  // not ours (none is expected): drops its buffer
      return;
    }
    std::optional<lk::VideoFrame> frame = stream_->take(event);
    if (!frame) {
      failed_ = true;
      check::fail(__FILE__, __LINE__, "bob's video stream ended during the exchange");
      return;
    }
    if (frames_++ == 0) {
      std::cout << "alice: first frame of bob, " << frame->width() << "x" << frame->height() << " "
                << lk::proto::VideoBufferType_Name(frame->type()) << std::endl;
    }
    const bool right_size = frame->width() == kWidth && frame->height() == kHeight && frame->type() == lk::proto::I420;
    last_ = centre_colour(std::move(*frame).to_rgba(client_));
    run_ = right_size && near(last_, bob_colour_) ? run_ + 1 : 0;
    best_run_ = std::max(best_run_, run_);
  }

  // Bob says which of alice's colours he has decoded; red must come before blue.
  void on_attributes(const lk::proto::ParticipantAttributesChanged& changed) {
    if (changed.participant_identity() != "bob") return;
    for (const auto& entry : changed.changed_attributes()) {
      if (entry.key() != "seen") continue;
      std::cout << "alice: bob says he saw " << entry.value() << std::endl;
      if (entry.value() == "red" && !sending_blue_) {
        sending_blue_ = true;
        std::cout << "alice: now sends blue (I420)" << std::endl;
      } else if (entry.value() == "blue" && sending_blue_) {
        bob_saw_blue_ = true;
      } else {
        failed_ = true;
        check::fail(__FILE__, __LINE__, "bob saw " + entry.value() + " out of order");
      }
    }
  }

  lk::Client& client_;
  const lk::Connection& alice_;
  const lk::VideoSource& camera_;
  const Rgb bob_colour_;
  const std::vector<uint8_t> red_ = red_rgba();
  const BlueI420 blue_;
  lk::Handle remote_track_;
  std::optional<lk::VideoStream> stream_;
  bool sending_blue_ = false, bob_saw_blue_ = false, failed_ = false;
  int frames_ = 0, run_ = 0, best_run_ = 0;
  Rgb last_;
};

void leave(lk::Client& client, lk::Connection& who) {
  client.request_and_wait(rq::disconnect(who.room.id()), kSetupTimeout);
  client.wait_event(
      [&](const lk::proto::FfiEvent& e) {
        return e.has_room_event() && e.room_event().room_handle() == who.room.id() && e.room_event().has_eos();
      },
      kSetupTimeout, "alice's eos");
}

// Leaving ends the stream of bob's track too: the frames still queued, then its eos.
void expect_eos(lk::VideoStream& stream) {
  int after = 0;
  while (stream.next(kSetupTimeout)) ++after;
  CHECK(stream.ended());
  std::cout << "alice: bob's stream ended (eos) after " << after << " more frames" << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: video_official R G B   (bob's colour; run by video_official.py)" << std::endl;
    return 2;
  }
  const Rgb bob_colour{std::atoi(argv[1]), std::atoi(argv[2]), std::atoi(argv[3])};
  try {
    lk::Client client;
    auto alice = lk::connect_and_wait(client, env("LK_URL"), env("LK_TOKEN_A"), kSetupTimeout);
    lk::VideoSource camera(client, kWidth, kHeight);
    // One layer: with simulcast the server may forward a smaller one, and bob checks the size.
    camera.publish_and_wait(alice.local_participant.id(), "alice-camera", kSetupTimeout,
                            rq::video_publish_options(lk::proto::SOURCE_CAMERA, lk::proto::VP8, /*simulcast=*/false));
    CHECK(!camera.track_sid().empty());
    std::cout << "alice: publishes " << camera.track_sid() << ", red (RGBA) until bob has seen it" << std::endl;
    Exchange exchange(client, alice, camera, bob_colour);
    if (exchange.run(lk::Clock::now() + kExchangeTimeout)) {
      std::cout << "alice: " << exchange.status() << std::endl;
    } else {
      check::fail(__FILE__, __LINE__, "the exchange did not complete within 60 s: " + exchange.status());
    }
    leave(client, alice);
    if (exchange.stream() != nullptr) expect_eos(*exchange.stream());
  } catch (const std::exception& error) {
    check::fail(__FILE__, __LINE__, std::string("exception: ") + error.what());
  }
  return check::finish("video_official");
}
