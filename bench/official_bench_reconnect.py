"""The reconnection metrics of the official SDK's side of livekit-bench (reconnect_signal,
reconnect_restart). Mirrors bench/src/reconnect.rs: change both together.

Only the bench can cut the proxy or kill the server, so it drives these metrics line by line:
this side prints {"ready": i} once connected (or reconnected), the bench breaks the connection
and writes back the instant it did so, in CLOCK_MONOTONIC seconds (the clock of
time.monotonic()). The room's events carry their own time.monotonic() stamps, taken in the
handlers, so the order in which the line and the events arrive does not matter.
"""

import asyncio
import json
import sys
import time

from livekit import rtc

from official_bench_common import token

# Mirrors RECONNECT_TIMEOUT and LINE_TIMEOUT in bench/src/reconnect.rs.
RECONNECT_TIMEOUT = 60.0
LINE_TIMEOUT = 120.0
IDENTITY = "r"


async def stdin_reader():
    """The bench's lines, read without blocking the event loop (or a thread at exit)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def await_reconnect(events):
    """The instants of "reconnecting" and then "reconnected"; "disconnected" fails."""
    deadline = time.monotonic() + RECONNECT_TIMEOUT
    started = None
    while True:
        remaining = deadline - time.monotonic()
        try:
            name, at = await asyncio.wait_for(events.get(), max(remaining, 0.0))
        except asyncio.TimeoutError:
            raise RuntimeError(
                f"no reconnected within {RECONNECT_TIMEOUT} s (reconnecting seen: {started is not None})"
            ) from None
        if name == "reconnecting" and started is None:
            started = at
        elif name == "reconnected":
            if started is None:
                raise RuntimeError("reconnected without reconnecting")
            return started, at
        elif name == "disconnected":
            raise RuntimeError("disconnected instead of reconnecting")


async def reconnects(url, key, secret, room_name, count, _size):
    """One client joins at url; count times the bench breaks its connection, and each time
    the times from the break to "reconnecting" and to "reconnected" are noted."""
    commands = await stdin_reader()
    events = asyncio.Queue()
    room = rtc.Room()
    for name in ("reconnecting", "reconnected", "disconnected"):
        room.on(name, lambda *_args, name=name: events.put_nowait((name, time.monotonic())))
    await room.connect(url, token(key, secret, room_name, IDENTITY))
    samples, reconnecting = [], []
    for i in range(count):
        print(json.dumps({"ready": i}), flush=True)
        line = await asyncio.wait_for(commands.readline(), LINE_TIMEOUT)
        if not line:
            raise RuntimeError("the bench closed stdin")
        broke_at = float(line)
        started, done = await await_reconnect(events)
        samples.append((done - broke_at) * 1000.0)
        reconnecting.append((started - broke_at) * 1000.0)
    await room.disconnect()
    return {"samples_ms": samples, "reconnecting_ms": reconnecting}
