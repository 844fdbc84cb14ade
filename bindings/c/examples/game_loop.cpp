// A game loop at 60 frames per second with two players in one process. Each frame drains
// the library's events without blocking (Client::poll_events), reacts to them, and sends the
// next requests; nothing in the frame waits for the network.
//
//   game_loop [--seconds N] URL TOKEN_A TOKEN_B
//   game_loop [--seconds N]              (reads LK_URL, LK_TOKEN_A, LK_TOKEN_B)
//
// The story: both players join; player A sets attributes; when B sees them it sends A a data
// packet; when A gets it, A sends B a byte stream (a "map"); when B has read it all, both
// leave and the loop ends after each room's eos. Exit 0 if the story completes in time.
#include <livekit/ffi_client.hpp>
#include <livekit/requests.hpp>

#include "example_args.hpp"
#include "example_player.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

namespace lk = livekit::ffi;
namespace rq = livekit::ffi::requests;
using namespace std::chrono_literals;

namespace {

constexpr auto kFrame = std::chrono::microseconds(16667);

using Player = examples::PlayerBase;

enum class Step { Joining, Attributes, Data, Stream, Leaving, Done };

class Game {
 public:
  Game(lk::Client& client, std::string url, std::string token_a, std::string token_b) : client_(client), url_(url) {
    a_.label = "A";
    a_.token = std::move(token_a);
    b_.label = "B";
    b_.token = std::move(token_b);
    map_.resize(64 * 1024);
    for (size_t i = 0; i < map_.size(); ++i) map_[i] = static_cast<char>('a' + i % 26);
  }

  void start() {
    for (Player* p : {&a_, &b_}) {
      p->connect_async_id = *lk::async_id_of(client_.request(rq::connect(url_, p->token)));
      say(*p, "connecting");
    }
  }

  bool done() const { return step_ == Step::Done; }

  void on_event(const lk::proto::FfiEvent& event) {
    switch (event.message_case()) {
      case lk::proto::FfiEvent::kConnect: on_connected(event.connect()); break;
      case lk::proto::FfiEvent::kRoomEvent: on_room_event(event.room_event()); break;
      case lk::proto::FfiEvent::kByteStreamReaderEvent: on_stream_event(event.byte_stream_reader_event()); break;
      case lk::proto::FfiEvent::kPublishData:
        if (event.publish_data().has_error()) fail("publish_data: " + event.publish_data().error());
        break;
      case lk::proto::FfiEvent::kSetLocalAttributes:
        if (event.set_local_attributes().has_error()) fail("attributes: " + event.set_local_attributes().error());
        break;
      case lk::proto::FfiEvent::kSendBytes:
        if (event.send_bytes().has_error()) fail("send_bytes: " + event.send_bytes().error().description());
        break;
      default: break;
    }
  }

 private:
  void on_connected(const lk::proto::ConnectCallback& callback) {
    std::string error;
    Player* p = examples::take_join(client_, a_, b_, callback, error);
    if (!error.empty()) return fail(error);
    if (p == nullptr) return;
    say(*p, "joined room '" + callback.result().room().info().name() + "' as " + p->identity);
    maybe_start_playing();
  }

  void on_room_event(const lk::proto::RoomEvent& event) {
    Player* p = examples::player_of_room(a_, b_, event.room_handle());
    if (p == nullptr) return;
    if (event.has_participant_connected()) {
      say(*p, "sees " + examples::take_participant(*p, event.participant_connected()) + " join");
      maybe_start_playing();
    } else if (event.has_participant_attributes_changed() && p == &b_ && step_ == Step::Attributes) {
      const auto& changed = event.participant_attributes_changed();
      std::string text;
      for (const auto& entry : changed.changed_attributes()) text += " " + entry.key() + "=" + entry.value();
      say(b_, "sees " + changed.participant_identity() + "'s attributes:" + text);
      client_.request(rq::publish_data(b_.local.id(), "good game!", "chat", true, {a_.identity}));
      step_ = Step::Data;
    } else if (event.has_data_packet_received() && p == &a_ && step_ == Step::Data) {
      const auto& packet = event.data_packet_received();
      std::string text = lk::take_buffer(packet.user().data());
      say(a_, "got data from " + packet.participant_identity() + " on '" + packet.user().topic() + "': " + text);
      client_.request(rq::send_bytes(a_.local.id(), map_, "maps", "arena.map", {b_.identity}));
      say(a_, "sends a " + std::to_string(map_.size()) + "-byte map");
      step_ = Step::Stream;
    } else if (event.has_byte_stream_opened() && p == &b_) {
      const auto& reader = event.byte_stream_opened().reader();
      lk::Handle handle(reader.handle());
      uint64_t id = handle.release();  // byte_read_incremental consumes the reader handle
      streams_[id].clear();
      client_.request(rq::byte_read_incremental(id));
      say(b_, "receives stream '" + reader.info().name() + "' from " + event.byte_stream_opened().participant_identity());
    } else if (event.has_eos()) {
      p->ended = true;
      say(*p, "room closed (eos)");
      if (a_.ended && b_.ended) step_ = Step::Done;
    }
  }

