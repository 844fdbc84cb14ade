"""Pictures for the video cases: solid colours with a moving white bar (so consecutive pictures
differ and the encoder cannot send only "nothing changed"), and the colour seen in the middle of
a received picture, away from the bar."""

import asyncio

import numpy as np
from livekit import rtc

WIDTH, HEIGHT = 320, 240
FPS = 15
COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
BAR_ROWS = HEIGHT // 4  # the bar moves along the top quarter only
BAR_WIDTH = 16


def picture(colour, step, width=WIDTH, height=HEIGHT):
    """An RGBA rtc.VideoFrame in `colour` (a name of COLOURS or an RGB tuple), with a white bar
    in the top quarter at a place that depends on `step`."""
    rgb = COLOURS[colour] if isinstance(colour, str) else colour
    pixels = np.empty((height, width, 4), dtype=np.uint8)
    pixels[:, :] = (*rgb, 255)
    x = (step * 8) % (width - BAR_WIDTH)
    pixels[: height // 4, x : x + BAR_WIDTH] = 255
    return rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, pixels.tobytes())


async def publish_camera(room, codec=rtc.VideoCodec.VP8, *, simulcast=True, name="camera", size=(WIDTH, HEIGHT)):
    """A VideoSource and its published track; returns (source, track, publication)."""
    source = rtc.VideoSource(*size)
    track = rtc.LocalVideoTrack.create_video_track(name, source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA, video_codec=codec, simulcast=simulcast)
    publication = await room.local_participant.publish_track(track, options)
    return source, track, publication


class Painter:
    """Captures pictures into a source at FPS from a task; `colour` says which, and may change."""

    def __init__(self, source, colour):
        self.source = source
        self.colour = colour
        self.captured = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self):
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:
            self.source.capture_frame(picture(self.colour, self.captured))
            self.captured += 1
            # Pacing a camera, not waiting for an event.
            await asyncio.sleep(max(0.0, start + self.captured / FPS - loop.time()))

    async def cycle(self, colours, seconds):
        """Shows each colour for `seconds`, in order."""
        for colour in colours:
            self.colour = colour
            await asyncio.sleep(seconds)

    async def stop(self):
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


def centre_colour(frame):
    """The mean RGB of the middle of an RGBA rtc.VideoFrame, below the bar's rows."""
    pixels = np.frombuffer(bytes(frame.data), dtype=np.uint8).reshape(frame.height, frame.width, 4)
    h, w = frame.height, frame.width
    middle = pixels[h // 2 - h // 6 : h // 2 + h // 6, w // 2 - w // 4 : w // 2 + w // 4, :3]
    return tuple(float(c) for c in middle.reshape(-1, 3).mean(axis=0))


def name_of(rgb, tolerance=60):
    """The name of the COLOURS entry `rgb` is close to, or None."""
    for name, reference in COLOURS.items():
        if max(abs(a - b) for a, b in zip(rgb, reference)) <= tolerance:
            return name
    return None


async def watch(stream, until, timeout=20.0):
    """Reads pictures until `until(seen)` is true; `seen` is a list of (colour name or None,
    width, height) per picture. Returns `seen`; raises TimeoutError after `timeout`."""
    seen = []

    async def read():
        async for event in stream:
            frame = event.frame
            seen.append((name_of(centre_colour(frame)), frame.width, frame.height))
            if until(seen):
                return

    try:
        await asyncio.wait_for(read(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out; colours seen: {runs(seen, 1)} in {len(seen)} pictures") from None
    return seen


def runs(seen, min_length=3):
    """The colours seen, consecutive repeats collapsed; runs shorter than `min_length`
    pictures (a transition's blend) and unnamed pictures are left out."""
    out = []
    count = 0
    current = None
    for name, _, _ in seen:
        if name == current:
            count += 1
        else:
            current, count = name, 1
        if count == min_length and name is not None and (not out or out[-1] != name):
            out.append(name)
    return out
