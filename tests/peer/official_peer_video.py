"""Video commands of the official-SDK peer (see official_peer.py for the protocol).

publish_video   {name, width, height, source: camera|screen_share, codec: vp8|h264, fps,
                 colours: [[r, g, b, seconds], ...]}  -> {track_sid}
    Publishes a single-layer track and feeds it RGBA pictures: each colour for its seconds,
    the whole program repeated until the track is unpublished. A 16-pixel white bar moves
    down the picture so that every picture differs (as a camera's do).
start_video_recording {participant_identity, track_sid} -> {recording_id}
    Reads the track through rtc.VideoStream (RGBA) and keeps, per picture, its size and the
    mean colour of its centre quarter (where the moving bar counts little).
video_recording_frames {recording_id} -> {frames}
    What the recording holds so far, without stopping it (for waiting on a condition).
stop_video_recording {recording_id} -> {frames: [{t_ms, width, height, rgb: [r, g, b]}]}
"""

import asyncio
import logging
import time

import numpy as np
from livekit import rtc

from official_peer_media import text, int_arg, num

log = logging.getLogger("official_peer_video")

VIDEO_SOURCES = {
    "camera": rtc.TrackSource.SOURCE_CAMERA,
    "screen_share": rtc.TrackSource.SOURCE_SCREENSHARE,
}
CODECS = {"vp8": rtc.VideoCodec.VP8, "h264": rtc.VideoCodec.H264, "vp9": rtc.VideoCodec.VP9}


def colour_program(c):
    program = c.get("colours")
    if not isinstance(program, list) or not program:
        raise ValueError("colours must be a non-empty list of [r, g, b, seconds]")
    out = []
    for entry in program:
        if not isinstance(entry, list) or len(entry) != 4:
            raise ValueError("each colour is [r, g, b, seconds]")
        r, g, b, seconds = entry
        if not all(isinstance(v, int) and 0 <= v <= 255 for v in (r, g, b)) or seconds <= 0:
            raise ValueError("colour components are 0..255 and seconds positive")
        out.append(((r, g, b), float(seconds)))
    return out


class VideoFeeder:
    """Draws the colour program into a VideoSource at a steady frame rate."""

    def __init__(self, source, track, width, height, fps, program):
        self.source, self.track = source, track
        self.width, self.height, self.fps = width, height, fps
        self.program = program
        self.task = asyncio.create_task(self.run())

    def picture(self, colour, index):
        rgba = np.empty((self.height, self.width, 4), dtype=np.uint8)
        rgba[:, :, :3] = colour
        rgba[:, :, 3] = 255
        bar = (index * 4) % max(self.height - 16, 1)
        rgba[bar:bar + 16, :, :3] = 255
        return rtc.VideoFrame(self.width, self.height, rtc.VideoBufferType.RGBA, rgba.tobytes())

    async def run(self):
        interval = 1.0 / self.fps
        start = time.monotonic()
        index = 0
        total = sum(seconds for _, seconds in self.program)
        while True:
            elapsed = (index * interval) % total
            for colour, seconds in self.program:
                if elapsed < seconds:
                    break
                elapsed -= seconds
            self.source.capture_frame(self.picture(colour, index))
            index += 1
            await asyncio.sleep(max(0.0, start + index * interval - time.monotonic()))

    async def close(self):
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


class VideoRecording:
    def __init__(self, stream):
        self.stream = stream
        self.frames = []
        self.start = time.monotonic()
        self.task = asyncio.create_task(self.run())

    async def run(self):
        async for event in self.stream:
            frame = event.frame
            if frame.type != rtc.VideoBufferType.RGBA:
                frame = frame.convert(rtc.VideoBufferType.RGBA)
            w, h = frame.width, frame.height
            rgba = np.frombuffer(frame.data, dtype=np.uint8).reshape(h, w, 4)
            centre = rgba[h // 4: h - h // 4, w // 4: w - w // 4, :3]
            mean = centre.reshape(-1, 3).mean(axis=0)
            self.frames.append({"t_ms": round((time.monotonic() - self.start) * 1000),
                                "width": w, "height": h, "rgb": [round(float(v)) for v in mean]})

    async def stop(self):
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        await self.stream.aclose()
        return self.frames


class VideoCommands:
    def _init_video(self):
        self._video_feeders = {}  # track_sid -> VideoFeeder
        self._video_recordings = {}
        self._next_video_recording = 1

    async def _close_video(self):
        feeders, self._video_feeders = list(self._video_feeders.values()), {}
        recordings, self._video_recordings = list(self._video_recordings.values()), {}
        for item in feeders + recordings:
            try:
                await (item.close() if isinstance(item, VideoFeeder) else item.stop())
            except Exception:
                log.exception("closing video failed")

    async def cmd_publish_video(self, c):
        name = text(c, "name")
        width, height = int_arg(c, "width"), int_arg(c, "height")
        fps = num(c, "fps", 15, positive=True)
        source_name = c.get("source", "camera")
        codec = c.get("codec", "vp8")
        if source_name not in VIDEO_SOURCES or codec not in CODECS:
            raise ValueError(f"source in {sorted(VIDEO_SOURCES)}, codec in {sorted(CODECS)}")
        program = colour_program(c)
        source = rtc.VideoSource(width, height)
        track = rtc.LocalVideoTrack.create_video_track(name, source)
        options = rtc.TrackPublishOptions(source=VIDEO_SOURCES[source_name], simulcast=False,
                                          video_codec=CODECS[codec])
        pub = await self.room.local_participant.publish_track(track, options)
        self._video_feeders[pub.sid] = VideoFeeder(source, track, width, height, fps, program)
        return {"track_sid": pub.sid}

    async def cmd_start_video_recording(self, c):
        pub = await self._subscribed_publication(c)
        stream = rtc.VideoStream(pub.track, format=rtc.VideoBufferType.RGBA)
        rid = f"video{self._next_video_recording}"
        self._next_video_recording += 1
        self._video_recordings[rid] = VideoRecording(stream)
        return {"recording_id": rid}

    async def cmd_video_recording_frames(self, c):
        rid = text(c, "recording_id")
        recording = self._video_recordings.get(rid)
        if recording is None:
            raise ValueError(f"no video recording {rid!r}")
        return {"frames": list(recording.frames)}

    async def cmd_stop_video_recording(self, c):
        rid = text(c, "recording_id")
        recording = self._video_recordings.pop(rid, None)
        if recording is None:
            raise ValueError(f"no video recording {rid!r}")
        return {"frames": await recording.stop()}
