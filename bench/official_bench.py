#!/usr/bin/env python3
"""The official LiveKit Python SDK's side of livekit-bench.

Usage: official_bench.py <metric> <url> <key> <secret> <room> <count> <size>
       official_bench.py version

metric is connect, rtt, throughput or hold. Prints one JSON line on stdout, in the same
shape as our side (bench/src/ours.rs and hold.rs), so the bench reads both alike. The work
mirrors ours step for step; change both together.
"""

import asyncio
import json
import sys
import time

from livekit import api, rtc

# Mirrors WARMUP_ECHOES and the timeouts in bench/src/ours.rs and hold.rs.
WARMUP_ECHOES = 10
ECHO_TIMEOUT = 10.0
THROUGHPUT_TIMEOUT = 120.0
SETTLE_TIMEOUT = 60.0


def token(key, secret, room, identity):
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
    )
    return (
        api.AccessToken(key, secret)
        .with_identity(identity)
        .with_name(identity)
        .with_grants(grants)
        .to_jwt()
    )


async def join(url, key, secret, room_name, identity):
    room = rtc.Room()
    await room.connect(url, token(key, secret, room_name, identity))
    return room


def numbered(n, size):
    """size bytes starting with n, so a reply can be matched to its request."""
    return n.to_bytes(8, "little") + bytes(max(size, 8) - 8)


async def connect_times(url, key, secret, room_name, count, _size):
    # An anchor keeps the room open, so no timed join pays for creating the room.
    anchor = await join(url, key, secret, room_name, "anchor")
    samples = []
    for i in range(count):
        jwt = token(key, secret, room_name, f"c{i}")
        room = rtc.Room()
        start = time.perf_counter()
        await room.connect(url, jwt)
        samples.append((time.perf_counter() - start) * 1000.0)
        await room.disconnect()
    await anchor.disconnect()
    return {"samples_ms": samples}


def echo_back(b):
    """B sends every payload it receives back to A, as B's application would."""
    tasks = set()  # the event loop keeps only weak references to tasks

    @b.on("data_received")
    def on_data(packet):
        task = asyncio.ensure_future(
            b.local_participant.publish_data(
                packet.data, reliable=True, destination_identities=["a"], topic="pong"
            )
        )
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def round_trips(url, key, secret, room_name, count, size):
    a = await join(url, key, secret, room_name, "a")
    b = await join(url, key, secret, room_name, "b")
    echo_back(b)
    loop = asyncio.get_running_loop()
    reply = None

    @a.on("data_received")
    def on_reply(packet):
        if reply is not None and not reply.done():
            reply.set_result(packet.data)

    first_echo_ms = 0.0
    samples = []
    for i in range(WARMUP_ECHOES + count):
        reply = loop.create_future()
        start = time.perf_counter()
        await a.local_participant.publish_data(
            numbered(i, size), reliable=True, destination_identities=["b"], topic="ping"
        )
        data = await asyncio.wait_for(reply, ECHO_TIMEOUT)
        elapsed = (time.perf_counter() - start) * 1000.0
        if int.from_bytes(data[:8], "little") != i:
            raise RuntimeError(f"echo {i} came back as {data[:8]!r}")
        if i == 0:
            first_echo_ms = elapsed
        elif i >= WARMUP_ECHOES:
            samples.append(elapsed)
    await a.disconnect()
    await b.disconnect()
    return {"samples_ms": samples, "first_echo_ms": first_echo_ms}


async def throughput(url, key, secret, room_name, count, size):
    a = await join(url, key, secret, room_name, "a")
    b = await join(url, key, secret, room_name, "b")
    loop = asyncio.get_running_loop()
    warm = loop.create_future()
    done = loop.create_future()
    received = 0

    @b.on("data_received")
    def on_data(packet):
        nonlocal received
        if packet.topic == "warmup" and not warm.done():
            warm.set_result(None)
        elif packet.topic == "bulk":
            received += 1
            if received == count:
                done.set_result(time.perf_counter())

    # One message first, so both ends are known to be ready before the clock starts.
    await a.local_participant.publish_data(
        numbered(0, size), reliable=True, destination_identities=["b"], topic="warmup"
    )
    await asyncio.wait_for(warm, ECHO_TIMEOUT)

    start = time.perf_counter()
    for i in range(count):
        await a.local_participant.publish_data(
            numbered(i, size), reliable=True, destination_identities=["b"], topic="bulk"
        )
    sent = time.perf_counter() - start
    last = await asyncio.wait_for(done, THROUGHPUT_TIMEOUT)
    await a.disconnect()
    await b.disconnect()
    return {"messages": count, "size": size, "seconds": last - start, "send_seconds": sent}


def status_kb(field):
    """A kB field of /proc/self/status: VmRSS (resident now), VmHWM (resident peak), RssAnon, RssFile."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


async def hold(url, key, secret, room_name, count, _size):
    baseline_kb = status_kb("VmRSS")
    rooms = []
    for i in range(count):
        room = rtc.Room()
        settled = asyncio.Event()

        def check(_participant=None, room=room, settled=settled):
            if len(room.remote_participants) >= count - 1:
                settled.set()

        room.on("participant_connected", check)
        await room.connect(url, token(key, secret, room_name, f"h{i}"))
        check()  # late joiners already know everyone from the join response
        rooms.append((room, settled))
    # Once every participant sees all the others, the server's batched notices are through.
    await asyncio.wait_for(
        asyncio.gather(*(settled.wait() for _, settled in rooms)), SETTLE_TIMEOUT
    )
    total_kb = status_kb("VmRSS")
    peak_kb = status_kb("VmHWM")
    # Heap and stacks versus mapped code and files, to tell allocations from code pages.
    anon_kb, file_kb = status_kb("RssAnon"), status_kb("RssFile")
    for room, _ in rooms:
        await room.disconnect()
    return {
        "participants": count,
        "baseline_kb": baseline_kb,
        "total_kb": total_kb,
        "peak_kb": peak_kb,
        "anon_kb": anon_kb,
        "file_kb": file_kb,
    }


METRICS = {
    "connect": connect_times,
    "rtt": round_trips,
    "throughput": throughput,
    "hold": hold,
}


def main(argv):
    if argv[1:] == ["version"]:
        print(rtc.__version__)
        return
    if len(argv) != 8 or argv[1] not in METRICS:
        sys.exit(__doc__)
    metric, url, key, secret, room_name, count, size = argv[1:]
    result = asyncio.run(METRICS[metric](url, key, secret, room_name, int(count), int(size)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
