// Bad input through the C ABI and the C++ client: every case must give its documented
// LkFfiErrorCode (and handle 0), and nothing may crash. Needs no server: the only connect goes
// to a closed port and must fail through its callback.
#include <livekit/ffi_client.hpp>
#include <livekit/requests.hpp>

#include <cstring>
#include <random>

#include "check.hpp"

namespace lk = livekit::ffi;
namespace rq = livekit::ffi::requests;
using namespace std::chrono_literals;

namespace {

struct RawResult {
  uint64_t handle;
  LkFfiErrorCode code;
};

// Sends bytes as they are, bypassing the client's serialization.
RawResult raw_request(const std::string& bytes) {
  const uint8_t* response = nullptr;
  size_t response_len = 0;
  uint64_t handle =
      livekit_ffi_request(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &response, &response_len);
  return {handle, livekit_ffi_last_error(nullptr, 0)};
}

std::string serialized(const lk::proto::FfiRequest& request) {
  std::string bytes;
  request.SerializePartialToString(&bytes);
  return bytes;
}

// The code the client's exception carries, or LK_FFI_OK when the request succeeded.
LkFfiErrorCode code_of(lk::Client& client, const lk::proto::FfiRequest& request) {
  try {
    client.request(request);
    return LK_FFI_OK;
  } catch (const lk::FfiError& error) {
    std::cout << "  " << error.what() << std::endl;
    return error.code();
  }
}

void before_initialize() {
  std::cout << "request before initialize" << std::endl;
  auto result = raw_request(serialized(rq::ready_for_room_event(1)));
  CHECK_EQ(result.handle, uint64_t{INVALID_HANDLE});
  CHECK_EQ(result.code, LK_FFI_NOT_INITIALIZED);
}

void malformed(lk::Client&) {
  std::cout << "malformed and truncated protobuf" << std::endl;
  auto garbage = raw_request(std::string("\xff\xff\xff", 3));
  CHECK_EQ(garbage.handle, uint64_t{INVALID_HANDLE});
  CHECK_EQ(garbage.code, LK_FFI_MALFORMED_REQUEST);

  std::string connect = serialized(rq::connect("ws://127.0.0.1:1", "token"));
  auto truncated = raw_request(connect.substr(0, connect.size() - 3));
  CHECK_EQ(truncated.handle, uint64_t{INVALID_HANDLE});
  CHECK_EQ(truncated.code, LK_FFI_MALFORMED_REQUEST);

  // A string field (connect.url, wire type 2) holding invalid UTF-8.
  lk::proto::FfiRequest bad_utf8 = rq::connect("ws://\xc3\x28", "token");
  auto utf8 = raw_request(serialized(bad_utf8));
  CHECK_EQ(utf8.handle, uint64_t{INVALID_HANDLE});
  CHECK_EQ(utf8.code, LK_FFI_MALFORMED_REQUEST);

  const uint8_t* response = nullptr;
  size_t response_len = 0;
  CHECK_EQ(livekit_ffi_request(nullptr, 4, &response, &response_len), uint64_t{INVALID_HANDLE});
  CHECK_EQ(livekit_ffi_last_error(nullptr, 0), LK_FFI_INVALID_ARGUMENT);
  std::string ready = serialized(rq::ready_for_room_event(1));
  CHECK_EQ(livekit_ffi_request(reinterpret_cast<const uint8_t*>(ready.data()), ready.size(), nullptr, nullptr),
           uint64_t{INVALID_HANDLE});
  CHECK_EQ(livekit_ffi_last_error(nullptr, 0), LK_FFI_INVALID_ARGUMENT);
}

void empty_request(lk::Client& client) {
  std::cout << "empty request" << std::endl;
  CHECK_EQ(code_of(client, lk::proto::FfiRequest()), LK_FFI_EMPTY_REQUEST);
  // The client refuses to send a message whose required fields are missing.
  lk::proto::FfiRequest incomplete;
  incomplete.mutable_ready_for_room_event();
  CHECK_EQ(code_of(client, incomplete), LK_FFI_INVALID_ARGUMENT);
}

void unknown_handles(lk::Client& client) {
  std::cout << "unknown handles" << std::endl;
  CHECK_EQ(code_of(client, rq::ready_for_room_event(424242)), LK_FFI_UNKNOWN_HANDLE);
  CHECK_EQ(code_of(client, rq::set_attributes(424242, {{"k", "v"}})), LK_FFI_UNKNOWN_HANDLE);
  CHECK_EQ(code_of(client, rq::byte_read_incremental(424242)), LK_FFI_UNKNOWN_HANDLE);
  CHECK(!livekit_ffi_drop_handle(424242));
  CHECK(!livekit_ffi_drop_handle(INVALID_HANDLE));
  char message[256];
  livekit_ffi_last_error(message, sizeof message);
  CHECK(std::strstr(message, "424242") != nullptr);  // the message names the bad handle
  char tiny[4];
  livekit_ffi_last_error(tiny, sizeof tiny);  // cut to capacity and NUL-terminated
  CHECK_EQ(std::strlen(tiny), 3u);
}

// A response buffer handle is a real handle of the wrong kind for every request.
void wrong_handle_type(lk::Client& client) {
  std::cout << "wrong handle type, and a connect that fails through its callback" << std::endl;
  const uint8_t* response_ptr = nullptr;
  size_t response_len = 0;
  std::string connect = serialized(rq::connect("ws://127.0.0.1:1", "not-a-token"));
  uint64_t buffer = livekit_ffi_request(reinterpret_cast<const uint8_t*>(connect.data()), connect.size(),
                                        &response_ptr, &response_len);
  CHECK(buffer != INVALID_HANDLE);
  lk::proto::FfiResponse response;
  CHECK(response.ParseFromArray(response_ptr, static_cast<int>(response_len)));
  CHECK(response.has_connect());

  CHECK_EQ(code_of(client, rq::ready_for_room_event(buffer)), LK_FFI_WRONG_HANDLE_TYPE);
  CHECK_EQ(code_of(client, rq::set_attributes(buffer, {{"k", "v"}})), LK_FFI_WRONG_HANDLE_TYPE);
  CHECK_EQ(code_of(client, rq::byte_read_incremental(buffer)), LK_FFI_WRONG_HANDLE_TYPE);
  CHECK(livekit_ffi_drop_handle(buffer));   // a refused consume left the handle in place
  CHECK(!livekit_ffi_drop_handle(buffer));  // ...and it drops once only

  auto callback = client.wait_callback(response.connect().async_id(), 15s);
  CHECK(callback.has_connect());
  CHECK_EQ(callback.connect().message_case(), lk::proto::ConnectCallback::kError);
  std::cout << "  connect error: " << callback.connect().error() << std::endl;
}

// Random bytes, and valid requests with a few bytes changed: whatever they decode to, the
// answer is a handle or a known code, never a crash. (No publish_data among the seeds: its
// data_ptr is a raw address the library must trust, by the protocol's design.)
void random_bytes() {
  std::cout << "random and mutated bytes" << std::endl;
  const std::vector<std::string> seeds = {
      serialized(rq::ready_for_room_event(2)),
      serialized(rq::set_attributes(2, {{"key", "value"}})),
      serialized(rq::byte_read_incremental(3)),
      serialized(rq::send_bytes(2, "payload", "topic", "name", {"bob"})),
      serialized(rq::register_rpc_method(2, "method")),
      serialized(rq::disconnect(2)),
  };
  std::mt19937 random(5);
  int accepted = 0;
  const int rounds = 4000;
  for (int i = 0; i < rounds; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(random() % 64);
      for (auto& byte : bytes) byte = static_cast<char>(random());
    } else {
      bytes = seeds[random() % seeds.size()];
      for (int flips = 1 + random() % 3; flips > 0; --flips) bytes[random() % bytes.size()] = static_cast<char>(random());
    }
    auto result = raw_request(bytes);
    if (result.handle != INVALID_HANDLE) {
      ++accepted;
      CHECK(livekit_ffi_drop_handle(result.handle));
    } else {
      CHECK(result.code > LK_FFI_OK && result.code <= LK_FFI_INTERNAL);
      CHECK(result.code != LK_FFI_INTERNAL);
    }
  }
  std::cout << "  " << accepted << " of " << rounds << " were accepted, the rest refused with a code" << std::endl;
}

void after_dispose() {
  std::cout << "request after dispose" << std::endl;
  auto result = raw_request(serialized(rq::ready_for_room_event(1)));
  CHECK_EQ(result.handle, uint64_t{INVALID_HANDLE});
  CHECK_EQ(result.code, LK_FFI_DISPOSED);
}

}  // namespace

int main() {
  before_initialize();
  {
    lk::Client client(/*capture_logs=*/true);  // the library's error logs become events, not stderr noise
    malformed(client);
    empty_request(client);
    unknown_handles(client);
    wrong_handle_type(client);
    random_bytes();
  }  // disposes
  after_dispose();
  {
    lk::Client again;  // initialize works again after dispose
    std::cout << "initialize again" << std::endl;
    CHECK_EQ(code_of(again, lk::proto::FfiRequest()), LK_FFI_EMPTY_REQUEST);
  }
  return check::finish("bad_input");
}
