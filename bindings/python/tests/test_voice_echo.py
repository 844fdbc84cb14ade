"""examples/voice_echo.py against the server: the official SDK speaks a tone and hears it back."""

import asyncio
import sys
from pathlib import Path

from conftest import EVENT_TIMEOUT, connect_official
from test_audio import RATE, assert_tone, collect_tone, play_tone

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "voice_echo.py"


async def test_voice_echo_plays_back_what_it_hears(server, room_name):
    from livekit import rtc as official

    echo = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--url", server.url, "--api-key", server.api_key,
        "--api-secret", server.api_secret, "--room", room_name, "--identity", "echo", "--duration", "30",
        stdout=asyncio.subprocess.PIPE)
    try:
        line = await asyncio.wait_for(echo.stdout.readline(), EVENT_TIMEOUT)
        assert line.startswith(b"echo: joined"), line

        peer = await connect_official(server, "speaker", room_name)
        heard = asyncio.get_running_loop().create_future()

        def on_subscribed(track, publication, participant):
            if participant.identity == "echo" and not heard.done():
                heard.set_result(track)

        peer.on("track_subscribed", on_subscribed)
        source = official.AudioSource(RATE, 1)
        track = official.LocalAudioTrack.create_audio_track("voice", source)
        await peer.local_participant.publish_track(
            track, official.TrackPublishOptions(source=official.TrackSource.SOURCE_MICROPHONE))
        stop = asyncio.Event()
        player = asyncio.ensure_future(play_tone(source, official.AudioFrame, stop))

        echoed = await asyncio.wait_for(heard, EVENT_TIMEOUT)
        stream = official.AudioStream(echoed, sample_rate=RATE, num_channels=1)
        assert_tone(await asyncio.wait_for(collect_tone(stream), EVENT_TIMEOUT))
        line = await asyncio.wait_for(echo.stdout.readline(), EVENT_TIMEOUT)
        assert line.startswith(b"echo: echoing speaker's 'voice'"), line
        stop.set()
        await player
        await stream.aclose()
        await peer.disconnect()
    finally:
        if echo.returncode is None:
            echo.terminate()
        await echo.wait()
