// Builders for the FfiRequests a game sends most, so call sites stay one line. Each fills the
// official message and nothing more; the library does the work.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ffi.pb.h"

namespace livekit::ffi::requests {

namespace proto = ::livekit::proto;

inline proto::FfiRequest connect(const std::string& url, const std::string& token) {
  proto::FfiRequest request;
  auto* connect = request.mutable_connect();
  connect->set_url(url);
  connect->set_token(token);
  connect->mutable_options()->set_auto_subscribe(true);
  return request;
}

/// Opens the gate of the room's events; the library holds them until this arrives.
inline proto::FfiRequest ready_for_room_event(uint64_t room_handle) {
  proto::FfiRequest request;
  request.mutable_ready_for_room_event()->set_room_handle(room_handle);
  return request;
}

inline proto::FfiRequest disconnect(uint64_t room_handle) {
  proto::FfiRequest request;
  request.mutable_disconnect()->set_room_handle(room_handle);
  return request;
}

// Causes a fault on purpose (tests): the callback comes once it happened.
inline proto::FfiRequest simulate_scenario(uint64_t room_handle, proto::SimulateScenarioKind scenario) {
  proto::FfiRequest request;
  auto* simulate = request.mutable_simulate_scenario();
  simulate->set_room_handle(room_handle);
  simulate->set_scenario(scenario);
  return request;
}

inline proto::FfiRequest set_attributes(uint64_t local_participant,
                                        const std::map<std::string, std::string>& attributes) {
  proto::FfiRequest request;
  auto* set = request.mutable_set_local_attributes();
  set->set_local_participant_handle(local_participant);
  for (const auto& [key, value] : attributes) {
    auto* entry = set->add_attributes();
    entry->set_key(key);
    entry->set_value(value);
  }
  return request;
}

/// The library copies `payload` during the request call, so it may go away right after.
inline proto::FfiRequest publish_data(uint64_t local_participant, const std::string& payload,
                                      const std::string& topic, bool reliable,
                                      const std::vector<std::string>& destinations = {}) {
  proto::FfiRequest request;
  auto* publish = request.mutable_publish_data();
  publish->set_local_participant_handle(local_participant);
  publish->set_data_ptr(reinterpret_cast<uintptr_t>(payload.data()));
  publish->set_data_len(payload.size());
  publish->set_reliable(reliable);
  publish->set_topic(topic);
  for (const auto& identity : destinations) publish->add_destination_identities(identity);
  return request;
}

inline proto::FfiRequest send_bytes(uint64_t local_participant, const std::string& bytes, const std::string& topic,
                                    const std::string& name, const std::vector<std::string>& destinations = {}) {
  proto::FfiRequest request;
  auto* send = request.mutable_send_bytes();
  send->set_local_participant_handle(local_participant);
  send->set_bytes(bytes);
  auto* options = send->mutable_options();
  options->set_topic(topic);
  options->set_name(name);
  options->set_mime_type("application/octet-stream");
  for (const auto& identity : destinations) options->add_destination_identities(identity);
  return request;
}

/// Consumes the reader handle: release() it from its Handle first. Chunks then arrive as
/// FfiEvent.byte_stream_reader_event keyed by the reader handle.
inline proto::FfiRequest byte_read_incremental(uint64_t reader_handle) {
  proto::FfiRequest request;
  request.mutable_byte_read_incremental()->set_reader_handle(reader_handle);
  return request;
}

namespace detail {
// register and unregister carry the same two fields in two message types.
template <typename RpcMethodRequest>
void name_rpc_method(RpcMethodRequest* named, uint64_t local_participant, const std::string& method) {
  named->set_local_participant_handle(local_participant);
  named->set_method(method);
}
}  // namespace detail

inline proto::FfiRequest register_rpc_method(uint64_t local_participant, const std::string& method) {
  proto::FfiRequest request;
  detail::name_rpc_method(request.mutable_register_rpc_method(), local_participant, method);
  return request;
}

inline proto::FfiRequest unregister_rpc_method(uint64_t local_participant, const std::string& method) {
  proto::FfiRequest request;
  detail::name_rpc_method(request.mutable_unregister_rpc_method(), local_participant, method);
  return request;
}

}  // namespace livekit::ffi::requests
