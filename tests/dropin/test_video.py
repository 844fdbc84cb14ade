"""Video through the official SDK's own objects: rtc.VideoSource, LocalVideoTrack,
publish_track with a video codec, rtc.VideoStream, VideoFrame.convert and the track events,
whichever library is loaded. Alice paints solid colours with a moving white bar; Bob reads
the colour in the middle of each picture he receives."""

import asyncio

import numpy as np
import pytest
from livekit import rtc

from conftest import EVENT_TIMEOUT, expect, mode
from video_tools import (
    COLOURS,
    HEIGHT,
    WIDTH,
    Painter,
    centre_colour,
    name_of,
    picture,
    publish_camera,
    runs,
    watch,
)

CODECS = {"vp8": (rtc.VideoCodec.VP8, "video/vp8"), "h264": (rtc.VideoCodec.H264, "video/h264")}


def from_alice(track, publication, participant):
    return participant.identity == "alice" and track.kind == rtc.TrackKind.KIND_VIDEO


@pytest.mark.parametrize("codec", ["vp8", "h264"])
async def test_colours_arrive_in_order_at_the_published_size(pair, codec):
    alice, bob = pair
    codec_value, mime = CODECS[codec]
    subscribed = expect(bob, "track_subscribed", from_alice)
    local = expect(alice, "local_track_published")
    source, track, publication = await publish_camera(alice, codec_value)
    painter = Painter(source, "red")
    local_publication, local_track = await local.wait()
    assert local_publication is publication and local_track is track
    assert publication.kind == rtc.TrackKind.KIND_VIDEO

    remote_track, remote_publication, _ = await subscribed.wait()
    assert isinstance(remote_track, rtc.RemoteVideoTrack)
    assert remote_track.sid == publication.sid
    assert remote_track.name == "camera"
    assert remote_publication.kind == rtc.TrackKind.KIND_VIDEO
    assert remote_publication.source == rtc.TrackSource.SOURCE_CAMERA
    assert (remote_publication.width, remote_publication.height) == (WIDTH, HEIGHT)
    assert remote_publication.mime_type.lower() == mime

    stream = rtc.VideoStream(remote_track, format=rtc.VideoBufferType.RGBA)
    # Red until Bob decodes it, then green, blue, red, green, blue at one second each.
    await watch(stream, lambda seen: "red" in runs(seen))
    cycle = ["green", "blue", "red", "green", "blue"]
    sequence = asyncio.create_task(painter.cycle(cycle, 1.0))
    seen = await watch(stream, lambda seen: runs(seen)[-5:] == cycle)
    await sequence
    order = runs(seen)
    assert order in (cycle, ["red", *cycle]), order  # the rest of the red, then nothing out of order
    sizes = {(width, height) for _, width, height in seen}
    assert sizes == {(WIDTH, HEIGHT)}, sizes
    await stream.aclose()
    await painter.stop()
    await source.aclose()


async def test_a_mute_stops_the_pictures_and_the_unmute_brings_them_back(pair):
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", from_alice)
    source, track, publication = await publish_camera(alice)
    painter = Painter(source, "green")
    remote_track, remote_publication, _ = await subscribed.wait()
    stream = rtc.VideoStream(remote_track, format=rtc.VideoBufferType.RGBA)
    await watch(stream, lambda seen: "green" in runs(seen))

    muted = expect(bob, "track_muted", lambda participant, pub: pub.sid == publication.sid)
    local_muted = expect(alice, "track_muted", lambda participant, pub: pub.sid == publication.sid)
    track.mute()
    await muted.wait()
    await local_muted.wait()
    assert remote_publication.muted

    unmuted = expect(bob, "track_unmuted", lambda participant, pub: pub.sid == publication.sid)
    painter.colour = "blue"
    track.unmute()
    await unmuted.wait()
    assert not remote_publication.muted
    await watch(stream, lambda seen: "blue" in runs(seen))
    await stream.aclose()
    await painter.stop()
    await source.aclose()


