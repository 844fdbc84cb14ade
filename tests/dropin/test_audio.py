"""Audio through the official SDK's own objects: rtc.AudioSource, LocalAudioTrack,
publish_track, rtc.AudioStream and the track events, whichever library is loaded."""

import asyncio

import numpy as np
from livekit import rtc

from audio_tools import (
    RATE,
    dominant_frequency,
    loud_part,
    play,
    publish_microphone,
    record_sound,
    rms,
    silence,
    tone,
    tone_sequence,
)
from conftest import EVENT_TIMEOUT, expect


def subscribed_to(identity):
    return lambda track, publication, participant: participant.identity == identity


async def test_a_published_microphone_is_seen_subscribed(pair):
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", subscribed_to("alice"))
    published = expect(bob, "track_published", lambda publication, participant: participant.identity == "alice")
    local = expect(alice, "local_track_published")
    source, track, publication = await publish_microphone(alice)
    assert publication.sid.startswith("TR_")
    assert track.sid == publication.sid
    assert alice.local_participant.track_publications[publication.sid] is publication
    local_publication, local_track = await local.wait()
    assert local_publication is publication and local_track is track

    remote_publication, _ = await published.wait()
    remote_track, subscribed_publication, participant = await subscribed.wait()
    assert isinstance(remote_track, rtc.RemoteAudioTrack)
    assert remote_track.sid == publication.sid
    assert remote_track.name == "microphone"
    assert remote_track.stream_state == rtc.StreamState.STATE_ACTIVE
    assert subscribed_publication is remote_publication
    assert subscribed_publication.subscribed
    assert subscribed_publication.kind == rtc.TrackKind.KIND_AUDIO
    assert subscribed_publication.source == rtc.TrackSource.SOURCE_MICROPHONE
    assert participant.track_publications[publication.sid] is subscribed_publication
    await source.aclose()


