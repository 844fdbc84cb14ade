"""Reconnection through the official SDK's own API: `room.simulate_scenario(...)` causes the
fault, and the room reports `reconnecting`, `reconnected` and the CONN_RECONNECTING state, then
carries data both ways again; a full reconnect publishes our track again under a new sid
(`local_track_republished`). Whichever library is loaded."""

from livekit import rtc

from audio_tools import publish_microphone
from conftest import EVENT_TIMEOUT, expect, expect_raw_room_event, known

# A full reconnect joins again from scratch: longer than one event.
RECONNECT_TIMEOUT = 30.0
Kind = rtc.SimulateScenarioKind


class ReconnectLog:
    """The reconnect events of one room in order, listened to before the fault is caused."""

    def __init__(self, room):
        self.seen = []
        self.reconnected = expect(room, "reconnected")
        # The state the room announces once connected may still be on its way: only a
        # CONN_CONNECTED after CONN_RECONNECTING counts.
        self.connected_again = expect(
            room,
            "connection_state_changed",
            lambda state: state == rtc.ConnectionState.CONN_CONNECTED and "CONN_RECONNECTING" in self.seen,
        )
        room.on("reconnecting", lambda: self.seen.append("reconnecting"))
        room.on("reconnected", lambda: self.seen.append("reconnected"))
        room.on("disconnected", lambda reason: self.seen.append(f"disconnected {reason}"))
        room.on("connection_state_changed", lambda state: self.seen.append(rtc.ConnectionState.Name(state)))

    async def wait_reconnected(self):
        """Waits for `reconnected` and the state back at CONN_CONNECTED, then checks the order."""
        await self.reconnected.wait(RECONNECT_TIMEOUT)
        await self.connected_again.wait()
        assert "CONN_RECONNECTING" in self.seen, self.seen
        assert self.seen.index("reconnecting") < self.seen.index("reconnected"), self.seen
        assert "CONN_CONNECTED" in self.seen[self.seen.index("CONN_RECONNECTING") :], self.seen
        assert not any(entry.startswith("disconnected") for entry in self.seen), self.seen


async def exchange(sender, receiver, text):
    """`text` from `sender` reaches `receiver` as reliable data, named by its sender."""
    received = expect(receiver, "data_received", lambda packet: packet.data == text.encode())
    await sender.local_participant.publish_data(text, topic="after-reconnect")
    (packet,) = await received.wait()
    assert packet.topic == "after-reconnect"
    assert packet.participant.identity == sender.local_participant.identity


async def test_a_signal_reconnect_resumes_the_session_and_data_flows_both_ways(pair):
    alice, bob = pair
    sid_before = alice.local_participant.sid
    log = ReconnectLog(alice)
    bob_departures = expect(bob, "participant_disconnected")

    await alice.simulate_scenario(Kind.SIMULATE_SIGNAL_RECONNECT)
    await log.wait_reconnected()
    assert alice.connection_state == rtc.ConnectionState.CONN_CONNECTED
    assert alice.isconnected()
    assert alice.local_participant.sid == sid_before, "a resume keeps the session"

    await exchange(alice, bob, "alice after the resume")
    await exchange(bob, alice, "bob after the resume")
    assert bob_departures.seen == [], "bob saw alice leave during a resume"
    assert "bob" in alice.remote_participants


async def test_a_full_reconnect_republishes_our_track_and_data_flows_both_ways(pair):
    alice, bob = pair
    sid_before = alice.local_participant.sid
    seen_by_bob = expect(bob, "track_published", lambda publication, participant: participant.identity == "alice")
    _source, track, publication = await publish_microphone(alice)
    await seen_by_bob.wait()
    old_sid = publication.sid

    log = ReconnectLog(alice)
    republished = expect(alice, "local_track_republished")
    # Our new sid comes in `participants_updated`, which has no event of its own in the SDK (the
    # official library may send it after `reconnected` and the data after that): wait for it there.
    new_session = expect_raw_room_event(
        alice,
        "participants_updated",
        lambda e: any(p.identity == "alice" and p.sid != sid_before for p in e.participants),
    )
    published_again = expect(
        bob,
        "track_published",
        lambda pub, participant: participant.identity == "alice" and pub.sid != old_sid,
    )
    await alice.simulate_scenario(Kind.SIMULATE_FULL_RECONNECT)
    await log.wait_reconnected()

    republished_publication, previous_sid = await republished.wait(RECONNECT_TIMEOUT)
    assert previous_sid == old_sid
    assert republished_publication is publication, "the publication object is updated in place"
    assert publication.sid.startswith("TR_") and publication.sid != old_sid
    assert track.sid == publication.sid
    assert alice.local_participant.track_publications == {publication.sid: publication}

    remote_publication, _ = await published_again.wait(RECONNECT_TIMEOUT)
    assert remote_publication.sid == publication.sid
    await known(bob, "alice")
    await known(alice, "bob")
    await exchange(alice, bob, "alice after the full reconnect")
    await exchange(bob, alice, "bob after the full reconnect")
    updated = await new_session.wait(RECONNECT_TIMEOUT)
    new_sid = next(p.sid for p in updated.participants if p.identity == "alice")
    assert new_sid.startswith("PA_") and new_sid != sid_before, "a full reconnect is a new session"


async def test_a_simulated_speaker_is_reported_as_the_active_speaker(pair):
    alice, _bob = pair
    speaking = expect(
        alice,
        "active_speakers_changed",
        lambda speakers: any(p.identity == "alice" for p in speakers),
    )
    await alice.simulate_scenario(Kind.SIMULATE_SPEAKER)
    (speakers,) = await speaking.wait(EVENT_TIMEOUT)
    assert speakers[0].identity == "alice"
    assert alice.connection_state == rtc.ConnectionState.CONN_CONNECTED

