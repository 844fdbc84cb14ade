"""Connecting, participants and their state, room metadata, leaving: what an app built on the
official Python SDK sees, whichever library is loaded."""

import pytest
from livekit import api, rtc

from conftest import expect, known, make_token, mode


async def test_connect_gives_the_local_participant_and_the_room(join, room_name):
    alice = await join("alice", name="Alice")
    assert alice.isconnected()
    assert alice.name == room_name
    assert alice.local_participant.identity == "alice"
    assert alice.local_participant.name == "Alice"
    assert (await alice.sid).startswith("RM_")
    assert alice.connection_state == rtc.ConnectionState.CONN_CONNECTED


async def test_participants_see_each_other_join_and_leave(join):
    alice = await join("alice")
    joined = expect(alice, "participant_connected", lambda p: p.identity == "bob")
    bob = await join("bob")
    (participant,) = await joined.wait()
    assert participant.identity == "bob"
    assert (await known(bob, "alice")).identity == "alice"

    left = expect(alice, "participant_disconnected", lambda p: p.identity == "bob")
    await bob.disconnect()
    await left.wait()
    assert "bob" not in alice.remote_participants
    assert not bob.isconnected()


async def test_late_joiner_sees_state_set_before_it_joined(join):
    alice = await join("alice")
    await alice.local_participant.set_attributes({"status": "ready"})
    await alice.local_participant.set_metadata("alice's metadata")
    bob = await join("bob")
    seen = await known(bob, "alice")
    assert seen.attributes == {"status": "ready"}
    assert seen.metadata == "alice's metadata"


async def test_attributes_changed_gives_the_changes_and_the_participant(join):
    alice = await join("alice")
    bob = await join("bob")
    await known(bob, "alice")

    changed = expect(bob, "participant_attributes_changed", lambda changes, p: p.identity == "alice")
    own = expect(alice, "participant_attributes_changed", lambda changes, p: p.identity == "alice")
    await alice.local_participant.set_attributes({"mood": "happy", "level": "3"})
    changes, participant = await changed.wait()
    assert changes == {"mood": "happy", "level": "3"}
    assert participant.attributes == {"mood": "happy", "level": "3"}
    # The official library may answer set_attributes before the local echo: wait for the event.
    await own.wait()
    assert alice.local_participant.attributes == {"mood": "happy", "level": "3"}

    deleted = expect(bob, "participant_attributes_changed", lambda changes, p: "mood" in changes)
    await alice.local_participant.set_attributes({"mood": ""})
    changes, participant = await deleted.wait()
    assert changes == {"mood": ""}
    assert participant.attributes == {"level": "3"}


async def test_metadata_and_name_changes_give_old_and_new(join):
    alice = await join("alice", name="Alice")
    bob = await join("bob")
    await known(bob, "alice")

    metadata = expect(bob, "participant_metadata_changed", lambda p, old, new: p.identity == "alice")
    await alice.local_participant.set_metadata('{"score": 1}')
    participant, old, new = await metadata.wait()
    assert (participant.identity, old, new) == ("alice", "", '{"score": 1}')

    name = expect(bob, "participant_name_changed", lambda p, old, new: p.identity == "alice")
    own_name = expect(alice, "participant_name_changed", lambda p, old, new: p.identity == "alice")
    await alice.local_participant.set_name("Alice B.")
    participant, old, new = await name.wait()
    assert new == "Alice B."
    # The official library also raises participants_updated for the server's update, and when
    # that comes first the SDK has already replaced the participant's info, so its `old` is the
    # new name (seen once in CI). Ours raises only the change, so `old` is the name before.
    assert old == "Alice" or (mode() == "official" and old == "Alice B."), old
    await own_name.wait()
    assert alice.local_participant.name == "Alice B."


async def test_own_changes_raise_events_on_the_local_room_too(join):
    alice = await join("alice")
    own = expect(alice, "participant_attributes_changed", lambda changes, p: p.identity == "alice")
    await alice.local_participant.set_attributes({"k": "v"})
    changes, participant = await own.wait()
    assert changes == {"k": "v"}
    assert participant is alice.local_participant


async def test_room_metadata_set_through_the_server_api_reaches_everyone(server, join, room_name):
    alice = await join("alice")
    bob = await join("bob")
    changed = [expect(room, "room_metadata_changed", lambda old, new: new == "round 2") for room in (alice, bob)]
    async with api.LiveKitAPI(server["http_url"], server["api_key"], server["api_secret"]) as lkapi:
        await lkapi.room.update_room_metadata(api.UpdateRoomMetadataRequest(room=room_name, metadata="round 2"))
    for waiter in changed:
        old, new = await waiter.wait()
        assert (old, new) == ("", "round 2")
    assert alice.metadata == "round 2"


async def test_a_bad_token_fails_the_connect(server, room_name):
    room = rtc.Room()
    token = make_token({**server, "api_secret": "not-the-secret-" + "x" * 32}, "mallory", room_name)
    with pytest.raises(rtc.ConnectError):
        await room.connect(server["url"], token)
    assert not room.isconnected()


async def test_disconnect_ends_with_the_disconnected_event(join):
    alice = await join("alice")
    states = expect(alice, "connection_state_changed", lambda state: state == rtc.ConnectionState.CONN_DISCONNECTED)
    await alice.disconnect()
    (state,) = await states.wait(timeout=1)
    assert state == rtc.ConnectionState.CONN_DISCONNECTED
    assert not alice.isconnected()


async def test_server_api_updates_reach_the_participant_and_the_others(server, pair, room_name):
    alice, bob = pair
    own = expect(alice, "participant_permissions_changed", lambda p, permissions: p.identity == "alice")
    attributes = expect(bob, "participant_attributes_changed", lambda changes, p: changes == {"role": "host"})
    async with api.LiveKitAPI(server["http_url"], server["api_key"], server["api_secret"]) as lkapi:
        await lkapi.room.update_participant(
            api.UpdateParticipantRequest(
                room=room_name,
                identity="alice",
                attributes={"role": "host"},
                permission=api.ParticipantPermission(can_subscribe=True, can_publish=False, can_publish_data=True),
            )
        )
    participant, permissions = await own.wait()
    assert participant.identity == "alice"
    assert not participant.permissions.can_publish
    assert participant.permissions.can_publish_data
    changes, participant = await attributes.wait()
    assert participant.identity == "alice" and participant.attributes == {"role": "host"}


async def test_data_sent_by_the_server_api_has_no_participant(server, pair, room_name):
    alice, _ = pair
    received = expect(alice, "data_received", lambda packet: packet.topic == "announcements")
    async with api.LiveKitAPI(server["http_url"], server["api_key"], server["api_secret"]) as lkapi:
        await lkapi.room.send_data(
            api.SendDataRequest(room=room_name, data=b"server says hi", kind=api.DataPacket.Kind.RELIABLE, topic="announcements")
        )
    (packet,) = await received.wait()
    assert packet.data == b"server says hi"
    assert packet.participant is None