async def test_a_440_hz_sine_arrives_with_its_frequency_and_energy(pair):
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", subscribed_to("alice"))
    source, _, _ = await publish_microphone(alice)
    track, _, _ = await subscribed.wait()
    stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
    sent = tone(440, 1.0)
    recording = asyncio.create_task(record_sound(stream, min_loud_seconds=0.8))
    await play(source, np.concatenate([sent, silence(0.3)]))
    received = loud_part(await recording)

    assert abs(len(received) / RATE - 1.0) < 0.15, f"{len(received) / RATE:.3f} s of sound"
    middle = received[len(received) // 4 : 3 * len(received) // 4]
    assert abs(dominant_frequency(middle) - 440) < 5
    ratio_db = 20 * np.log10(rms(middle) / rms(sent))
    assert abs(ratio_db) < 3, f"energy changed by {ratio_db:.1f} dB"
    await stream.aclose()
    await source.aclose()


async def test_five_tones_arrive_in_order(pair):
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", subscribed_to("alice"))
    source, _, _ = await publish_microphone(alice)
    track, _, _ = await subscribed.wait()
    stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
    frequencies = [300, 500, 700, 900, 1100]
    sent = np.concatenate([tone(f, 0.25) for f in frequencies] + [silence(0.3)])
    recording = asyncio.create_task(record_sound(stream, min_loud_seconds=1.1))
    await play(source, sent)
    heard = tone_sequence(loud_part(await recording))
    assert len(heard) == len(frequencies), heard
    assert all(abs(h - f) <= 20 for h, f in zip(heard, frequencies)), heard
    await stream.aclose()
    await source.aclose()


async def test_a_stream_from_the_participant_follows_its_microphone_until_it_leaves(pair):
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", subscribed_to("alice"))
    source, _, _ = await publish_microphone(alice)
    await subscribed.wait()
    stream = rtc.AudioStream.from_participant(
        participant=bob.remote_participants["alice"],
        track_source=rtc.TrackSource.SOURCE_MICROPHONE,
        sample_rate=24000,
        num_channels=1,
    )
    first = await asyncio.wait_for(stream.__anext__(), EVENT_TIMEOUT)
    assert (first.frame.sample_rate, first.frame.num_channels) == (24000, 1)

    async def until_the_end():
        async for _ in stream:
            pass

    # Alice leaves: her stream ends, and both sides hear of the end of her track first.
    unsubscribed = expect(bob, "track_unsubscribed", subscribed_to("alice"))
    unpublished = expect(bob, "track_unpublished", lambda pub, participant: participant.identity == "alice")
    local = expect(alice, "local_track_unpublished")
    await alice.disconnect()
    await asyncio.wait_for(until_the_end(), EVENT_TIMEOUT)
    await unsubscribed.wait()
    await unpublished.wait()
    await local.wait()
    await stream.aclose()
    await source.aclose()


async def test_mute_unmute_and_unpublish_are_seen_by_the_other_side(pair):
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", subscribed_to("alice"))
    source, track, publication = await publish_microphone(alice)
    _, remote_publication, _ = await subscribed.wait()

    muted = expect(bob, "track_muted", lambda participant, pub: pub.sid == publication.sid)
    track.mute()
    participant, seen = await muted.wait()
    assert participant.identity == "alice" and seen is remote_publication and seen.muted

    unmuted = expect(bob, "track_unmuted", lambda participant, pub: pub.sid == publication.sid)
    track.unmute()
    await unmuted.wait()
    assert not remote_publication.muted

    unpublished = expect(bob, "track_unpublished", lambda pub, participant: pub.sid == publication.sid)
    local = expect(alice, "local_track_unpublished", lambda pub: pub.sid == publication.sid)
    await alice.local_participant.unpublish_track(publication.sid)
    await local.wait()
    assert publication.sid not in alice.local_participant.track_publications
    await unpublished.wait()
    assert publication.sid not in bob.remote_participants["alice"].track_publications
    await source.aclose()


async def test_a_speaking_participant_is_an_active_speaker_with_a_quality_score(pair):
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", subscribed_to("alice"))
    source, _, _ = await publish_microphone(alice)
    await subscribed.wait()
    speaking = expect(bob, "active_speakers_changed", lambda speakers: any(s.identity == "alice" for s in speakers))
    scored = expect(bob, "connection_quality_changed", lambda participant, quality: participant.identity == "alice")
    own_score = expect(alice, "connection_quality_changed", lambda participant, quality: participant.identity == "alice")

    async def talk():
        while True:
            await play(source, tone(440, 0.5))

    talking = asyncio.create_task(talk())
    try:
        (speakers,) = await speaking.wait()
        participant, quality = await scored.wait()
        _, own_quality = await own_score.wait()
    finally:
        talking.cancel()
    assert speakers[0].identity == "alice"
    good = (rtc.ConnectionQuality.QUALITY_GOOD, rtc.ConnectionQuality.QUALITY_EXCELLENT)
    assert quality in good and own_quality in good, (quality, own_quality)
    assert participant.connection_quality == quality
    await source.aclose()


async def test_a_late_joiner_sees_the_existing_track(join):
    alice = await join("alice")
    source, _, publication = await publish_microphone(alice)
    bob = rtc.Room()
    subscribed = expect(bob, "track_subscribed", subscribed_to("alice"))
    await bob_joins(join, bob)
    publications = bob.remote_participants["alice"].track_publications
    assert list(publications) == [publication.sid]
    assert publications[publication.sid].kind == rtc.TrackKind.KIND_AUDIO
    track, seen, _ = await subscribed.wait()
    assert seen is publications[publication.sid] and track.sid == publication.sid
    await source.aclose()


async def bob_joins(join, room, options=None):
    """Connects an rtc.Room created by the test (to listen before the connect) as Bob."""
    await join("bob", room=room, options=options)


async def test_manual_subscription(join):
    alice = await join("alice")
    bob = rtc.Room()
    await bob_joins(join, bob, rtc.RoomOptions(auto_subscribe=False))
    published = expect(bob, "track_published", lambda pub, participant: participant.identity == "alice")
    source, _, publication = await publish_microphone(alice)
    remote_publication, _ = await published.wait()
    assert not remote_publication.subscribed

    subscribed = expect(bob, "track_subscribed", subscribed_to("alice"))
    remote_publication.set_subscribed(True)
    track, _, _ = await subscribed.wait()
    assert track.sid == publication.sid and remote_publication.subscribed

    unsubscribed = expect(bob, "track_unsubscribed", subscribed_to("alice"))
    remote_publication.set_subscribed(False)
    await unsubscribed.wait()
    assert not remote_publication.subscribed and remote_publication.track is None
    await source.aclose()


async def test_subscription_permissions(pair):
    alice, bob = pair
    # Nobody may subscribe: Bob sees the track published but gets it only once allowed.
    alice.local_participant.set_track_subscription_permissions(allow_all_participants=False)
    granted = False
    subscribed = expect(bob, "track_subscribed", subscribed_to("alice"))
    subscribed_when_granted = []
    bob.on("track_subscribed", lambda *args: subscribed_when_granted.append(granted))
    published = expect(bob, "track_published", lambda pub, participant: participant.identity == "alice")
    source, _, publication = await publish_microphone(alice)
    remote_publication, _ = await published.wait()
    # Give a subscription that was wrongly allowed the time to arrive (it comes within
    # milliseconds of track_published): a round trip through the server.
    await alice.local_participant.set_metadata("before the grant")

    allow_bob = rtc.ParticipantTrackPermission(participant_identity="bob", allow_all=True)
    granted = True
    alice.local_participant.set_track_subscription_permissions(
        allow_all_participants=False, participant_permissions=[allow_bob]
    )
    track, _, _ = await subscribed.wait()
    assert track.sid == publication.sid and remote_publication.subscribed
    assert subscribed_when_granted[0], "Bob got the track before Alice allowed him"
    await source.aclose()
