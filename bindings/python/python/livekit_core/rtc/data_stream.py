"""Byte and text streams with the official SDK's shapes: stream info, readers (`async for`,
`read_all`) and writers (`write`, `aclose`). The native objects do the work."""

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, List, Optional

from ..errors import StreamError

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


@dataclass
class BaseStreamInfo(_Subscriptable):
    stream_id: str
    mime_type: str
    topic: str
    timestamp: int
    size: Optional[int]
    attributes: Optional[Dict[str, str]]


@dataclass
class TextStreamInfo(BaseStreamInfo):
    attachments: List[str] = field(default_factory=list)


@dataclass
class ByteStreamInfo(BaseStreamInfo):
    name: str = ""


class _Reader:
    def __init__(self, native: Any) -> None:
        self._native = native

    def __aiter__(self) -> "_Reader":
        return self

    async def __anext__(self) -> Any:
        chunk = await self._native.next_chunk()
        if chunk is None:
            raise StopAsyncIteration
        return chunk


class ByteStreamReader(_Reader):
    """Chunks of an incoming byte stream, in order; chunk sizes differ from the sender's writes."""

    def __init__(self, native: Any) -> None:
        super().__init__(native)
        self._info = ByteStreamInfo(**native.info())

    @property
    def info(self) -> ByteStreamInfo:
        return self._info

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self  # type: ignore[return-value]

    async def read_all(self) -> bytes:
        return await self._native.read_all()


class TextStreamReader(_Reader):
    """Text of an incoming text stream, in order."""

    def __init__(self, native: Any) -> None:
        super().__init__(native)
        self._info = TextStreamInfo(**native.info())

    @property
    def info(self) -> TextStreamInfo:
        return self._info

    def __aiter__(self) -> AsyncIterator[str]:
        return self  # type: ignore[return-value]

    async def read_all(self) -> str:
        return await self._native.read_all()


class _Writer:
    def __init__(self, native: Any) -> None:
        self._native = native
        self._closed = False

    @property
    def stream_id(self) -> str:
        return self.info.stream_id  # type: ignore[attr-defined]

    async def aclose(self, *, reason: str = "", attributes: Optional[Dict[str, str]] = None) -> None:
        """Ends the stream; a non-empty `reason` ends it abnormally (readers get a StreamError)."""
        if self._closed:
            return
        self._closed = True
        await self._native.close(reason or None, attributes)


class ByteStreamWriter(_Writer):
    def __init__(self, native: Any) -> None:
        super().__init__(native)
        self._info = ByteStreamInfo(**native.info())

    @property
    def info(self) -> ByteStreamInfo:
        return self._info

    async def write(self, data: bytes) -> None:
        await self._native.write(data)


class TextStreamWriter(_Writer):
    def __init__(self, native: Any) -> None:
        super().__init__(native)
        self._info = TextStreamInfo(**native.info())

    @property
    def info(self) -> TextStreamInfo:
        return self._info

    async def write(self, text: str) -> None:
        await self._native.write(text)


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
