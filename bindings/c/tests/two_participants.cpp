// Two participants in one process, through the C++ client, against a real livekit-server
// (run by with_server.py): attributes, a data packet and a byte stream go from one to the
// other, one rides out a dropped signalling connection (reconnecting, reconnected, and data
// still flows), and each room ends with its eos event. Every step waits on its event with a
// timeout.
#include <livekit/connect.hpp>

#include <cstdlib>

#include "check.hpp"

namespace lk = livekit::ffi;
namespace rq = livekit::ffi::requests;
using namespace std::chrono_literals;

namespace {

constexpr auto kTimeout = 15s;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') throw std::runtime_error(std::string(name) + " is not set: run under with_server.py");
  return value;
}

// Accepts the room events of one room whose payload `accept` matches.
auto room_event(uint64_t room, std::function<bool(const lk::proto::RoomEvent&)> accept) {
  return [room, accept](const lk::proto::FfiEvent& event) {
    return event.has_room_event() && event.room_event().room_handle() == room && accept(event.room_event());
  };
}

void wait_until_known(lk::Client& client, lk::Connection& self, const std::string& identity) {
  for (const auto& known : self.remote_identities) {
    if (known == identity) return;
  }
  auto event = client.wait_event(room_event(self.room.id(),
                                            [&](const lk::proto::RoomEvent& e) {
                                              return e.has_participant_connected() &&
                                                     e.participant_connected().info().info().identity() == identity;
                                            }),
                                 kTimeout, identity + " joining");
  self.remote_participants.emplace_back(event.room_event().participant_connected().info().handle());
  self.remote_identities.push_back(identity);
}

void attributes(lk::Client& client, lk::Connection& alice, lk::Connection& bob) {
  std::cout << "attributes: alice sets score=42" << std::endl;
  auto done = client.request_and_wait(rq::set_attributes(alice.local_participant.id(), {{"score", "42"}}), kTimeout);
  CHECK(done.has_set_local_attributes());
  CHECK(!done.set_local_attributes().has_error());
  auto seen = client.wait_event(room_event(bob.room.id(),
                                           [](const lk::proto::RoomEvent& e) {
                                             return e.has_participant_attributes_changed() &&
                                                    e.participant_attributes_changed().participant_identity() == "alice";
                                           }),
                                kTimeout, "bob seeing alice's attributes");
  const auto& changed = seen.room_event().participant_attributes_changed();
  CHECK_EQ(changed.changed_attributes_size(), 1);
  if (changed.changed_attributes_size() == 1) {
    CHECK_EQ(changed.changed_attributes(0).key(), "score");
    CHECK_EQ(changed.changed_attributes(0).value(), "42");
  }
}

void data_packet(lk::Client& client, lk::Connection& alice, lk::Connection& bob) {
  std::cout << "data packet: bob -> alice" << std::endl;
  std::string payload = "hello alice, from bob";
  auto sent = client.request_and_wait(
      rq::publish_data(bob.local_participant.id(), payload, "chat", /*reliable=*/true, {"alice"}), kTimeout);
  payload.assign(payload.size(), 'x');  // the library copied the bytes during the request
  CHECK(sent.has_publish_data());
  CHECK(!sent.publish_data().has_error());
  auto received = client.wait_event(
      room_event(alice.room.id(), [](const lk::proto::RoomEvent& e) { return e.has_data_packet_received(); }),
      kTimeout, "alice receiving bob's packet");
  const auto& packet = received.room_event().data_packet_received();
  CHECK_EQ(packet.participant_identity(), "bob");
  CHECK_EQ(packet.kind(), lk::proto::KIND_RELIABLE);
  CHECK(packet.has_user());
  CHECK_EQ(packet.user().topic(), "chat");
  CHECK_EQ(lk::take_buffer(packet.user().data()), "hello alice, from bob");
}

