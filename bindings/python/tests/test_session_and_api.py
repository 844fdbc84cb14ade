"""Session metadata, and the `api` submodule (tokens, RoomService) against the server."""

import asyncio

import pytest
from conftest import Events, connect_official, connect_ours, joined

from livekit_core import api, rtc


async def test_session_metadata_is_shared_with_the_official_peer(server, room_name):
    ours = await connect_ours(server, "ours", room_name, room_admin=True)
    peer = await connect_official(server, "official", room_name)
    await joined([ours, peer], ["ours", "official"])
    ours_events, peer_events = Events(ours, "room_metadata_changed"), Events(peer, "room_metadata_changed")
    await ours.set_session_metadata("round 2")
    assert ours.session_metadata == "round 2" and ours.metadata == "round 2"
    assert await ours_events.wait("room_metadata_changed") == ("", "round 2")
    old, new = await peer_events.wait("room_metadata_changed")
    assert new == "round 2" and peer.metadata == "round 2"
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_session_metadata_needs_room_admin(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    with pytest.raises(rtc.NotAllowedError) as caught:
        await ours.set_session_metadata("x")
    assert "roomAdmin" in str(caught.value)
    await ours.disconnect()


async def test_our_token_builder_joins_and_verifies(server, room_name):
    token = (api.AccessToken(server.api_key, server.api_secret).with_identity("built").with_name("Built")
             .with_metadata("md").with_attributes({"k": "v"})
             .with_grants(api.VideoGrants(room_join=True, room=room_name)).to_jwt())
    claims = api.TokenVerifier(server.api_key, server.api_secret).verify(token)
    assert (claims.identity, claims.room, claims.room_join) == ("built", room_name, True)
    with pytest.raises(rtc.UnauthorizedError):
        api.TokenVerifier(server.api_key, "another-secret-0123456789-0123456789").verify(token)
    room = rtc.Room()
    await room.connect(server.url, token)
    me = room.local_participant
    assert (me.identity, me.name, me.metadata, me.attributes) == ("built", "Built", "md", {"k": "v"})
    await room.disconnect()


async def test_room_service_drives_our_participant(server, room_name):
    service = api.LiveKitAPI(server.http_url, server.api_key, server.api_secret).room
    created = await service.create_room(room_name, empty_timeout=60, metadata="created")
    assert created.name == room_name and created.metadata == "created"
    assert room_name in [r.name for r in await service.list_rooms()]
    ours = await connect_ours(server, "ours", room_name)
    events = Events(ours, "participant_metadata_changed", "participant_attributes_changed", "disconnected")
    assert [p.identity for p in await service.list_participants(room_name)] == ["ours"]

    await service.update_participant(room_name, "ours", metadata="from server", attributes={"srv": "1"})
    who, old, new = await events.wait("participant_metadata_changed")
    assert (who, new) == (ours.local_participant, "from server")
    changed, _ = await events.wait("participant_attributes_changed")
    assert changed == {"srv": "1"}
    assert (await service.get_participant(room_name, "ours")).metadata == "from server"

    await service.remove_participant(room_name, "ours")
    (reason,) = await events.wait("disconnected")
    assert reason == rtc.DisconnectReason.PARTICIPANT_REMOVED and not ours.isconnected()
    await service.delete_room(room_name)
    with pytest.raises(rtc.LiveKitError):
        await service.get_participant(room_name, "ours")


async def test_permission_change_reaches_us_and_the_official_peer(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    peer = await connect_official(server, "official", room_name)
    await joined([ours, peer], ["ours", "official"])
    ours_events = Events(ours, "participant_permissions_changed")
    peer_events = Events(peer, "participant_permissions_changed")
    service = api.RoomService(server.http_url, server.api_key, server.api_secret)
    await service.update_participant(room_name, "official", permission={
        "can_subscribe": True, "can_publish": True, "can_publish_data": False, "can_update_metadata": True})
    who, permissions = await ours_events.wait("participant_permissions_changed")
    assert who is ours.remote_participants["official"]
    assert isinstance(permissions, rtc.ParticipantPermission) and not permissions.can_publish_data
    assert permissions.can_update_metadata and not who.permissions.can_publish_data
    who, permissions = await peer_events.wait("participant_permissions_changed")
    assert who.identity == "official" and not permissions.can_publish_data
    await asyncio.gather(peer.disconnect(), ours.disconnect())
