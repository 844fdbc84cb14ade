#!/usr/bin/env python3
"""The official LiveKit Python SDK's side of livekit-bench.

Usage: official_bench.py <metric> <url> <key> <secret> <room> <count> <size> [file]
       official_bench.py version

metric is connect, rtt, throughput, hold, stream, rpc, bigfile, audio_latency, audio_cpu or
audio_memory; stream and bigfile take the file to send. For audio_latency count is the number of
marks, for audio_cpu the seconds of the CPU window, for audio_memory the number of tracks. Prints one JSON line on stdout, in the same
shape as our side (bench/src/ours.rs and hold.rs), so the bench reads both alike. The work
mirrors ours step for step; change both together.
"""

import asyncio
import json
import os
import sys
import time

import numpy as np
from livekit import api, rtc

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

# Mirrors bench/src/audio.rs.
RATE = 48000
FRAME = RATE // 100
FRAME_PERIOD = 0.01
TONE_HZ = 440.0
AMPLITUDE = 0.5
QUEUE_MS = 100
WARMUP_MARKS = 2
MARK_PERIOD = 0.5
BURST_FRAMES = 10
PERIOD_FRAMES = 50
THRESHOLD = 0.05
SETTLE_FRAMES = 50
STEADY_FRAMES = 100
SUBSCRIBE_TIMEOUT = 15.0
READY_TOPIC = "ready"


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


def tone_frames():
    """The 100 frames of one second of tone (440 whole cycles: it loops without a click)."""
    t = np.arange(RATE) / RATE
    samples = np.round(np.sin(2 * np.pi * TONE_HZ * t) * AMPLITUDE * 32767.0).astype(np.int16)
    return [
        rtc.AudioFrame(samples[i : i + FRAME].tobytes(), RATE, 1, FRAME)
        for i in range(0, RATE, FRAME)
    ]


def silence_frame():
    return rtc.AudioFrame(bytes(FRAME * 2), RATE, 1, FRAME)


def rms(frame):
    """RMS of a frame as a fraction of full scale."""
    data = np.frombuffer(frame.data, dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(data * data))) / 32768.0 if data.size else 0.0


class Pacer:
    """Captures one frame per 10 ms on a fixed grid, as a microphone would deliver them."""

    def __init__(self):
        self.next = time.monotonic()

    async def capture(self, source, frame):
        delay = self.next - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self.next += FRAME_PERIOD
        now = time.monotonic()
        # A late slot (a busy machine) starts a fresh grid rather than bursting to catch up.
        if self.next < now:
            self.next = now + FRAME_PERIOD
        await source.capture_frame(frame)
        return now


async def publish(room, name):
    source = rtc.AudioSource(RATE, 1, queue_size_ms=QUEUE_MS)
    track = rtc.LocalAudioTrack.create_audio_track(name, source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    await room.local_participant.publish_track(track, options)
    return source


def feed_tone(source):
    async def feed():
        tone = tone_frames()
        pacer = Pacer()
        while True:
            for frame in tone:
                await pacer.capture(source, frame)

    return asyncio.ensure_future(feed())


def audio_tracks(room):
    """A queue of (identity, track) for every audio track the room subscribes to."""
    tracks = asyncio.Queue()

    @room.on("track_subscribed")
    def on_subscribed(track, _publication, participant):
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            tracks.put_nowait((participant.identity, track))

    return tracks


async def next_audio_track(tracks, identity=None, limit=SUBSCRIBE_TIMEOUT):
    deadline = time.monotonic() + limit
    while True:
        who, track = await asyncio.wait_for(tracks.get(), max(deadline - time.monotonic(), 0.001))
        if identity is None or who == identity:
            return track


def count_frames(stream, counts, index):
    async def read():
        async for _event in stream:
            counts[index] += 1

    return asyncio.ensure_future(read())


async def wait_frames(counts, at_least, limit):
    deadline = time.monotonic() + limit
    while any(c < at_least for c in counts):
        if time.monotonic() > deadline:
            raise RuntimeError(f"streams did not all deliver {at_least} frames within {limit} s: {counts}")
        await asyncio.sleep(0.02)


async def audio_latency(url, key, secret, room_name, count, _size):
    a = await join(url, key, secret, room_name, "a")
    b = rtc.Room()
    tracks_b = audio_tracks(b)
    await b.connect(url, token(key, secret, room_name, "b"))
    source = await publish(a, "marks")
    silence = silence_frame()
    tone = tone_frames()
    pacer = Pacer()
    # Silence flows while B subscribes, as from an open microphone.
    subscribed = asyncio.ensure_future(next_audio_track(tracks_b, "a"))
    while not subscribed.done():
        await pacer.capture(source, silence)
    track = subscribed.result()
    frames = [0]
    onsets = []
    stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)

    async def detect():
        loud = False
        async for event in stream:
            now = time.monotonic()
            is_loud = rms(event.frame) >= THRESHOLD
            if is_loud and not loud:
                onsets.append(now)
            loud = is_loud
            frames[0] += 1

    detector = asyncio.ensure_future(detect())
    settle_deadline = time.monotonic() + SUBSCRIBE_TIMEOUT
    while frames[0] < SETTLE_FRAMES:
        if time.monotonic() > settle_deadline:
            raise RuntimeError(f"B's stream delivered {frames[0]} frames in {SUBSCRIBE_TIMEOUT} s")
        await pacer.capture(source, silence)
    marks = []
    for _ in range(WARMUP_MARKS + count):
        for i in range(BURST_FRAMES):
            at = await pacer.capture(source, tone[i])
            if i == 0:
                marks.append(at)
        for _ in range(BURST_FRAMES, PERIOD_FRAMES):
            await pacer.capture(source, silence)
    for _ in range(PERIOD_FRAMES):
        await pacer.capture(source, silence)
    detector.cancel()
    await stream.aclose()
    await a.disconnect()
    await b.disconnect()
    samples = []
    missed = 0
    for mark in marks[WARMUP_MARKS:]:
        found = [o for o in onsets if mark <= o < mark + MARK_PERIOD]
        if found:
            samples.append((found[0] - mark) * 1000.0)
        else:
            missed += 1
    return {"samples_ms": samples, "missed": missed, "onsets": len(onsets)}


