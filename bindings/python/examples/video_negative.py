"""Video negative: joins a room, subscribes to the first video track it gets and publishes it
back as a colour negative (its own camera track, at the size it receives). Pure Python, no
numpy. Run a local server (`livekit-server --dev`) and:

    python examples/video_negative.py --url ws://127.0.0.1:7880 --room demo

then share a camera into `demo` from any LiveKit client and see the negative. The token is made
here from --api-key/--api-secret (the dev server's `devkey`/`secret` by default, or
LIVEKIT_API_KEY / LIVEKIT_API_SECRET); --token takes one made elsewhere. Stops after
--duration seconds (0: never) or when the room closes."""

import argparse
import asyncio
import os

from livekit_core import api, rtc

INVERT = bytes(255 - value for value in range(256))


async def negative(room: rtc.Room, stream: rtc.VideoStream, name: str) -> None:
    """Every picture of the stream, inverted, into a track published at the first picture's
    size. RGB24 has no alpha, so inverting every byte inverts the colour."""
    source = None
    async for event in stream:
        frame = event.frame
        if source is None:
            source = rtc.VideoSource(frame.width, frame.height)
            track = rtc.LocalVideoTrack.create_video_track("negative", source)
            options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA, video_codec=rtc.VideoCodec.VP8)
            publication = await room.local_participant.publish_track(track, options)
            print(f"negative: publishing {publication.sid} ({frame.width}x{frame.height}) from {name}", flush=True)
        # frame.data views the bytearray the stream filled: translate makes the one new copy.
        inverted = frame.data.obj.translate(INVERT)
        source.capture_frame(rtc.VideoFrame(frame.width, frame.height, rtc.VideoBufferType.RGB24, inverted))


async def run(args: argparse.Namespace) -> None:
    token = args.token or (
        api.AccessToken(args.api_key, args.api_secret)
        .with_identity(args.identity)
        .with_grants(api.VideoGrants(room_join=True, room=args.room, can_publish=True, can_subscribe=True))
        .to_jwt()
    )
    room = rtc.Room()
    running = {}
    closed = asyncio.Event()

    @room.on("track_subscribed")
    def on_track(track: rtc.Track, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant):
        if track.kind != rtc.TrackKind.KIND_VIDEO or running:
            return  # one picture at a time
        stream = rtc.VideoStream(track, format=rtc.VideoBufferType.RGB24)
        name = f"{participant.identity}'s {publication.name!r}"
        running[track.sid] = (stream, asyncio.ensure_future(negative(room, stream, name)))

    room.on("disconnected", lambda reason: closed.set())

    await room.connect(args.url, token)
    print(f"negative: joined {room.name} as {room.local_participant.identity}", flush=True)
    try:
        await asyncio.wait_for(closed.wait(), args.duration or None)
    except asyncio.TimeoutError:
        pass
    for stream, task in running.values():
        await stream.aclose()
        await task
    await room.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("LIVEKIT_URL", "ws://127.0.0.1:7880"))
    parser.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY", "devkey"))
    parser.add_argument("--api-secret", default=os.environ.get("LIVEKIT_API_SECRET", "secret"))
    parser.add_argument("--token", help="a token made elsewhere (then the key and secret are unused)")
    parser.add_argument("--room", default="negative")
    parser.add_argument("--identity", default="negative")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run; 0 runs until the room closes")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
