"""Server API: access tokens (the official SDK's builder) and the RoomService client."""

import datetime
import os
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

from .. import _native

DEFAULT_TTL = datetime.timedelta(hours=6)


@dataclass
class VideoGrants:
    room_create: bool = False
    room_list: bool = False
    room_record: bool = False
    room_admin: bool = False
    room_join: bool = False
    room: str = ""
    can_publish: Optional[bool] = None
    can_subscribe: Optional[bool] = None
    can_publish_data: Optional[bool] = None
    can_update_own_metadata: Optional[bool] = None
    hidden: bool = False
    agent: bool = False


class AccessToken:
    """Builds a participant token: `AccessToken(key, secret).with_identity("a").with_grants(
    VideoGrants(room_join=True, room="r")).to_jwt()`. Key and secret default to the
    LIVEKIT_API_KEY and LIVEKIT_API_SECRET environment variables."""

    def __init__(self, api_key: Optional[str] = None, api_secret: Optional[str] = None) -> None:
        self.api_key = api_key or os.getenv("LIVEKIT_API_KEY", "")
        self.api_secret = api_secret or os.getenv("LIVEKIT_API_SECRET", "")
        self.identity = ""
        self.name = ""
        self.metadata = ""
        self.attributes: Dict[str, str] = {}
        self.kind: Optional[str] = None
        self.grants = VideoGrants()
        self.ttl = DEFAULT_TTL

    def with_identity(self, identity: str) -> "AccessToken":
        self.identity = identity
        return self

    def with_name(self, name: str) -> "AccessToken":
        self.name = name
        return self

    def with_metadata(self, metadata: str) -> "AccessToken":
        self.metadata = metadata
        return self

    def with_attributes(self, attributes: Dict[str, str]) -> "AccessToken":
        self.attributes = dict(attributes)
        return self

    def with_kind(self, kind: str) -> "AccessToken":
        self.kind = kind
        return self

    def with_grants(self, grants: VideoGrants) -> "AccessToken":
        self.grants = grants
        return self

    def with_ttl(self, ttl: datetime.timedelta) -> "AccessToken":
        self.ttl = ttl
        return self

    def to_jwt(self) -> str:
        return _native.encode_token(
            self.api_key,
            self.api_secret,
            self.identity,
            self.name,
            self.metadata,
            self.attributes,
            asdict(self.grants),
            self.ttl.total_seconds(),
            self.kind,
        )


class TokenVerifier:
    def __init__(self, api_key: Optional[str] = None, api_secret: Optional[str] = None) -> None:
        self.api_key = api_key or os.getenv("LIVEKIT_API_KEY", "")
        self.api_secret = api_secret or os.getenv("LIVEKIT_API_SECRET", "")

    def verify(self, token: str) -> SimpleNamespace:
        """The token's identity, name, metadata and room grant; UnauthorizedError if invalid."""
        return SimpleNamespace(**_native.verify_token(self.api_key, self.api_secret, token))


class RoomService:
    """The server's RoomService (needs the API key and secret). Results are simple objects with
    the fields of the server's Room and ParticipantInfo messages."""

    def __init__(self, url: str, api_key: Optional[str] = None, api_secret: Optional[str] = None) -> None:
        self._native = _native.NativeRoomService(
            url, api_key or os.getenv("LIVEKIT_API_KEY", ""), api_secret or os.getenv("LIVEKIT_API_SECRET", "")
        )

    async def create_room(
        self, name: str, *, empty_timeout: int = 0, max_participants: int = 0, metadata: str = ""
    ) -> SimpleNamespace:
        return SimpleNamespace(**await self._native.create_room(name, empty_timeout, max_participants, metadata))

    async def list_rooms(self, names: Optional[List[str]] = None) -> List[SimpleNamespace]:
        return [SimpleNamespace(**r) for r in await self._native.list_rooms(list(names or []))]

    async def delete_room(self, room: str) -> None:
        await self._native.delete_room(room)

    async def update_room_metadata(self, room: str, metadata: str) -> SimpleNamespace:
        return SimpleNamespace(**await self._native.update_room_metadata(room, metadata))

    async def list_participants(self, room: str) -> List[SimpleNamespace]:
        return [SimpleNamespace(**p) for p in await self._native.list_participants(room)]

    async def get_participant(self, room: str, identity: str) -> SimpleNamespace:
        return SimpleNamespace(**await self._native.get_participant(room, identity))

    async def update_participant(
        self,
        room: str,
        identity: str,
        *,
        metadata: str = "",
        attributes: Optional[Dict[str, str]] = None,
        name: str = "",
        permission: Optional[Dict[str, bool]] = None,
    ) -> SimpleNamespace:
        """Updates another participant's state; "" leaves metadata or name unchanged. `permission`
        (keys can_subscribe, can_publish, can_publish_data, can_update_metadata, hidden; missing
        keys are False) replaces the participant's permissions."""
        return SimpleNamespace(
            **await self._native.update_participant(
                room, identity, metadata, dict(attributes or {}), name, permission
            )
        )

    async def remove_participant(self, room: str, identity: str) -> None:
        await self._native.remove_participant(room, identity)

    async def send_data(
        self,
        room: str,
        data: bytes,
        *,
        reliable: bool = True,
        destination_identities: Optional[List[str]] = None,
        topic: Optional[str] = None,
    ) -> None:
        await self._native.send_data(room, bytes(data), reliable, list(destination_identities or []), topic)

    async def aclose(self) -> None:
        """Nothing to release; kept for code written against the official client."""


class LiveKitAPI:
    """`LiveKitAPI(url, key, secret).room` is the RoomService, as in the official SDK."""

    def __init__(self, url: Optional[str] = None, api_key: Optional[str] = None, api_secret: Optional[str] = None):
        self.room = RoomService(url or os.getenv("LIVEKIT_URL", ""), api_key, api_secret)

    async def aclose(self) -> None:
        await self.room.aclose()


__all__ = ["AccessToken", "VideoGrants", "TokenVerifier", "RoomService", "LiveKitAPI"]
