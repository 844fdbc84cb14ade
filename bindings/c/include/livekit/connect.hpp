// Connecting and waiting for the result, for tests and tools that may block (a game would
// send the connect request and pick the callback out of its per-frame poll_events instead).
#pragma once

#include <string>
#include <vector>

#include "ffi_client.hpp"
#include "requests.hpp"

namespace livekit::ffi {

/// A joined room: its handle, the local participant's, and the remote participants present at
/// connect time. Declare it after the Client so its handles drop before the library disposes.
struct Connection {
  Handle room;
  Handle local_participant;
  std::string identity;
  std::vector<Handle> remote_participants;
  std::vector<std::string> remote_identities;
};

/// Connects, waits for the ConnectCallback and sends ready_for_room_event, so the room's events
/// start to flow. Throws std::runtime_error if the connect fails, TimeoutError if it hangs.
inline Connection connect_and_wait(Client& client, const std::string& url, const std::string& token,
                                   std::chrono::milliseconds timeout) {
  auto event = client.request_and_wait(requests::connect(url, token), timeout);
  const auto& callback = event.connect();
  if (callback.message_case() != proto::ConnectCallback::kResult) {
    throw std::runtime_error("connect failed: " + callback.error());
  }
  const auto& result = callback.result();
  Connection connection;
  connection.room = Handle(result.room().handle());
  connection.local_participant = Handle(result.local_participant().handle());
  connection.identity = result.local_participant().info().identity();
  for (const auto& remote : result.participants()) {
    connection.remote_participants.emplace_back(remote.participant().handle());
    connection.remote_identities.push_back(remote.participant().info().identity());
  }
  client.request(requests::ready_for_room_event(connection.room.id()));
  return connection;
}

}  // namespace livekit::ffi
