"""Room: connects through the core and turns its one event stream into `room.on(...)`
callbacks on the asyncio loop, with the official SDK's event names and arguments."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (1.7 MB)

from .. import _native
from ..errors import ConnectError, DisconnectedError
from .data_stream import ByteStreamReader, TextStreamReader
from .enums import ConnectionState
from .event_emitter import EventEmitter, log_exception
from .audio import LocalTrackPublication, _remote_track
from .participant import LocalParticipant, Participant, ParticipantPermission, RemoteParticipant
from ._record import Record
from .rpc import RpcInvocationData

if TYPE_CHECKING:
    import asyncio
    from typing import Any, Callable, Dict, Literal, Mapping, Optional, Set

    EventTypes = Literal[
        "participant_connected",
        "participant_disconnected",
        "room_metadata_changed",
        "participant_metadata_changed",
        "participant_name_changed",
        "participant_attributes_changed",
        "participant_permissions_changed",
        "data_received",
        "connection_state_changed",
        "track_published",
        "track_unpublished",
        "track_subscribed",
        "track_unsubscribed",
        "track_subscription_failed",
        "track_muted",
        "track_unmuted",
        "local_track_published",
        "local_track_unpublished",
        "local_track_republished",
        "local_track_subscribed",
        "active_speakers_changed",
        "connection_quality_changed",
        "track_stream_state_changed",
        "track_subscription_permission_changed",
        "connected",
        "disconnected",
        "reconnecting",
        "reconnected",
    ]
    ByteStreamHandler = Callable[[ByteStreamReader, str], None]
    TextStreamHandler = Callable[[TextStreamReader, str], None]

_TRACK_EVENTS = frozenset((
    "track_published", "track_unpublished", "track_subscribed", "track_unsubscribed", "track_muted",
    "track_unmuted", "track_subscription_failed", "local_track_published", "local_track_unpublished",
    "local_track_subscribed", "active_speakers_changed", "connection_quality_changed",
    "track_stream_state_changed", "track_subscription_permission_changed",
))


class RoomOptions(Record):
    _fields = ("auto_subscribe", "connect_timeout", "reconnect_max_attempts", "single_peer_connection")
    _defaults = {
        "auto_subscribe": True, "connect_timeout": None, "reconnect_max_attempts": None,
        "single_peer_connection": True,
    }
    auto_subscribe: bool
    connect_timeout: Optional[float]
    """Seconds one join attempt may take; None uses the core's default (15 s). A join that
    times out or loses its connection is tried again up to 3 times."""
    reconnect_max_attempts: Optional[int]
    """Attempts to reconnect after the connection broke before `disconnected` (CONNECTION_LOST
    state); 0 turns reconnection off, None uses the core's default (10)."""
    single_peer_connection: bool
    """One peer connection where the server has that mode (livekit-server 1.9.10 and later), two
    otherwise; False always uses two (publisher and subscriber)."""


class DataPacket(Record):
    _fields = ("data", "kind", "participant", "topic", "sender_identity")
    _defaults = {"topic": None, "sender_identity": None}
    data: bytes
    kind: int
    """A DataPacketKind value."""
    participant: Optional[RemoteParticipant]
    """The sender; None for data the server API sent, and for a sender not yet announced."""
    topic: Optional[str]
    sender_identity: Optional[str]
    """The sender's identity; None only for data the server API sent."""


