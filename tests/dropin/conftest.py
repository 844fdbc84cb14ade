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
from livekit.rtc._ffi_client import FfiClient

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


class RawRoomEventWaiter:
    """Waits for one of the library's own room events (`which`, e.g. "participants_updated")
    that `accept` takes, read from the FFI event queue the SDK itself reads: for what the SDK
    takes in without an event of its own."""

    def __init__(self, room, which, accept):
        handle = room._ffi_handle.handle
        self.queue_owner = FfiClient.instance.queue
        self.queue = self.queue_owner.subscribe(
            asyncio.get_running_loop(),
            filter_fn=lambda e: e.WhichOneof("message") == "room_event"
            and e.room_event.room_handle == handle
            and e.room_event.WhichOneof("message") == which,
        )
        self.which = which
        self.accept = accept

    async def wait(self, timeout=EVENT_TIMEOUT):
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = getattr((await self.queue.get()).room_event, self.which)
                    if self.accept(event):
                        return event
        finally:
            self.queue_owner.unsubscribe(self.queue)


def expect_raw_room_event(room, which, accept=lambda event: True):
    """Start listening before the action that causes it; then `await w.wait()`."""
    return RawRoomEventWaiter(room, which, accept)


async def known(room, identity):
    """The remote participant `identity`, once `room` knows it (join notices of participants
    that publish nothing come in batches, up to 3 s late)."""
    waiter = expect(room, "participant_connected", lambda participant: participant.identity == identity)
    if identity not in room.remote_participants:
        await waiter.wait()
    return room.remote_participants[identity]
