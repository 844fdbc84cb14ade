"""Bad input and refused calls raise the exception class of the core's error kind, with a
message that says what to do; nothing crashes."""

import pytest
from conftest import connect_ours

from livekit_core import errors, rtc


async def test_bad_token_is_unauthorized(server, room_name):
    from livekit import api as official_api

    token = (official_api.AccessToken(server.api_key, "wrong-secret-0123456789-0123456789")
             .with_identity("x").with_grants(official_api.VideoGrants(room_join=True, room=room_name)).to_jwt())
    room = rtc.Room()
    with pytest.raises(rtc.UnauthorizedError) as caught:
        await room.connect(server.url, token)
    assert isinstance(caught.value, rtc.ConnectError) and isinstance(caught.value, errors.LiveKitError)
    assert "token" in str(caught.value)


async def test_unreachable_server_is_connection_failed(server):
    room = rtc.Room()
    with pytest.raises(rtc.ConnectionFailedError) as caught:
        await room.connect("ws://127.0.0.1:9", "x.y.z", rtc.RoomOptions(connect_timeout=5))
    assert isinstance(caught.value, rtc.ConnectError) and isinstance(caught.value, ConnectionError)


async def test_state_updates_without_grant_are_not_allowed(server, room_name):
    ours = await connect_ours(server, "ours", room_name, can_update_own_metadata=False)
    with pytest.raises(rtc.NotAllowedError) as caught:
        await ours.local_participant.set_metadata("m")
    assert "canUpdateOwnMetadata" in str(caught.value)
    with pytest.raises(rtc.NotAllowedError):
        await ours.local_participant.set_attributes({"a": "b"})
    await ours.disconnect()


async def test_limits_and_invalid_arguments(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    me = ours.local_participant
    with pytest.raises(rtc.LimitExceededError) as caught:
        await me.publish_data(b"x" * 20_000)
    assert "15360" in str(caught.value) or "limit" in str(caught.value)
    with pytest.raises(rtc.LimitExceededError):
        await me.set_attributes({"big": "x" * 70_000})
    with pytest.raises(rtc.InvalidArgumentError) as caught:
        await me.set_metadata("")
    assert isinstance(caught.value, ValueError) and "empty" in str(caught.value)
    with pytest.raises(rtc.InvalidArgumentError):
        await me.set_attributes({"": "v"})
    with pytest.raises(rtc.InvalidArgumentError):
        await me.send_file("/does/not/exist.bin")
    with pytest.raises(TypeError):
        await me.set_attributes({"a": 1})
    await ours.disconnect()


async def test_calls_after_disconnect_fail_with_disconnected(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    me = ours.local_participant
    await ours.disconnect()
    for call in (me.publish_data(b"x"), me.set_metadata("m"), me.send_text("t"), me.stream_bytes("n")):
        with pytest.raises(rtc.DisconnectedError) as caught:
            await call
        assert "Connect a new Room" in str(caught.value)
    with pytest.raises(rtc.RpcError):
        await me.perform_rpc(destination_identity="x", method="m", payload="")


def test_async_callbacks_are_refused_like_the_official_sdk():
    room = rtc.Room()

    async def on_data(packet):
        pass

    with pytest.raises(ValueError):
        room.on("data_received", on_data)
    with pytest.raises(rtc.DisconnectedError):
        room.local_participant
