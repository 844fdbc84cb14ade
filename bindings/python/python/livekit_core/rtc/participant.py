"""Participants: live state read from the core, and the local participant's calls (state,
data packets, streams, RPC) with the official SDK's signatures."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (1.7 MB)

from .. import _native
from .audio import (
    LocalAudioTrack,
    LocalTrackPublication,
    LocalVideoTrack,
    RemoteAudioTrack,
    RemoteTrackPublication,
    TrackPublishOptions,
)
from .data_stream import ByteStreamInfo, ByteStreamWriter, TextStreamInfo, TextStreamWriter
from ._record import Record
from .event_emitter import log_exception
from .rpc import RpcError, RpcInvocationData

if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Union

    from .room import Room


def _in_background(awaitable: Any, what: str) -> None:
    """Runs a native call without waiting for it; logs its failure."""
    import asyncio

    def done(future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            try:
                raise future.exception()
            except Exception:
                log_exception("%s failed", what)

    asyncio.ensure_future(awaitable).add_done_callback(done)


class ParticipantTrackPermission(Record):
    """Which of our tracks one participant may subscribe to."""

    _fields = ("participant_identity", "allow_all", "allowed_track_sids")
    _defaults = {"allow_all": False, "allowed_track_sids": list}
    participant_identity: str
    allow_all: bool
    allowed_track_sids: List[str]


class ParticipantPermission:
    """What the participant may do, as the server granted it."""

    def __init__(self, values: Dict[str, bool]) -> None:
        self.can_subscribe = values["can_subscribe"]
        self.can_publish = values["can_publish"]
        self.can_publish_data = values["can_publish_data"]
        self.can_update_metadata = values["can_update_metadata"]
        self.hidden = values["hidden"]

    def __repr__(self) -> str:
        return f"ParticipantPermission({vars(self)})"


class Participant:
    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def sid(self) -> str:
        return self._native.sid

    @property
    def identity(self) -> str:
        return self._native.identity

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def metadata(self) -> str:
        return self._native.metadata

    @property
    def attributes(self) -> Dict[str, str]:
        return self._native.attributes

    @property
    def kind(self) -> int:
        """A ParticipantKind value."""
        return self._native.kind

    @property
    def permissions(self) -> Optional[ParticipantPermission]:
        values = self._native.permissions
        return None if values is None else ParticipantPermission(values)

    @property
    def audio_level(self) -> float:
        """The server's last audio level for this participant, 0.0 (silent) to 1.0."""
        return self._native.audio_level

    @property
    def is_speaking(self) -> bool:
        return self._native.is_speaking

    @property
    def connection_quality(self) -> int:
        """A ConnectionQuality value."""
        return self._native.connection_quality

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sid={self.sid}, identity={self.identity}, name={self.name})"


class RemoteParticipant(Participant):
    def __init__(self, native: Any) -> None:
        super().__init__(native)
        self._publications: Dict[str, RemoteTrackPublication] = {}

    @property
    def track_publications(self) -> Dict[str, RemoteTrackPublication]:
        """Published tracks by sid (live: muted, subscribed and track are read when asked)."""
        current = {}
        for native in self._native.track_publications():
            current[native.sid] = self._publication(native)
        self._publications = current
        return dict(current)

    def _publication(self, native: Any) -> RemoteTrackPublication:
        publication = self._publications.get(native.sid)
        if publication is None:
            publication = RemoteTrackPublication(native)
            self._publications[native.sid] = publication
        return publication


