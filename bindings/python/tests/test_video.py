"""Video both ways with the official SDK as the peer: each side draws red, green and blue for
one second each with a moving white bar, the other checks the mean colour of each picture's
centre comes in that order, at the published size (VP8 and H.264); mute; and VideoFrame itself
(conversions keep a colour, numpy without a copy, numpy not needed by the package)."""

import asyncio
import subprocess
import sys

import numpy as np
import pytest
from conftest import Events, pair

from livekit_core import rtc

WIDTH, HEIGHT = 320, 240
FPS = 15.0
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (30, 40, 220)
PROGRAM = [RED, GREEN, BLUE]
# Four colour changes in order (e.g. red, green, blue, red): the program came through in order.
IN_ORDER = 4
PROGRAM_TIMEOUT = 25.0
FORMATS = ["RGBA", "ABGR", "ARGB", "BGRA", "RGB24", "I420", "NV12"]


def picture(module, colour, index: int, width: int = WIDTH, height: int = HEIGHT):
    """An RGBA frame of `module` (ours or the official SDK's) of `colour` with a white bar."""
    rgba = np.empty((height, width, 4), dtype=np.uint8)
    rgba[:, :, :3] = colour
    rgba[:, :, 3] = 255
    bar = (index * 4) % max(height - 16, 1)
    rgba[bar:bar + 16, :, :3] = 255
    # Ours takes the array's memory in place; the official SDK takes bytes.
    data = memoryview(rgba) if module is rtc else rgba.tobytes()
    return module.VideoFrame(width, height, module.VideoBufferType.RGBA, data)


async def draw_program(module, source, stop: asyncio.Event, width: int = WIDTH, height: int = HEIGHT) -> None:
    """Captures the program at FPS until `stop` is set (the sleeps pace the frames)."""
    loop = asyncio.get_running_loop()
    start, index = loop.time(), 0
    while not stop.is_set():
        colour = PROGRAM[int(index / FPS) % len(PROGRAM)]
        source.capture_frame(picture(module, colour, index, width, height))
        index += 1
        await asyncio.sleep(max(0.0, start + index / FPS - loop.time()))


