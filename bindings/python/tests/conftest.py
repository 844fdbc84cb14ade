"""Fixtures: one real livekit-server per session (the project's harness binary), tokens, and
helpers to connect our rooms and the official SDK's rooms (the peer) and wait on events.

Async tests run on a fresh asyncio loop each, with a time limit, without a pytest plugin."""

import asyncio
import inspect
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any, Callable, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]
TEST_TIMEOUT = 120.0
EVENT_TIMEOUT = 15.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str) -> None:
    # In CI a missing server, toolchain or peer fails; locally it fails too, with the fix.
    pytest.fail(f"{what} (run bindings/python/test.sh, which builds and installs it)", pytrace=False)


def pytest_pyfunc_call(pyfuncitem: Any) -> Optional[bool]:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**args), TEST_TIMEOUT))
    return True


class Server:
    def __init__(self, info: dict) -> None:
        self.url: str = info["url"]
        self.http_url: str = info["http_url"]
        self.api_key: str = info["api_key"]
        self.api_secret: str = info["api_secret"]

    def token(self, identity: str, room: str, *, name: str = "", metadata: str = "",
              attributes: Optional[dict] = None, can_update_own_metadata: bool = True,
              room_admin: bool = False) -> str:
        from livekit import api as official_api

        grants = official_api.VideoGrants(
            room_join=True, room=room, can_update_own_metadata=can_update_own_metadata,
            room_admin=room_admin, can_publish=True, can_subscribe=True, can_publish_data=True,
        )
        token = (official_api.AccessToken(self.api_key, self.api_secret)
                 .with_identity(identity).with_name(name or identity).with_grants(grants))
        if metadata:
            token = token.with_metadata(metadata)
        if attributes:
            token = token.with_attributes(attributes)
        return token.to_jwt()


def _server_binary() -> Path:
    explicit = os.environ.get("LK_TEST_SERVER")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "lk-test-server"


@pytest.fixture(scope="session")
def server():
    binary = _server_binary()
    if not binary.exists():
        _missing(f"the harness binary {binary} is missing")
    proc = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        _missing("lk-test-server did not start a livekit-server (is it installed? lk-test-server --install)")
    yield Server(json.loads(line))
    proc.stdin.close()
    proc.wait(timeout=30)


@pytest.fixture
def room_name() -> str:
    return f"py-{uuid.uuid4().hex[:10]}"


class Events:
    """Collects the events of one emitter name by name; `wait` returns the first match."""

    def __init__(self, room: Any, *names: str) -> None:
        self.seen: dict = {n: [] for n in names}
        self._changed = asyncio.Event()
        for name in names:
            room.on(name, self._collector(name))

    def _collector(self, name: str) -> Callable:
        def collect(*args: Any) -> None:
            self.seen[name].append(args)
            self._changed.set()
        return collect

    async def wait(self, name: str, match: Callable[..., bool] = lambda *a: True,
                   timeout: float = EVENT_TIMEOUT) -> tuple:
        async def find() -> tuple:
            while True:
                for args in self.seen[name]:
                    if match(*args):
                        return args
                self._changed.clear()
                await self._changed.wait()
        try:
            return await asyncio.wait_for(find(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {name!r} event matched within {timeout}s; saw {self.seen[name]!r}") from None


async def wait_until(check: Callable[[], bool], what: str, timeout: float = EVENT_TIMEOUT) -> None:
    """Polls state that has no event of its own (e.g. the official SDK's participant list)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def connect_ours(server: Server, identity: str, room: str, **token_args: Any):
    from livekit_core import rtc

    ours = rtc.Room()
    await ours.connect(server.url, server.token(identity, room, **token_args))
    return ours


async def connect_official(server: Server, identity: str, room: str, **token_args: Any):
    try:
        from livekit import rtc as official
    except ImportError:
        _missing("the official SDK (livekit==1.2.1) is not installed")
    peer = official.Room()
    await peer.connect(server.url, server.token(identity, room, **token_args))
    return peer


async def joined(rooms: List[Any], identities: List[str]) -> None:
    """Waits until every room sees every other identity (the server may announce late)."""
    for room in rooms:
        me = room.local_participant.identity
        others = [i for i in identities if i != me]
        await wait_until(lambda: all(i in room.remote_participants for i in others),
                         f"{me} to see {others}")


async def pair(server: Server, room: str):
    """Our room "ours" and the official SDK's room "official", each seeing the other."""
    ours = await connect_ours(server, "ours", room)
    peer = await connect_official(server, "official", room)
    await joined([ours, peer], ["ours", "official"])
    return ours, peer
