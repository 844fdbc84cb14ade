"""Video with the official SDK's shapes: VideoFrame, VideoSource, VideoStream and
VideoFrameEvent (the track classes are in audio.py, beside the audio ones).

A frame's pixels live in one buffer: `VideoFrame.data` is a memoryview of unsigned bytes over
it (numpy: `np.frombuffer(frame.data, dtype=np.uint8).reshape(h, w, 4)` for RGBA, no copy;
numpy is not needed). `capture_frame` and `convert` read the frame's memory in place (the
conversion is the one copy in); a received or converted frame is copied once out of the core
into a new bytearray that the frame wraps."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (1.7 MB)

from .. import _native
from .enums import VideoBufferType, VideoRotation

if TYPE_CHECKING:
    from typing import Any, AsyncIterator, List, Optional, Union

    from .audio import RemoteVideoTrack
    from .participant import Participant

_PACKED = {VideoBufferType.RGBA: 4, VideoBufferType.ABGR: 4, VideoBufferType.ARGB: 4,
           VideoBufferType.BGRA: 4, VideoBufferType.RGB24: 3}


def _planes(type: int, width: int, height: int) -> List[int]:
    """The byte length of each plane of a tightly packed picture (as the official SDK lays
    them out)."""
    cw, ch = (width + 1) // 2, (height + 1) // 2
    if type in _PACKED:
        return [width * height * _PACKED[type]]
    if type == VideoBufferType.I420:
        return [width * height, cw * ch, cw * ch]
    if type == VideoBufferType.I420A:
        return [width * height, cw * ch, cw * ch, width * height]
    if type == VideoBufferType.I422:
        return [width * height, cw * height, cw * height]
    if type == VideoBufferType.I444:
        return [width * height] * 3
    if type == VideoBufferType.I010:
        return [width * height * 2, cw * ch * 2, cw * ch * 2]
    if type == VideoBufferType.NV12:
        return [width * height, cw * ch * 2]
    raise ValueError(f"unsupported video buffer type: {type}")


def _as_buffer(data: Any) -> Union[bytes, bytearray, memoryview]:
    """`data` kept without a copy: bytes and bytearrays as they are, a memoryview of a whole
    one as its object, any other contiguous buffer (a numpy array, a slice) as a flat memoryview
    of bytes."""
    if isinstance(data, (bytes, bytearray)):
        return data
    view = data if isinstance(data, memoryview) else memoryview(data)
    if not view.c_contiguous:
        raise ValueError("video data must be a contiguous buffer")
    obj = view.obj
    if isinstance(obj, (bytes, bytearray)) and view.nbytes == len(obj):
        return obj
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def _native_data(data: Union[bytes, bytearray, memoryview]) -> Any:
    """What the native side reads in place: bytes, a bytearray, or the (address, length) of a
    writable buffer (through ctypes, as the official SDK does); a read-only view that is not
    bytes is copied once."""
    if isinstance(data, (bytes, bytearray)):
        return data
    if data.readonly:
        return bytes(data)
    if data.nbytes == 0:
        return b""
    import ctypes

    return ctypes.addressof(ctypes.c_char.from_buffer(data)), data.nbytes


class VideoFrame:
    """One picture: `width` x `height` pixels in a `VideoBufferType` layout, tightly packed."""

    def __init__(self, width: int, height: int, type: int, data: Union[bytes, bytearray, memoryview]) -> None:
        data = _as_buffer(data)
        needed = sum(_planes(type, width, height))
        if len(data) < needed:
            raise ValueError(f"a {width}x{height} {VideoBufferType.name(type)} frame needs {needed} bytes, "
                             f"the data holds {len(data)}")
        self._width = width
        self._height = height
        self._type = type
        self._data = data

    @classmethod
    def _wrap(cls, data: bytearray, width: int, height: int, type: int) -> "VideoFrame":
        frame = cls.__new__(cls)
        frame._data, frame._width, frame._height, frame._type = data, width, height, type
        return frame

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def type(self) -> int:
        """A VideoBufferType value."""
        return self._type

    @property
    def data(self) -> memoryview:
        """The pixels as a memoryview of bytes; writable unless the frame was made from
        `bytes` or a read-only buffer."""
        return memoryview(self._data)

    def get_plane(self, plane_nth: int) -> Optional[memoryview]:
        """A view of one plane (Y, U, V of I420; Y, UV of NV12; the only one of packed RGB
        layouts), or None past the last."""
        planes = _planes(self._type, self._width, self._height)
        if not 0 <= plane_nth < len(planes):
            return None
        start = sum(planes[:plane_nth])
        return memoryview(self._data)[start:start + planes[plane_nth]]

    def convert(self, type: int, *, flip_y: bool = False) -> "VideoFrame":
        """The picture in another layout (a new frame, also when `type` is this one), upside
        down if `flip_y`. Raises InvalidArgumentError (a ValueError) for I420A, I422, I444 and
        I010."""
        data = _native.convert_frame(_native_data(self._data), self._width, self._height, self._type, type, flip_y)
        return VideoFrame._wrap(data, self._width, self._height, type)

    def __repr__(self) -> str:
        return f"rtc.VideoFrame(width={self.width}, height={self.height}, type={VideoBufferType.name(self.type)})"


class VideoSource:
    """Pictures to publish, of about `width` x `height` (what subscribers are told; pictures
    may differ in size and change it). `capture_frame` converts a picture to I420 and keeps it
    as the newest; the encoder sends the newest when it is ready, skipping older ones."""

    def __init__(self, width: int, height: int, is_screencast: bool = False) -> None:
        self._native = _native.NativeVideoSource(width, height, is_screencast)

    @property
    def width(self) -> int:
        return self._native.width

    @property
    def height(self) -> int:
        return self._native.height

    def capture_frame(self, frame: VideoFrame, *, timestamp_us: int = 0,
                      rotation: int = VideoRotation.VIDEO_ROTATION_0, metadata: Any = None) -> None:
        """Hands in one picture. `timestamp_us` 0 lets the source stamp it; `rotation` (a
        VideoRotation: how far to turn the picture clockwise to show it upright) is applied
        before encoding, so subscribers get upright pictures; `metadata` is accepted and
        ignored."""
        self._native.capture_frame(_native_data(frame._data), frame.width, frame.height, frame.type,
                                   timestamp_us, rotation)

    async def aclose(self) -> None:
        """Nothing to release; kept for the official SDK's shape."""


