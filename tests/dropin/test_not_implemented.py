"""Requests livekit-core does not implement yet (tracks, audio, stats) fail with an error that
names them, never a crash or a hang. With the official library the same calls work."""

import logging

import pytest
from livekit import rtc

from conftest import mode


async def test_creating_an_audio_source(join, caplog):
    await join("alice")  # the library is loaded and initialized
    caplog.set_level(logging.ERROR, logger="livekit")
    if mode() == "official":
        source = rtc.AudioSource(48000, 1)
        assert source.sample_rate == 48000
        return
    with pytest.raises(AssertionError):
        rtc.AudioSource(48000, 1)
    messages = [record.getMessage() for record in caplog.records]
    assert any("new_audio_source" in m and "not implemented by livekit-core" in m for m in messages), messages


async def test_rtc_stats(join):
    alice = await join("alice")
    if mode() == "official":
        stats = await alice.get_rtc_stats()
        assert stats.publisher_stats is not None
        return
    with pytest.raises(RuntimeError, match="get_session_stats is not implemented by livekit-core"):
        await alice.get_rtc_stats()
