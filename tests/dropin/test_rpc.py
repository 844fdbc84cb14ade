"""RPC through the official SDK API: results, application errors, built-in errors."""

import pytest
from livekit import rtc



async def test_rpc_returns_the_handler_result(pair):
    alice, bob = pair
    calls = []

    @bob.local_participant.register_rpc_method("greet")
    async def greet(data: rtc.RpcInvocationData) -> str:
        calls.append((data.caller_identity, data.payload))
        return f"hello {data.payload}"

    result = await alice.local_participant.perform_rpc(destination_identity="bob", method="greet", payload="alice")
    assert result == "hello alice"
    assert calls == [("alice", "alice")]


async def test_an_rpc_error_raised_by_the_handler_reaches_the_caller(pair):
    alice, bob = pair

    def refuse(data: rtc.RpcInvocationData) -> str:
        raise rtc.RpcError(4001, "not today", "come back tomorrow")

    bob.local_participant.register_rpc_method("refuse", refuse)
    with pytest.raises(rtc.RpcError) as failure:
        await alice.local_participant.perform_rpc(destination_identity="bob", method="refuse", payload="")
    assert (failure.value.code, failure.value.message, failure.value.data) == (4001, "not today", "come back tomorrow")


async def test_any_other_exception_becomes_an_application_error(pair):
    alice, bob = pair

    @bob.local_participant.register_rpc_method("crash")
    async def crash(data: rtc.RpcInvocationData) -> str:
        raise ValueError("boom")

    with pytest.raises(rtc.RpcError) as failure:
        await alice.local_participant.perform_rpc(destination_identity="bob", method="crash", payload="")
    assert failure.value.code == rtc.RpcError.ErrorCode.APPLICATION_ERROR


async def test_an_unknown_method_is_unsupported(pair):
    alice, bob = pair
    with pytest.raises(rtc.RpcError) as failure:
        await alice.local_participant.perform_rpc(destination_identity="bob", method="nope", payload="")
    assert failure.value.code == rtc.RpcError.ErrorCode.UNSUPPORTED_METHOD


async def test_a_slow_handler_times_out(pair):
    alice, bob = pair
    import asyncio

    @bob.local_participant.register_rpc_method("slow")
    async def slow(data: rtc.RpcInvocationData) -> str:
        await asyncio.Event().wait()  # never answers
        return ""

    with pytest.raises(rtc.RpcError) as failure:
        await alice.local_participant.perform_rpc(
            destination_identity="bob", method="slow", payload="", response_timeout=1.5
        )
    assert failure.value.code == rtc.RpcError.ErrorCode.RESPONSE_TIMEOUT
