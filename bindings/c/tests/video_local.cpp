// The video API where no server is needed: conversions between RGBA and I420 give the BT.601
// values, a VideoFrame points into the library's buffer and drops its handle, to_rgba() of an
// RGBA frame converts nothing, and malformed pictures or handles fail with their error code.
#include <livekit/video.hpp>

#include <algorithm>
#include <cstdlib>

#include "check.hpp"

namespace lk = livekit::ffi;
namespace rq = livekit::ffi::requests;
namespace proto = livekit::proto;

namespace {

constexpr uint32_t kWidth = 64, kHeight = 48;

std::vector<uint8_t> solid_rgba(uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> pixels(size_t{kWidth} * kHeight * 4);
  for (size_t i = 0; i < pixels.size(); i += 4) {
    pixels[i] = r;
    pixels[i + 1] = g;
    pixels[i + 2] = b;
    pixels[i + 3] = 255;
  }
  return pixels;
}

bool near(int actual, int expected, int tolerance) { return std::abs(actual - expected) <= tolerance; }

// Red in the caller's memory to I420 in the library's, and back to RGBA.
void rgba_to_i420_and_back(lk::Client& client) {
  std::cout << "convert: red RGBA -> I420 -> RGBA" << std::endl;
  auto red = solid_rgba(255, 0, 0);
  auto i420 = lk::VideoFrame::convert_from(client, lk::rgba_picture(red.data(), kWidth, kHeight), proto::I420);
  CHECK_EQ(i420.type(), proto::I420);
  CHECK_EQ(i420.width(), kWidth);
  CHECK_EQ(i420.height(), kHeight);
  CHECK_EQ(i420.size(), size_t{kWidth} * kHeight * 3 / 2);
  // Tightly packed, plane after plane.
  lk::Plane y = i420.plane(0), u = i420.plane(1), v = i420.plane(2);
  CHECK(y.data == i420.data());
  CHECK(u.data == y.data + kWidth * kHeight);
  CHECK(v.data == u.data + kWidth * kHeight / 4);
  CHECK_EQ(y.stride, kWidth);
  CHECK_EQ(u.stride, kWidth / 2);
  // BT.601 limited range: red is Y 81, U 90, V 240.
  CHECK(near(y.data[0], 81, 2));
  CHECK(near(u.data[0], 90, 2));
  CHECK(near(v.data[0], 240, 2));

  lk::VideoFrame back = std::move(i420).to_rgba(client);
  CHECK(!i420);  // moved from: its buffer went with the conversion
  CHECK_EQ(back.type(), proto::RGBA);
  std::vector<uint8_t> pixels = back.copy();
  CHECK_EQ(pixels.size(), red.size());
  int worst = 0;
  for (size_t i = 0; i < pixels.size(); ++i) worst = std::max(worst, std::abs(pixels[i] - red[i]));
  std::cout << "  worst channel difference after the round trip: " << worst << std::endl;
  CHECK(worst <= 3);
}

// Blue as I420 in the caller's memory with padded rows (strides above the widths) to RGBA.
void padded_i420_to_rgba(lk::Client& client) {
  std::cout << "convert: padded blue I420 -> RGBA" << std::endl;
  constexpr uint32_t kPad = 8, kChromaStride = kWidth / 2 + kPad;
  std::vector<uint8_t> y(size_t{kWidth + kPad} * kHeight, 41), u(size_t{kChromaStride} * kHeight / 2, 240),
      v(size_t{kChromaStride} * kHeight / 2, 110);
  auto picture = lk::i420_picture({y.data(), kWidth + kPad}, {u.data(), kChromaStride}, {v.data(), kChromaStride},
                                  kWidth, kHeight);
  auto rgba = lk::VideoFrame::convert_from(client, picture, proto::RGBA);
  CHECK_EQ(rgba.size(), size_t{kWidth} * kHeight * 4);
  const uint8_t* last = rgba.data() + rgba.size() - 4;  // the bottom-right pixel: padding was skipped
  for (const uint8_t* pixel : {rgba.data(), last}) {
    CHECK(near(pixel[0], 0, 3) && near(pixel[1], 0, 3) && near(pixel[2], 255, 3));
  }
}

// A frame's buffer handle goes when the frame does; to_rgba() of RGBA keeps the same buffer.
void frames_own_their_buffer(lk::Client& client) {
  std::cout << "ownership: frames drop their buffer handle" << std::endl;
  auto green = solid_rgba(0, 255, 0);
  auto response = client.request(rq::video_convert(lk::rgba_picture(green.data(), kWidth, kHeight), proto::RGBA));
  const uint64_t id = response.video_convert().buffer().handle().id();
  {
    lk::VideoFrame frame(response.video_convert().buffer());
    const uint8_t* pixels = frame.data();
    lk::VideoFrame same = std::move(frame).to_rgba(client);
    CHECK(same.data() == pixels);
    CHECK(same.data()[1] == 255);
  }
  CHECK(!livekit_ffi_drop_handle(id));  // already dropped by the frame
}

template <typename Call>
void expect_error(const char* what, LkFfiErrorCode code, Call call) {
  try {
    call();
    check::fail(__FILE__, __LINE__, std::string(what) + ": no error");
  } catch (const lk::FfiError& error) {
    std::cout << "  " << what << ": " << error.what() << std::endl;
    CHECK_EQ(error.code(), code);
  }
}

void malformed_input(lk::Client& client) {
  std::cout << "errors: malformed pictures and handles" << std::endl;
  auto red = solid_rgba(255, 0, 0);
  lk::VideoSource source(client, kWidth, kHeight);
  source.capture(lk::rgba_picture(red.data(), kWidth, kHeight));
  expect_error("null pixels", LK_FFI_INVALID_ARGUMENT,
               [&] { source.capture(lk::rgba_picture(nullptr, kWidth, kHeight)); });
  expect_error("stride shorter than a row", LK_FFI_INVALID_ARGUMENT,
               [&] { source.capture(lk::rgba_picture(red.data(), kWidth, kHeight, kWidth * 4 - 4)); });
  expect_error("zero width", LK_FFI_INVALID_ARGUMENT, [&] { source.capture(lk::rgba_picture(red.data(), 0, kHeight)); });
  expect_error("I420 plane smaller than its rows", LK_FFI_INVALID_ARGUMENT, [&] {
    source.capture(lk::i420_picture({red.data(), kWidth / 2}, {red.data(), kWidth / 2}, {red.data(), kWidth / 2},
                                    kWidth, kHeight));
  });
  expect_error("conversion to I444", LK_FFI_INVALID_ARGUMENT, [&] {
    lk::VideoFrame::convert_from(client, lk::rgba_picture(red.data(), kWidth, kHeight), proto::I444);
  });
  expect_error("stream of an unknown track", LK_FFI_UNKNOWN_HANDLE,
               [&] { lk::VideoStream::of_track(client, 987654321); });
  expect_error("stream of the source's handle", LK_FFI_WRONG_HANDLE_TYPE,
               [&] { lk::VideoStream::of_track(client, source.handle()); });
}

}  // namespace

int main() {
  try {
    lk::Client client;
    rgba_to_i420_and_back(client);
    padded_i420_to_rgba(client);
    frames_own_their_buffer(client);
    malformed_input(client);
  } catch (const std::exception& error) {
    check::fail(__FILE__, __LINE__, std::string("exception: ") + error.what());
  }
  return check::finish("video_local");
}
