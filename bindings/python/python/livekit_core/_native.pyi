# Type stubs of the native extension (src/*.rs). Users reach it through livekit_core.rtc and
# livekit_core.api; these describe the boundary those modules call.
from typing import Any, Awaitable, Dict, List, Optional, Tuple, Union

# (bytearray of int16 samples, sample_rate, num_channels, samples_per_channel)
NativeFrame = Tuple[bytearray, int, int, int]

class NativeAudioSource:
    sample_rate: int
    num_channels: int
    queued_duration: float
    def __init__(self, sample_rate: int, num_channels: int, queue_size_ms: int) -> None: ...
    def capture_frame(
        self, data: Union[bytearray, bytes], sample_rate: int, num_channels: int, samples_per_channel: int
    ) -> Awaitable[None]: ...
    def clear_queue(self) -> None: ...
    def wait_for_playout(self) -> Awaitable[None]: ...
    def close(self) -> None: ...

class NativeLocalAudioTrack:
    name: str
    muted: bool
    def __init__(self, name: str, source: NativeAudioSource) -> None: ...
    def mute(self) -> None: ...
    def unmute(self) -> None: ...

class NativeLocalPublication:
    sid: str
    name: str
    kind: int
    source: int
    muted: bool
    mime_type: str
    simulcasted: bool
    width: int
    height: int

class NativeRemoteTrack:
    sid: str
    kind: int

class NativeRemotePublication:
    sid: str
    name: str
    kind: int
    source: int
    muted: bool
    mime_type: str
    simulcasted: bool
    width: int
    height: int
    subscribed: bool
    stream_state: int
    track: Optional[NativeRemoteTrack]
    def set_subscribed(self, subscribed: bool) -> Awaitable[None]: ...
    def set_video_quality(self, quality: int) -> Awaitable[None]: ...

class NativeAudioStream:
    def __init__(self, track: NativeRemoteTrack, sample_rate: int, num_channels: int) -> None: ...
    def next_frames(self) -> Awaitable[Optional[List[NativeFrame]]]: ...
    def close(self) -> None: ...

class NativeAudioResampler:
    def __init__(self, input_rate: int, output_rate: int, num_channels: int) -> None: ...
    def push(self, data: Union[bytearray, bytes]) -> bytearray: ...
    def flush(self) -> bytearray: ...

# Pixels as the native side reads them in place: bytes, a bytearray, or (address, length).
NativeVideoData = Union[bytes, bytearray, Tuple[int, int]]
# (bytearray, width, height, VideoBufferType, timestamp_us, VideoRotation)
NativeVideoFrame = Tuple[bytearray, int, int, int, int, int]
# (video_codec, max_bitrate, max_framerate, simulcast); 0 or None keeps a default
VideoOptions = Tuple[int, Optional[int], Optional[float], bool]

class NativeVideoSource:
    width: int
    height: int
    is_screencast: bool
    def __init__(self, width: int, height: int, is_screencast: bool) -> None: ...
    def capture_frame(
        self, data: NativeVideoData, width: int, height: int, buffer_type: int, timestamp_us: int, rotation: int
    ) -> None: ...

class NativeLocalVideoTrack:
    name: str
    muted: bool
    def __init__(self, name: str, source: NativeVideoSource) -> None: ...
    def mute(self) -> None: ...
    def unmute(self) -> None: ...

class NativeVideoStream:
    def __init__(self, track: NativeRemoteTrack, buffer_type: int) -> None: ...
    def next_frames(self) -> Awaitable[Optional[List[NativeVideoFrame]]]: ...
    def close(self) -> None: ...

def convert_frame(
    data: NativeVideoData, width: int, height: int, src_type: int, dst_type: int, flip_y: bool = False
) -> bytearray: ...

class NativeParticipant:
    sid: str
    identity: str
    name: str
    metadata: str
    attributes: Dict[str, str]
    kind: int
    permissions: Optional[Dict[str, bool]]
    is_local: bool
    audio_level: float
    is_speaking: bool
    connection_quality: int
    def track_publications(self) -> Union[List[NativeLocalPublication], List[NativeRemotePublication]]: ...
    def publish_track(
        self,
        track: Union[NativeLocalAudioTrack, NativeLocalVideoTrack],
        source: int,
        dtx: bool = True,
        red: bool = True,
        stereo: bool = False,
        audio_bitrate: Optional[int] = None,
        video: Optional[VideoOptions] = None,
    ) -> Awaitable[NativeLocalPublication]: ...
    def unpublish_track(self, sid: str) -> Awaitable[None]: ...
    def set_track_subscription_permissions(
        self, allow_all_participants: bool, allowed: List[Tuple[str, bool, List[str]]]
    ) -> Awaitable[None]: ...
    def set_attributes(self, attributes: Dict[str, str]) -> Awaitable[None]: ...
    def set_metadata(self, metadata: str) -> Awaitable[None]: ...
    def set_name(self, name: str) -> Awaitable[None]: ...
    def publish_data(
        self, payload: bytes, reliable: bool, destination_identities: List[str], topic: Optional[str]
    ) -> Awaitable[None]: ...
    def perform_rpc(
        self,
        destination_identity: str,
        method: str,
        payload: str,
        response_timeout: Optional[float] = None,
        max_round_trip_latency: Optional[float] = None,
    ) -> Awaitable[str]: ...

