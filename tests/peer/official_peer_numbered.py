"""Numbered reliable messages for the reconnect tests, kept apart to keep files small.

`NumberedCommands` is mixed into official_peer.py's Peer: it expects `self.room`, and
`_init_numbered()` must run in __init__. Packets on a counted topic are recorded here
instead of becoming one `data_received` event each (10,000 of them would flood stdout).

  count_numbered {topic, expect?} start recording packets on `topic` (payload: decimal
                                  number); emits {type: "numbered_complete", topic, count}
                                  once `expect` packets arrived
  numbered_report {topic} -> {numbers: [int, ...] in arrival order}
  send_numbered {topic, first, count, per_second}
      -> {sent, seconds}   sends first..first+count-1 reliably at about `per_second`
"""

import asyncio
import time


class NumberedCommands:
    def _init_numbered(self):
        self._numbered = {}
        self._numbered_expect = {}

    def _record_numbered(self, packet):
        """True when the packet's topic is counted (then it is recorded, not emitted)."""
        numbers = self._numbered.get(packet.topic)
        if numbers is None:
            return False
        numbers.append(int(packet.data.decode("ascii")))
        if len(numbers) == self._numbered_expect.get(packet.topic):
            self.emit({"type": "numbered_complete", "topic": packet.topic, "count": len(numbers)})
        return True

    async def cmd_count_numbered(self, c):
        topic = str(c["topic"])
        self._numbered[topic] = []
        if c.get("expect") is not None:
            self._numbered_expect[topic] = int(c["expect"])
        return {}

    async def cmd_numbered_report(self, c):
        return {"numbers": list(self._numbered.get(str(c["topic"]), []))}

    async def cmd_send_numbered(self, c):
        topic, first, count = str(c["topic"]), int(c["first"]), int(c["count"])
        per_second = float(c["per_second"])
        if count < 0 or per_second <= 0:
            raise ValueError("count must be >= 0 and per_second > 0")
        started = time.monotonic()
        for i in range(count):
            await self.room.local_participant.publish_data(
                str(first + i).encode("ascii"), reliable=True, topic=topic)
            # Pacing the sender (not waiting for an event): message i is due at i / per_second.
            delay = started + (i + 1) / per_second - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return {"sent": count, "seconds": time.monotonic() - started}
