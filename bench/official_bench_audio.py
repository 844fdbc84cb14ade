"""The audio metrics of the official SDK's side of livekit-bench (audio_latency, audio_cpu,
audio_memory). Mirrors bench/src/audio.rs step for step: change both together."""

import asyncio
import os
import time

import numpy as np
from livekit import rtc

from official_bench_common import join, status_kb, token

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
