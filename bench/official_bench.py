#!/usr/bin/env python3
"""The official LiveKit Python SDK's side of livekit-bench.

Usage: official_bench.py <metric> <url> <key> <secret> <room> <count> <size> [file]
       official_bench.py version

metric is connect, rtt, throughput, hold, stream, rpc, bigfile, audio_latency, audio_cpu,
audio_memory, reconnect_signal, reconnect_restart, crowd or audio_crowd; stream and bigfile take the file to send. For
audio_latency count is the number of marks, for audio_cpu the seconds of the CPU window, for
audio_memory the number of tracks, for the reconnect metrics the number of breaks (the bench
drives those over stdin, see official_bench_reconnect.py), for crowd and audio_crowd the participants held. Prints one JSON line on stdout, in the same
shape as our side (bench/src/ours.rs and hold.rs), so the bench reads both alike. The work
mirrors ours step for step; change both together.
"""

import asyncio
import json
import os
import sys
import time

from livekit import rtc

from official_bench_audio import audio_cpu, audio_latency, audio_memory
from official_bench_common import join, status_kb, token
from official_bench_crowd import audio_crowd, crowd
from official_bench_reconnect import reconnects

# Mirrors WARMUP_ECHOES and the timeouts in bench/src/ours.rs, hold.rs, streams.rs, bigfile.rs.
WARMUP_ECHOES = 10
ECHO_TIMEOUT = 10.0
THROUGHPUT_TIMEOUT = 120.0
SETTLE_TIMEOUT = 60.0
STREAM_TIMEOUT = 180.0
PRESENCE_TIMEOUT = 10.0
STREAM_TOPIC = "bench"
DONE_TOPIC = "done"
SAMPLE_EVERY = 0.01

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


async def hold(url, key, secret, room_name, count, _size):
    baseline_kb = status_kb("VmRSS")
    first_kb = 0
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
        if i == 0:  # the one-time costs are paid: what the others add is per participant
            first_kb = status_kb("VmRSS")
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
        "first_kb": first_kb,
        "total_kb": total_kb,
        "peak_kb": peak_kb,
        "anon_kb": anon_kb,
        "file_kb": file_kb,
    }


async def await_participant(room, identity):
    """Waits until room sees identity, so a send right after cannot miss it."""
    seen = asyncio.Event()

    def check(_participant=None):
        if identity in room.remote_participants:
            seen.set()

    room.on("participant_connected", check)
    check()
    await asyncio.wait_for(seen.wait(), PRESENCE_TIMEOUT)


def count_streams(room):
    """B's handler: reads every stream on STREAM_TOPIC to its end; a queue of (bytes, end time)."""
    loop = asyncio.get_running_loop()
    done = asyncio.Queue()
    tasks = set()  # the event loop keeps only weak references to tasks

    async def read(reader):
        received = 0
        try:
            async for chunk in reader:
                received += len(chunk)
            done.put_nowait((received, time.perf_counter()))
        except Exception as err:  # reported to the waiting side rather than lost in a task
            done.put_nowait(err)

    def handler(reader, _participant_identity):
        task = loop.create_task(read(reader))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    room.register_byte_stream_handler(STREAM_TOPIC, handler)
    return done


async def stream(url, key, secret, room_name, _count, _size, path):
    a = await join(url, key, secret, room_name, "a")
    b = await join(url, key, secret, room_name, "b")
    received = count_streams(b)
    await await_participant(a, "b")
    size = os.path.getsize(path)

    start = time.perf_counter()
    await a.local_participant.send_file(path, topic=STREAM_TOPIC, destination_identities=["b"])
    send_seconds = time.perf_counter() - start
    got = await asyncio.wait_for(received.get(), STREAM_TIMEOUT)
    if isinstance(got, Exception):
        raise got
    read_bytes, end = got
    if read_bytes != size:
        raise RuntimeError(f"B read {read_bytes} bytes of {size}")
    await a.disconnect()
    await b.disconnect()
    return {"bytes": read_bytes, "seconds": end - start, "send_seconds": send_seconds}


async def rpc(url, key, secret, room_name, count, _size):
    a = await join(url, key, secret, room_name, "a")
    b = await join(url, key, secret, room_name, "b")

    @b.local_participant.register_rpc_method("echo")
    async def echo(data: rtc.RpcInvocationData):
        return data.payload

    await await_participant(a, "b")
    first_call_ms = 0.0
    samples = []
    for i in range(WARMUP_ECHOES + count):
        start = time.perf_counter()
        reply = await a.local_participant.perform_rpc(
            destination_identity="b", method="echo", payload="x"
        )
        elapsed = (time.perf_counter() - start) * 1000.0
        if reply != "x":
            raise RuntimeError(f"call {i} answered {reply!r}")
        if i == 0:
            first_call_ms = elapsed
        elif i >= WARMUP_ECHOES:
            samples.append(elapsed)
    await a.disconnect()
    await b.disconnect()
    return {"samples_ms": samples, "first_call_ms": first_call_ms}


async def sample_rss(peak):
    """A second opinion on the peak, in case the kernel's counter was not reset."""
    while True:
        peak[0] = max(peak[0], status_kb("VmRSS"))
        await asyncio.sleep(SAMPLE_EVERY)


async def bigfile(url, key, secret, room_name, _count, _size, path):
    """The sender alone; the receiver is our client in the bench process (bigfile.rs)."""
    file_bytes = os.path.getsize(path)
    a = await join(url, key, secret, room_name, "a")
    await await_participant(a, "b")
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    @a.on("data_received")
    def on_data(packet):
        if packet.topic == DONE_TOPIC and not done.done():
            done.set_result(None)

    # Everything from here on is the send: the baseline is the connected, idle client.
    baseline_kb = status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # resets VmHWM to VmRSS, so the peak read later is the send's own
    peak = [baseline_kb]
    sampler = asyncio.ensure_future(sample_rss(peak))

    start = time.perf_counter()
    await a.local_participant.send_file(path, topic=STREAM_TOPIC, destination_identities=["b"])
    send_seconds = time.perf_counter() - start
    await asyncio.wait_for(done, STREAM_TIMEOUT)
    done_seconds = time.perf_counter() - start

    sampler.cancel()
    report = {
        "file_bytes": file_bytes,
        "baseline_kb": baseline_kb,
        "hwm_kb": status_kb("VmHWM"),
        "sampled_peak_kb": peak[0],
        "end_kb": status_kb("VmRSS"),
        "send_seconds": send_seconds,
        "done_seconds": done_seconds,
    }
    await a.disconnect()
    return report


METRICS = {
    "connect": connect_times,
    "rtt": round_trips,
    "throughput": throughput,
    "hold": hold,
    "stream": stream,
    "rpc": rpc,
    "bigfile": bigfile,
    "audio_latency": audio_latency,
    "audio_cpu": audio_cpu,
    "audio_memory": audio_memory,
    # The same work for both: the bench decides what breaks (a proxy cut or a server restart).
    "reconnect_signal": reconnects,
    "reconnect_restart": reconnects,
    "crowd": crowd,
    "audio_crowd": audio_crowd,
}
# The metrics that take a file to send as their last argument.
WITH_FILE = {"stream", "bigfile"}


def main(argv):
    if argv[1:] == ["version"]:
        print(rtc.__version__)
        return
    if len(argv) < 2 or argv[1] not in METRICS or len(argv) != 8 + (argv[1] in WITH_FILE):
        sys.exit(__doc__)
    metric, url, key, secret, room_name, count, size, *file = argv[1:]
    job = METRICS[metric](url, key, secret, room_name, int(count), int(size), *file)
    result = asyncio.run(job)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
