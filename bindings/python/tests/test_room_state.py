"""Connect, participants and their state, both directions, with the official SDK as the peer."""

import asyncio

from conftest import Events, connect_official, connect_ours, joined

from livekit_core import rtc


async def test_connect_sees_peer_and_peer_sees_us(server, room_name):
    peer = await connect_official(server, "official", room_name, metadata="peer-meta", attributes={"role": "peer"})
    ours = rtc.Room()
    events = Events(ours, "connected", "participant_connected", "participant_disconnected", "disconnected",
                    "connection_state_changed")
    await ours.connect(server.url, server.token("ours", room_name, name="Our Name", metadata="m0",
                                                attributes={"a": "1"}))
    await events.wait("connected")
    assert ours.isconnected() and ours.connection_state == rtc.ConnectionState.CONN_CONNECTED
    assert ours.name == room_name and ours.sid.startswith("RM_")
    me = ours.local_participant
    assert (me.identity, me.name, me.metadata, me.attributes) == ("ours", "Our Name", "m0", {"a": "1"})
    assert me.sid.startswith("PA_") and me.kind == rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD
    assert me.permissions is not None and me.permissions.can_publish_data
    await joined([ours, peer], ["ours", "official"])
    remote = ours.remote_participants["official"]
    assert isinstance(remote, rtc.RemoteParticipant)
    assert (remote.metadata, remote.attributes) == ("peer-meta", {"role": "peer"})
    seen_by_peer = peer.remote_participants["ours"]
    assert (seen_by_peer.name, seen_by_peer.metadata, dict(seen_by_peer.attributes)) == ("Our Name", "m0", {"a": "1"})

    await peer.disconnect()
    (left,) = await events.wait("participant_disconnected")
    assert left is remote and "official" not in ours.remote_participants

    await ours.disconnect()
    (reason,) = await events.wait("disconnected")
    assert reason == rtc.DisconnectReason.CLIENT_INITIATED
    (state,) = await events.wait("connection_state_changed")
    assert state == rtc.ConnectionState.CONN_DISCONNECTED and not ours.isconnected()


async def test_participant_connected_event_for_a_later_peer(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    events = Events(ours, "participant_connected")
    peer = await connect_official(server, "late", room_name)
    (joined_peer,) = await events.wait("participant_connected", lambda p: p.identity == "late")
    assert ours.remote_participants["late"] is joined_peer
    await peer.disconnect()
    await ours.disconnect()


async def test_our_state_changes_reach_the_official_peer(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    peer = await connect_official(server, "official", room_name)
    await joined([ours, peer], ["ours", "official"])
    local = Events(ours, "participant_attributes_changed", "participant_metadata_changed", "participant_name_changed")
    remote = Events(peer, "participant_attributes_changed", "participant_metadata_changed", "participant_name_changed")

    await ours.local_participant.set_attributes({"foo": "bar", "x": "1"})
    assert ours.local_participant.attributes == {"foo": "bar", "x": "1"}
    changed, who = await local.wait("participant_attributes_changed")
    assert changed == {"foo": "bar", "x": "1"} and who is ours.local_participant
    changed, who = await remote.wait("participant_attributes_changed", lambda c, p: c.get("foo") == "bar")
    assert who.identity == "ours"

    await ours.local_participant.set_attributes({"x": ""})  # "" deletes the key
    changed, who = await remote.wait("participant_attributes_changed", lambda c, p: c.get("x") == "")
    assert changed == {"x": ""} and dict(who.attributes) == {"foo": "bar"}

    await ours.local_participant.set_metadata("some metadata")
    who, old, new = await local.wait("participant_metadata_changed")
    assert (who, old, new) == (ours.local_participant, "", "some metadata")
    who, old, new = await remote.wait("participant_metadata_changed")
    assert (who.identity, new) == ("ours", "some metadata")

    await ours.local_participant.set_name("New Name")
    who, old, new = await remote.wait("participant_name_changed")
    assert (who.identity, old, new) == ("ours", "ours", "New Name")
    assert (await local.wait("participant_name_changed"))[2] == "New Name"
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_official_peer_state_changes_reach_us(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    peer = await connect_official(server, "official", room_name)
    await joined([ours, peer], ["ours", "official"])
    events = Events(ours, "participant_attributes_changed", "participant_metadata_changed", "participant_name_changed")

    await peer.local_participant.set_attributes({"status": "ready"})
    changed, who = await events.wait("participant_attributes_changed")
    assert changed == {"status": "ready"} and who is ours.remote_participants["official"]
    assert who.attributes == {"status": "ready"}

    await peer.local_participant.set_metadata('{"seat": 3}')
    who, old, new = await events.wait("participant_metadata_changed")
    assert (who.identity, old, new, who.metadata) == ("official", "", '{"seat": 3}', '{"seat": 3}')

    await peer.local_participant.set_name("Peer")
    who, old, new = await events.wait("participant_name_changed")
    assert (who.identity, old, new) == ("official", "official", "Peer")
    await asyncio.gather(peer.disconnect(), ours.disconnect())
