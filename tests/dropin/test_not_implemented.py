"""Requests livekit-core does not implement yet (encoded video, stats, forcing ICE over TCP) fail
with an error that names them, never a crash or a hang. With the official library the same calls
work."""

import logging

import pytest
from livekit import rtc

from conftest import expect, mode


async def test_an_encoded_video_source(join, caplog):
    """Pre-encoded video (rtc.EncodedVideoSource): livekit-core encodes pictures itself."""
    await join("alice")  # the library is loaded and initialized
    caplog.set_level(logging.ERROR, logger="livekit")
    if mode() == "official":
        source = rtc.EncodedVideoSource(320, 240)
        assert source is not None
        return
    with pytest.raises(AssertionError):
        rtc.EncodedVideoSource(320, 240)
    messages = [record.getMessage() for record in caplog.records]
    assert any("VIDEO_SOURCE_ENCODED" in m and "not implemented by livekit-core" in m for m in messages), messages


async def test_platform_audio_says_it_is_not_available(join):
    await join("alice")
    if mode() == "official":
        # The shipped library opens the machine's devices, or says why it cannot.
        try:
            rtc.PlatformAudio()
        except rtc.PlatformAudioError:
            pass
        return
    with pytest.raises(rtc.PlatformAudioError, match="not available in livekit-core"):
        rtc.PlatformAudio()


async def test_simulating_a_switch_to_tcp(join):
    """SIMULATE_FORCE_TCP: the official library reconnects over TCP; livekit-core has no such
    switch, and says so without touching the connection."""
    alice = await join("alice")
    if mode() == "official":
        reconnected = expect(alice, "reconnected")
        await alice.simulate_scenario(rtc.SimulateScenarioKind.SIMULATE_FORCE_TCP)
        await reconnected.wait(30.0)
        return
    with pytest.raises(RuntimeError, match="SIMULATE_FORCE_TCP is not implemented by livekit-core"):
        await alice.simulate_scenario(rtc.SimulateScenarioKind.SIMULATE_FORCE_TCP)
    assert alice.connection_state == rtc.ConnectionState.CONN_CONNECTED
