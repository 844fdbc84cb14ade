"""Reconnection with the official SDK as the peer: `room.simulate_scenario(...)` causes the
fault; `reconnecting`, `reconnected` and the states come in order; data flows both ways
afterwards; a full reconnect is a new session that publishes our microphone again in place."""

import asyncio

import pytest
from conftest import EVENT_TIMEOUT, Events, connect_ours, pair
from test_audio import RATE, assert_tone, collect_tone, play_tone

from livekit_core import rtc

# A full reconnect joins again from scratch: longer than one event.
RECONNECT_TIMEOUT = 30.0
Kind = rtc.SimulateScenarioKind


def trail(room):
    """The reconnect-related events of `room` in order, as names, from now on."""
    seen = []
    for name in ("reconnecting", "reconnected", "participant_connected", "participant_disconnected",
                 "disconnected"):
        room.on(name, lambda *args, name=name: seen.append(
            f"{name}({args[0].identity})" if name.startswith("participant") else name))
    room.on("connection_state_changed", lambda state: seen.append(rtc.ConnectionState.name(state)))
    return seen


async def exchange(sender, receiver, receiver_events, text):
    """`text` from `sender` reaches `receiver` as reliable data, named by its sender."""
    await sender.local_participant.publish_data(text, topic="after-reconnect")
    (packet,) = await receiver_events.wait("data_received", lambda p: p.data == text.encode())
    assert packet.topic == "after-reconnect"
    assert packet.participant.identity == sender.local_participant.identity


async def test_a_signal_reconnect_resumes_the_session_and_data_flows_both_ways(server, room_name):
    ours, peer = await pair(server, room_name)
    events = Events(ours, "reconnected", "data_received")
    peer_events = Events(peer, "data_received", "participant_disconnected")
    seen = trail(ours)
    during = []
    ours.on("reconnecting", lambda: during.append((ours.connection_state, ours.isconnected())))
    sid_before = ours.local_participant.sid

    await ours.simulate_scenario(Kind.SIMULATE_SIGNAL_RECONNECT)
    await events.wait("reconnected", timeout=RECONNECT_TIMEOUT)
    assert seen == ["CONN_RECONNECTING", "reconnecting", "CONN_CONNECTED", "reconnected"]
    assert during == [(rtc.ConnectionState.CONN_RECONNECTING, True)], "isconnected() holds while reconnecting"
    assert ours.connection_state == rtc.ConnectionState.CONN_CONNECTED
    assert ours.local_participant.sid == sid_before, "a resume keeps the session"

    await exchange(ours, peer, peer_events, "ours after the resume")
    await exchange(peer, ours, events, "official after the resume")
    assert peer_events.seen["participant_disconnected"] == [], "the official SDK saw us leave"
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_a_full_reconnect_republishes_our_microphone_in_place(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    events = Events(ours, "reconnected", "local_track_published", "local_track_republished", "data_received")
    peer_events = Events(peer, "track_subscribed", "data_received")
    source = rtc.AudioSource(RATE, 1, queue_size_ms=100)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    stop = asyncio.Event()
    player = asyncio.ensure_future(play_tone(source, rtc.AudioFrame, stop))
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    publication = await ours.local_participant.publish_track(track, options)
    old_sid = publication.sid
    await peer_events.wait("track_subscribed", lambda t, pub, who: pub.sid == old_sid)
    await events.wait("local_track_published")
    sid_before = ours.local_participant.sid
    seen = trail(ours)

    await ours.simulate_scenario(Kind.SIMULATE_FULL_RECONNECT)
    await events.wait("reconnected", timeout=RECONNECT_TIMEOUT)
    assert seen[:3] == ["participant_disconnected(official)", "CONN_RECONNECTING", "reconnecting"], seen
    assert seen.index("participant_connected(official)") < seen.index("reconnected"), seen
    assert ours.local_participant.sid != sid_before, "a full reconnect is a new session"
    assert set(ours.remote_participants) == {"official"}

    republished, previous_sid = await events.wait("local_track_republished")
    assert republished is publication and previous_sid == old_sid
    assert publication.sid.startswith("TR_") and publication.sid != old_sid
    assert track.sid == publication.sid
    assert ours.local_participant.track_publications == {publication.sid: publication}
    assert len(events.seen["local_track_published"]) == 1, "a republish is not a new publication"

    remote_track, _, who = await peer_events.wait(
        "track_subscribed", lambda t, pub, who: pub.sid == publication.sid, timeout=RECONNECT_TIMEOUT)
    assert who.identity == "ours"
    stream = official.AudioStream(remote_track, sample_rate=RATE, num_channels=1)
    assert_tone(await asyncio.wait_for(collect_tone(stream), EVENT_TIMEOUT))
    stop.set()
    await player
    await stream.aclose()

    await exchange(ours, peer, peer_events, "ours after the full reconnect")
    await exchange(peer, ours, events, "official after the full reconnect")
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_with_reconnection_off_a_break_disconnects(server, room_name):
    ours = rtc.Room()
    await ours.connect(server.url, server.token("ours", room_name), rtc.RoomOptions(reconnect_max_attempts=0))
    events = Events(ours, "disconnected")
    seen = trail(ours)
    await ours.simulate_scenario(Kind.SIMULATE_SIGNAL_RECONNECT)
    await events.wait("disconnected", timeout=RECONNECT_TIMEOUT)
    assert seen[:2] == ["CONN_RECONNECTING", "reconnecting"], seen
    assert "reconnected" not in seen
    assert not ours.isconnected()


async def test_forcing_tcp_is_refused_and_the_room_stays_connected(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    with pytest.raises(NotImplementedError, match="SIMULATE_FORCE_TCP is not implemented by livekit-core"):
        await ours.simulate_scenario(Kind.SIMULATE_FORCE_TCP)
    with pytest.raises(ValueError, match="99 is not a SimulateScenarioKind"):
        await ours.simulate_scenario(99)
    assert ours.connection_state == rtc.ConnectionState.CONN_CONNECTED
    await ours.disconnect()
    with pytest.raises(rtc.DisconnectedError):
        await ours.simulate_scenario(Kind.SIMULATE_SIGNAL_RECONNECT)