def centre_mean(frame, rgba_type: int) -> np.ndarray:
    if frame.type != rgba_type:
        frame = frame.convert(rgba_type)
    w, h = frame.width, frame.height
    rgba = np.frombuffer(frame.data, dtype=np.uint8).reshape(h, w, 4)
    return rgba[h // 4:h - h // 4, w // 4:w - w // 4, :3].reshape(-1, 3).mean(axis=0)


def classify(rgb, program=PROGRAM) -> int:
    """The program colour `rgb` is (within what a codec keeps), or -1."""
    for i, colour in enumerate(program):
        if np.linalg.norm(np.asarray(colour, dtype=np.float64) - rgb) < 60:
            return i
    return -1


def colour_runs(means, program=PROGRAM) -> list:
    runs: list = []
    for colour in (classify(m, program) for m in means):
        if colour >= 0 and (not runs or runs[-1] != colour):
            runs.append(colour)
    return runs


def in_order(runs: list, length: int = IN_ORDER) -> bool:
    return any(all(runs[s + i] == (runs[s] + i) % len(PROGRAM) for i in range(length))
               for s in range(len(runs) - length + 1))


async def watch_program(stream, rgba_type: int, size=(WIDTH, HEIGHT), timeout: float = PROGRAM_TIMEOUT,
                        program=PROGRAM, other_sizes: bool = False) -> list:
    """Reads `stream` until the program came through in order; every picture must be `size`
    (with `other_sizes`, pictures of another size are passed over). Returns the events read."""
    means, events = [], []

    async def read() -> None:
        async for event in stream:
            if other_sizes and (event.frame.width, event.frame.height) != size:
                continue
            assert (event.frame.width, event.frame.height) == size
            events.append(event)
            means.append(centre_mean(event.frame, rgba_type))
            if in_order(colour_runs(means, program)):
                return
        raise AssertionError("the stream ended before the program came through")

    try:
        await asyncio.wait_for(read(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"the colours did not come in order within {timeout}s: {len(means)} pictures, "
                             f"runs {colour_runs(means, program)}") from None
    return events


# VideoFrame on its own.


def test_video_buffer_type_and_enums_match_the_official_sdk():
    from livekit import rtc as official

    for name in FORMATS + ["I420A", "I422", "I444", "I010"]:
        assert getattr(rtc.VideoBufferType, name) == official.VideoBufferType.Value(name)
    for name in ("VP8", "H264", "AV1", "VP9", "H265"):
        assert getattr(rtc.VideoCodec, name) == official.VideoCodec.Value(name)
    for name in ("VIDEO_QUALITY_LOW", "VIDEO_QUALITY_MEDIUM", "VIDEO_QUALITY_HIGH"):
        assert getattr(rtc.VideoQuality, name) == official.VideoQuality.Value(name)
    for name in ("VIDEO_ROTATION_0", "VIDEO_ROTATION_90", "VIDEO_ROTATION_180", "VIDEO_ROTATION_270"):
        assert getattr(rtc.VideoRotation, name) == official.VideoRotation.Value(name)


@pytest.mark.parametrize("colour", PROGRAM + [(255, 255, 255), (0, 0, 0)])
@pytest.mark.parametrize("name", FORMATS)
def test_convert_keeps_the_colour(name, colour):
    start = picture(rtc, colour, 0, 64, 48)
    start.data[:] = bytes([*colour, 255]) * (64 * 48)  # no bar
    converted = start.convert(getattr(rtc.VideoBufferType, name))
    assert (converted.width, converted.height, converted.type) == (64, 48, getattr(rtc.VideoBufferType, name))
    layout = {"RGBA": (0, 1, 2), "ABGR": (3, 2, 1), "ARGB": (1, 2, 3), "BGRA": (2, 1, 0), "RGB24": (0, 1, 2)}
    if name in layout:  # the bytes of the first pixel are where the layout says
        size = 3 if name == "RGB24" else 4
        pixel = bytes(converted.data[:size])
        assert all(abs(pixel[i] - c) <= 4 for i, c in zip(layout[name], colour)), (name, pixel, colour)
    back = converted.convert(rtc.VideoBufferType.RGBA)
    mean = np.frombuffer(back.data, np.uint8).reshape(48, 64, 4)[:, :, :3].reshape(-1, 3).mean(axis=0)
    assert np.abs(mean - colour).max() <= 6, (name, mean, colour)


def test_frame_layout_planes_flip_and_errors():
    frame = rtc.VideoFrame(4, 2, rtc.VideoBufferType.RGBA, bytearray(32))
    top, bottom = bytes([255, 0, 0, 255]) * 4, bytes([0, 0, 255, 255]) * 4
    frame.data[:16], frame.data[16:] = top, bottom  # writable, in place
    flipped = frame.convert(rtc.VideoBufferType.RGBA, flip_y=True)
    assert bytes(flipped.data) == bottom + top and bytes(frame.data) == top + bottom
    i420 = frame.convert(rtc.VideoBufferType.I420, flip_y=True)
    assert [len(i420.get_plane(n)) for n in range(3)] == [8, 2, 2] and i420.get_plane(3) is None
    assert [len(frame.convert(rtc.VideoBufferType.NV12).get_plane(n)) for n in range(2)] == [8, 4]
    assert frame.get_plane(0).nbytes == 32
    assert "RGBA" in repr(frame)
    with pytest.raises(ValueError):
        rtc.VideoFrame(4, 2, rtc.VideoBufferType.RGBA, bytes(31))
    with pytest.raises(rtc.InvalidArgumentError):
        frame.convert(rtc.VideoBufferType.I444)
    with pytest.raises(rtc.InvalidArgumentError):
        rtc.VideoSource(0, 240)
    with pytest.raises(rtc.InvalidArgumentError):
        rtc.VideoSource(WIDTH, HEIGHT).capture_frame(frame, rotation=7)


def test_numpy_without_a_copy():
    rgba = np.zeros((48, 64, 4), dtype=np.uint8)
    frame = rtc.VideoFrame(64, 48, rtc.VideoBufferType.RGBA, memoryview(rgba))
    rgba[:, :] = [*GREEN, 255]  # the frame is the array's memory
    view = np.frombuffer(frame.data, dtype=np.uint8).reshape(48, 64, 4)
    assert (view[10, 10] == [*GREEN, 255]).all()
    view[0, 0] = [1, 2, 3, 4]  # and the other way
    assert list(rgba[0, 0]) == [1, 2, 3, 4]
    i420 = frame.convert(rtc.VideoBufferType.I420)  # read in place through its address
    y = np.frombuffer(i420.get_plane(0), dtype=np.uint8)
    assert y.shape == (64 * 48,) and abs(int(np.median(y)) - 134) < 8  # BT.601 limited range
    readonly = np.frombuffer(rgba.tobytes(), dtype=np.uint8)  # a read-only buffer is copied once
    assert not readonly.flags.writeable
    again = rtc.VideoFrame(64, 48, rtc.VideoBufferType.RGBA, readonly).convert(rtc.VideoBufferType.BGRA)
    middle = (24 * 64 + 32) * 4  # away from the pixel set above (I420 shares chroma)
    assert np.abs(np.frombuffer(again.data[middle:middle + 4], np.uint8).astype(int)
                  - [GREEN[2], GREEN[1], GREEN[0], 255]).max() <= 4
    with pytest.raises(ValueError):
        rtc.VideoFrame(32, 48, rtc.VideoBufferType.RGBA, rgba[:, ::2])  # not contiguous


def test_the_package_does_not_need_numpy():
    code = (
        "import sys; sys.modules['numpy'] = None\n"  # any import of numpy fails
        "from livekit_core import rtc\n"
        "f = rtc.VideoFrame(2, 2, rtc.VideoBufferType.RGB24, bytes([200, 10, 10]) * 4)\n"
        "g = f.convert(rtc.VideoBufferType.I420).convert(rtc.VideoBufferType.RGBA)\n"
        "assert g.data[0] > 180 and g.data[1] < 40, bytes(g.data)\n"
        "s = rtc.VideoSource(2, 2); s.capture_frame(f); s.capture_frame(g, timestamp_us=5)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


# Through the server, with the official SDK as the peer.


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_official_sdk_sees_our_colours_in_order(server, room_name, codec):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    subscribed = Events(peer, "track_subscribed")
    local = Events(ours, "local_track_published")
    source = rtc.VideoSource(WIDTH, HEIGHT)
    track = rtc.LocalVideoTrack.create_video_track("colours", source)
    stop = asyncio.Event()
    drawing = asyncio.ensure_future(draw_program(rtc, source, stop))
    options = rtc.TrackPublishOptions(
        source=rtc.TrackSource.SOURCE_CAMERA, video_codec=getattr(rtc.VideoCodec, codec),
        video_encoding=rtc.VideoEncoding(max_bitrate=500_000, max_framerate=FPS), simulcast=False)
    try:
        publication = await ours.local_participant.publish_track(track, options)
        assert publication.sid.startswith("TR_") and track.sid == publication.sid
        assert (publication.kind, publication.source) == (rtc.TrackKind.KIND_VIDEO, rtc.TrackSource.SOURCE_CAMERA)
        await local.wait("local_track_published", lambda p, t: p.sid == publication.sid and t is track)
        remote_track, remote_pub, participant = await subscribed.wait(
            "track_subscribed", lambda t, p, who: p.sid == publication.sid)
        assert participant.identity == "ours" and remote_track.kind == official.TrackKind.KIND_VIDEO
        assert (remote_pub.width, remote_pub.height) == (WIDTH, HEIGHT)
        stream = official.VideoStream(remote_track, format=official.VideoBufferType.RGBA)
        try:
            await watch_program(stream, official.VideoBufferType.RGBA)
        finally:
            await stream.aclose()
        assert remote_pub.mime_type.lower() == f"video/{codec.lower()}"
    finally:
        stop.set()
        await drawing
        await peer.disconnect()
        await ours.disconnect()


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_we_see_the_official_colours_in_order(server, room_name, codec):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    events = Events(ours, "track_subscribed")
    source = official.VideoSource(WIDTH, HEIGHT)
    track = official.LocalVideoTrack.create_video_track("colours", source)
    stop = asyncio.Event()
    drawing = asyncio.ensure_future(draw_program(official, source, stop))
    options = official.TrackPublishOptions(source=official.TrackSource.SOURCE_CAMERA, simulcast=False,
                                           video_codec=getattr(official.VideoCodec, codec))
    try:
        # The stream waits for the track; H.264 comes as I420 (the default) and is converted here.
        as_i420 = codec == "H264"
        stream = rtc.VideoStream.from_participant(
            participant=ours.remote_participants["official"], track_source=rtc.TrackSource.SOURCE_CAMERA,
            format=None if as_i420 else rtc.VideoBufferType.RGBA)
        publication = await peer.local_participant.publish_track(track, options)
        remote_track, remote_pub, participant = await events.wait(
            "track_subscribed", lambda t, p, who: p.sid == publication.sid)
        assert isinstance(remote_track, rtc.RemoteVideoTrack) and remote_track.kind == rtc.TrackKind.KIND_VIDEO
        assert participant.identity == "official" and remote_pub.source == rtc.TrackSource.SOURCE_CAMERA
        assert (remote_pub.width, remote_pub.height, remote_pub.simulcasted) == (WIDTH, HEIGHT, False)
        with pytest.raises(ValueError):  # as in the official SDK: one layer has no quality to pick
            remote_pub.set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_LOW)
        try:
            seen = await watch_program(stream, rtc.VideoBufferType.RGBA)
        finally:
            await stream.aclose()
        expected = rtc.VideoBufferType.I420 if as_i420 else rtc.VideoBufferType.RGBA
        assert all(e.frame.type == expected and e.rotation == rtc.VideoRotation.VIDEO_ROTATION_0 for e in seen)
        stamps = [e.timestamp_us for e in seen]
        assert stamps == sorted(stamps) and stamps[-1] - stamps[0] > 1_000_000  # RTP time, µs
        assert remote_pub.mime_type.lower() == f"video/{codec.lower()}"
        with pytest.raises(StopAsyncIteration):  # closed
            await stream.__anext__()
    finally:
        stop.set()
        await drawing
        await peer.disconnect()
        await ours.disconnect()


async def test_mute_is_seen_by_the_official_sdk_and_stops_the_pictures(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    seen = Events(peer, "track_subscribed", "track_muted", "track_unmuted")
    source = rtc.VideoSource(WIDTH, HEIGHT)
    track = rtc.LocalVideoTrack.create_video_track("muted", source)
    stop = asyncio.Event()
    drawing = asyncio.ensure_future(draw_program(rtc, source, stop))
    publication = await ours.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA))
    remote_track, _, _ = await seen.wait("track_subscribed", lambda t, p, who: p.sid == publication.sid)
    stream = official.VideoStream(remote_track, format=official.VideoBufferType.RGBA)
    arrivals: list = []
    arrived = asyncio.Event()

    async def read() -> None:
        async for event in stream:
            arrivals.append((asyncio.get_running_loop().time(), classify(centre_mean(event.frame, 0))))
            arrived.set()

    reader = asyncio.ensure_future(read())

    async def next_picture(timeout: float = 10.0) -> None:
        arrived.clear()
        await asyncio.wait_for(arrived.wait(), timeout)

    try:
        await next_picture()
        track.mute()
        assert track.muted
        _, muted_pub = await seen.wait("track_muted", lambda who, p: p.sid == publication.sid)
        assert muted_pub.muted and publication.muted
        # The pictures stop: within 2 s of the event a full second passes without one.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3.0
        while True:
            try:
                await next_picture(timeout=1.0)
            except asyncio.TimeoutError:
                break
            assert loop.time() < deadline, "pictures kept coming after the mute"
        track.unmute()
        await seen.wait("track_unmuted", lambda who, p: p.sid == publication.sid)
        # Unmute sends a keyframe at once: the program's colours come back.
        deadline = loop.time() + 10.0
        while True:
            await next_picture()
            if arrivals[-1][1] >= 0:
                break
            assert loop.time() < deadline, f"no program colour after the unmute: {arrivals[-20:]}"
    finally:
        await stream.aclose()
        reader.cancel()
        stop.set()
        await drawing
        await peer.disconnect()
        await ours.disconnect()



async def test_set_video_quality_picks_a_simulcast_layer_of_the_official_sdk(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    events = Events(ours, "track_subscribed")
    width, height = 640, 480
    source = official.VideoSource(width, height)
    track = official.LocalVideoTrack.create_video_track("layers", source)
    stop = asyncio.Event()
    drawing = asyncio.ensure_future(draw_program(official, source, stop, width, height))
    options = official.TrackPublishOptions(source=official.TrackSource.SOURCE_CAMERA, simulcast=True,
                                           video_codec=official.VideoCodec.VP8)
    try:
        publication = await peer.local_participant.publish_track(track, options)
        remote_track, remote_pub, _ = await events.wait("track_subscribed", lambda t, p, who: p.sid == publication.sid)
        assert remote_pub.simulcasted and (remote_pub.width, remote_pub.height) == (width, height)
        stream = rtc.VideoStream(remote_track)
        sizes: list = []

        async def until_size(check, what: str, timeout: float = 20.0) -> None:
            async def read() -> None:
                async for event in stream:
                    sizes.append((event.frame.width, event.frame.height))
                    if check(sizes[-1]):
                        return
            try:
                await asyncio.wait_for(read(), timeout)
            except asyncio.TimeoutError:
                raise AssertionError(f"no picture {what} within {timeout}s; sizes {sorted(set(sizes))}") from None

        try:
            # The server starts us on the full layer (at 640x480 the official SDK sends two:
            # 640x480 and 480x360); LOW gets the smaller one, HIGH the full one back.
            await until_size(lambda s: s == (width, height), "at full size")
            remote_pub.set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_LOW)
            await until_size(lambda s: s[0] < width and s[1] < height, "smaller after asking for LOW")
            remote_pub.set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_HIGH)
            await until_size(lambda s: s == (width, height), "at full size again after asking for HIGH")
        finally:
            await stream.aclose()
    finally:
        stop.set()
        await drawing
        await peer.disconnect()
        await ours.disconnect()