class LocalParticipant(Participant):
    def __init__(self, native: Any, room: "Room") -> None:
        super().__init__(native)
        self._room = room
        self._rpc_handlers: Dict[str, Callable] = {}
        self._publications: Dict[str, LocalTrackPublication] = {}

    @property
    def track_publications(self) -> Dict[str, LocalTrackPublication]:
        """Our published tracks by sid."""
        return dict(self._publications)

    async def publish_track(
        self, track: Union[LocalAudioTrack, LocalVideoTrack], options: Optional[TrackPublishOptions] = None
    ) -> LocalTrackPublication:
        """Publishes `track`; resolves once the server accepted it. Others see
        `track_published`; this room `local_track_published` (after this returns)."""
        if not isinstance(track, (LocalAudioTrack, LocalVideoTrack)):
            raise TypeError("publish_track takes a LocalAudioTrack or a LocalVideoTrack")
        options = options or TrackPublishOptions()
        video = None
        if isinstance(track, LocalVideoTrack):
            encoding = options.video_encoding
            video = (options.video_codec, encoding.max_bitrate if encoding else None,
                     encoding.max_framerate if encoding else None, options.simulcast)
        native = await self._native.publish_track(
            track._native, options.source, options.dtx, options.red, options.stereo, options.audio_bitrate, video
        )
        track._sid = native.sid
        publication = LocalTrackPublication(native, track)
        self._publications[publication.sid] = publication
        self._room._local_published(publication)
        return publication

    def _republished(self, native: Any, previous_sid: str) -> bool:
        """A full reconnect published again, as `native`, the track of our publication
        `previous_sid`: updates that publication in place (rekeyed, the track's sid too).
        False when there is no such publication."""
        publication = self._publications.pop(previous_sid, None)
        if publication is None:
            return False
        publication._native = native
        if publication.track is not None:
            publication.track._sid = native.sid
        self._publications[native.sid] = publication
        return True

    async def unpublish_track(self, track_sid: str) -> None:
        """Stops publishing; others see `track_unpublished`, this room `local_track_unpublished`
        (before this returns, as in the official SDK)."""
        publication = self._publications.get(track_sid)
        await self._native.unpublish_track(track_sid)
        if publication is not None and publication.track is not None:
            publication.track._sid = ""
        self._room._local_unpublished(track_sid)

    def set_track_subscription_permissions(
        self, *, allow_all_participants: bool, participant_permissions: Optional[List[Any]] = None
    ) -> None:
        """Who may subscribe to our tracks (`ParticipantTrackPermission`s). Returns at once, as in
        the official SDK; a failure is logged."""
        allowed = [
            (p.participant_identity, p.allow_all, list(p.allowed_track_sids)) for p in participant_permissions or []
        ]
        _in_background(
            self._native.set_track_subscription_permissions(allow_all_participants, allowed),
            "set_track_subscription_permissions",
        )

    async def set_attributes(self, attributes: Dict[str, str]) -> None:
        """Sets the given keys ("" deletes a key); resolves once the server applied them."""
        await self._native.set_attributes(attributes)

    async def set_metadata(self, metadata: str) -> None:
        await self._native.set_metadata(metadata)

    async def set_name(self, name: str) -> None:
        await self._native.set_name(name)

    async def publish_data(
        self,
        payload: Union[bytes, str],
        *,
        reliable: bool = True,
        destination_identities: List[str] = [],
        topic: str = "",
    ) -> None:
        if isinstance(payload, str):
            payload = payload.encode()
        await self._native.publish_data(payload, reliable, list(destination_identities), topic)

    async def perform_rpc(
        self,
        *,
        destination_identity: str,
        method: str,
        payload: str,
        response_timeout: Optional[float] = None,
        max_round_trip_latency: Optional[float] = None,
    ) -> str:
        """Calls `method` on another participant; raises RpcError with the official codes."""
        return await self._native.perform_rpc(
            destination_identity, method, payload, response_timeout, max_round_trip_latency
        )

    def register_rpc_method(self, method_name: str, handler: Optional[Callable] = None) -> Any:
        """Answers calls of `method_name` with `handler(RpcInvocationData) -> str` (sync or async).
        Usable as a decorator."""

        def register(handler: Callable) -> Callable:
            self._rpc_handlers[method_name] = handler
            self._room._native_room().register_rpc_method(method_name)
            return handler

        return register if handler is None else register(handler)

    def unregister_rpc_method(self, method: str) -> None:
        self._rpc_handlers.pop(method, None)
        self._room._native_room().unregister_rpc_method(method)

    async def _answer_rpc(self, responder: Any, invocation: RpcInvocationData) -> None:
        handler = self._rpc_handlers.get(invocation.method)
        if handler is None:
            code = RpcError.ErrorCode.UNSUPPORTED_METHOD
            responder.fail(code, RpcError.ErrorMessage[code], None)
            return
        import asyncio
        import inspect

        try:
            result = handler(invocation)
            if inspect.isawaitable(result):
                result = await result
            responder.respond("" if result is None else str(result))
        except RpcError as error:
            responder.fail(error.code, error.message, error.data)
        except asyncio.CancelledError:
            responder.fail_application()
            raise
        except Exception:
            log_exception("RPC handler for %s failed; answering 1500 APPLICATION_ERROR", invocation.method)
            responder.fail_application()

    async def stream_text(
        self,
        *,
        destination_identities: Optional[List[str]] = None,
        topic: str = "",
        attributes: Optional[Dict[str, str]] = None,
        stream_id: Optional[str] = None,
        reply_to_id: Optional[str] = None,
        total_size: Optional[int] = None,
    ) -> TextStreamWriter:
        native = await _native.stream_text(
            self._native, topic, destination_identities, attributes, stream_id, reply_to_id, total_size
        )
        return TextStreamWriter(native)

    async def send_text(
        self,
        text: str,
        *,
        destination_identities: Optional[List[str]] = None,
        topic: str = "",
        attributes: Optional[Dict[str, str]] = None,
        reply_to_id: Optional[str] = None,
        compress: bool = True,
    ) -> TextStreamInfo:
        info = await _native.send_text(
            self._native, text, topic, destination_identities, attributes, reply_to_id, compress
        )
        return TextStreamInfo(**info)

    async def stream_bytes(
        self,
        name: str,
        *,
        total_size: Optional[int] = None,
        mime_type: str = "application/octet-stream",
        attributes: Optional[Dict[str, str]] = None,
        stream_id: Optional[str] = None,
        destination_identities: Optional[List[str]] = None,
        topic: str = "",
    ) -> ByteStreamWriter:
        native = await _native.stream_bytes(
            self._native, name, topic, total_size, mime_type, attributes, stream_id, destination_identities
        )
        return ByteStreamWriter(native)

    async def send_file(
        self,
        file_path: str,
        *,
        topic: str = "",
        destination_identities: Optional[List[str]] = None,
        attributes: Optional[Dict[str, str]] = None,
        stream_id: Optional[str] = None,
        compress: bool = True,
    ) -> ByteStreamInfo:
        info = await _native.send_file(
            self._native, file_path, topic, destination_identities, attributes, stream_id, compress
        )
        return ByteStreamInfo(**info)

    async def send_bytes(
        self,
        data: bytes,
        *,
        topic: str = "",
        name: Optional[str] = None,
        mime_type: Optional[str] = None,
        destination_identities: Optional[List[str]] = None,
        attributes: Optional[Dict[str, str]] = None,
        stream_id: Optional[str] = None,
        compress: bool = True,
    ) -> ByteStreamInfo:
        info = await _native.send_bytes(
            self._native, bytes(data), topic, name, mime_type, destination_identities, attributes, stream_id, compress
        )
        return ByteStreamInfo(**info)
