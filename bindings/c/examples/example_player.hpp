// What both example games (game_loop, voice_chat) keep for each player, and the join step they
// share: a connect callback turned into the player's handles.
#pragma once

#include <livekit/ffi_client.hpp>
#include <livekit/requests.hpp>

#include <cstdint>
#include <iostream>
#include <map>
#include <string>

namespace examples {

struct PlayerBase {
  std::string label;
  std::string token;
  uint64_t connect_async_id = 0;
  livekit::ffi::Handle room, local;
  std::string identity;
  std::map<std::string, livekit::ffi::Handle> remotes;  // identity -> participant handle
  bool ended = false;                                   // the room's eos arrived
};

// Of players `a` and `b`, the one whose request (the member `field`) had `async_id`; null if neither.
template <typename Player, typename Field>
Player* player_by_async_id(Player& a, Player& b, Field field, uint64_t async_id) {
  return a.*field == async_id ? &a : b.*field == async_id ? &b : nullptr;
}

// Of players `a` and `b`, the one in `room`; null if neither.
template <typename Player>
Player* player_of_room(Player& a, Player& b, uint64_t room) {
  if (a.room && a.room.id() == room) return &a;
  if (b.room && b.room.id() == room) return &b;
  return nullptr;
}

// The player a connect callback is for, joined: its room, our participant and those already
// there kept, and the room's events asked for (the library holds them until then). Null when
// the callback is for neither, or when the join failed (then `error` says why).
template <typename Player>
Player* take_join(livekit::ffi::Client& client, Player& a, Player& b,
                  const livekit::ffi::proto::ConnectCallback& callback, std::string& error) {
  Player* player = player_by_async_id(a, b, &Player::connect_async_id, callback.async_id());
  if (player == nullptr) return nullptr;
  if (callback.has_error()) {
    error = player->label + " could not connect: " + callback.error();
    return nullptr;
  }
  const auto& result = callback.result();
  player->room = livekit::ffi::Handle(result.room().handle());
  player->local = livekit::ffi::Handle(result.local_participant().handle());
  player->identity = result.local_participant().info().identity();
  for (const auto& remote : result.participants()) {
    player->remotes[remote.participant().info().identity()] = livekit::ffi::Handle(remote.participant().handle());
  }
  client.request(livekit::ffi::requests::ready_for_room_event(player->room.id()));
  return player;
}

// Keeps a participant that joined the player's room; returns its identity.
inline std::string take_participant(PlayerBase& player, const livekit::ffi::proto::ParticipantConnected& connected) {
  const auto& joined = connected.info();
  player.remotes[joined.info().identity()] = livekit::ffi::Handle(joined.handle());
  return joined.info().identity();
}

// Asks each joined player's room to leave (its eos follows); a player that never joined has
// ended already. True when both have ended.
inline bool leave_both(livekit::ffi::Client& client, PlayerBase& a, PlayerBase& b) {
  for (PlayerBase* p : {&a, &b}) {
    if (p->room) {
      client.request(livekit::ffi::requests::disconnect(p->room.id()));
      std::cout << "[" << p->label << "] leaves" << std::endl;
    } else {
      p->ended = true;  // never joined: no eos will come
    }
  }
  return a.ended && b.ended;
}

}  // namespace examples
