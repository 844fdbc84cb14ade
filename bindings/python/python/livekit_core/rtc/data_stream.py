"""Byte and text streams with the official SDK's shapes: stream info, readers (`async for`,
`read_all`) and writers (`write`, `aclose`). The native objects do the work."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (1.7 MB)

from ._record import Record

from ..errors import StreamError

if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

STREAM_CHUNK_SIZE = 15_000


class _Subscriptable:
    """`info["name"]` as well as `info.name` (documentation snippets use both)."""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    @property
    def id(self) -> str:
        return self.stream_id  # type: ignore[attr-defined]


class BaseStreamInfo(_Subscriptable, Record):
    """stream_id, mime_type, topic, timestamp (ms), size (None if unknown), attributes."""

    _fields = ("stream_id", "mime_type", "topic", "timestamp", "size", "attributes")
    stream_id: str
    mime_type: str
    topic: str
    timestamp: int
    size: Optional[int]
    attributes: Optional[Dict[str, str]]


class TextStreamInfo(BaseStreamInfo):
    _fields = BaseStreamInfo._fields + ("attachments",)
    _defaults = {"attachments": list}
    attachments: List[str]


class ByteStreamInfo(BaseStreamInfo):
    _fields = BaseStreamInfo._fields + ("name",)
    _defaults = {"name": ""}
    name: str


class _Reader:
    _info_type: Any = None

    def __init__(self, native: Any) -> None:
        self._native = native
        self._info = self._info_type(**native.info())

    def __aiter__(self) -> "_Reader":
        return self

    async def __anext__(self) -> Any:
        chunk = await self._native.next_chunk()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def read_all(self) -> Any:
        """Everything until the end of the stream (what `async for` did not read yet)."""
        return await self._native.read_all()


class ByteStreamReader(_Reader):
    """Chunks (bytes) of an incoming byte stream, in order; chunk sizes differ from the
    sender's writes."""

    _info_type = ByteStreamInfo

    @property
    def info(self) -> ByteStreamInfo:
        return self._info


class TextStreamReader(_Reader):
    """Text of an incoming text stream, in order."""

    _info_type = TextStreamInfo

    @property
    def info(self) -> TextStreamInfo:
        return self._info


class _Writer:
    _info_type: Any = None

    def __init__(self, native: Any) -> None:
        self._native = native
        self._info = self._info_type(**native.info())
        self._closed = False

    @property
    def stream_id(self) -> str:
        return self._info.stream_id

    async def write(self, data: Any) -> None:
        await self._native.write(data)

    async def aclose(self, *, reason: str = "", attributes: Optional[Dict[str, str]] = None) -> None:
        """Ends the stream; a non-empty `reason` ends it abnormally (readers get a StreamError)."""
        if self._closed:
            return
        self._closed = True
        await self._native.close(reason or None, attributes)


class ByteStreamWriter(_Writer):
    """`write(bytes)` then `aclose()`."""

    _info_type = ByteStreamInfo

    @property
    def info(self) -> ByteStreamInfo:
        return self._info


class TextStreamWriter(_Writer):
    """`write(str)` then `aclose()`."""

    _info_type = TextStreamInfo

    @property
    def info(self) -> TextStreamInfo:
        return self._info


__all__ = [
    "StreamError",
    "BaseStreamInfo",
    "ByteStreamInfo",
    "TextStreamInfo",
    "ByteStreamReader",
    "TextStreamReader",
    "ByteStreamWriter",
    "TextStreamWriter",
]
