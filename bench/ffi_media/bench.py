#!/usr/bin/env python3
"""The official Python SDK (`livekit.rtc`) on our liblivekit_ffi against the same SDK on the
library it ships, with audio and video flowing (issue 13).

One process holds two participants: A publishes a 48 kHz mono tone (10 ms frames, paced in
real time) and a 1280x720 camera track (a solid colour that changes every frame, RGBA, 30 fps,
paced), B (same process, same library) subscribes to both and reads them through AudioStream
and VideoStream. Once B receives both, the CPU (user + sys, all threads) and RSS of the process
are measured over --seconds. Each figure comes from a fresh process; the libraries alternate
round by round (ours first in odd rounds). Ratios are ours / theirs.

    python bench.py --server target/debug/lk-test-server --ours target/release/liblivekit_ffi.so \
        [--rounds 2] [--seconds 30] [--out target/ffi-media-bench.md]
"""

import argparse
import asyncio
import datetime
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

RATE = 48000
FRAME = RATE // 100
TONE_HZ = 440
WIDTH, HEIGHT, FPS = 1280, 720, 30
STEADY_AUDIO, STEADY_VIDEO = 100, 30  # frames B receives before the window starts
SETUP_TIMEOUT = 60.0

METRICS = [
    # title, key, unit, target ratio (None: information only)
    ("CPU of the process, publishing and receiving audio + 720p video", "cpu_pct", "% of a core", 1.0),
    ("RSS of the process at the end of the window", "rss", "MiB", 0.5),
    ("(info) peak RSS (VmHWM)", "hwm", "MiB", None),
    ("(info) RSS after `from livekit import rtc`, before the library loads", "baseline", "MiB", None),
    ("(info) CPU of the whole process (import, connect, publish, window)", "process_cpu_s", "s", None),
    ("(info) video frames B received per second in the window", "video_fps", "fps", None),
    ("(info) audio frames B received per second in the window", "audio_fps", "frames/s", None),
]


def status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Pacer:
    """Calls on a fixed grid of `period` s, as a microphone or camera delivers; a late slot
    starts a fresh grid rather than bursting to catch up."""

    def __init__(self, period: float):
        self.period = period
        self.next = time.monotonic()

    async def wait(self) -> None:
        delay = self.next - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self.next += self.period
        now = time.monotonic()
        if self.next < now:
            self.next = now + self.period


def token(rtc_api, server: dict, room: str, identity: str) -> str:
    grants = rtc_api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True)
    return (rtc_api.AccessToken(server["api_key"], server["api_secret"]).with_identity(identity)
            .with_grants(grants).to_jwt())


async def worker(server: dict, room_name: str, seconds: float) -> dict:
    from livekit import api, rtc

    baseline = status_mb("VmRSS")
    loop = asyncio.get_running_loop()
    counts = {"audio": 0, "video": 0}
    last_size = [(0, 0)]
    steady = loop.create_future()
    tasks = []

    def check() -> None:
        if not steady.done() and counts["audio"] >= STEADY_AUDIO and counts["video"] >= STEADY_VIDEO:
            steady.set_result(None)

    async def read_audio(track):
        async for _event in rtc.AudioStream(track, sample_rate=RATE, num_channels=1):
            counts["audio"] += 1
            check()

    async def read_video(track):
        async for event in rtc.VideoStream(track):
            counts["video"] += 1
            last_size[0] = (event.frame.width, event.frame.height)
            check()

    b = rtc.Room()

    @b.on("track_subscribed")
    def on_subscribed(track, _publication, _participant):
        reader = read_audio if track.kind == rtc.TrackKind.KIND_AUDIO else read_video
        tasks.append(asyncio.ensure_future(reader(track)))

    a = rtc.Room()
    await a.connect(server["url"], token(api, server, room_name, "a"))
    await b.connect(server["url"], token(api, server, room_name, "b"))

    audio = rtc.AudioSource(RATE, 1)
    await a.local_participant.publish_track(
        rtc.LocalAudioTrack.create_audio_track("tone", audio),
        rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    video = rtc.VideoSource(WIDTH, HEIGHT)
    await a.local_participant.publish_track(
        rtc.LocalVideoTrack.create_video_track("colour", video),
        rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA))

    scale = 0.5 * 32767.0
    pcm = b"".join(round(math.sin(2 * math.pi * TONE_HZ * i / RATE) * scale).to_bytes(2, "little", signed=True)
                   for i in range(RATE))
    tone = [rtc.AudioFrame(pcm[i:i + FRAME * 2], RATE, 1, FRAME) for i in range(0, len(pcm), FRAME * 2)]

    async def feed_audio():
        pacer, i = Pacer(0.01), 0
        while True:
            await pacer.wait()
            await audio.capture_frame(tone[i % len(tone)])
            i += 1

    async def feed_video():
        pacer, i = Pacer(1 / FPS), 0
        while True:
            await pacer.wait()
            colour = bytes(((i * 3) % 256, (i * 5 + 85) % 256, (i * 7 + 170) % 256, 255))
            video.capture_frame(rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, colour * (WIDTH * HEIGHT)))
            i += 1

    feeds = [asyncio.ensure_future(feed_audio()), asyncio.ensure_future(feed_video())]
    try:
        await asyncio.wait_for(steady, SETUP_TIMEOUT)
    except asyncio.TimeoutError:
        raise RuntimeError(f"B did not receive {STEADY_AUDIO} audio and {STEADY_VIDEO} video frames in "
                           f"{SETUP_TIMEOUT:g} s: {counts}, last picture {last_size[0]}") from None
    start_counts = dict(counts)
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)  # the measuring window: both feeds and both readers run meanwhile
    cpu, wall = cpu_seconds() - cpu0, time.monotonic() - wall0
    rss, hwm = status_mb("VmRSS"), status_mb("VmHWM")
    received = {k: counts[k] - start_counts[k] for k in counts}
    for task in feeds + tasks:
        task.cancel()
    await a.disconnect()
    await b.disconnect()
    return {"cpu_pct": cpu / wall * 100, "rss": rss, "hwm": hwm, "baseline": baseline,
            "process_cpu_s": cpu_seconds(), "video_fps": received["video"] / wall,
            "audio_fps": received["audio"] / wall, "video_size": "x".join(map(str, last_size[0]))}


