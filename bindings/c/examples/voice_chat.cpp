// Voice chat in a game loop: two players in one process, 100 frames per second. Each frame
// drains the library's events without blocking, keeps the decoded audio of the other player
// that arrived since the last frame, and captures 10 ms of the player's own tone (alice 440 Hz,
// bob 660 Hz). After the playing time each player finds the dominant frequency of what it heard.
//
//   voice_chat [--seconds N] URL TOKEN_A TOKEN_B
//   voice_chat [--seconds N]              (reads LK_URL, LK_TOKEN_A, LK_TOKEN_B)
//
// The two players listen in the protocol's two ways: alice opens a stream on bob's track when it
// is subscribed (track_subscribed -> new_audio_stream); bob follows alice's microphone as soon
// as he knows her (audio_stream_from_participant), whenever her track arrives. Exit 0 if each
// heard the other's tone within 10 Hz and loud enough.
#include <livekit/audio.hpp>
#include <livekit/ffi_client.hpp>
#include <livekit/requests.hpp>

#include "example_args.hpp"
#include "example_player.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

namespace lk = livekit::ffi;
namespace rq = livekit::ffi::requests;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kRate = 48000;
constexpr uint32_t kFrameSamples = kRate / 100;  // 10 ms, mono
constexpr auto kFrame = 10ms;
constexpr uint32_t kSourceQueueMs = 100;  // how far captures may run ahead of real time
constexpr double kAmplitude = 8000;       // of the sent tone (int16 full scale is 32767)
constexpr double kMinRms = 1000;          // "real energy": the tone's RMS is ~5650
constexpr double kToleranceHz = 10;
constexpr auto kSetupTimeout = 20s;       // joining and publishing
constexpr auto kLeaveTimeout = 10s;       // each room's eos after disconnect
constexpr double kPi = 3.14159265358979323846;

struct Player : examples::PlayerBase {
  double tone_hz = 0;
  double phase = 0;  // of the tone, kept across frames
  uint64_t publish_async_id = 0;
  lk::Handle source, track, publication;
  lk::Handle remote_track;                    // alice: bob's subscribed track
  lk::Handle stream;                          // the other's decoded audio
  bool publishing = false;
  std::vector<int16_t> heard;                 // the latest 1-2 s the stream delivered, mono 48 kHz
  size_t samples_heard = 0;                   // all of it
};

/// What a player heard: its dominant frequency and level over the last half second.
struct Verdict {
  double hz = 0;
  double rms = 0;
};

