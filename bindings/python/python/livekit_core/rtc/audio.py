"""Audio with the official SDK's shapes: AudioFrame, AudioSource, LocalAudioTrack,
RemoteAudioTrack, track publications, TrackPublishOptions and AudioStream; and the track
classes of video (LocalVideoTrack, RemoteVideoTrack; the rest is in video.py).

PCM is int16, interleaved. A frame's samples live in one bytearray: the native side copies a
frame once on its way in (capture_frame) and once on its way out (AudioStream), and
`AudioFrame.data` is a memoryview of int16 over that bytearray (numpy: `np.frombuffer(frame.data,
dtype=np.int16)`, no copy)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (1.7 MB)

from .. import _native
from ._record import Record
from .enums import TrackKind, TrackSource

if TYPE_CHECKING:
    from typing import Any, AsyncIterator, Dict, Optional, Union

    from .participant import Participant
    from .video import VideoSource

    LocalTrack = Union["LocalAudioTrack", "LocalVideoTrack"]
    RemoteTrack = Union["RemoteAudioTrack", "RemoteVideoTrack"]


class AudioFrame:
    """A frame of int16 PCM: `samples_per_channel` samples on each of `num_channels` channels,
    interleaved."""

    def __init__(
        self,
        data: Union[bytes, bytearray, memoryview],
        sample_rate: int,
        num_channels: int,
        samples_per_channel: int,
        *,
        userdata: Optional[Dict[str, Any]] = None,
    ) -> None:
        if isinstance(data, memoryview):
            # Kept without a copy when it views a whole bytes/bytearray; else copied once here
            # (the native side reads bytes and bytearrays only: the abi3 build has no buffer API).
            data = data.cast("B")
            whole = isinstance(data.obj, (bytes, bytearray)) and data.nbytes == len(data.obj)
            data = data.obj if whole else (bytes(data) if data.readonly else bytearray(data))
        elif not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"expected bytes, bytearray, or memoryview, got {type(data)}")
        if len(data) < num_channels * samples_per_channel * 2:
            raise ValueError("data length must be >= num_channels * samples_per_channel * sizeof(int16)")
        if len(data) % 2 != 0:
            raise ValueError("data length must be a multiple of sizeof(int16)")
        self._data = data
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._samples_per_channel = samples_per_channel
        self._userdata: Dict[str, Any] = userdata if userdata is not None else {}

    @staticmethod
    def create(sample_rate: int, num_channels: int, samples_per_channel: int) -> "AudioFrame":
        """A silent frame of that shape, to fill through `data`."""
        return AudioFrame(bytearray(num_channels * samples_per_channel * 2), sample_rate, num_channels,
                          samples_per_channel)

    @classmethod
    def _wrap(cls, native: tuple) -> "AudioFrame":
        # (bytearray, sample_rate, num_channels, samples_per_channel) from the native side.
        frame = cls.__new__(cls)
        frame._data, frame._sample_rate, frame._num_channels, frame._samples_per_channel = native
        frame._userdata = {}
        return frame

    @property
    def data(self) -> memoryview:
        """The samples as a memoryview of int16 (format "h"); writable unless the frame was made
        from `bytes`."""
        return memoryview(self._data).cast("h")

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        return self._num_channels

    @property
    def samples_per_channel(self) -> int:
        return self._samples_per_channel

    @property
    def duration(self) -> float:
        """Seconds."""
        return self._samples_per_channel / self._sample_rate

    @property
    def userdata(self) -> Dict[str, Any]:
        return self._userdata

    def __repr__(self) -> str:
        return (f"rtc.AudioFrame(sample_rate={self.sample_rate}, num_channels={self.num_channels}, "
                f"samples_per_channel={self.samples_per_channel}, duration={self.duration:.3f})")


class AudioSource:
    """Audio to publish. `capture_frame` queues a frame (of this rate and channel count, up to
    1 s) and returns once at most `queue_size_ms` is queued; the queue is sent in 10 ms chunks
    in real time, silence when it runs dry."""

    def __init__(self, sample_rate: int, num_channels: int, queue_size_ms: int = 1000, loop: Any = None) -> None:
        self._native = _native.NativeAudioSource(sample_rate, num_channels, queue_size_ms)

    @property
    def sample_rate(self) -> int:
        return self._native.sample_rate

    @property
    def num_channels(self) -> int:
        return self._native.num_channels

    @property
    def queued_duration(self) -> float:
        """Seconds of audio queued and not yet sent."""
        return self._native.queued_duration

    def clear_queue(self) -> None:
        """Drops what is queued and not yet sent."""
        self._native.clear_queue()

    async def capture_frame(self, frame: AudioFrame) -> None:
        await self._native.capture_frame(frame._data, frame.sample_rate, frame.num_channels,
                                         frame.samples_per_channel)

    async def wait_for_playout(self) -> None:
        """Returns once everything queued has been sent."""
        await self._native.wait_for_playout()

    async def aclose(self) -> None:
        """Stops the source; later captures fail with InvalidArgumentError."""
        self._native.close()


class Track:
    def __init__(self, sid: str, name: str, kind: int) -> None:
        self._sid = sid
        self._name = name
        self._kind = kind

    @property
    def sid(self) -> str:
        """The server's track id (`TR_...`); "" for a local track not yet published."""
        return self._sid

    @property
    def name(self) -> str:
        return self._name

    @property
    def kind(self) -> int:
        """A TrackKind value."""
        return self._kind

    def __repr__(self) -> str:
        return f"rtc.{type(self).__name__}(sid={self.sid}, name={self.name})"


