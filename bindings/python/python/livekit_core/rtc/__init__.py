"""The official LiveKit Python SDK's `rtc` API on livekit-core: rooms, participants and their
state, data packets, byte and text streams, RPC. Media tracks are not supported."""

from ..errors import (
    ConnectError,
    ConnectionFailedError,
    DisconnectedError,
    InternalError,
    InvalidArgumentError,
    LimitExceededError,
    LiveKitError,
    NotAllowedError,
    RequestTimeoutError,
    ServerError,
    StreamError,
    UnauthorizedError,
)
from .data_stream import (
    ByteStreamInfo,
    ByteStreamReader,
    ByteStreamWriter,
    TextStreamInfo,
    TextStreamReader,
    TextStreamWriter,
)
from .enums import ConnectionState, DataPacketKind, DisconnectReason, ParticipantKind
from .event_emitter import EventEmitter
from .participant import LocalParticipant, Participant, ParticipantPermission, RemoteParticipant
from .room import DataPacket, Room, RoomOptions
from .rpc import RpcError, RpcInvocationData

__all__ = [
    "Room",
    "RoomOptions",
    "DataPacket",
    "Participant",
    "LocalParticipant",
    "RemoteParticipant",
    "ParticipantPermission",
    "ParticipantKind",
    "ConnectionState",
    "DisconnectReason",
    "DataPacketKind",
    "EventEmitter",
    "ByteStreamInfo",
    "TextStreamInfo",
    "ByteStreamReader",
    "TextStreamReader",
    "ByteStreamWriter",
    "TextStreamWriter",
    "RpcError",
    "RpcInvocationData",
    "LiveKitError",
    "ConnectError",
    "UnauthorizedError",
    "NotAllowedError",
    "LimitExceededError",
    "InvalidArgumentError",
    "ConnectionFailedError",
    "RequestTimeoutError",
    "DisconnectedError",
    "StreamError",
    "ServerError",
    "InternalError",
]
