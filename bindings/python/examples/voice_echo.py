"""Voice echo: joins a room, subscribes to the audio in it and plays what it hears back as its
own microphone track (the first audio track it gets; one voice at a time, no mixing). Run a local server (`livekit-server --dev`) and:

    python examples/voice_echo.py --url ws://127.0.0.1:7880 --room demo

then join `demo` from any LiveKit client and hear yourself. The token is made here from
--api-key/--api-secret (the dev server's `devkey`/`secret` by default, or LIVEKIT_API_KEY /
LIVEKIT_API_SECRET); --token takes one made elsewhere. Stops after --duration seconds (0: never)
or when the room closes."""

import argparse
import asyncio
import os

from livekit_core import api, rtc

RATE = 48000
CHANNELS = 1


async def echo(stream: rtc.AudioStream, source: rtc.AudioSource) -> None:
    """Everything the stream hears goes out through our source (frames are already 10 ms at
    the source's rate, so no conversion is needed)."""
    async for event in stream:
        await source.capture_frame(event.frame)


async def run(args: argparse.Namespace) -> None:
    token = args.token or (
        api.AccessToken(args.api_key, args.api_secret)
        .with_identity(args.identity)
        .with_grants(api.VideoGrants(room_join=True, room=args.room, can_publish=True, can_subscribe=True))
        .to_jwt()
    )
    room = rtc.Room()
    source = rtc.AudioSource(RATE, CHANNELS, queue_size_ms=100)
    streams = {}
    closed = asyncio.Event()

    @room.on("track_subscribed")
    def on_track(track: rtc.Track, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant):
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        if streams:  # one voice at a time: two streams into one source would interleave
            print(f"echo: already echoing; ignoring {participant.identity}'s {publication.name!r}", flush=True)
            return
        print(f"echo: echoing {participant.identity}'s {publication.name!r}", flush=True)
        stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=CHANNELS)
        streams[track.sid] = (stream, asyncio.ensure_future(echo(stream, source)))

    @room.on("track_unsubscribed")
    def on_track_gone(track: rtc.Track, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant):
        entry = streams.pop(track.sid, None)
        if entry is not None:
            asyncio.ensure_future(entry[0].aclose())

    room.on("disconnected", lambda reason: closed.set())

    await room.connect(args.url, token)
    track = rtc.LocalAudioTrack.create_audio_track("echo", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    publication = await room.local_participant.publish_track(track, options)
    print(f"echo: joined {room.name} as {room.local_participant.identity}, publishing {publication.sid}", flush=True)
    try:
        await asyncio.wait_for(closed.wait(), args.duration or None)
    except asyncio.TimeoutError:
        pass
    for stream, task in streams.values():
        await stream.aclose()
        await task
    await source.aclose()
    await room.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("LIVEKIT_URL", "ws://127.0.0.1:7880"))
    parser.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY", "devkey"))
    parser.add_argument("--api-secret", default=os.environ.get("LIVEKIT_API_SECRET", "secret"))
    parser.add_argument("--token", help="a token made elsewhere (then the key and secret are unused)")
    parser.add_argument("--room", default="echo")
    parser.add_argument("--identity", default="echo")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run; 0 runs until the room closes")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