class Room(EventEmitter):
    def __init__(self, loop: Optional["asyncio.AbstractEventLoop"] = None) -> None:
        super().__init__()
        self._loop = loop
        self._native: Any = None
        self._local: Optional[LocalParticipant] = None
        self._remotes: Dict[str, RemoteParticipant] = {}
        self._byte_handlers: Dict[str, ByteStreamHandler] = {}
        self._text_handlers: Dict[str, TextStreamHandler] = {}
        self._tasks: Set["asyncio.Task[Any]"] = set()
        self._listen_task: Optional["asyncio.Task[None]"] = None
        self._state = ConnectionState.CONN_DISCONNECTED
        # local_track_published events that arrived before publish_track returned, by sid.
        self._early_local_published: Set[str] = set()
        # local_track_unpublished emitted by unpublish_track before its event arrived, by sid.
        self._unpublished_early: Set[str] = set()

    async def connect(self, url: str, token: str, options: Optional[RoomOptions] = None) -> None:
        """Joins the room. Raises ConnectError (UnauthorizedError, ConnectionFailedError) on failure."""
        if self._native is not None:
            raise ConnectError("this Room is already connected; create a new Room to join again")
        options = options or RoomOptions()
        native = await _native.connect(
            url, token, options.auto_subscribe, options.connect_timeout, options.reconnect_max_attempts,
            options.single_peer_connection,
        )
        self._native = native
        self._local = LocalParticipant(native.local_participant(), self)
        for p in native.remote_participants():
            self._remotes[p.identity] = RemoteParticipant(p)
        self._state = ConnectionState.CONN_CONNECTED
        for topic in self._byte_handlers:
            native.register_byte_stream_handler(topic)
        for topic in self._text_handlers:
            native.register_text_stream_handler(topic)
        import asyncio

        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        self._listen_task = loop.create_task(self._listen(native))

    async def disconnect(self) -> None:
        """Leaves the room (what is queued to send goes out first); `disconnected` fires."""
        if self._native is None or self._state == ConnectionState.CONN_DISCONNECTED:
            return
        import asyncio

        await self._native.disconnect()
        if self._listen_task is not None and self._listen_task.get_loop() is asyncio.get_running_loop():
            await self._listen_task

    def isconnected(self) -> bool:
        """True from connect until disconnected, also while reconnecting (as in the official SDK)."""
        return self._native is not None and self._state != ConnectionState.CONN_DISCONNECTED

    @property
    def connection_state(self) -> ConnectionState:
        return self._state

    @property
    def local_participant(self) -> LocalParticipant:
        if self._local is None:
            raise DisconnectedError("cannot access the local participant before connecting")
        return self._local

    @property
    def remote_participants(self) -> Mapping[str, RemoteParticipant]:
        return self._remotes

    @property
    def name(self) -> str:
        return self._native.name if self._native is not None else ""

    @property
    def sid(self) -> str:
        return self._native.sid if self._native is not None else ""

    @property
    def metadata(self) -> str:
        return self._native.metadata if self._native is not None else ""

    @property
    def session_metadata(self) -> str:
        """Metadata shared by everyone in this room session (the room metadata)."""
        return self.metadata

    async def set_session_metadata(self, value: str) -> None:
        """Sets the session metadata; needs roomAdmin for this room in the token. Others see
        `room_metadata_changed`. Concurrent writers race: the last write wins."""
        await self._native_room().set_session_metadata(value)

    async def simulate_scenario(self, scenario: int) -> None:
        """Causes a fault for tests of reconnection (a SimulateScenarioKind value): `reconnecting`
        and `reconnected` follow as for the real fault. SIMULATE_FORCE_TCP and SIMULATE_FORCE_TLS
        raise NotImplementedError."""
        if not self.isconnected():
            raise DisconnectedError("simulate_scenario needs a connected room")
        await self._native.simulate_scenario(scenario)

    def register_byte_stream_handler(self, topic: str, handler: ByteStreamHandler) -> None:
        if topic in self._byte_handlers:
            raise ValueError("byte stream handler for topic '%s' already set" % topic)
        self._byte_handlers[topic] = handler
        if self._native is not None:
            self._native.register_byte_stream_handler(topic)

    def unregister_byte_stream_handler(self, topic: str) -> None:
        if self._byte_handlers.pop(topic, None) is not None and self._native is not None:
            self._native.unregister_byte_stream_handler(topic)

    def register_text_stream_handler(self, topic: str, handler: TextStreamHandler) -> None:
        if topic in self._text_handlers:
            raise ValueError("text stream handler for topic '%s' already set" % topic)
        self._text_handlers[topic] = handler
        if self._native is not None:
            self._native.register_text_stream_handler(topic)

    def unregister_text_stream_handler(self, topic: str) -> None:
        if self._text_handlers.pop(topic, None) is not None and self._native is not None:
            self._native.unregister_text_stream_handler(topic)

    def _native_room(self) -> Any:
        if self._native is None:
            raise DisconnectedError("the room is not connected")
        return self._native

    async def _listen(self, native: Any) -> None:
        while True:
            batch = await native.next_events()
            if batch is None:
                return
            for event in batch:
                try:
                    self._on_event(event)
                except Exception:
                    log_exception("failed to handle room event %s", event[0])
                if event[0] == "disconnected":
                    return

    def _participant(self, native: Any) -> Participant:
        if native.is_local:
            return self.local_participant
        return self._remotes.get(native.identity) or RemoteParticipant(native)

    def _spawn(self, coro: Any) -> None:
        import asyncio

        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _publication(self, participant: Participant, native: Any) -> Any:
        if isinstance(participant, RemoteParticipant):
            return participant._publication(native)
        return self.local_participant._publications.get(native.sid) or LocalTrackPublication(native, None)

    def _local_published(self, publication: LocalTrackPublication) -> None:
        """publish_track returned: emits `local_track_published` if its event came first."""
        if publication.sid in self._early_local_published:
            self._early_local_published.discard(publication.sid)
            import asyncio

            asyncio.get_running_loop().call_soon(self.emit, "local_track_published", publication, publication.track)

    def _local_unpublished(self, sid: str) -> None:
        """unpublish_track is returning: emits `local_track_unpublished` now if its event has
        not come yet (that event is then dropped)."""
        publication = self.local_participant._publications.pop(sid, None)
        if publication is not None:
            self._unpublished_early.add(sid)
            self.emit("local_track_unpublished", publication)

    def _on_track_event(self, name: str, event: tuple) -> None:
        if name in ("track_published", "track_unpublished"):
            participant = self._participant(event[2])
            publication = self._publication(participant, event[1])
            if name == "track_unpublished" and isinstance(participant, RemoteParticipant):
                participant._publications.pop(publication.sid, None)
            self.emit(name, publication, participant)
        elif name in ("track_subscribed", "track_unsubscribed"):
            participant = self._participant(event[3])
            publication = self._publication(participant, event[2])
            track = publication._track
            if track is None or track.sid != event[1].sid:
                track = _remote_track(event[1], publication)
                publication._track = track
            self.emit(name, track, publication, participant)
        elif name in ("track_muted", "track_unmuted"):
            participant = self._participant(event[1])
            self.emit(name, participant, self._publication(participant, event[2]))
        elif name == "track_subscription_failed":
            self.emit(name, self._participant(event[1]), event[2], event[3])
        elif name == "local_track_published":
            publication = self.local_participant._publications.get(event[1].sid)
            if publication is not None:
                self.emit(name, publication, publication.track)
                return
            previous_sid = event[2]
            if previous_sid is None:
                self._early_local_published.add(event[1].sid)  # emitted when publish_track returns
            elif self.local_participant._republished(event[1], previous_sid):
                republished = self.local_participant._publications[event[1].sid]
                self.emit("local_track_republished", republished, previous_sid)
        elif name == "local_track_unpublished":
            sid = event[1].sid
            if sid in self._unpublished_early:
                self._unpublished_early.discard(sid)
                return
            publication = self.local_participant._publications.pop(sid, None) or LocalTrackPublication(event[1], None)
            self._early_local_published.discard(sid)
            self.emit(name, publication)
        elif name == "local_track_subscribed":
            publication = self.local_participant._publications.get(event[1])
            if publication is not None:
                self.emit(name, publication.track)
        elif name == "active_speakers_changed":
            self.emit(name, [self._participant(p) for p in event[1]])
        elif name == "connection_quality_changed":
            self.emit(name, self._participant(event[1]), event[2])
        elif name in ("track_stream_state_changed", "track_subscription_permission_changed"):
            participant = self._participant(event[1])
            self.emit(name, participant, self._publication(participant, event[2]), event[3])

    def _on_event(self, event: tuple) -> None:
        name = event[0]
        if name in _TRACK_EVENTS:
            self._on_track_event(name, event)
        elif name == "data_received":
            _, data, kind, native, topic, sender = event
            participant = self._participant(native) if native is not None else self._remotes.get(sender or "")
            packet = DataPacket(data, kind, participant, topic, sender)
            self.emit(name, packet)
        elif name == "participant_attributes_changed":
            self.emit(name, event[1], self._participant(event[2]))
        elif name in ("participant_metadata_changed", "participant_name_changed"):
            self.emit(name, self._participant(event[1]), event[2], event[3])
        elif name == "participant_connected":
            participant = self._remotes.get(event[1].identity) or RemoteParticipant(event[1])
            self._remotes[participant.identity] = participant
            self.emit(name, participant)
        elif name == "participant_disconnected":
            participant = self._remotes.pop(event[1].identity, None) or RemoteParticipant(event[1])
            self.emit(name, participant)
        elif name == "participant_permissions_changed":
            new = event[3]
            self.emit(name, self._participant(event[1]), None if new is None else ParticipantPermission(new))
        elif name == "room_metadata_changed":
            self.emit(name, event[1], event[2])
        elif name == "byte_stream":
            self._open_stream(self._byte_handlers, ByteStreamReader(event[1]), event[2])
        elif name == "text_stream":
            self._open_stream(self._text_handlers, TextStreamReader(event[1]), event[2])
        elif name == "rpc":
            _, responder, method, request_id, caller, payload, timeout = event
            invocation = RpcInvocationData(request_id, caller, payload, timeout, method)
            self._spawn(self.local_participant._answer_rpc(responder, invocation))
        elif name == "connection_state_changed":
            self._state = event[1]
            self.emit(name, self._state)
        elif name == "disconnected":
            self._state = ConnectionState.CONN_DISCONNECTED
            self.emit(name, event[1])
        else:
            self.emit(name, *event[1:])

    def _open_stream(self, handlers: Dict[str, Callable], reader: Any, sender: str) -> None:
        handler = handlers.get(reader.info.topic)
        if handler is None:
            return  # unregistered since the stream opened: dropping the reader discards it
        handler(reader, sender)

    def __repr__(self) -> str:
        return f"rtc.Room(sid={self.sid}, name={self.name}, connection_state={ConnectionState.name(self._state)})"
