"""Fixtures of the drop-in suite: the official Python SDK's own API (`from livekit import rtc`)
against a real livekit-server, with either the library the SDK ships or ours.

Mode: `LIVEKIT_LIB_PATH` set -> the SDK loads our liblivekit_ffi ("ours"), unset -> the
library it ships ("official"). The server comes from the project's harness binary
(`lk-test-server`, built by `make dropin`), one per test session.
"""

import asyncio
import json
import os
import pathlib
import subprocess
import uuid

import pytest
import pytest_asyncio
from livekit import api, rtc

ROOT = pathlib.Path(__file__).resolve().parents[2]
EVENT_TIMEOUT = 15.0


def mode() -> str:
    return "ours" if os.environ.get("LIVEKIT_LIB_PATH", "").strip() else "official"


def pytest_report_header(config):
    return f"drop-in mode: {mode()} (LIVEKIT_LIB_PATH={os.environ.get('LIVEKIT_LIB_PATH', '')!r})"


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("LK_TEST_SERVER_BIN", str(ROOT / "target" / "debug" / "lk-test-server"))
    if not pathlib.Path(binary).exists():
        pytest.fail(f"{binary} is missing: run `make dropin` (it builds the harness binary first)")
    process = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail("lk-test-server printed nothing: the server did not start")
    info = json.loads(line)
    yield info
    process.stdin.close()
    process.wait(timeout=30)


def make_token(server, identity, room, *, name=None, admin=False, can_update_metadata=True):
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_update_own_metadata=can_update_metadata,
        room_admin=admin,
    )
    token = api.AccessToken(server["api_key"], server["api_secret"]).with_identity(identity).with_grants(grants)
    if name:
        token = token.with_name(name)
    return token.to_jwt()


@pytest.fixture
def room_name():
    return f"dropin-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture
async def join(server, room_name):
    """join(identity, room=None, options=None, **token_options) -> a connected rtc.Room (the
    one given, to listen to it before it connects); all leave at teardown."""
    rooms = []

    async def _join(identity, room=None, options=None, **token_options):
        room = room or rtc.Room()
        token = make_token(server, identity, room_name, **token_options)
        await room.connect(server["url"], token, options or rtc.RoomOptions())
        rooms.append(room)
        return room

    yield _join
    for room in rooms:
        await room.disconnect()


@pytest_asyncio.fixture
async def pair(join):
    """Alice and Bob in one room, each knowing the other."""
    alice = await join("alice")
    bob = await join("bob")
    await known(alice, "bob")
    await known(bob, "alice")
    return alice, bob


class EventWaiter:
    """Collects one room event and resolves a future when a call matches `accept`."""

    def __init__(self, room, name, accept=lambda *args: True):
        self.future = asyncio.get_running_loop().create_future()
        self.seen = []

        def on_event(*args):
            self.seen.append(args)
            if not self.future.done() and accept(*args):
                self.future.set_result(args)

        room.on(name, on_event)

    async def wait(self, timeout=EVENT_TIMEOUT):
        return await asyncio.wait_for(self.future, timeout)


def expect(room, name, accept=lambda *args: True):
    """Start listening for `name` before the action that causes it; then `await w.wait()`."""
    return EventWaiter(room, name, accept)


async def until(condition, timeout, what):
    """For state the SDK changes without an event of its own: checks `condition` every 10 ms
    until it holds, and fails after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        await asyncio.sleep(0.01)


async def known(room, identity):
    """The remote participant `identity`, once `room` knows it (join notices of participants
    that publish nothing come in batches, up to 3 s late)."""
    waiter = expect(room, "participant_connected", lambda participant: participant.identity == identity)
    if identity not in room.remote_participants:
        await waiter.wait()
    return room.remote_participants[identity]