async def test_a_late_joiner_sees_the_pictures_through_a_stream_from_the_participant(join):
    alice = await join("alice")
    source, _, publication = await publish_camera(alice)
    painter = Painter(source, "blue")
    bob = rtc.Room()
    subscribed = expect(bob, "track_subscribed", from_alice)
    await join("bob", room=bob)
    track, remote_publication, participant = await subscribed.wait()
    assert remote_publication.sid == publication.sid
    assert (remote_publication.width, remote_publication.height) == (WIDTH, HEIGHT)
    stream = rtc.VideoStream.from_participant(
        participant=participant, track_source=rtc.TrackSource.SOURCE_CAMERA, format=rtc.VideoBufferType.RGBA
    )
    seen = await watch(stream, lambda seen: "blue" in runs(seen))
    assert seen[-1][1:] == (WIDTH, HEIGHT)

    await painter.stop()
    # Ours ends a stream from a participant when the client drops it (eos, so aclose()
    # returns); the shipped library sends no eos for it, neither then nor when the participant
    # leaves (seen with 0.13.2), so aclose() would wait forever there.
    if mode() == "ours":
        await asyncio.wait_for(stream.aclose(), EVENT_TIMEOUT)
    await source.aclose()


async def test_unpublishing_ends_the_stream_and_is_seen_by_the_other_side(pair):
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", from_alice)
    source, track, publication = await publish_camera(alice)
    painter = Painter(source, "red")
    remote_track, _, _ = await subscribed.wait()
    stream = rtc.VideoStream(remote_track)  # the library's own format (I420 for both)
    first = await asyncio.wait_for(stream.__anext__(), EVENT_TIMEOUT)
    assert first.frame.type == rtc.VideoBufferType.I420
    assert name_of(centre_colour(first.frame.convert(rtc.VideoBufferType.RGBA))) in (None, "red")

    unsubscribed = expect(bob, "track_unsubscribed", from_alice)
    unpublished = expect(bob, "track_unpublished", lambda pub, participant: pub.sid == publication.sid)
    local = expect(alice, "local_track_unpublished")
    await alice.local_participant.unpublish_track(publication.sid)
    await unsubscribed.wait()
    await unpublished.wait()
    await local.wait()

    # Ours ends the stream (eos) when its track goes away; the shipped library (0.13.2) sends
    # no eos then: its stream only ends when the client drops it.
    # The SDK's VideoStream (1.2.1) ends its reading task on eos but, unlike its AudioStream,
    # does not wake an `__anext__` already waiting for a picture: iterating to the end hangs
    # whenever the eos comes after the last picture was taken (seen in CI on a loaded machine).
    # So the eos is awaited on that task, and the iteration then ends at once.
    if mode() == "ours":
        await asyncio.wait_for(asyncio.shield(stream._task), EVENT_TIMEOUT)
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
    await asyncio.wait_for(stream.aclose(), EVENT_TIMEOUT)
    await painter.stop()
    await source.aclose()


async def test_asking_for_a_quality_keeps_the_pictures_coming(pair):
    """`set_video_quality` is all the SDK exposes of the subscriber's settings (no
    set_enabled, no dimensions); it needs a simulcasted publication."""
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", from_alice)
    source, _, _ = await publish_camera(alice, simulcast=True)
    painter = Painter(source, "green")
    remote_track, remote_publication, _ = await subscribed.wait()
    stream = rtc.VideoStream(remote_track, format=rtc.VideoBufferType.RGBA)
    await watch(stream, lambda seen: "green" in runs(seen))
    if remote_publication.simulcasted:
        remote_publication.set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_LOW)
    else:
        with pytest.raises(ValueError, match="simulcasted"):
            remote_publication.set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_LOW)
    painter.colour = "red"
    await watch(stream, lambda seen: "red" in runs(seen))
    await stream.aclose()
    await painter.stop()
    await source.aclose()


# --- VideoFrame.convert (no room needed, but the library must be loaded) -----------------------

