"""livekit_core: LiveKit rooms from Python on a pure-Rust core.

`from livekit_core import rtc` gives the official SDK's `rtc` API (rooms, participants, data,
streams, RPC); `from livekit_core import api` gives access tokens and the RoomService client.
"""

__version__ = "0.1.0"