class NativeRoom:
    sid: str
    name: str
    metadata: str
    connected: bool
    def next_events(self) -> Awaitable[Optional[List[Tuple[Any, ...]]]]: ...
    def disconnect(self) -> Awaitable[None]: ...
    def local_participant(self) -> NativeParticipant: ...
    def remote_participants(self) -> List[NativeParticipant]: ...
    def set_session_metadata(self, value: str) -> Awaitable[None]: ...
    def simulate_scenario(self, kind: int) -> Awaitable[None]: ...
    def register_byte_stream_handler(self, topic: str) -> None: ...
    def register_text_stream_handler(self, topic: str) -> None: ...
    def unregister_byte_stream_handler(self, topic: str) -> None: ...
    def unregister_text_stream_handler(self, topic: str) -> None: ...
    def register_rpc_method(self, method: str) -> None: ...
    def unregister_rpc_method(self, method: str) -> None: ...

class NativeByteReader:
    def info(self) -> Dict[str, Any]: ...
    def next_chunk(self) -> Awaitable[Optional[bytes]]: ...
    def read_all(self) -> Awaitable[bytes]: ...

class NativeTextReader:
    def info(self) -> Dict[str, Any]: ...
    def next_chunk(self) -> Awaitable[Optional[str]]: ...
    def read_all(self) -> Awaitable[str]: ...

class NativeByteWriter:
    def info(self) -> Dict[str, Any]: ...
    def write(self, data: bytes) -> Awaitable[None]: ...
    def close(self, reason: Optional[str] = None, attributes: Optional[Dict[str, str]] = None) -> Awaitable[None]: ...

class NativeTextWriter:
    def info(self) -> Dict[str, Any]: ...
    def write(self, data: str) -> Awaitable[None]: ...
    def close(self, reason: Optional[str] = None, attributes: Optional[Dict[str, str]] = None) -> Awaitable[None]: ...

class RpcResponder:
    def respond(self, payload: str) -> None: ...
    def fail(self, code: int, message: str, data: Optional[str] = None) -> None: ...
    def fail_application(self) -> None: ...

class NativeRoomService:
    def __init__(self, url: str, api_key: str, api_secret: str) -> None: ...
    def create_room(
        self, name: str, empty_timeout: int = 0, max_participants: int = 0, metadata: str = ""
    ) -> Awaitable[Dict[str, Any]]: ...
    def list_rooms(self, names: List[str] = ...) -> Awaitable[List[Dict[str, Any]]]: ...
    def delete_room(self, room: str) -> Awaitable[None]: ...
    def update_room_metadata(self, room: str, metadata: str) -> Awaitable[Dict[str, Any]]: ...
    def list_participants(self, room: str) -> Awaitable[List[Dict[str, Any]]]: ...
    def get_participant(self, room: str, identity: str) -> Awaitable[Dict[str, Any]]: ...
    def update_participant(
        self,
        room: str,
        identity: str,
        metadata: str = "",
        attributes: Dict[str, str] = ...,
        name: str = "",
        permission: Optional[Dict[str, bool]] = None,
    ) -> Awaitable[Dict[str, Any]]: ...
    def remove_participant(self, room: str, identity: str) -> Awaitable[None]: ...
    def send_data(
        self,
        room: str,
        data: bytes,
        reliable: bool = True,
        destination_identities: List[str] = ...,
        topic: Optional[str] = None,
    ) -> Awaitable[None]: ...

def connect(
    url: str,
    token: str,
    auto_subscribe: bool = True,
    connect_timeout: Optional[float] = None,
    reconnect_max_attempts: Optional[int] = None,
    single_peer_connection: bool = True,
) -> Awaitable[NativeRoom]: ...
def stream_bytes(
    participant: NativeParticipant,
    name: str,
    topic: str,
    total_size: Optional[int] = None,
    mime_type: Optional[str] = None,
    attributes: Optional[Dict[str, str]] = None,
    stream_id: Optional[str] = None,
    destination_identities: Optional[List[str]] = None,
) -> Awaitable[NativeByteWriter]: ...
def stream_text(
    participant: NativeParticipant,
    topic: str,
    destination_identities: Optional[List[str]] = None,
    attributes: Optional[Dict[str, str]] = None,
    stream_id: Optional[str] = None,
    reply_to_id: Optional[str] = None,
    total_size: Optional[int] = None,
) -> Awaitable[NativeTextWriter]: ...
def send_text(
    participant: NativeParticipant,
    text: str,
    topic: str,
    destination_identities: Optional[List[str]] = None,
    attributes: Optional[Dict[str, str]] = None,
    reply_to_id: Optional[str] = None,
    compress: bool = True,
) -> Awaitable[Dict[str, Any]]: ...
def send_bytes(
    participant: NativeParticipant,
    data: bytes,
    topic: str,
    name: Optional[str] = None,
    mime_type: Optional[str] = None,
    destination_identities: Optional[List[str]] = None,
    attributes: Optional[Dict[str, str]] = None,
    stream_id: Optional[str] = None,
    compress: bool = True,
) -> Awaitable[Dict[str, Any]]: ...
def send_file(
    participant: NativeParticipant,
    file_path: str,
    topic: str,
    destination_identities: Optional[List[str]] = None,
    attributes: Optional[Dict[str, str]] = None,
    stream_id: Optional[str] = None,
    compress: bool = True,
) -> Awaitable[Dict[str, Any]]: ...
def encode_token(
    api_key: str,
    api_secret: str,
    identity: str,
    name: str,
    metadata: str,
    attributes: Dict[str, str],
    grants: Dict[str, Any],
    ttl_seconds: float,
    kind: Optional[str] = None,
) -> str: ...
def verify_token(api_key: str, api_secret: str, token: str) -> Dict[str, Any]: ...