class VideoFrameEvent:
    def __init__(self, frame: VideoFrame, timestamp_us: int, rotation: int, metadata: Any = None) -> None:
        self.frame = frame
        self.timestamp_us = timestamp_us
        """The RTP time since the stream's first picture, in microseconds."""
        self.rotation = rotation
        self.metadata = metadata

    def __repr__(self) -> str:
        return f"VideoFrameEvent(frame={self.frame!r}, timestamp_us={self.timestamp_us}, rotation={self.rotation})"


class VideoStream:
    """Decoded pictures of a remote video track in `format` (I420 by default, which costs no
    conversion): `async for event in stream: event.frame`. Ends when the track ends or on
    `aclose()`. A reader slower than the sender gets the newest pictures (4 are held);
    `capacity` is accepted and ignored."""

    def __init__(self, track: Optional[RemoteVideoTrack], loop: Any = None, capacity: int = 0,
                 format: Optional[int] = None, **kwargs: Any) -> None:
        self._format = VideoBufferType.I420 if format is None else format
        self._pending: list = []
        self._closed = False
        self._native: Any = None
        if "participant" in kwargs:
            self._native = _native.NativeVideoStream.from_participant(
                kwargs["participant"]._native, kwargs["track_source"], self._format)
        elif track is not None:
            self._native = _native.NativeVideoStream(track._native, self._format)
        else:
            raise ValueError("VideoStream needs a track (or from_participant)")

    @classmethod
    def from_track(cls, *, track: RemoteVideoTrack, loop: Any = None, format: Optional[int] = None,
                   capacity: int = 0) -> "VideoStream":
        return cls(track, format=format)

    @classmethod
    def from_participant(cls, *, participant: "Participant", track_source: int, loop: Any = None,
                         format: Optional[int] = None, capacity: int = 0) -> "VideoStream":
        """The pictures of whichever track of `track_source` `participant` has while we receive
        it: the stream waits while there is none (not yet subscribed, unpublished, republished)
        and ends when the participant leaves."""
        return cls(None, format=format, participant=participant, track_source=track_source)

    def __aiter__(self) -> "AsyncIterator[VideoFrameEvent]":
        return self

    async def __anext__(self) -> VideoFrameEvent:
        if not self._pending:
            if self._closed:
                raise StopAsyncIteration
            frames = await self._native.next_frames()
            if frames is None:
                self._closed = True
                raise StopAsyncIteration
            frames.reverse()
            self._pending = frames
        data, width, height, type, timestamp_us, rotation = self._pending.pop()
        return VideoFrameEvent(VideoFrame._wrap(data, width, height, type), timestamp_us, rotation)

    async def aclose(self) -> None:
        self._closed = True
        self._pending = []
        if self._native is not None:
            self._native.close()