def run_worker(side: str, ours_lib: str, server: dict, seconds: float, room_name: str) -> dict:
    env = dict(os.environ)
    env.pop("LIVEKIT_LIB_PATH", None)
    if side == "ours":
        env["LIVEKIT_LIB_PATH"] = ours_lib
    load = os.getloadavg()
    out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(server), room_name, "--seconds", str(seconds)],
                         env=env, capture_output=True, text=True, timeout=seconds + 300)
    if out.returncode != 0:
        raise RuntimeError(f"{side} failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load"] = load
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2, metavar=("SERVER_JSON", "ROOM"))
    parser.add_argument("--server", help="the harness's lk-test-server binary")
    parser.add_argument("--ours", help="our liblivekit_ffi.so (release)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.worker:
        server, room_name = args.worker
        print(json.dumps(asyncio.run(worker(json.loads(server), room_name, args.seconds))))
        return
    if not (args.server and args.ours):
        parser.error("--server and --ours are required")

    started = datetime.datetime.now(datetime.timezone.utc)
    server_proc = subprocess.Popen([args.server], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    server = json.loads(server_proc.stdout.readline())
    results = {"ours": [], "theirs": []}
    try:
        for round_ in range(args.rounds):
            for side in ("ours", "theirs") if round_ % 2 == 0 else ("theirs", "ours"):
                room_name = f"ffi-media-{side}-{round_}"
                results[side].append(run_worker(side, os.path.abspath(args.ours), server, args.seconds, room_name))
                print(f"round {round_ + 1} {side}: {results[side][-1]}", file=sys.stderr)
    finally:
        server_proc.stdin.close()
        server_proc.wait(timeout=30)
    report = render(results, args, started)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


def render(results: dict, args, started) -> str:
    fmt = lambda vs: f"{statistics.median(vs):.3g} ({', '.join(f'{v:.3g}' for v in vs)})"
    lines = [
        f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, CPython {platform.python_version()}, "
        f"{args.rounds} rounds of {args.seconds:g} s (libraries alternate; each figure from a fresh process). "
        "Cells: median (each round).",
        "",
        "| Metric | Ours (LIVEKIT_LIB_PATH) | Theirs (bundled library) | Ours/theirs | Target | Result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for title, key, unit, target in METRICS:
        ours = [r[key] for r in results["ours"]]
        theirs = [r[key] for r in results["theirs"]]
        ratio = statistics.median(ours) / statistics.median(theirs)
        goal, verdict = ("-", "-") if target is None else (f"<= {target:.2f}x", "pass" if ratio <= target else "MISS")
        lines.append(f"| {title} ({unit}) | {fmt(ours)} | {fmt(theirs)} | {ratio:.3f} | {goal} | {verdict} |")
    lines.append("")
    for side in ("ours", "theirs"):
        sizes = ", ".join(r["video_size"] for r in results[side])
        loads = ", ".join(f"{r['load'][0]:.2f}" for r in results[side])
        lines.append(f"- {side}: last received picture size per round: {sizes}; load average (1 min) "
                     f"when each round started: {loads}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
