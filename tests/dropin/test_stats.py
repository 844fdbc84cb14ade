"""WebRTC statistics through the official SDK's own calls: `Track.get_stats()` on a local and
a remote track, `Room.get_rtc_stats()`; the packet counters must grow with the audio that went
through the server, whichever library is loaded."""

import asyncio

import numpy as np
from livekit import rtc

from audio_tools import RATE, loud_part, play, publish_microphone, record_sound, silence, tone
from conftest import expect


def entries(stats, kind):
    return [getattr(entry, kind) for entry in stats if entry.WhichOneof("stats") == kind]


async def test_track_and_session_stats_count_the_audio_sent_and_received(pair):
    alice, bob = pair
    subscribed = expect(bob, "track_subscribed", lambda track, publication, participant: participant.identity == "alice")
    source, local_track, _ = await publish_microphone(alice)
    remote_track, _, _ = await subscribed.wait()
    stream = rtc.AudioStream(remote_track, sample_rate=RATE, num_channels=1)
    recording = asyncio.create_task(record_sound(stream, min_loud_seconds=0.8))
    await play(source, np.concatenate([tone(440, 1.0), silence(0.3)]))
    assert len(loud_part(await recording)) >= 0.8 * RATE, "bob heard the second of tone"

    outbound = entries(await local_track.get_stats(), "outbound_rtp")
    inbound = entries(await remote_track.get_stats(), "inbound_rtp")
    assert [o.stream.kind for o in outbound] == ["audio"], outbound
    assert [i.stream.kind for i in inbound] == ["audio"], inbound
    # A second of 20 ms packets reached bob at least; alice sent at least as many.
    received = inbound[0].received.packets_received
    assert received >= 50 and inbound[0].inbound.bytes_received > 0, inbound[0]
    assert outbound[0].sent.packets_sent >= received and outbound[0].sent.bytes_sent > 0, outbound[0]
    assert outbound[0].rtc.id and outbound[0].rtc.timestamp > 0

    session = await alice.get_rtc_stats()
    everything = session.publisher_stats + session.subscriber_stats
    assert entries(everything, "outbound_rtp"), "the session has our audio stream"
    transports = entries(everything, "transport")
    assert transports and max(t.transport.bytes_sent for t in transports) > outbound[0].sent.bytes_sent, transports
    await stream.aclose()
    await source.aclose()