ORANGE = (200, 100, 50)
# Where red, green and blue sit in each packed format's four (or three) bytes.
PACKED = {
    rtc.VideoBufferType.RGBA: (0, 1, 2),
    rtc.VideoBufferType.BGRA: (2, 1, 0),
    rtc.VideoBufferType.ARGB: (1, 2, 3),
    rtc.VideoBufferType.ABGR: (3, 2, 1),
    rtc.VideoBufferType.RGB24: (0, 1, 2),
}


def rgb_of(frame):
    """The mean colour of a packed frame, read by the format's byte order."""
    size = 3 if frame.type == rtc.VideoBufferType.RGB24 else 4
    pixels = np.frombuffer(bytes(frame.data), dtype=np.uint8).reshape(-1, size).astype(np.float64)
    return tuple(pixels[:, i].mean() for i in PACKED[frame.type])


def close(a, b, tolerance=8):
    return max(abs(x - y) for x, y in zip(a, b)) <= tolerance


async def test_convert_keeps_a_colour_in_every_format(join):
    """The conversions the shipped library offers (RGBA and BGRA either way, either to I420,
    I420 to every packed format); ours offers every pair, which `ours_only` adds."""
    await join("alice")  # the library is loaded and initialized
    original = rtc.VideoFrame(64, 48, rtc.VideoBufferType.RGBA, bytes([*ORANGE, 255]) * (64 * 48))
    bgra = original.convert(rtc.VideoBufferType.BGRA)
    assert bytes(bgra.data[:4]) == bytes([ORANGE[2], ORANGE[1], ORANGE[0], 255])
    assert close(rgb_of(bgra.convert(rtc.VideoBufferType.RGBA)), ORANGE)
    for start in (original, bgra):
        i420 = start.convert(rtc.VideoBufferType.I420)
        assert (i420.width, i420.height, i420.type) == (64, 48, rtc.VideoBufferType.I420)
        assert len(i420.data) == 64 * 48 * 3 // 2
        for packed in PACKED:
            converted = i420.convert(packed)
            assert (converted.width, converted.height, converted.type) == (64, 48, packed)
            assert close(rgb_of(converted), ORANGE), (rtc.VideoBufferType.Name(packed), rgb_of(converted))
    if mode() == "ours":
        nv12 = original.convert(rtc.VideoBufferType.NV12)
        assert len(nv12.data) == 64 * 48 * 3 // 2
        for packed in PACKED:
            assert close(rgb_of(nv12.convert(packed)), ORANGE), rtc.VideoBufferType.Name(packed)


async def test_convert_flips_upside_down(join):
    await join("alice")
    pixels = np.zeros((48, 64, 4), dtype=np.uint8)
    pixels[:24] = (*COLOURS["red"], 255)
    pixels[24:] = (*COLOURS["blue"], 255)
    frame = rtc.VideoFrame(64, 48, rtc.VideoBufferType.RGBA, pixels.tobytes())
    flipped = frame.convert(rtc.VideoBufferType.BGRA, flip_y=True)
    rows = np.frombuffer(bytes(flipped.data), dtype=np.uint8).reshape(48, 64, 4)
    assert close(tuple(rows[0, 0, [2, 1, 0]]), COLOURS["blue"]), rows[0, 0]
    assert close(tuple(rows[47, 0, [2, 1, 0]]), COLOURS["red"]), rows[47, 0]


async def test_convert_of_an_i420_picture_honours_its_planes(join):
    """A frame the SDK builds as I420 (three planes described by components) converts to RGBA
    with its colour: Y=81, U=90, V=240 is red in BT.601 limited range."""
    await join("alice")
    width, height = 32, 16
    y = bytes([81]) * (width * height)
    u = bytes([90]) * (width // 2 * height // 2)
    v = bytes([240]) * (width // 2 * height // 2)
    frame = rtc.VideoFrame(width, height, rtc.VideoBufferType.I420, y + u + v)
    rgba = frame.convert(rtc.VideoBufferType.RGBA)
    assert close(rgb_of(rgba), COLOURS["red"], tolerance=12), rgb_of(rgba)
