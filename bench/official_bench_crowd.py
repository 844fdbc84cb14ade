"""The crowd metrics (crowd, audio_crowd) of the official SDK's side of livekit-bench: one process holding N data-only
participants in one room. Mirrors bench/src/crowd.rs step for step (its module docs say what
each step does); change both together. Prints the same JSON shape."""

import asyncio
import os
import sys
import time

from livekit import rtc

from official_bench_audio import (
    RATE,
    STEADY_FRAMES,
    SUBSCRIBE_TIMEOUT,
    audio_tracks,
    count_frames,
    cpu_seconds,
    next_audio_track,
    wait_frames,
)
from official_bench_common import join, status_kb, token

# Mirrors the constants in bench/src/crowd.rs.
JOIN_CONCURRENCY = 10
JOIN_DEADLINE = 120.0
SETTLE = 5.0
IDLE_WINDOW = 10.0
BUSY_WINDOW = 10.0
FANOUT_MESSAGES = 3
FANOUT_TIMEOUT = 5.0
FANOUT_TOPIC = "crowd-fanout"
BUSY_TOPIC = "crowd-busy"


async def join_all(url, key, secret, room_name, count, deadline):
    """Joins h0..h{count-1}, JOIN_CONCURRENCY at a time, each by `deadline` (monotonic)."""
    permits = asyncio.Semaphore(JOIN_CONCURRENCY)

    async def one(i):
        async with permits:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                room = await asyncio.wait_for(join(url, key, secret, room_name, f"h{i}"), left)
                return (f"h{i}", room)
            except Exception as err:  # counted as a failed join, as on our side
                print(f"crowd: h{i}: {err!r}", file=sys.stderr)
                return None

    results = await asyncio.gather(*(one(i) for i in range(count)))
    joined = [r for r in results if r is not None]
    return joined, count - len(joined)


async def cpu_percent_over(window):
    user0, system0 = cpu_seconds()
    start = time.monotonic()
    await asyncio.sleep(window)  # the measuring window itself
    user1, system1 = cpu_seconds()
    return (user1 - user0 + system1 - system0) / (time.monotonic() - start) * 100.0


async def crowd(url, key, secret, room_name, count, _size):
    if count < 2:
        raise SystemExit("count must be at least 2")
    baseline_kb = status_kb("VmRSS")
    start = time.monotonic()
    joined, failed = await join_all(url, key, secret, room_name, count, start + JOIN_DEADLINE)
    join_seconds = time.monotonic() - start
    if len(joined) < 2:
        raise SystemExit(f"only {len(joined)} of {count} participants joined")

    arrivals = asyncio.Queue()
    busy_received = [0]
    for _identity, room in joined:

        def on_data(packet):
            if packet.topic == FANOUT_TOPIC:
                arrivals.put_nowait((packet.data[0], time.monotonic()))
            elif packet.topic == BUSY_TOPIC:
                busy_received[0] += 1

        room.on("data_received", on_data)

    await asyncio.sleep(SETTLE)  # a bench pause: the server's batched notices go out
    idle_cpu = await cpu_percent_over(IDLE_WINDOW)
    total_kb, anon_kb = status_kb("VmRSS"), status_kb("RssAnon")
    threads, fds = status_kb("Threads"), len(os.listdir("/proc/self/fd"))

    fanout_ms, fanout_missed = [], 0
    others = len(joined) - 1
    for index in range(FANOUT_MESSAGES):
        sent = time.monotonic()
        await joined[0][1].local_participant.publish_data(
            bytes([index]), reliable=True, topic=FANOUT_TOPIC
        )
        got = 0
        deadline = sent + FANOUT_TIMEOUT
        while got < others:
            try:
                i, at = await asyncio.wait_for(arrivals.get(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            if i == index:
                got += 1
                fanout_ms.append((at - sent) * 1000.0)
        fanout_missed += others - got

    busy_sent = [0]

    async def ring_sender(i, room):
        nxt = joined[(i + 1) % len(joined)][0]
        await asyncio.sleep(i / len(joined))  # spread over the second, as ours
        while True:
            tick = time.monotonic()
            try:
                await room.local_participant.publish_data(
                    b"tick", reliable=True, topic=BUSY_TOPIC, destination_identities=[nxt]
                )
                busy_sent[0] += 1
            except Exception:
                pass
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))

    senders = [asyncio.create_task(ring_sender(i, room)) for i, (_, room) in enumerate(joined)]
    busy_cpu = await cpu_percent_over(BUSY_WINDOW)
    for task in senders:
        task.cancel()
    await asyncio.gather(*senders, return_exceptions=True)

    await asyncio.gather(*(room.disconnect() for _, room in joined), return_exceptions=True)
    return {
        "participants": count,
        "joined": len(joined),
        "join_failed": failed,
        "join_seconds": join_seconds,
        "baseline_kb": baseline_kb,
        "total_kb": total_kb,
        "anon_kb": anon_kb,
        "threads": threads,
        "fds": fds,
        "idle_cpu_percent": idle_cpu,
        "busy_cpu_percent": busy_cpu,
        "busy_sent": busy_sent[0],
        "busy_received": busy_received[0],
        "fanout_ms": fanout_ms,
        "fanout_missed": fanout_missed,
    }


# Mirrors bench/src/audio_crowd.rs: N participants each reading the feeder's audio track.
AUDIO_CROWD_WINDOW = 10.0


async def audio_crowd(url, key, secret, room_name, count, _size):
    baseline_kb = status_kb("VmRSS")
    permits = asyncio.Semaphore(JOIN_CONCURRENCY)
    counts = [0] * count

    async def subscriber(i):
        async with permits:
            room = rtc.Room()
            tracks = audio_tracks(room)
            await room.connect(url, token(key, secret, room_name, f"s{i}"))
            track = await next_audio_track(tracks, "feeder", SUBSCRIBE_TIMEOUT * 2)
            stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
            return room, count_frames(stream, counts, i)

    subscribers = await asyncio.gather(*(subscriber(i) for i in range(count)))
    await wait_frames(counts, STEADY_FRAMES, SUBSCRIBE_TIMEOUT * 2)

    frames_before = sum(counts)
    user0, system0 = cpu_seconds()
    start = time.monotonic()
    await asyncio.sleep(AUDIO_CROWD_WINDOW)  # the measuring window itself
    user1, system1 = cpu_seconds()
    seconds = time.monotonic() - start
    report = {
        "participants": count,
        "baseline_kb": baseline_kb,
        "total_kb": status_kb("VmRSS"),
        "anon_kb": status_kb("RssAnon"),
        "seconds": seconds,
        "cpu_seconds": user1 - user0 + system1 - system0,
        "frames": sum(counts) - frames_before,
    }
    for room, reader in subscribers:
        reader.cancel()
        await room.disconnect()
    return report
