"""Enumerations with the official SDK's names and numbers. As there (protobuf enums), the values
are plain ints; `Name.name(value)` gives a value's name. No `enum` import: 0.8 MB counts."""


class _IntConstants:
    @classmethod
    def name(cls, value: int) -> str:
        for key, number in vars(cls).items():
            if key.isupper() and number == value:
                return key
        return str(value)


class ConnectionState(_IntConstants):
    CONN_DISCONNECTED = 0
    CONN_CONNECTED = 1
    CONN_RECONNECTING = 2


class SimulateScenarioKind(_IntConstants):
    """Faults `Room.simulate_scenario` causes, with the official SDK's names and numbers.
    FORCE_TCP and FORCE_TLS raise NotImplementedError: livekit-core has no such switch."""

    SIMULATE_SIGNAL_RECONNECT = 0
    SIMULATE_SPEAKER = 1
    SIMULATE_NODE_FAILURE = 2
    SIMULATE_SERVER_LEAVE = 3
    SIMULATE_MIGRATION = 4
    SIMULATE_FORCE_TCP = 5
    SIMULATE_FORCE_TLS = 6
    SIMULATE_FULL_RECONNECT = 7
    SIMULATE_DISCONNECT_SIGNAL_ON_RESUME = 8


class DisconnectReason(_IntConstants):
    UNKNOWN_REASON = 0
    CLIENT_INITIATED = 1
    DUPLICATE_IDENTITY = 2
    SERVER_SHUTDOWN = 3
    PARTICIPANT_REMOVED = 4
    ROOM_DELETED = 5
    STATE_MISMATCH = 6
    JOIN_FAILURE = 7
    MIGRATION = 8
    SIGNAL_CLOSE = 9
    ROOM_CLOSED = 10


class DataPacketKind(_IntConstants):
    KIND_LOSSY = 0
    KIND_RELIABLE = 1


class ParticipantKind(_IntConstants):
    PARTICIPANT_KIND_STANDARD = 0
    PARTICIPANT_KIND_INGRESS = 1
    PARTICIPANT_KIND_EGRESS = 2
    PARTICIPANT_KIND_SIP = 3
    PARTICIPANT_KIND_AGENT = 4
    PARTICIPANT_KIND_CONNECTOR = 5


class TrackKind(_IntConstants):
    KIND_UNKNOWN = 0
    KIND_AUDIO = 1
    KIND_VIDEO = 2


class TrackSource(_IntConstants):
    SOURCE_UNKNOWN = 0
    SOURCE_CAMERA = 1
    SOURCE_MICROPHONE = 2
    SOURCE_SCREENSHARE = 3
    SOURCE_SCREENSHARE_AUDIO = 4


class StreamState(_IntConstants):
    STATE_UNKNOWN = 0
    STATE_ACTIVE = 1
    STATE_PAUSED = 2


class ConnectionQuality(_IntConstants):
    QUALITY_POOR = 0
    QUALITY_GOOD = 1
    QUALITY_EXCELLENT = 2
    QUALITY_LOST = 3


class VideoBufferType(_IntConstants):
    """Pixel layouts. I420A, I422, I444 and I010 are named (as in the official SDK) but frames
    in them cannot be captured, converted or asked of a VideoStream."""

    RGBA = 0
    ABGR = 1
    ARGB = 2
    BGRA = 3
    RGB24 = 4
    I420 = 5
    I420A = 6
    I422 = 7
    I444 = 8
    I010 = 9
    NV12 = 10


class VideoRotation(_IntConstants):
    VIDEO_ROTATION_0 = 0
    VIDEO_ROTATION_90 = 1
    VIDEO_ROTATION_180 = 2
    VIDEO_ROTATION_270 = 3


class VideoCodec(_IntConstants):
    """Video codecs; this package encodes and decodes VP8 and H264."""

    VP8 = 0
    H264 = 1
    AV1 = 2
    VP9 = 3
    H265 = 4


class VideoQuality(_IntConstants):
    VIDEO_QUALITY_LOW = 0
    VIDEO_QUALITY_MEDIUM = 1
    VIDEO_QUALITY_HIGH = 2