async def test_official_sdk_picks_our_simulcast_layers(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    subscribed = Events(peer, "track_subscribed")
    width, height = 640, 360  # three layers: 160x90, 320x180, 640x360
    source = rtc.VideoSource(width, height)
    track = rtc.LocalVideoTrack.create_video_track("layers", source)
    stop = asyncio.Event()
    drawing = asyncio.ensure_future(draw_program(rtc, source, stop, width, height))
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA, simulcast=True)
    try:
        publication = await ours.local_participant.publish_track(track, options)
        remote_track, remote_pub, _ = await subscribed.wait(
            "track_subscribed", lambda t, p, who: p.sid == publication.sid)
        assert remote_pub.simulcasted and (remote_pub.width, remote_pub.height) == (width, height)
        stream = official.VideoStream(remote_track, format=official.VideoBufferType.RGBA)
        sizes: list = []

        async def until_size(size, timeout: float = 20.0) -> None:
            async def read() -> None:
                async for event in stream:
                    sizes.append((event.frame.width, event.frame.height))
                    if sizes[-1] == size:
                        return
            try:
                await asyncio.wait_for(read(), timeout)
            except asyncio.TimeoutError:
                raise AssertionError(f"no {size} picture within {timeout}s; sizes {sorted(set(sizes))}") from None

        try:
            await until_size((width, height))
            remote_pub.set_video_quality(official.VideoQuality.VIDEO_QUALITY_LOW)
            await until_size((width // 4, height // 4))
            remote_pub.set_video_quality(official.VideoQuality.VIDEO_QUALITY_HIGH)
            await until_size((width, height))
            # The switch back may still let a picture of the low layer through.
            await watch_program(stream, official.VideoBufferType.RGBA, size=(width, height), other_sizes=True)
        finally:
            await stream.aclose()
    finally:
        stop.set()
        await drawing
        await peer.disconnect()
        await ours.disconnect()


async def test_a_rotated_capture_arrives_upright(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    subscribed = Events(peer, "track_subscribed")
    source = rtc.VideoSource(WIDTH, HEIGHT)
    track = rtc.LocalVideoTrack.create_video_track("sideways", source)
    # Left half red, right half blue, to be turned a quarter turn clockwise: red on top.
    rgb = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    rgb[:, :WIDTH // 2], rgb[:, WIDTH // 2:] = RED, BLUE
    sideways = rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGB24, memoryview(rgb))
    stop = asyncio.Event()

    async def draw() -> None:
        while not stop.is_set():
            source.capture_frame(sideways, rotation=rtc.VideoRotation.VIDEO_ROTATION_90)
            await asyncio.sleep(1 / FPS)  # paces the captures

    drawing = asyncio.ensure_future(draw())
    try:
        publication = await ours.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA))
        remote_track, _, _ = await subscribed.wait("track_subscribed", lambda t, p, who: p.sid == publication.sid)
        stream = official.VideoStream(remote_track, format=official.VideoBufferType.RGBA)
        try:
            async def upright() -> tuple:
                async for event in stream:
                    frame = event.frame
                    rgba = np.frombuffer(frame.data, np.uint8).reshape(frame.height, frame.width, 4)
                    top = rgba[: frame.height // 4, :, :3].reshape(-1, 3).mean(axis=0)
                    bottom = rgba[-(frame.height // 4):, :, :3].reshape(-1, 3).mean(axis=0)
                    if classify(top) >= 0 and classify(bottom) >= 0:
                        return (frame.width, frame.height), PROGRAM[classify(top)], PROGRAM[classify(bottom)]
                raise AssertionError("the stream ended")

            size, top, bottom = await asyncio.wait_for(upright(), PROGRAM_TIMEOUT)
            assert size == (HEIGHT, WIDTH) and (top, bottom) == (RED, BLUE)
        finally:
            await stream.aclose()
    finally:
        stop.set()
        await drawing
        await peer.disconnect()
        await ours.disconnect()
