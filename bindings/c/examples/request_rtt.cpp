// Round trip of one successful synchronous request: livekit_ffi_request + dropping the response
// handle. The request is register_rpc_method / unregister_rpc_method on a connected local
// participant, alternated so each call really changes state.
//
//   request_rtt [--iterations N] URL TOKEN      (or LK_URL, LK_TOKEN_A from the environment)
//
// Two figures: "raw" sends pre-serialized bytes through the C ABI (the library's own cost);
// "client" goes through Client::request (adds protobuf serialize + parse in C++).
#include <livekit/connect.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iomanip>

namespace lk = livekit::ffi;
namespace rq = livekit::ffi::requests;
using namespace std::chrono_literals;

namespace {

struct Stats {
  double median, p99, mean;
};

Stats summarize(std::vector<double> ns) {
  std::sort(ns.begin(), ns.end());
  double sum = 0;
  for (double v : ns) sum += v;
  return {ns[ns.size() / 2], ns[static_cast<size_t>(0.99 * (ns.size() - 1))], sum / ns.size()};
}

// `key` names the figure in the last line, `rtt key=median_ns,p99_ns`, which bench_rtt.sh reads.
void print(const char* name, const char* key, const Stats& s, size_t n) {
  std::cout << std::fixed << std::setprecision(2) << name << ": median " << s.median / 1000 << " us, p99 "
            << s.p99 / 1000 << " us, mean " << s.mean / 1000 << " us over " << n << " requests" << std::endl;
  std::cout << std::setprecision(0) << "rtt " << key << "=" << s.median << "," << s.p99 << std::endl;
}

// Which liblivekit_ffi the loader picked (LD_LIBRARY_PATH can swap in another build).
std::string loaded_library() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&livekit_ffi_request), &info) == 0 || info.dli_fname == nullptr) return "?";
  return info.dli_fname;
}

std::string bytes_of(const lk::proto::FfiRequest& request) {
  std::string bytes;
  request.SerializeToString(&bytes);
  return bytes;
}

double raw_round_trip_ns(const std::string& bytes) {
  const uint8_t* response = nullptr;
  size_t response_len = 0;
  auto start = lk::Clock::now();
  uint64_t handle =
      livekit_ffi_request(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &response, &response_len);
  bool dropped = livekit_ffi_drop_handle(handle);
  auto elapsed = std::chrono::duration<double, std::nano>(lk::Clock::now() - start).count();
  if (handle == INVALID_HANDLE || !dropped) throw lk::Client::last_error();
  return elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  size_t iterations = 100000;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
      iterations = std::strtoul(argv[++i], nullptr, 10);
    } else {
      positional.emplace_back(argv[i]);
    }
  }
  if (positional.empty() && std::getenv("LK_URL") && std::getenv("LK_TOKEN_A")) {
    positional = {std::getenv("LK_URL"), std::getenv("LK_TOKEN_A")};
  }
  if (positional.size() != 2 || iterations < 2) {
    std::cerr << "usage: request_rtt [--iterations N] URL TOKEN (or set LK_URL, LK_TOKEN_A)\n";
    return 2;
  }

  try {
    std::cout << "library: " << loaded_library() << std::endl;
    lk::Client client;
    auto me = lk::connect_and_wait(client, positional[0], positional[1], 15s);
    const uint64_t local = me.local_participant.id();
    const std::string reg = bytes_of(rq::register_rpc_method(local, "bench.ping"));
    const std::string unreg = bytes_of(rq::unregister_rpc_method(local, "bench.ping"));

    for (size_t i = 0; i < 2000; ++i) raw_round_trip_ns(i % 2 ? unreg : reg);  // warm up
    std::vector<double> raw(iterations);
    for (size_t i = 0; i < iterations; ++i) raw[i] = raw_round_trip_ns(i % 2 ? unreg : reg);
    print("raw (C ABI, pre-serialized)", "raw", summarize(raw), iterations);

    const auto reg_request = rq::register_rpc_method(local, "bench.ping");
    const auto unreg_request = rq::unregister_rpc_method(local, "bench.ping");
    std::vector<double> full(iterations);
    for (size_t i = 0; i < iterations; ++i) {
      auto start = lk::Clock::now();
      client.request(i % 2 ? unreg_request : reg_request);
      full[i] = std::chrono::duration<double, std::nano>(lk::Clock::now() - start).count();
    }
    print("client (C++ serialize + parse)", "client", summarize(full), iterations);

    client.request_and_wait(rq::disconnect(me.room.id()), 15s);
  } catch (const std::exception& error) {
    std::cerr << "request_rtt: " << error.what() << std::endl;
    return 1;
  }
  return 0;
}