def cpu_seconds():
    """User and system CPU seconds of this process so far, as the Rust side reads them."""
    with open("/proc/self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def audio_cpu(url, key, secret, room_name, seconds, _size):
    peer = rtc.Room()
    tracks = audio_tracks(peer)
    await peer.connect(url, token(key, secret, room_name, "peer"))
    feed = feed_tone(await publish(peer, "tone"))
    track = await next_audio_track(tracks, "feeder")
    counts = [0]
    reader = count_frames(rtc.AudioStream(track, sample_rate=RATE, num_channels=1), counts, 0)
    await wait_frames(counts, STEADY_FRAMES, SUBSCRIBE_TIMEOUT)

    user0, system0 = cpu_seconds()
    frames0 = counts[0]
    start = time.monotonic()
    await asyncio.sleep(seconds)
    user1, system1 = cpu_seconds()
    elapsed = time.monotonic() - start
    frames_read = counts[0] - frames0
    if feed.done():
        raise RuntimeError(f"the feeder stopped: {feed.exception()!r}")
    feed.cancel()
    reader.cancel()
    report = {
        "seconds": elapsed,
        "user": user1 - user0,
        "system": system1 - system0,
        "frames": frames_read,
        "rss_kb": status_kb("VmRSS"),
    }
    await peer.disconnect()
    return report


async def audio_memory(url, key, secret, room_name, count, _size):
    sub = rtc.Room()
    tracks = audio_tracks(sub)
    seen = asyncio.Event()

    def check(_participant=None):
        if len(sub.remote_participants) >= count:
            seen.set()

    sub.on("participant_connected", check)
    await sub.connect(url, token(key, secret, room_name, "sub"))
    check()
    # Everyone is known before the baseline, so it holds the participants but no track.
    await asyncio.wait_for(seen.wait(), SUBSCRIBE_TIMEOUT)
    baseline_kb = status_kb("VmRSS")
    baseline_anon_kb = status_kb("RssAnon")
    await sub.local_participant.publish_data(
        b"ready", reliable=True, destination_identities=["pub0"], topic=READY_TOPIC
    )
    counts = [0] * count
    readers = []
    for i in range(count):
        track = await next_audio_track(tracks, None, SUBSCRIBE_TIMEOUT * 2)
        stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
        readers.append(count_frames(stream, counts, i))
    await wait_frames(counts, STEADY_FRAMES * 3, SUBSCRIBE_TIMEOUT * 2)
    report = {
        "tracks": count,
        "baseline_kb": baseline_kb,
        "total_kb": status_kb("VmRSS"),
        "baseline_anon_kb": baseline_anon_kb,
        "anon_kb": status_kb("RssAnon"),
        "peak_kb": status_kb("VmHWM"),
    }
    for reader in readers:
        reader.cancel()
    await sub.disconnect()
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