  void on_stream_event(const lk::proto::ByteStreamReaderEvent& event) {
    auto stream = streams_.find(event.reader_handle());
    if (stream == streams_.end()) return;
    if (event.has_chunk_received()) {
      stream->second += event.chunk_received().content();
      return;
    }
    if (event.eos().has_error()) return fail("stream failed: " + event.eos().error().description());
    bool intact = stream->second == map_;
    say(b_, "read " + std::to_string(stream->second.size()) + " bytes" + (intact ? " (intact)" : " (CORRUPT)"));
    streams_.erase(stream);
    if (!intact) return fail("the map arrived corrupted");
    leave();
  }

  // Both joined and each sees the other: A sets its attributes.
  void maybe_start_playing() {
    if (step_ != Step::Joining || !a_.room || !b_.room) return;
    if (!a_.remotes.count(b_.identity) || !b_.remotes.count(a_.identity)) return;
    client_.request(rq::set_attributes(a_.local.id(), {{"hp", "100"}, {"level", "3"}}));
    say(a_, "sets attributes hp=100 level=3");
    step_ = Step::Attributes;
  }

  void leave() {
    step_ = Step::Leaving;
    if (examples::leave_both(client_, a_, b_)) step_ = Step::Done;
  }

  void fail(const std::string& why) {
    std::cerr << "game_loop: " << why << std::endl;
    failed_ = true;
    if (step_ != Step::Leaving && step_ != Step::Done) leave();
  }

  static void say(const Player& p, const std::string& text) { std::cout << "[" << p.label << "] " << text << std::endl; }

  lk::Client& client_;
  std::string url_;
  Player a_, b_;
  Step step_ = Step::Joining;
  std::string map_;
  std::map<uint64_t, std::string> streams_;  // reader handle -> bytes so far

 public:
  bool failed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  auto args = examples::parse_args(argc, argv, 30);
  if (!args) {
    std::cerr << "usage: game_loop [--seconds N] URL TOKEN_A TOKEN_B (or set LK_URL, LK_TOKEN_A, LK_TOKEN_B)\n";
    return 2;
  }

  lk::Client client;  // declared first: the game's handles drop before the library disposes
  Game game(client, args->url, args->token_a, args->token_b);
  game.start();

  const auto deadline = lk::Clock::now() + std::chrono::duration_cast<lk::Clock::duration>(std::chrono::duration<double>(args->seconds));
  std::vector<double> work_us;  // time each frame spent draining and handling events
  size_t events = 0;
  auto next_frame = lk::Clock::now();
  while (!game.done() && lk::Clock::now() < deadline) {
    auto frame_start = lk::Clock::now();
    for (const auto& event : client.poll_events()) {
      game.on_event(event);
      ++events;
    }
    work_us.push_back(std::chrono::duration<double, std::micro>(lk::Clock::now() - frame_start).count());
    // ... the game would update and render here ...
    next_frame += kFrame;
    std::this_thread::sleep_until(next_frame);  // frame pacing, not waiting for an event
  }

  std::sort(work_us.begin(), work_us.end());
  auto at = [&](double q) { return work_us.empty() ? 0.0 : work_us[static_cast<size_t>(q * (work_us.size() - 1))]; };
  std::cout << "frames: " << work_us.size() << ", events: " << events << ", event work per frame: median "
            << at(0.5) << " us, p99 " << at(0.99) << " us, max " << at(1.0) << " us (budget "
            << kFrame.count() << " us)" << std::endl;
  if (!game.done()) {
    std::cerr << "game_loop: the story did not finish within " << args->seconds << " s" << std::endl;
    return 1;
  }
  return game.failed_ ? 1 : 0;
}
