#!/usr/bin/env python3
"""The media rows of bench.py (issue 13): the same Python code given either module's `rtc`.

- audio_cpu: CPU (user + sys, all threads) of a process publishing one 48 kHz mono track from
  10 ms frames of a sine, paced in real time as a microphone delivers them, for --seconds.
- capture: time spent in `await source.capture_frame(frame)` per 10 ms frame, frames pushed as
  fast as the calls return into a published source whose queue holds all of them.
- audio_rss: VmRSS above a baseline of a process subscribed to 10 audio tracks, each read
  with an AudioStream for --seconds.

The peers live in a helper process that always runs the official SDK (`livekit.rtc`), so both
sides face the same peer: `bench_media.py --helper listen|publish N SERVER ROOM`. It prints
"ready" once its part is in place and runs until its standard input closes.
"""

import asyncio
import json
import math
import resource
import statistics
import sys
import time

RATE = 48000
FRAME = RATE // 100  # 10 ms
FRAME_PERIOD = 0.01
TONE_HZ = 440  # whole cycles in 10 ms frames of one second: the second loops without a click
AMPLITUDE = 0.5
CAPTURE_FRAMES = 500  # timed captures (5 s of audio), after CAPTURE_WARMUP untimed ones
CAPTURE_WARMUP = 50
CAPTURE_QUEUE_MS = 10_000  # holds every capture of the capture metric: no call waits for room
SUBSCRIBED_TRACKS = 10
STEADY_FRAMES = 100  # frames each stream delivers before a window starts
SETUP_TIMEOUT = 60.0
SECONDS = 30.0  # the measuring window; bench.py sets it from --seconds


def tone(rtc, hz: int, frame_samples: int) -> list:
    """One second of a sine at `hz` as frames of `frame_samples` (a whole number of cycles per
    second, so it loops cleanly)."""
    import array

    scale = AMPLITUDE * 32767.0
    samples = array.array("h", (round(math.sin(2 * math.pi * hz * i / RATE) * scale) for i in range(RATE)))
    data = samples.tobytes()
    step = frame_samples * 2
    return [rtc.AudioFrame(data[i:i + step], RATE, 1, frame_samples) for i in range(0, len(data), step)]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


class Pacer:
    """One call per 10 ms on a fixed grid, as a microphone delivers frames. A late slot (a busy
    machine) starts a fresh grid rather than bursting to catch up."""

    def __init__(self):
        self.next = time.monotonic()

    async def wait(self):
        delay = self.next - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self.next += FRAME_PERIOD
        now = time.monotonic()
        if self.next < now:
            self.next = now + FRAME_PERIOD


