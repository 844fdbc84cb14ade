"""RPC both directions with the official SDK: payloads, handler errors, built-in error codes."""

import asyncio

from conftest import connect_ours, pair

from livekit_core import rtc



async def test_official_peer_calls_our_methods(server, room_name):
    ours, peer = await pair(server, room_name)
    calls = []

    @ours.local_participant.register_rpc_method("greet")
    async def greet(data: rtc.RpcInvocationData) -> str:
        calls.append(data)
        return f"hello {data.caller_identity}: {data.payload}"

    def sync_upper(data):
        return data.payload.upper()

    ours.local_participant.register_rpc_method("upper", sync_upper)

    @ours.local_participant.register_rpc_method("refuse")
    def refuse(data):
        raise rtc.RpcError(4001, "not today", '{"retry": false}')

    @ours.local_participant.register_rpc_method("crash")
    def crash(data):
        raise KeyError("bug")

    answer = await peer.local_participant.perform_rpc(destination_identity="ours", method="greet", payload="hi")
    assert answer == "hello official: hi"
    assert (calls[0].method, calls[0].caller_identity, calls[0].payload) == ("greet", "official", "hi")
    assert calls[0].response_timeout > 0 and calls[0].request_id
    assert await peer.local_participant.perform_rpc(destination_identity="ours", method="upper", payload="abc") == "ABC"

    from livekit import rtc as official

    try:
        await peer.local_participant.perform_rpc(destination_identity="ours", method="refuse", payload="")
        raise AssertionError("the handler's RpcError must reach the caller")
    except official.RpcError as err:
        assert (err.code, err.message, err.data) == (4001, "not today", '{"retry": false}')
    try:
        await peer.local_participant.perform_rpc(destination_identity="ours", method="crash", payload="")
        raise AssertionError("a crashing handler must answer 1500")
    except official.RpcError as err:
        assert err.code == 1500
    try:
        await peer.local_participant.perform_rpc(destination_identity="ours", method="missing", payload="")
        raise AssertionError("an unknown method must answer 1400")
    except official.RpcError as err:
        assert err.code == 1400
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_we_call_official_methods(server, room_name):
    ours, peer = await pair(server, room_name)

    @peer.local_participant.register_rpc_method("echo")
    async def echo(data):
        return f"{data.caller_identity} said {data.payload}"

    @peer.local_participant.register_rpc_method("fail")
    async def fail(data):
        from livekit import rtc as official

        raise official.RpcError(4242, "custom failure", "details")

    answer = await ours.local_participant.perform_rpc(destination_identity="official", method="echo", payload="ping")
    assert answer == "ours said ping"
    big = "x" * 20_000  # over the v1 limit: the core sends it as a stream to a v2 peer, or refuses it
    try:
        assert await ours.local_participant.perform_rpc(destination_identity="official", method="echo", payload=big) == f"ours said {big}"
    except rtc.RpcError as err:
        assert err.code == rtc.RpcError.ErrorCode.REQUEST_PAYLOAD_TOO_LARGE
    try:
        await ours.local_participant.perform_rpc(destination_identity="official", method="fail", payload="")
        raise AssertionError("the peer's RpcError must reach us")
    except rtc.RpcError as err:
        assert (err.code, err.message, err.data) == (4242, "custom failure", "details")
    try:
        await ours.local_participant.perform_rpc(destination_identity="official", method="nope", payload="")
        raise AssertionError("an unknown method must fail")
    except rtc.RpcError as err:
        assert err.code == rtc.RpcError.ErrorCode.UNSUPPORTED_METHOD
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_call_to_absent_identity_fails_with_official_code(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    try:
        await ours.local_participant.perform_rpc(destination_identity="nobody", method="x", payload="", response_timeout=2)
        raise AssertionError("a call to nobody must fail")
    except rtc.RpcError as err:
        assert err.code == rtc.RpcError.ErrorCode.CONNECTION_TIMEOUT
    await ours.disconnect()
