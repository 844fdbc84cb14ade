#!/usr/bin/env python3
"""Ours (livekit_core.rtc) against the official SDK (livekit.rtc) on one livekit-server, one run.

Both sides run the same code: our package has the official `rtc` API, so each metric is one
function given either module. Every metric runs in a fresh process per side, alternating the
sides round by round; the cells are medians over the rounds. Run it through bench.sh, which
builds the release wheel and installs both SDKs.

    python bench.py --server target/debug/lk-test-server --our-wheel W --their-wheel W [--rounds 3]
        [--only media|NAME,...] [--seconds 30]

The media rows (audio CPU, capture_frame time, RSS of 10 subscriptions) are in bench_media.py;
--seconds sets their measuring window (30 s for the recorded runs).
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid

import bench_media

SIDES = {"ours": "livekit_core", "theirs": "livekit"}
PARTICIPANTS = 50
CONNECTS = 10
MESSAGES = 5000
MESSAGE_SIZE = 100
STREAM_BYTES = 20 * 1024 * 1024


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def token(server: dict, room: str, identity: str) -> str:
    # Tokens come from the official api package on both sides, so both sign alike.
    from livekit import api

    grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                             can_publish_data=True)
    return (api.AccessToken(server["api_key"], server["api_secret"]).with_identity(identity)
            .with_grants(grants).to_jwt())


async def everyone_sees_everyone(rooms: list, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while any(len(r.remote_participants) < len(rooms) - 1 for r in rooms):
        if time.monotonic() > deadline:
            raise RuntimeError("participants were not announced in time")
        await asyncio.sleep(0.05)


# --- metrics, run in a worker process with `rtc` the side's module ---

async def metric_connect(rtc, server, room_name):
    anchor = rtc.Room()  # keeps the room open so no timed join creates it
    await anchor.connect(server["url"], token(server, room_name, "anchor"))
    samples = []
    for i in range(CONNECTS):
        jwt = token(server, room_name, f"c{i}")
        room = rtc.Room()
        start = time.perf_counter()
        await room.connect(server["url"], jwt)
        samples.append((time.perf_counter() - start) * 1000)
        await room.disconnect()
    await anchor.disconnect()
    return {"value": statistics.median(samples)}


async def _pair(rtc, server, room_name):
    a, b = rtc.Room(), rtc.Room()
    await a.connect(server["url"], token(server, room_name, "a"))
    await b.connect(server["url"], token(server, room_name, "b"))
    await everyone_sees_everyone([a, b])
    return a, b


async def metric_messages(rtc, server, room_name):
    a, b = await _pair(rtc, server, room_name)
    received = []
    done = asyncio.get_running_loop().create_future()

    @b.on("data_received")
    def on_data(packet):
        received.append(packet.data)
        if len(received) == MESSAGES and not done.done():
            done.set_result(time.perf_counter())

    payload = bytes(MESSAGE_SIZE)
    start = time.perf_counter()
    for _ in range(MESSAGES):
        await a.local_participant.publish_data(payload, topic="bench")
    end = await asyncio.wait_for(done, 120)
    await asyncio.gather(a.disconnect(), b.disconnect())
    return {"value": MESSAGES / (end - start), "lost": MESSAGES - len(received)}


async def metric_stream(rtc, server, room_name):
    a, b = await _pair(rtc, server, room_name)
    path = f"/tmp/lk-bench-{uuid.uuid4().hex}.bin"
    with open(path, "wb") as f:
        f.write(os.urandom(STREAM_BYTES))
    done = asyncio.get_running_loop().create_future()

    async def read(reader):
        size = 0
        async for chunk in reader:
            size += len(chunk)
        done.set_result((time.perf_counter(), size))

    tasks = set()

    def handler(reader, sender):
        task = asyncio.ensure_future(read(reader))
        tasks.add(task)

    b.register_byte_stream_handler("bench", handler)
    start = time.perf_counter()
    await a.local_participant.send_file(path, topic="bench")
    end, size = await asyncio.wait_for(done, 300)
    os.remove(path)
    await asyncio.gather(a.disconnect(), b.disconnect())
    assert size == STREAM_BYTES, size
    return {"value": STREAM_BYTES / (1024 * 1024) / (end - start)}


async def metric_hold(rtc, server, room_name):
    baseline = rss_mb()
    rooms = []
    for i in range(PARTICIPANTS):
        room = rtc.Room()
        await room.connect(server["url"], token(server, room_name, f"p{i}"))
        rooms.append(room)
    await everyone_sees_everyone(rooms)
    total = rss_mb()
    await asyncio.gather(*(r.disconnect() for r in rooms))
    return {"value": total, "baseline": baseline}


IMPORT_CODE = {
    # What the issue measures: a fresh interpreter importing the SDK and making its first Room().
    "import": "from {m} import rtc\nrtc.Room()\n",
    # What an application pays: asyncio imported too, the Room made on a running loop.
    "import_asyncio": "import asyncio\nfrom {m} import rtc\nasync def main():\n    rtc.Room()\nasyncio.run(main())\n",
}
REPORT_RSS = "\nprint(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])\n"


def import_figures(side: str, metric: str) -> dict:
    """Wall time of the whole fresh process (interpreter start included) and its final RSS."""
    code = IMPORT_CODE[metric].format(m=SIDES[side]) + REPORT_RSS
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    return {"value": elapsed, "rss": int(out.stdout.split()[-1]) / 1024}


def worker(side: str, metric: str, server: dict, room_name: str) -> dict:
    rtc = __import__(f"{SIDES[side]}.rtc", fromlist=["rtc"])
    run = getattr(bench_media, f"metric_{metric}", None) or globals()[f"metric_{metric}"]
    return asyncio.run(run(rtc, server, room_name))


# --- driver ---

METRICS = [
    # name, metric, key, unit, target ratio, lower is better
    ("import + first Room() time, fresh process", "import", "value", "s", 0.25, True),
    ("import + first Room() RSS, fresh process", "import", "rss", "MiB", 0.33, True),
    ("(info) same with asyncio imported, Room() on a running loop: time", "import_asyncio", "value", "s", None, True),
    ("(info) same with asyncio imported, Room() on a running loop: RSS", "import_asyncio", "rss", "MiB", None, True),
    ("connect time, median of 10", "connect", "value", "ms", 0.5, True),
    (f"messages per second ({MESSAGES} x {MESSAGE_SIZE} B, reliable)", "messages", "value", "msg/s", 1.0, False),
    (f"byte stream send_file -> reader ({STREAM_BYTES >> 20} MiB)", "stream", "value", "MiB/s", 1.5, False),
    (f"RSS of one process holding {PARTICIPANTS} participants", "hold", "value", "MiB", 0.25, True),
] + bench_media.METRICS
GROUPS = {"data": ["import", "import_asyncio", "connect", "messages", "stream", "hold"],
          "media": ["audio_cpu", "capture", "audio_rss"]}


def run_worker(side: str, metric: str, server: dict, seconds: float) -> dict:
    load = os.getloadavg()  # recorded with every figure: other builds share the 2 cores
    if metric in IMPORT_CODE:
        return {**import_figures(side, metric), "load": load}
    room_name = f"bench-{metric}-{side}-{uuid.uuid4().hex[:6]}"
    out = subprocess.run([sys.executable, __file__, "--worker", side, metric, json.dumps(server), room_name,
                          "--seconds", str(seconds)],
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"{side} {metric} failed:\n{out.stderr}")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load": load}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=4)
    parser.add_argument("--server")
    parser.add_argument("--our-wheel")
    parser.add_argument("--their-wheel")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out")
    parser.add_argument("--only", help="comma-separated metrics or groups (data, media); default all")
    parser.add_argument("--seconds", type=float, default=30.0, help="the media rows' measuring window")
    args = parser.parse_args()
    bench_media.SECONDS = args.seconds
    if args.worker:
        side, metric, server, room_name = args.worker
        print(json.dumps(worker(side, metric, json.loads(server), room_name)))
        return
    wanted = [w for name in (args.only or "data,media").split(",") for w in GROUPS.get(name, [name])]
    metrics = [m for m in METRICS if m[1] in wanted]
    if not metrics:
        parser.error(f"--only {args.only}: no such metric")

    server_proc = subprocess.Popen([args.server], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    server = json.loads(server_proc.stdout.readline())
    results: dict = {}
    try:
        for metric in dict.fromkeys(m[1] for m in metrics):
            for round_ in range(args.rounds):
                order = ("ours", "theirs") if round_ % 2 == 0 else ("theirs", "ours")
                for side in order:
                    results.setdefault((metric, side), []).append(run_worker(side, metric, server, args.seconds))
                    print(f"{metric} {side} round {round_ + 1}: {results[(metric, side)][-1]}", file=sys.stderr)
    finally:
        server_proc.stdin.close()
        server_proc.wait(timeout=30)

    rows = []
    for title, metric, key, unit, target, lower in metrics:
        ours = [r[key] for r in results[(metric, "ours")]]
        theirs = [r[key] for r in results[(metric, "theirs")]]
        rows.append((title.format(s=f"{args.seconds:g}"), unit, ours, theirs, target, lower))
    if args.our_wheel and args.their_wheel and not args.only:
        our_size = os.path.getsize(args.our_wheel) / 1e6
        their_size = os.path.getsize(args.their_wheel) / 1e6
        # The target is absolute: at most 3 MB (theirs, 11.9 MB, as the ratio's reference).
        rows.append(("wheel size", "MB", [our_size], [their_size], 3.0 / their_size, True))
    lost = None
    if "messages" in wanted:
        lost = sum(r.get("lost", 0) for (m, _), rs in results.items() if m == "messages" for r in rs)
    report = render(rows, args.rounds, lost, bench_media.notes(results))
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


def render(rows: list, rounds: int, lost, notes: list) -> str:
    lines = [f"Rounds: {rounds} (sides alternate; each figure from a fresh process). Cells: median (each round)."]
    if lost is not None:
        lines.append(f"Messages lost in the messages-per-second runs, both sides, all rounds: {lost}.")
    lines += [
        "",
        "| Metric | Ours | Theirs (official SDK) | Ours/theirs | Target | Result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for title, unit, ours, theirs, target, lower in rows:
        o, t = statistics.median(ours), statistics.median(theirs)
        ratio = o / t
        fmt = lambda vs: f"{statistics.median(vs):.3g} ({', '.join(f'{v:.3g}' for v in vs)})" if len(vs) > 1 else f"{vs[0]:.3g}"
        if target is None:
            verdict, goal = "-", "-"
        else:
            ok = ratio <= target if lower else ratio >= target
            verdict, goal = ("pass" if ok else "MISS"), f"{'<=' if lower else '>='} {target:.2f}x"
        lines.append(f"| {title} ({unit}) | {fmt(ours)} | {fmt(theirs)} | {ratio:.3f} | {goal} | {verdict} |")
    if notes:
        lines += [""] + notes
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
