"""examples/video_negative.py against the server: the official SDK shows it the colour program
and sees the negative of each colour come back, in order."""

import asyncio
import sys
from pathlib import Path

from conftest import EVENT_TIMEOUT, connect_official
from test_video import HEIGHT, PROGRAM, WIDTH, draw_program, watch_program

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "video_negative.py"
NEGATIVE = [tuple(255 - c for c in colour) for colour in PROGRAM]


async def test_video_negative_sends_back_the_inverted_colours(server, room_name):
    from livekit import rtc as official

    example = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--url", server.url, "--api-key", server.api_key,
        "--api-secret", server.api_secret, "--room", room_name, "--identity", "negative", "--duration", "60",
        stdout=asyncio.subprocess.PIPE)
    try:
        line = await asyncio.wait_for(example.stdout.readline(), EVENT_TIMEOUT)
        assert line.startswith(b"negative: joined"), line

        peer = await connect_official(server, "camera", room_name)
        negative = asyncio.get_running_loop().create_future()

        def on_subscribed(track, publication, participant):
            if participant.identity == "negative" and not negative.done():
                negative.set_result(track)

        peer.on("track_subscribed", on_subscribed)
        source = official.VideoSource(WIDTH, HEIGHT)
        track = official.LocalVideoTrack.create_video_track("camera", source)
        stop = asyncio.Event()
        drawing = asyncio.ensure_future(draw_program(official, source, stop))
        await peer.local_participant.publish_track(
            track, official.TrackPublishOptions(source=official.TrackSource.SOURCE_CAMERA, simulcast=False))
        line = await asyncio.wait_for(example.stdout.readline(), EVENT_TIMEOUT)
        assert line.startswith(b"negative: publishing TR_") and f"({WIDTH}x{HEIGHT}) from camera's".encode() in line, line

        stream = official.VideoStream(await asyncio.wait_for(negative, EVENT_TIMEOUT),
                                      format=official.VideoBufferType.RGBA)
        try:
            await watch_program(stream, official.VideoBufferType.RGBA, program=NEGATIVE)
        finally:
            await stream.aclose()
        stop.set()
        await drawing
        await peer.disconnect()
    finally:
        if example.returncode is None:
            example.terminate()
        await example.wait()