// Power of one frequency in `x` (Goertzel: a two-tap recursion, no FFT needed).
double goertzel_power(const std::vector<double>& x, double hz) {
  const double coeff = 2 * std::cos(2 * kPi * hz / kRate);
  double s1 = 0, s2 = 0;
  for (double v : x) {
    double s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

// Scans 50..2000 Hz in 1 Hz steps over the last 0.5 s (the start may still be silence).
Verdict analyse(const std::vector<int16_t>& heard) {
  const size_t n = std::min<size_t>(heard.size(), kRate / 2);
  if (n < kRate / 10) return {};  // under 100 ms: nothing to judge
  std::vector<double> window(n);
  double energy = 0;
  for (size_t i = 0; i < n; ++i) {
    double v = heard[heard.size() - n + i];
    energy += v * v;
    window[i] = v * 0.5 * (1 - std::cos(2 * kPi * i / (n - 1)));  // Hann: less leakage
  }
  Verdict verdict;
  verdict.rms = std::sqrt(energy / n);
  double best = -1;
  for (double hz = 50; hz <= 2000; hz += 1) {
    double power = goertzel_power(window, hz);
    if (power > best) {
      best = power;
      verdict.hz = hz;
    }
  }
  return verdict;
}

enum class Step { Joining, Playing, Leaving, Done };

class Game {
 public:
  Game(lk::Client& client, std::string url, std::string token_a, std::string token_b, double seconds)
      : client_(client), url_(std::move(url)), play_for_(std::chrono::duration_cast<lk::Clock::duration>(
                                                   std::chrono::duration<double>(seconds))) {
    a_.label = "alice";
    a_.token = std::move(token_a);
    a_.tone_hz = 440;
    b_.label = "bob";
    b_.token = std::move(token_b);
    b_.tone_hz = 660;
  }

  void start() {
    setup_deadline_ = lk::Clock::now() + kSetupTimeout;
    for (Player* p : {&a_, &b_}) {
      p->connect_async_id = *lk::async_id_of(client_.request(rq::connect(url_, p->token)));
      say(*p, "connecting");
    }
  }

  bool done() const { return step_ == Step::Done; }
  bool ok() const { return !failed_; }

  void on_event(const lk::proto::FfiEvent& event) {
    switch (event.message_case()) {
      case lk::proto::FfiEvent::kConnect: on_connected(event.connect()); break;
      case lk::proto::FfiEvent::kPublishTrack: on_published(event.publish_track()); break;
      case lk::proto::FfiEvent::kRoomEvent: on_room_event(event.room_event()); break;
      case lk::proto::FfiEvent::kAudioStreamEvent: on_audio(event.audio_stream_event()); break;
      case lk::proto::FfiEvent::kCaptureAudioFrame:
        // Captures complete in order once the source's queue has room; only errors matter here.
        if (event.capture_audio_frame().has_error() && step_ == Step::Playing) {
          fail("capture_audio_frame: " + event.capture_audio_frame().error());
        }
        break;
      default: break;
    }
  }

  /// The frame's own work after the events: capture 10 ms of each tone, or end the round.
  void update(lk::Clock::time_point now) {
    if (step_ == Step::Joining && now >= setup_deadline_) return fail("joining and publishing took over 20 s");
    if (step_ == Step::Leaving && now >= leave_deadline_) {
      std::cerr << "voice_chat: no eos within 10 s of leaving" << std::endl;
      failed_ = true;
      step_ = Step::Done;
      return;
    }
    if (step_ != Step::Playing) return;
    if (now >= play_until_) return finish();
    for (Player* p : {&a_, &b_}) capture_tone(*p);
    if (now >= next_report_) {
      next_report_ += 1s;
      for (const Player* p : {&a_, &b_}) {
        say(*p, "has heard " + seconds_of(p->samples_heard) + " s of " + other(*p).label);
      }
    }
  }

 private:
  Player& other(const Player& p) { return &p == &a_ ? b_ : a_; }
  const Player& other(const Player& p) const { return &p == &a_ ? b_ : a_; }

  // Joined: open the room's events, make a source and its track, publish it.
  void on_connected(const lk::proto::ConnectCallback& callback) {
    std::string error;
    Player* p = examples::take_join(client_, a_, b_, callback, error);
    if (!error.empty()) return fail(error);
    if (p == nullptr) return;
    say(*p, "joined as " + p->identity);
    if (step_ == Step::Leaving) {  // the round failed while this one was joining
      p->ended = false;            // its eos will come after this disconnect
      client_.request(rq::disconnect(p->room.id()));
      return;
    }

    p->source = lk::Handle(client_.request(rq::new_audio_source(kSourceQueueMs)).new_audio_source().source().handle());
    p->track = lk::Handle(
        client_.request(rq::create_audio_track(p->label + "-voice", p->source.id())).create_audio_track().track().handle());
    p->publish_async_id = *lk::async_id_of(client_.request(rq::publish_track(p->local.id(), p->track.id())));
    for (Player* q : {&a_, &b_}) maybe_listen(*q);
  }

  void on_published(const lk::proto::PublishTrackCallback& callback) {
    Player* p = examples::player_by_async_id(a_, b_, &Player::publish_async_id, callback.async_id());
    if (p == nullptr) return;
    if (callback.has_error()) return fail(p->label + " could not publish: " + callback.error());
    p->publication = lk::Handle(callback.publication().handle());
    p->publishing = true;
    say(*p, "publishes a " + std::to_string(static_cast<int>(p->tone_hz)) + " Hz tone (" +
                callback.publication().info().sid() + ")");
    if (step_ == Step::Joining && a_.publishing && b_.publishing) {
      step_ = Step::Playing;
      play_until_ = lk::Clock::now() + play_for_;
      next_report_ = lk::Clock::now() + 1s;
    }
  }

  void on_room_event(const lk::proto::RoomEvent& event) {
    Player* p = examples::player_of_room(a_, b_, event.room_handle());
    if (p == nullptr) return;
    if (event.has_participant_connected()) {
      examples::take_participant(*p, event.participant_connected());
      maybe_listen(*p);
    } else if (event.has_track_subscribed() && p == &a_ && !a_.stream) {
      // Alice's way: a stream on the track itself, once it is subscribed.
      const auto& subscribed = event.track_subscribed();
      if (subscribed.participant_identity() != b_.identity ||
          subscribed.track().info().kind() != lk::proto::KIND_AUDIO) {
        return;
      }
      a_.remote_track = lk::Handle(subscribed.track().handle());
      a_.stream = lk::Handle(client_.request(rq::new_audio_stream(a_.remote_track.id())).new_audio_stream().stream().handle());
      say(a_, "listens to " + b_.label + "'s track " + subscribed.track().info().sid());
    } else if (event.has_eos()) {
      p->ended = true;
      if (a_.ended && b_.ended) step_ = Step::Done;
    }
  }

  // Bob's way: follow alice's microphone from the moment he knows her; the stream picks up her
  // track whenever it is subscribed.
  void maybe_listen(Player& p) {
    if (&p != &b_ || b_.stream || a_.identity.empty()) return;
    auto alice = b_.remotes.find(a_.identity);
    if (alice == b_.remotes.end()) return;
    b_.stream = lk::Handle(client_.request(rq::audio_stream_from_participant(alice->second.id()))
                               .audio_stream_from_participant()
                               .stream()
                               .handle());
    say(b_, "listens to " + a_.label + "'s microphone");
  }

  // Decoded audio of the other player: keep it (a game would mix it into its output here).
  void on_audio(const lk::proto::AudioStreamEvent& event) {
    Player* p = a_.stream && a_.stream.id() == event.stream_handle()   ? &a_
                : b_.stream && b_.stream.id() == event.stream_handle() ? &b_
                                                                       : nullptr;
    if (event.has_frame_received()) {
      lk::AudioFrame frame = lk::take_audio_frame(event.frame_received().frame());  // drops the buffer
      if (p == nullptr || step_ != Step::Playing) return;
      if (frame.sample_rate != kRate || frame.num_channels != 1) {
        return fail("a frame of " + std::to_string(frame.sample_rate) + " Hz, " +
                    std::to_string(frame.num_channels) + " channels; asked for 48000 Hz mono");
      }
      if (p->samples_heard == 0) say(*p, "hears " + other(*p).label + " for the first time");
      p->samples_heard += frame.samples.size();
      p->heard.insert(p->heard.end(), frame.samples.begin(), frame.samples.end());
      if (p->heard.size() > 2 * kRate) p->heard.erase(p->heard.begin(), p->heard.end() - kRate);  // keep it bounded
    } else if (event.has_eos() && p != nullptr && step_ == Step::Playing) {
      say(*p, "the stream of " + other(*p).label + " ended early");
    }
  }

  // 10 ms of the player's tone. The library copies the samples during the request, so a local
  // buffer is enough; the capture's callback comes later through the event queue.
  void capture_tone(Player& p) {
    int16_t samples[kFrameSamples];
    const double step = 2 * kPi * p.tone_hz / kRate;
    for (auto& sample : samples) {
      sample = static_cast<int16_t>(kAmplitude * std::sin(p.phase));
      p.phase = std::fmod(p.phase + step, 2 * kPi);
    }
    client_.request(rq::capture_audio_frame(p.source.id(), samples, kFrameSamples));
  }

  // The round is over: judge what each player heard, then both leave.
  void finish() {
    for (const Player* p : {&a_, &b_}) {
      const Player& q = other(*p);
      Verdict v = analyse(p->heard);
      bool heard = std::abs(v.hz - q.tone_hz) <= kToleranceHz && v.rms >= kMinRms;
      std::ostringstream line;
      line << std::fixed << std::setprecision(0) << "heard " << seconds_of(p->samples_heard) << " s of " << q.label
           << ": dominant " << v.hz << " Hz (expected " << q.tone_hz << " Hz), rms " << v.rms
           << (heard ? " -> ok" : " -> WRONG");
      say(*p, line.str());
      if (!heard) failed_ = true;
    }
    leave();
  }

  void leave() {
    step_ = Step::Leaving;
    leave_deadline_ = lk::Clock::now() + kLeaveTimeout;
    if (examples::leave_both(client_, a_, b_)) step_ = Step::Done;
  }

  void fail(const std::string& why) {
    std::cerr << "voice_chat: " << why << std::endl;
    failed_ = true;
    if (step_ == Step::Joining || step_ == Step::Playing) leave();
  }

  static std::string seconds_of(size_t samples) {
    std::ostringstream text;
    text << std::fixed << std::setprecision(2) << static_cast<double>(samples) / kRate;
    return text.str();
  }

  static void say(const Player& p, const std::string& text) {
    std::cout << "[" << p.label << "] " << text << std::endl;
  }

  lk::Client& client_;
  std::string url_;
  lk::Clock::duration play_for_;
  Player a_, b_;
  Step step_ = Step::Joining;
  lk::Clock::time_point setup_deadline_, play_until_, next_report_, leave_deadline_;
  bool failed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  auto args = examples::parse_args(argc, argv, 6);
  if (!args || args->seconds < 1) {
    std::cerr << "usage: voice_chat [--seconds N>=1] URL TOKEN_A TOKEN_B (or set LK_URL, LK_TOKEN_A, LK_TOKEN_B)\n";
    return 2;
  }

  lk::Client client;  // declared first: the game's handles drop before the library disposes
  Game game(client, args->url, args->token_a, args->token_b, args->seconds);
  game.start();

  std::vector<double> work_us;  // time each frame spent on events and captures
  size_t events = 0;
  auto next_frame = lk::Clock::now();
  while (!game.done()) {  // update() ends the round by its own deadlines
    auto frame_start = lk::Clock::now();
    for (const auto& event : client.poll_events()) {
      game.on_event(event);
      ++events;
    }
    game.update(frame_start);
    work_us.push_back(std::chrono::duration<double, std::micro>(lk::Clock::now() - frame_start).count());
    next_frame += kFrame;
    std::this_thread::sleep_until(next_frame);  // frame pacing, not waiting for an event
  }

  std::sort(work_us.begin(), work_us.end());
  auto at = [&](double q) { return work_us.empty() ? 0.0 : work_us[static_cast<size_t>(q * (work_us.size() - 1))]; };
  std::cout << "frames: " << work_us.size() << ", events: " << events << ", work per frame: median " << at(0.5)
            << " us, p99 " << at(0.99) << " us (budget 10000 us)" << std::endl;
  return game.ok() ? 0 : 1;
}