class LocalAudioTrack(Track):
    def __init__(self, native: Any, source: AudioSource) -> None:
        super().__init__("", native.name, TrackKind.KIND_AUDIO)
        self._native = native
        self._source = source

    @staticmethod
    def create_audio_track(name: str, source: AudioSource) -> "LocalAudioTrack":
        return LocalAudioTrack(_native.NativeLocalAudioTrack(name, source._native), source)

    @property
    def muted(self) -> bool:
        return self._native.muted

    def mute(self) -> None:
        """Stops sending audio; everyone sees `track_muted`."""
        self._native.mute()

    def unmute(self) -> None:
        self._native.unmute()


class LocalVideoTrack(Track):
    def __init__(self, native: Any, source: Any) -> None:
        super().__init__("", native.name, TrackKind.KIND_VIDEO)
        self._native = native
        self._source = source

    @staticmethod
    def create_video_track(name: str, source: "VideoSource") -> "LocalVideoTrack":
        return LocalVideoTrack(_native.NativeLocalVideoTrack(name, source._native), source)

    @property
    def muted(self) -> bool:
        return self._native.muted

    def mute(self) -> None:
        """Stops sending pictures; everyone sees `track_muted`."""
        self._native.mute()

    def unmute(self) -> None:
        """Sends pictures again (starting with a keyframe); everyone sees `track_unmuted`."""
        self._native.unmute()


class RemoteAudioTrack(Track):
    _KIND = TrackKind.KIND_AUDIO

    def __init__(self, native: Any, publication: "RemoteTrackPublication") -> None:
        super().__init__(native.sid, publication.name, self._KIND)
        self._native = native
        self._publication = publication

    @property
    def muted(self) -> bool:
        return self._publication.muted


class RemoteVideoTrack(RemoteAudioTrack):
    _KIND = TrackKind.KIND_VIDEO


def _remote_track(native: Any, publication: "RemoteTrackPublication") -> "RemoteTrack":
    """The Python track for a native remote track, by its kind."""
    cls = RemoteVideoTrack if native.kind == TrackKind.KIND_VIDEO else RemoteAudioTrack
    return cls(native, publication)


class TrackPublication:
    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def sid(self) -> str:
        return self._native.sid

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def kind(self) -> int:
        """A TrackKind value."""
        return self._native.kind

    @property
    def source(self) -> int:
        """A TrackSource value."""
        return self._native.source

    @property
    def muted(self) -> bool:
        return self._native.muted

    @property
    def mime_type(self) -> str:
        return self._native.mime_type

    @property
    def simulcasted(self) -> bool:
        """Whether the publisher sends several video layers."""
        return self._native.simulcasted

    @property
    def width(self) -> int:
        """Video width as published (0 for audio)."""
        return self._native.width

    @property
    def height(self) -> int:
        """Video height as published (0 for audio)."""
        return self._native.height

    def __repr__(self) -> str:
        return f"rtc.{type(self).__name__}(sid={self.sid}, name={self.name}, kind={self.kind}, source={self.source})"


class LocalTrackPublication(TrackPublication):
    def __init__(self, native: Any, track: Optional[LocalTrack]) -> None:
        super().__init__(native)
        self._track = track

    @property
    def track(self) -> Optional[LocalTrack]:
        return self._track


