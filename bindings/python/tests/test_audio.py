"""Audio both ways with the official SDK as the peer: tones with their frequency checked,
publications and their events, mute, unpublish, active speakers; and AudioFrame itself."""

import asyncio
import math

import numpy as np
import pytest
from conftest import EVENT_TIMEOUT, Events, pair

from livekit_core import rtc

RATE = 48000
TONE_HZ = 440.0


def tone_frame(make_frame, start: int, samples: int, freq: float = TONE_HZ):
    t = (np.arange(start, start + samples) / RATE).astype(np.float64)
    pcm = (0.4 * 32767 * np.sin(2 * math.pi * freq * t)).astype(np.int16)
    return make_frame(pcm.tobytes(), RATE, 1, samples)


async def play_tone(source, make_frame, stop: asyncio.Event, freq: float = TONE_HZ) -> None:
    """Captures 10 ms frames of a sine until `stop` is set (capture_frame paces in real time)."""
    position = 0
    while not stop.is_set():
        await source.capture_frame(tone_frame(make_frame, position, RATE // 100, freq))
        position += RATE // 100


async def collect_tone(frames, seconds: float = 0.6, rate: int = RATE, channels: int = 1) -> np.ndarray:
    """Samples (interleaved) from an async iterator of frame events, from the first loud frame on."""
    collected = []
    needed = int(rate * seconds) * channels
    async for event in frames:
        pcm = np.frombuffer(event.frame.data, dtype=np.int16)
        assert (event.frame.sample_rate, event.frame.num_channels) == (rate, channels)
        assert len(pcm) == event.frame.samples_per_channel * channels
        if not collected and np.abs(pcm).max() < 1000:
            continue  # silence before the tone arrives
        collected.append(pcm)
        if sum(len(c) for c in collected) >= needed:
            break
    return np.concatenate(collected)


def dominant_frequency(pcm: np.ndarray, rate: int = RATE) -> float:
    pcm = pcm[len(pcm) // 4:].astype(np.float64)  # skip the decoder's start
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[int(np.argmax(spectrum))])


def assert_tone(pcm: np.ndarray, rate: int = RATE) -> None:
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
    assert rms > 2000, f"the tone came through too quiet (rms {rms:.0f})"
    freq = dominant_frequency(pcm, rate)
    assert abs(freq - TONE_HZ) < 5, f"heard {freq:.1f} Hz, expected {TONE_HZ} Hz"


def test_audio_frame_buffer_protocol_and_numpy():
    frame = rtc.AudioFrame.create(RATE, 2, 480)
    assert (frame.sample_rate, frame.num_channels, frame.samples_per_channel) == (RATE, 2, 480)
    assert frame.duration == pytest.approx(0.01)
    view = frame.data
    assert (view.format, view.itemsize, len(view)) == ("h", 2, 960)
    samples = np.frombuffer(frame.data, dtype=np.int16)
    assert samples.shape == (960,) and not samples.any()
    view[3] = -1234  # writable: fills the frame in place
    assert np.frombuffer(frame.data, dtype=np.int16)[3] == -1234
    from_numpy = rtc.AudioFrame(np.arange(160, dtype=np.int16).tobytes(), 16000, 1, 160)
    assert list(from_numpy.data[:3]) == [0, 1, 2] and from_numpy.data.readonly
    buffer = bytearray(320)
    shared = rtc.AudioFrame(memoryview(buffer), 16000, 1, 160)
    shared.data[0] = 7  # a view of a whole bytearray is kept, not copied
    assert buffer[:2] == (7).to_bytes(2, "little" if np.little_endian else "big")
    array = np.arange(320, dtype=np.int16)
    assert list(rtc.AudioFrame(memoryview(array), 16000, 2, 160).data[:2]) == [0, 1]
    with pytest.raises(ValueError):
        rtc.AudioFrame(b"\0" * 10, RATE, 1, 480)


async def test_capture_errors_are_the_package_errors():
    source = rtc.AudioSource(RATE, 1, queue_size_ms=1000)
    with pytest.raises(rtc.InvalidArgumentError):
        await source.capture_frame(rtc.AudioFrame.create(16000, 1, 160))  # not the source's rate
    with pytest.raises(rtc.InvalidArgumentError):
        rtc.AudioSource(44111, 1)  # no whole 10 ms chunks
    with pytest.raises(rtc.InvalidArgumentError):  # frames are at most 1 s
        await source.capture_frame(rtc.AudioFrame.create(RATE, 1, RATE + 480))
    await source.capture_frame(rtc.AudioFrame.create(RATE, 1, RATE // 2))  # under the queue size: at once
    assert 0.3 < source.queued_duration <= 0.5
    source.clear_queue()
    assert source.queued_duration == 0
    await source.wait_for_playout()
    await source.aclose()
    with pytest.raises(rtc.InvalidArgumentError):
        await source.capture_frame(rtc.AudioFrame.create(RATE, 1, 480))


async def test_our_tone_is_heard_by_the_official_sdk(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    local = Events(ours, "local_track_published")
    heard = asyncio.get_running_loop().create_future()

    def on_subscribed(track, publication, participant):
        if not heard.done():
            heard.set_result((track, publication, participant))

    peer.on("track_subscribed", on_subscribed)
    source = rtc.AudioSource(RATE, 1, queue_size_ms=100)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    stop = asyncio.Event()
    player = asyncio.ensure_future(play_tone(source, rtc.AudioFrame, stop))
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE, dtx=True, red=True)
    publication = await ours.local_participant.publish_track(track, options)
    assert publication.sid.startswith("TR_") and track.sid == publication.sid
    assert (publication.name, publication.kind, publication.source) == (
        "tone", rtc.TrackKind.KIND_AUDIO, rtc.TrackSource.SOURCE_MICROPHONE)
    assert ours.local_participant.track_publications == {publication.sid: publication}
    published, published_track = await local.wait("local_track_published")
    assert published is publication and published_track is track

    remote_track, remote_pub, who = await asyncio.wait_for(heard, EVENT_TIMEOUT)
    assert (who.identity, remote_pub.sid, remote_pub.name) == ("ours", publication.sid, "tone")
    assert remote_pub.source == official.TrackSource.SOURCE_MICROPHONE
    stream = official.AudioStream(remote_track, sample_rate=RATE, num_channels=1)
    pcm = await asyncio.wait_for(collect_tone(stream), EVENT_TIMEOUT)
    assert_tone(pcm)
    stop.set()
    await player
    await stream.aclose()
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_official_tone_is_heard_by_us(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    events = Events(ours, "track_published", "track_subscribed")
    remote = ours.remote_participants["official"]
    # Opened before anything is published: waits for the participant's microphone; 16 kHz
    # stereo (resampled and upmixed by the core).
    waiting = rtc.AudioStream.from_participant(participant=remote, track_source=rtc.TrackSource.SOURCE_MICROPHONE,
                                               sample_rate=16000, num_channels=2)

    source = official.AudioSource(RATE, 1)
    track = official.LocalAudioTrack.create_audio_track("peer-tone", source)
    stop = asyncio.Event()
    player = asyncio.ensure_future(play_tone(source, official.AudioFrame, stop))
    options = official.TrackPublishOptions(source=official.TrackSource.SOURCE_MICROPHONE)
    peer_pub = await peer.local_participant.publish_track(track, options)

    publication, who = await events.wait("track_published")
    assert who is remote and publication.sid == peer_pub.sid
    assert (publication.name, publication.kind, publication.source) == (
        "peer-tone", rtc.TrackKind.KIND_AUDIO, rtc.TrackSource.SOURCE_MICROPHONE)
    subscribed, sub_pub, who = await events.wait("track_subscribed")
    assert isinstance(subscribed, rtc.RemoteAudioTrack) and who is remote and sub_pub is publication
    assert subscribed.sid == peer_pub.sid and subscribed.kind == rtc.TrackKind.KIND_AUDIO
    assert publication.subscribed and publication.track is subscribed
    assert remote.track_publications[publication.sid] is publication

    stream = rtc.AudioStream(subscribed, sample_rate=RATE, num_channels=1)
    assert_tone(await asyncio.wait_for(collect_tone(stream), EVENT_TIMEOUT))
    stereo = await asyncio.wait_for(collect_tone(waiting, 0.5, 16000, 2), EVENT_TIMEOUT)
    assert_tone(stereo[0::2], 16000)
    assert_tone(stereo[1::2], 16000)
    await stream.aclose()
    await waiting.aclose()
    async for _ in stream:
        raise AssertionError("a closed stream yields nothing")
    stop.set()
    await player
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_mute_unmute_and_unpublish_both_ways(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    mine = Events(ours, "track_muted", "track_unmuted", "track_subscribed", "track_unpublished",
                  "track_unsubscribed", "local_track_unpublished")
    theirs = Events(peer, "track_subscribed", "track_muted", "track_unmuted", "track_unpublished")

    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("ours", source)
    with pytest.raises(rtc.InvalidArgumentError):
        await ours.local_participant.publish_track(track, rtc.TrackPublishOptions(source=99))
    publication = await ours.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    with pytest.raises(rtc.InvalidArgumentError, match="already published"):
        await ours.local_participant.publish_track(track, rtc.TrackPublishOptions())
    await theirs.wait("track_subscribed")
    track.mute()
    assert track.muted
    who, pub = await theirs.wait("track_muted")
    assert (who.identity, pub.sid, pub.muted) == ("ours", publication.sid, True)
    who, pub = await mine.wait("track_muted")
    assert who is ours.local_participant and pub is publication and publication.muted
    track.unmute()
    who, pub = await theirs.wait("track_unmuted")
    assert (who.identity, pub.sid) == ("ours", publication.sid)
    await mine.wait("track_unmuted")

    peer_source = official.AudioSource(RATE, 1)
    peer_track = official.LocalAudioTrack.create_audio_track("theirs", peer_source)
    peer_pub = await peer.local_participant.publish_track(
        peer_track, official.TrackPublishOptions(source=official.TrackSource.SOURCE_MICROPHONE))
    _, remote_pub, remote = await mine.wait("track_subscribed")
    peer_track.mute()
    who, pub = await mine.wait("track_muted", lambda p, pub: pub.sid == peer_pub.sid)
    assert who is remote and pub is remote_pub and remote_pub.muted and remote_pub.track.muted
    peer_track.unmute()
    who, pub = await mine.wait("track_unmuted", lambda p, pub: pub.sid == peer_pub.sid)
    assert pub is remote_pub and not remote_pub.muted

    await ours.local_participant.unpublish_track(publication.sid)
    assert mine.seen["local_track_unpublished"] == [(publication,)], "the event comes before unpublish returns"
    assert ours.local_participant.track_publications == {} and track.sid == ""
    pub, who = await theirs.wait("track_unpublished")
    assert (pub.sid, who.identity) == (publication.sid, "ours")

    await peer.local_participant.unpublish_track(peer_pub.sid)
    track_gone, pub, who = await mine.wait("track_unsubscribed")
    assert pub is remote_pub and who is remote and track_gone.sid == peer_pub.sid
    pub, who = await mine.wait("track_unpublished")
    assert pub is remote_pub and remote.track_publications == {}
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_active_speakers_both_ways(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    mine = Events(ours, "active_speakers_changed")
    theirs = Events(peer, "active_speakers_changed")
    stop = asyncio.Event()

    peer_source = official.AudioSource(RATE, 1)
    peer_track = official.LocalAudioTrack.create_audio_track("voice", peer_source)
    await peer.local_participant.publish_track(
        peer_track, official.TrackPublishOptions(source=official.TrackSource.SOURCE_MICROPHONE))
    source = rtc.AudioSource(RATE, 1, queue_size_ms=100)
    track = rtc.LocalAudioTrack.create_audio_track("voice", source)
    await ours.local_participant.publish_track(track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    players = [asyncio.ensure_future(play_tone(peer_source, official.AudioFrame, stop)),
               asyncio.ensure_future(play_tone(source, rtc.AudioFrame, stop))]

    (speakers,) = await mine.wait("active_speakers_changed",
                                  lambda s: any(p.identity == "official" for p in s))
    remote = ours.remote_participants["official"]
    assert remote in speakers and remote.is_speaking and remote.audio_level > 0
    await theirs.wait("active_speakers_changed", lambda s: any(p.identity == "ours" for p in s))
    stop.set()
    await asyncio.gather(*players)
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def publish_official(peer, name: str = "mic"):
    from livekit import rtc as official

    source = official.AudioSource(RATE, 1)
    track = official.LocalAudioTrack.create_audio_track(name, source)
    options = official.TrackPublishOptions(source=official.TrackSource.SOURCE_MICROPHONE)
    return source, await peer.local_participant.publish_track(track, options)


async def test_manual_subscription(server, room_name):
    from conftest import connect_official, joined

    ours = rtc.Room()
    events = Events(ours, "track_published", "track_subscribed", "track_unsubscribed")
    await ours.connect(server.url, server.token("ours", room_name), rtc.RoomOptions(auto_subscribe=False))
    peer = await connect_official(server, "official", room_name)
    await joined([ours, peer], ["ours", "official"])
    _source, peer_pub = await publish_official(peer)
    publication, who = await events.wait("track_published")
    assert publication.sid == peer_pub.sid and not publication.subscribed and publication.track is None

    publication.set_subscribed(True)
    track, pub, _ = await events.wait("track_subscribed")
    assert pub is publication and publication.subscribed and track.sid == peer_pub.sid
    publication.set_subscribed(False)
    gone, pub, _ = await events.wait("track_unsubscribed")
    assert pub is publication and gone.sid == peer_pub.sid and not publication.subscribed
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_subscription_permissions_both_ways(server, room_name):
    ours, peer = await pair(server, room_name)
    mine = Events(ours, "track_subscribed", "track_unsubscribed", "track_subscription_permission_changed")
    theirs = Events(peer, "track_published", "track_subscribed", "participant_metadata_changed")

    _source, peer_pub = await publish_official(peer)
    await mine.wait("track_subscribed")
    peer.local_participant.set_track_subscription_permissions(allow_all_participants=False)
    who, pub, allowed = await mine.wait("track_subscription_permission_changed", lambda p, pub, a: not a)
    assert (who.identity, pub.sid) == ("official", peer_pub.sid)
    await mine.wait("track_unsubscribed")

    # Ours allows nobody, publishes, then allows the peer: it gets the track only then.
    ours.local_participant.set_track_subscription_permissions(allow_all_participants=False)
    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("ours", source)
    publication = await ours.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    await theirs.wait("track_published")
    # A round trip through the server gives a wrongly allowed subscription time to arrive.
    await ours.local_participant.set_metadata("before the grant")
    await theirs.wait("participant_metadata_changed")
    assert theirs.seen["track_subscribed"] == []
    ours.local_participant.set_track_subscription_permissions(
        allow_all_participants=False,
        participant_permissions=[rtc.ParticipantTrackPermission(participant_identity="official", allow_all=True)])
    got, pub, who = await theirs.wait("track_subscribed")
    assert (got.sid, pub.sid, who.identity) == (publication.sid, publication.sid, "ours")
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_connection_quality_of_a_publishing_peer(server, room_name):
    from conftest import connect_official, joined

    ours = rtc.Room()
    events = Events(ours, "connection_quality_changed", "track_subscribed")
    await ours.connect(server.url, server.token("ours", room_name))
    peer = await connect_official(server, "official", room_name)
    await joined([ours, peer], ["ours", "official"])
    _source, _ = await publish_official(peer)
    await events.wait("track_subscribed")
    # The server scores a participant when the score is new or changes.
    who, quality = await events.wait("connection_quality_changed", lambda p, q: p.identity == "official")
    assert who is ours.remote_participants["official"]
    assert quality == rtc.ConnectionQuality.QUALITY_EXCELLENT == who.connection_quality
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_our_stereo_tone_reaches_both_channels(server, room_name):
    from livekit import rtc as official

    ours, peer = await pair(server, room_name)
    heard = asyncio.get_running_loop().create_future()
    peer.on("track_subscribed", lambda track, *_: heard.done() or heard.set_result(track))
    source = rtc.AudioSource(RATE, 2, queue_size_ms=100)
    track = rtc.LocalAudioTrack.create_audio_track("stereo", source)
    stop = asyncio.Event()

    def stereo_frame(data: bytes, rate: int, channels: int, samples: int):
        mono = np.frombuffer(data, dtype=np.int16)
        return rtc.AudioFrame(np.repeat(mono, 2).tobytes(), rate, 2, samples)

    player = asyncio.ensure_future(play_tone(source, stereo_frame, stop))
    await ours.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE, stereo=True, dtx=False, red=False))
    remote_track = await asyncio.wait_for(heard, EVENT_TIMEOUT)
    stream = official.AudioStream(remote_track, sample_rate=RATE, num_channels=2)
    pcm = await asyncio.wait_for(collect_tone(stream, 0.5, RATE, 2), EVENT_TIMEOUT)
    assert_tone(pcm[0::2])
    assert_tone(pcm[1::2])
    stop.set()
    await player
    await stream.aclose()
    await asyncio.gather(peer.disconnect(), ours.disconnect())