void byte_stream(lk::Client& client, lk::Connection& alice, lk::Connection& bob) {
  std::string level(100 * 1024, '\0');  // larger than one stream chunk
  for (size_t i = 0; i < level.size(); ++i) level[i] = static_cast<char>(i * 7 + i / 251);
  std::cout << "byte stream: alice -> bob, " << level.size() << " bytes" << std::endl;

  auto response = client.request(rq::send_bytes(alice.local_participant.id(), level, "level", "level-1.bin", {"bob"}));
  auto opened = client.wait_event(
      room_event(bob.room.id(), [](const lk::proto::RoomEvent& e) { return e.has_byte_stream_opened(); }), kTimeout,
      "bob's byte_stream_opened");
  const auto& reader = opened.room_event().byte_stream_opened().reader();
  CHECK_EQ(opened.room_event().byte_stream_opened().participant_identity(), "alice");
  CHECK_EQ(reader.info().topic(), "level");
  CHECK_EQ(reader.info().name(), "level-1.bin");

  lk::Handle reader_handle(reader.handle());
  uint64_t reader_id = reader_handle.release();  // byte_read_incremental consumes it
  client.request(rq::byte_read_incremental(reader_id));
  std::string received;
  int chunks = 0;
  for (;;) {
    auto event = client.wait_event(
        [reader_id](const lk::proto::FfiEvent& e) {
          return e.has_byte_stream_reader_event() && e.byte_stream_reader_event().reader_handle() == reader_id;
        },
        kTimeout, "a chunk or eos of bob's reader");
    const auto& reader_event = event.byte_stream_reader_event();
    if (reader_event.has_eos()) {
      CHECK(!reader_event.eos().has_error());
      break;
    }
    received += reader_event.chunk_received().content();
    ++chunks;
  }
  std::cout << "  bob read " << received.size() << " bytes in " << chunks << " chunks" << std::endl;
  CHECK(received == level);  // how the bytes are split into chunk events is the library's choice

  auto sent = client.wait_callback(*lk::async_id_of(response), kTimeout);
  CHECK(sent.has_send_bytes());
  CHECK(sent.send_bytes().has_info());
  CHECK_EQ(sent.send_bytes().info().stream_id(), reader.info().stream_id());
}

void resume(lk::Client& client, lk::Connection& alice, lk::Connection& bob) {
  std::cout << "resume: alice's signalling connection drops" << std::endl;
  auto caused = client.request_and_wait(rq::simulate_scenario(alice.room.id(), lk::proto::SIMULATE_SIGNAL_RECONNECT),
                                        kTimeout);
  CHECK(caused.has_simulate_scenario());
  CHECK(!caused.simulate_scenario().has_error());
  auto alice_event = [&](auto accept) { return room_event(alice.room.id(), accept); };
  client.wait_event(alice_event([](const lk::proto::RoomEvent& e) { return e.has_reconnecting(); }), kTimeout,
                    "alice's reconnecting");
  client.wait_event(alice_event([](const lk::proto::RoomEvent& e) { return e.has_reconnected(); }), kTimeout,
                    "alice's reconnected");
  std::string payload = "still there, alice?";
  auto sent = client.request_and_wait(
      rq::publish_data(bob.local_participant.id(), payload, "chat", /*reliable=*/true, {"alice"}), kTimeout);
  CHECK(!sent.publish_data().has_error());
  auto received = client.wait_event(
      alice_event([](const lk::proto::RoomEvent& e) { return e.has_data_packet_received(); }), kTimeout,
      "alice receiving bob's packet after the resume");
  CHECK_EQ(lk::take_buffer(received.room_event().data_packet_received().user().data()), payload);
}

void leave(lk::Client& client, lk::Connection& who) {
  std::cout << "disconnect " << who.identity << std::endl;
  client.request_and_wait(rq::disconnect(who.room.id()), kTimeout);
  // The room's event stream ends with eos before the disconnect callback goes out.
  client.wait_event(room_event(who.room.id(), [](const lk::proto::RoomEvent& e) { return e.has_eos(); }), kTimeout,
                    who.identity + "'s eos");
}

}  // namespace

int main() {
  try {
    lk::Client client;
    auto alice = lk::connect_and_wait(client, env("LK_URL"), env("LK_TOKEN_A"), kTimeout);
    auto bob = lk::connect_and_wait(client, env("LK_URL"), env("LK_TOKEN_B"), kTimeout);
    CHECK_EQ(alice.identity, "alice");
    CHECK_EQ(bob.identity, "bob");
    wait_until_known(client, alice, "bob");
    wait_until_known(client, bob, "alice");
    attributes(client, alice, bob);
    data_packet(client, alice, bob);
    byte_stream(client, alice, bob);
    resume(client, alice, bob);
    leave(client, alice);
    leave(client, bob);
  } catch (const std::exception& error) {
    check::fail(__FILE__, __LINE__, std::string("exception: ") + error.what());
  }
  return check::finish("two_participants");
}