class RemoteTrackPublication(TrackPublication):
    def __init__(self, native: Any) -> None:
        super().__init__(native)
        self._track: Optional[RemoteTrack] = None

    @property
    def subscribed(self) -> bool:
        return self._native.subscribed

    @property
    def stream_state(self) -> int:
        """A StreamState value."""
        return self._native.stream_state

    @property
    def track(self) -> Optional[RemoteTrack]:
        native = self._native.track
        if native is None:
            return None
        if self._track is None or self._track.sid != native.sid:
            self._track = _remote_track(native, self)
        else:
            self._track._native = native
        return self._track

    def set_subscribed(self, subscribed: bool) -> None:
        """Asks the server to (un)subscribe; `track_subscribed` / `track_unsubscribed` follow.
        Returns at once, as in the official SDK; errors are logged."""
        from .participant import _in_background

        _in_background(self._native.set_subscribed(subscribed), f"set_subscribed({subscribed}) on {self.sid}")

    def set_video_quality(self, quality: int) -> None:
        """Asks the server for a simulcast layer of this video track (a `VideoQuality` value).
        Raises ValueError, as the official SDK does, for an audio or a single-layer
        publication; otherwise returns at once and errors are logged."""
        if self.kind != TrackKind.KIND_VIDEO:
            raise ValueError(f"set_video_quality is only supported on video publications (sid={self.sid})")
        if not self.simulcasted:
            raise ValueError(f"set_video_quality requires a simulcasted publication (sid={self.sid})")
        from .participant import _in_background

        _in_background(self._native.set_video_quality(quality), f"set_video_quality({quality}) on {self.sid}")


class VideoEncoding(Record):
    """Video limits (the official protobuf message): bits per second and pictures per second;
    0 keeps the default (a bitrate picked from the source's size; 30 fps)."""

    _fields = ("max_bitrate", "max_framerate")
    _defaults = {"max_bitrate": 0, "max_framerate": 0.0}
    max_bitrate: int
    max_framerate: float


class TrackPublishOptions(Record):
    """How to publish a track (the official protobuf message's fields this package supports)."""

    _fields = ("source", "dtx", "red", "stereo", "audio_bitrate", "video_codec", "video_encoding", "simulcast")
    _defaults = {"source": TrackSource.SOURCE_UNKNOWN, "dtx": True, "red": True, "stereo": False,
                 "audio_bitrate": None, "video_codec": 0, "video_encoding": None, "simulcast": False}
    source: int
    dtx: bool
    red: bool
    stereo: bool
    audio_bitrate: Optional[int]
    """Opus bits per second; None keeps the encoder's default."""
    video_codec: int
    """A VideoCodec value: VP8 (the default) or H264."""
    video_encoding: Optional[VideoEncoding]
    simulcast: bool
    """Send up to three sizes of the video (quarter, half, full when the source's smaller side
    is at least 360 pixels; half and full from 180; one below), for the server to pick from."""


class AudioFrameEvent:
    def __init__(self, frame: AudioFrame) -> None:
        self.frame = frame

    def __repr__(self) -> str:
        return f"AudioFrameEvent(frame={self.frame!r})"


class AudioStream:
    """Decoded audio of a remote track, as 10 ms frames at `sample_rate` and `num_channels`:
    `async for event in stream: event.frame`. Ends when the track ends or on `aclose()`. A reader
    slower than real time loses the oldest frames (0.5 s are buffered)."""

    def __init__(self, track: Optional[RemoteAudioTrack], loop: Any = None, capacity: int = 0,
                 sample_rate: int = 48000, num_channels: int = 1, **kwargs: Any) -> None:
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._pending: list = []
        self._closed = False
        self._native: Any = None
        if track is not None:
            self._native = _native.NativeAudioStream(track._native, sample_rate, num_channels)

    @classmethod
    def from_track(cls, *, track: RemoteAudioTrack, loop: Any = None, capacity: int = 0,
                   sample_rate: int = 48000, num_channels: int = 1, **kwargs: Any) -> "AudioStream":
        return cls(track, sample_rate=sample_rate, num_channels=num_channels)

    @classmethod
    def from_participant(cls, *, participant: "Participant", track_source: int, loop: Any = None,
                         capacity: int = 0, sample_rate: int = 48000, num_channels: int = 1,
                         **kwargs: Any) -> "AudioStream":
        """The audio of whichever track of `track_source` `participant` has while we receive
        it: the stream waits while there is none (not yet subscribed, unpublished, republished)
        and ends when the participant leaves."""
        stream = cls(None, sample_rate=sample_rate, num_channels=num_channels)
        stream._native = _native.NativeAudioStream.from_participant(
            participant._native, track_source, sample_rate, num_channels)
        return stream

    def __aiter__(self) -> "AsyncIterator[AudioFrameEvent]":
        return self

    async def __anext__(self) -> AudioFrameEvent:
        if not self._pending:
            if self._closed:
                raise StopAsyncIteration
            frames = await self._native.next_frames()
            if frames is None:
                self._closed = True
                raise StopAsyncIteration
            frames.reverse()
            self._pending = frames
        return AudioFrameEvent(AudioFrame._wrap(self._pending.pop()))

    async def aclose(self) -> None:
        self._closed = True
        self._pending = []
        if self._native is not None:
            self._native.close()