async def publish_audio(rtc, room, name: str, queue_ms: int = 1000):
    source = rtc.AudioSource(RATE, 1, queue_size_ms=queue_ms)
    track = rtc.LocalAudioTrack.create_audio_track(name, source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    await room.local_participant.publish_track(track, options)
    return source


class Helper:
    """The official SDK's peer in its own process (see the module's docstring)."""

    def __init__(self, proc):
        self.proc = proc

    @classmethod
    async def start(cls, mode: str, count: int, server: dict, room_name: str) -> "Helper":
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--helper", mode, str(count), json.dumps(server), room_name,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        return cls(proc)

    async def line(self) -> str:
        line = await asyncio.wait_for(self.proc.stdout.readline(), SETUP_TIMEOUT)
        if not line:
            raise RuntimeError(f"helper exited ({await self.proc.wait()}) before it was ready")
        return line.decode().strip()

    async def stop(self) -> dict:
        self.proc.stdin.close()
        summary = await asyncio.wait_for(self.proc.stdout.read(), 60)
        await self.proc.wait()
        return json.loads(summary.decode().strip().splitlines()[-1])


def subscribed_audio(rtc, room) -> asyncio.Queue:
    tracks = asyncio.Queue()

    @room.on("track_subscribed")
    def on_subscribed(track, _publication, participant):
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            tracks.put_nowait((participant.identity, track))

    return tracks


class Counter:
    """Counts the frames of AudioStreams; `steady` resolves once each delivered `at_least`."""

    def __init__(self, streams: int, at_least: int):
        self.counts = [0] * streams
        self.at_least = at_least
        self.steady = asyncio.get_running_loop().create_future()
        self.tasks = []

    def read(self, stream, index: int) -> None:
        async def run():
            async for _event in stream:
                self.counts[index] += 1
                if not self.steady.done() and min(self.counts) >= self.at_least:
                    self.steady.set_result(None)

        self.tasks.append(asyncio.ensure_future(run()))

    async def close(self, streams) -> None:
        for stream in streams:
            await stream.aclose()
        for task in self.tasks:
            task.cancel()


# --- metrics, run in a worker process with `rtc` the side's module ---

async def metric_audio_cpu(rtc, server, room_name):
    from bench import token

    jwt = token(server, room_name, "publisher")
    listener = await Helper.start("listen", 1, server, room_name)
    room = rtc.Room()
    await room.connect(server["url"], jwt)
    source = await publish_audio(rtc, room, "tone")
    frames = tone(rtc, TONE_HZ, FRAME)
    pacer = Pacer()
    ready = asyncio.ensure_future(listener.line())  # the listener heard STEADY_FRAMES frames
    index = 0
    while not ready.done():
        await pacer.wait()
        await source.capture_frame(frames[index % len(frames)])
        index += 1
    ready.result()
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    for _ in range(round(SECONDS * 100)):
        await pacer.wait()
        await source.capture_frame(frames[index % len(frames)])
        index += 1
    cpu, wall = cpu_seconds() - cpu0, time.monotonic() - wall0
    heard = await listener.stop()
    total = cpu_seconds()
    await room.disconnect()
    return {"value": cpu / wall * 100, "cpu_s": cpu, "wall_s": wall, "process_cpu_s": total,
            "listener_frames": heard["frames"]}


async def metric_capture(rtc, server, room_name):
    from bench import token

    room = rtc.Room()
    await room.connect(server["url"], token(server, room_name, "publisher"))
    source = await publish_audio(rtc, room, "burst", queue_ms=CAPTURE_QUEUE_MS)
    frames = tone(rtc, TONE_HZ, FRAME)
    for i in range(CAPTURE_WARMUP):
        await source.capture_frame(frames[i % len(frames)])
    samples = []
    clock = time.perf_counter
    for i in range(CAPTURE_FRAMES):
        frame = frames[i % len(frames)]
        start = clock()
        await source.capture_frame(frame)
        samples.append(clock() - start)
    await room.disconnect()
    return {"value": statistics.mean(samples) * 1e6, "median_us": statistics.median(samples) * 1e6,
            "max_us": max(samples) * 1e6}


async def metric_audio_rss(rtc, server, room_name):
    from bench import token

    jwt = token(server, room_name, "subscriber")  # before the baseline: it imports livekit.api
    publishers = await Helper.start("publish", SUBSCRIBED_TRACKS, server, room_name)
    await publishers.line()
    # The baseline: the SDK imported and its native library loaded and running (the official
    # SDK loads it at its first request; an AudioSource is one on either side).
    rtc.AudioSource(RATE, 1)
    baseline = status_mb("VmRSS")
    room = rtc.Room()
    tracks = subscribed_audio(rtc, room)
    await room.connect(server["url"], jwt)
    counter = Counter(SUBSCRIBED_TRACKS, STEADY_FRAMES)
    streams = []
    for i in range(SUBSCRIBED_TRACKS):
        _who, track = await asyncio.wait_for(tracks.get(), SETUP_TIMEOUT)
        streams.append(rtc.AudioStream(track, sample_rate=RATE, num_channels=1))
        counter.read(streams[-1], i)
    await asyncio.wait_for(counter.steady, SETUP_TIMEOUT)
    start = list(counter.counts)
    await asyncio.sleep(SECONDS)  # the measuring window: the streams are read meanwhile
    rss, hwm = status_mb("VmRSS"), status_mb("VmHWM")
    frames = [c - s for c, s in zip(counter.counts, start)]
    await counter.close(streams)
    await room.disconnect()
    await publishers.stop()
    return {"value": rss - baseline, "rss": rss, "hwm": hwm, "baseline": baseline,
            "min_frames": min(frames), "max_frames": max(frames)}


METRICS = [
    # name, metric, key, unit, target ratio, lower is better (as bench.METRICS)
    ("publish one 48 kHz mono track from 10 ms frames: CPU during {s} s", "audio_cpu", "value",
     "% of a core", 0.5, True),
    ("(info) same, CPU of the whole process (import, connect, publish, {s} s)", "audio_cpu",
     "process_cpu_s", "s", None, True),
    (f"capture_frame time per 10 ms frame, mean of {CAPTURE_FRAMES}", "capture", "value", "us", 0.5, True),
    ("(info) same, median", "capture", "median_us", "us", None, True),
    (f"RSS above baseline, subscribed to {SUBSCRIBED_TRACKS} audio tracks read {{s}} s", "audio_rss",
     "value", "MiB", 0.5, True),
    ("(info) same, whole process RSS", "audio_rss", "rss", "MiB", None, True),
]


def notes(results: dict) -> list:
    """Per-round facts that show the runs did what they claim."""
    lines = []
    for side in ("ours", "theirs"):
        cpu = results.get(("audio_cpu", side), [])
        rss = results.get(("audio_rss", side), [])
        if cpu:
            heard = ", ".join(str(r["listener_frames"]) for r in cpu)
            lines.append(f"- {side}: frames the official listener received in the CPU runs: {heard} "
                         f"(from {round(SECONDS * 100)} in the window plus the warm-up)")
        if rss:
            got = ", ".join(f"{r['min_frames']}-{r['max_frames']}" for r in rss)
            base = ", ".join(f"{r['baseline']:.1f}" for r in rss)
            lines.append(f"- {side}: frames per stream in the {SECONDS:g} s RSS window (min-max): {got}; "
                         f"baselines {base} MiB")
    for metric in dict.fromkeys(m[1] for m in METRICS):
        for side in ("ours", "theirs"):
            loads = ", ".join(f"{r['load'][0]:.2f}" for r in results.get((metric, side), []))
            if loads:
                lines.append(f"- {metric} {side}: load average (1 min) when each round started: {loads}")
    return lines


# --- the helper process: always the official SDK ---

async def helper(mode: str, count: int, server: dict, room_name: str) -> None:
    from livekit import rtc

    from bench import token

    loop = asyncio.get_running_loop()
    stop = loop.run_in_executor(None, sys.stdin.read)  # returns when the worker closes stdin
    rooms, tasks, summary = [], [], {}
    if mode == "listen":
        room = rtc.Room()
        tracks = subscribed_audio(rtc, room)
        await room.connect(server["url"], token(server, room_name, "listener"))
        rooms.append(room)
        _who, track = await asyncio.wait_for(tracks.get(), SETUP_TIMEOUT)
        counter = Counter(1, STEADY_FRAMES)
        counter.read(rtc.AudioStream(track, sample_rate=RATE, num_channels=1), 0)
        await asyncio.wait_for(counter.steady, SETUP_TIMEOUT)
        print("ready", flush=True)
        await stop
        summary["frames"] = counter.counts[0]
    else:  # publish: `count` participants, a tone each, 100 ms frames paced by the source's queue
        async def feed(source, frames):
            while True:
                for frame in frames:
                    await source.capture_frame(frame)

        for i in range(count):
            room = rtc.Room()
            await room.connect(server["url"], token(server, room_name, f"tone{i}"))
            rooms.append(room)
            source = await publish_audio(rtc, room, f"tone{i}", queue_ms=300)
            tasks.append(asyncio.ensure_future(feed(source, tone(rtc, 300 + 50 * i, FRAME * 10))))
        print("ready", flush=True)
        await stop
    for task in tasks:
        task.cancel()
    for room in rooms:
        await room.disconnect()
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--helper":
        _, _, mode, count, server, room_name = sys.argv
        asyncio.run(helper(mode, int(count), json.loads(server), room_name))
    else:
        sys.exit(__doc__)
