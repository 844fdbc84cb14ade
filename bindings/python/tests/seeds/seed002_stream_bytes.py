# Seed 002 (sending files and bytes), the Python sender snippet verbatim (indentation restored).
# It runs inside a method, so the runner provides `self` (our local participant) and
# `file_path`, and runs it with top-level await. The only change: the import of `rtc`.
import aiofiles

from livekit_core import rtc  # noqa: F401

# --- snippet ---
writer = await self.stream_bytes(
    # All byte streams must have a name, which is like a filename
    name="my-byte-stream",
    # The topic must match the topic used in the receiver's `register_byte_stream_handler`
    topic="my-topic",
)

print(f"Opened byte stream with ID: {writer.stream_id}")

chunk_size = 15000 # 15KB, a recommended max chunk size

# This an example to send a file, but you can send any kind of binary data
async with aiofiles.open(file_path, "rb") as f:
    while bytes := await f.read(chunk_size):
        await writer.write(bytes)

await writer.aclose()
