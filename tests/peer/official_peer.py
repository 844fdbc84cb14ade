#!/usr/bin/env python3
"""A peer driven over stdin/stdout, built on the official LiveKit Python SDK.

Rust integration tests start this script to put a reference client in a room.

Protocol: one JSON object per line in each direction.
  stdin  <- commands  {"cmd": "...", "id": N, ...}
  stdout -> {"type": "ready", "sdk_version": "..."} once at start-up,
            {"type": "fatal", "error": "..."} instead if the SDK cannot be imported,
            {"type": "result", "id": N, "ok": true, ...} or
            {"type": "result", "id": N, "ok": false, "error": "..."} per command,
            and events ({"type": "<event name>", ...}, no id) from the room's handlers.
Logging goes to stderr only. The script exits 0 when stdin closes.
Data-stream and RPC commands and events are listed in official_peer_streams.py; numbered
messages for the reconnect tests in official_peer_numbered.py; audio
commands (publish, tones, recording with analysis) and track events in official_peer_media.py.

connect {url, token, auto_subscribe? (default true)}
    -> {identity, sid, participant_sid, participants}
"""

import asyncio
import base64
import json
import logging
import sys
import threading

log = logging.getLogger("official_peer")


def send(obj):
    """Writes one JSON line to stdout and flushes it at once."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


try:
    from livekit import rtc
    from livekit.rtc._proto.participant_pb2 import DisconnectReason
    from livekit.rtc._proto.room_pb2 import DataPacketKind
    from official_peer_streams import StreamCommands
    from peer_handlers import safe
    from official_peer_media import MediaCommands
    from official_peer_video import VideoCommands
    from official_peer_numbered import NumberedCommands
except Exception as exc:  # ImportError, or a broken native library
    send({"type": "fatal", "error": f"cannot import the LiveKit SDK: {exc!r}; "
          "run: pip install livekit livekit-api"})
    sys.exit(2)


def participant_json(p):
    return {
        "identity": p.identity,
        "name": p.name,
        "metadata": p.metadata,
        "attributes": dict(p.attributes),
    }


def reason_name(reason):
    """The SDK hands over a DisconnectReason enum value (an int); give its name."""
    try:
        return DisconnectReason.Name(reason)
    except Exception:
        return str(reason)


class Peer(StreamCommands, MediaCommands, VideoCommands, NumberedCommands):
    emit = staticmethod(send)

    def __init__(self):
        self.room = rtc.Room()
        self.connected = False
        self._init_streams()
        self._init_media()
        self._init_video()
        self._init_numbered()
        self._install_handlers()
        self._install_media_handlers()

    def _install_handlers(self):
        room = self.room

        @safe
        def participant_connected(p):
            send({"type": "participant_connected", **participant_json(p)})

        @safe
        def participant_disconnected(p):
            send({"type": "participant_disconnected", "identity": p.identity})

        @safe
        def participant_attributes_changed(changed, p):
            send({"type": "participant_attributes_changed", "identity": p.identity,
                  "changed": dict(changed), "attributes": dict(p.attributes)})

        @safe
        def participant_metadata_changed(p, old, new):
            send({"type": "participant_metadata_changed", "identity": p.identity,
                  "old": old, "new": new})

        @safe
        def participant_name_changed(p, old, new):
            send({"type": "participant_name_changed", "identity": p.identity,
                  "old": old, "new": new})

        @safe
        def room_metadata_changed(old, new):
            send({"type": "room_metadata_changed", "old": old, "new": new})

        @safe
        def data_received(packet):
            if self._record_numbered(packet):
                return
            sender = packet.participant
            kind = "reliable" if packet.kind == DataPacketKind.KIND_RELIABLE else "lossy"
            send({"type": "data_received",
                  "identity": sender.identity if sender is not None else None,
                  "payload_b64": base64.b64encode(packet.data).decode("ascii"),
                  "topic": packet.topic,
                  "kind": kind})

        @safe
        def disconnected(reason):
            self.connected = False
            send({"type": "disconnected", "reason": reason_name(reason)})

        @safe
        def reconnecting():
            send({"type": "reconnecting"})

        @safe
        def reconnected():
            send({"type": "reconnected"})

        for handler in (participant_connected, participant_disconnected,
                        participant_attributes_changed, participant_metadata_changed,
                        participant_name_changed, room_metadata_changed,
                        data_received, disconnected, reconnecting, reconnected):
            room.on(handler.__name__, handler)

    # Commands: each returns the extra fields of an ok result, or raises.

    async def cmd_connect(self, c):
        auto_subscribe = c.get("auto_subscribe", True)
        if not isinstance(auto_subscribe, bool):
            raise ValueError("auto_subscribe must be a boolean")
        await self.room.connect(c["url"], c["token"],
                                rtc.RoomOptions(auto_subscribe=auto_subscribe))
        self.connected = True
        local = self.room.local_participant
        sid = await asyncio.wait_for(self.room.sid, timeout=10)
        return {
            "identity": local.identity,
            "sid": sid,
            "participant_sid": local.sid,
            "participants": [participant_json(p)
                             for p in self.room.remote_participants.values()],
        }

    async def cmd_set_attributes(self, c):
        await self.room.local_participant.set_attributes(dict(c["attributes"]))
        return {}

    async def cmd_set_metadata(self, c):
        await self.room.local_participant.set_metadata(c["metadata"])
        return {}

    async def cmd_set_name(self, c):
        await self.room.local_participant.set_name(c["name"])
        return {}

    async def cmd_publish_data(self, c):
        payload = base64.b64decode(c["payload_b64"])
        await self.room.local_participant.publish_data(
            payload,
            reliable=bool(c.get("reliable", True)),
            topic=c.get("topic") or "",
            destination_identities=list(c.get("destination_identities") or []),
        )
        return {}

    async def cmd_disconnect(self, c):
        await self._close_video()
        await self._close_media()
        await self.room.disconnect()
        self.connected = False
        return {}

    async def handle(self, line):
        try:
            c = json.loads(line)
        except ValueError as exc:
            send({"type": "result", "id": None, "ok": False, "error": f"bad JSON: {exc}"})
            return
        cid = c.get("id") if isinstance(c, dict) else None
        try:
            method = getattr(self, "cmd_" + str(c["cmd"]), None)
            if method is None:
                raise ValueError(f"unknown command {c['cmd']!r}")
            extra = await method(c)
            send({"type": "result", "id": cid, "ok": True, **extra})
        except Exception as exc:
            log.exception("command %r failed", c)
            send({"type": "result", "id": cid, "ok": False,
                  "error": f"{type(exc).__name__}: {exc}"})


def start_stdin_reader(loop, queue):
    """Feeds stdin lines into the queue from a thread; None marks end of input."""
    def run():
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)
    threading.Thread(target=run, name="stdin", daemon=True).start()


async def main():
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    start_stdin_reader(loop, queue)
    peer = Peer()
    send({"type": "ready", "sdk_version": rtc.__version__})
    # One command at a time, in order; events keep flowing while a command awaits.
    while True:
        line = await queue.get()
        if line is None:
            break
        await peer.handle(line)
    await peer._close_video()
    await peer._close_media()
    if peer.connected:
        try:
            await peer.room.disconnect()
        except Exception:
            log.exception("disconnect at end of input failed")


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="official_peer %(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
    sys.exit(0)
