"""Participants: live state read from the core, and the local participant's calls (state,
data packets, streams, RPC) with the official SDK's signatures."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (1.7 MB)

from .. import _native
from .data_stream import ByteStreamInfo, ByteStreamWriter, TextStreamInfo, TextStreamWriter
from .event_emitter import log_exception
from .rpc import RpcError, RpcInvocationData

if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Union

    from .room import Room


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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sid={self.sid}, identity={self.identity}, name={self.name})"


class RemoteParticipant(Participant):
    pass


class LocalParticipant(Participant):
    def __init__(self, native: Any, room: "Room") -> None:
        super().__init__(native)
        self._room = room
        self._rpc_handlers: Dict[str, Callable] = {}

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
