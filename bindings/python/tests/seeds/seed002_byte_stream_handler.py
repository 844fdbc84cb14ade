# Seed 002 (sending files and bytes), the Python receiver snippet verbatim (indentation
# restored). The runner provides `room` (connected). The only change: the import of `rtc`.
from livekit_core import rtc  # noqa: F401

# --- snippet ---
import asyncio

# Store active tasks to prevent garbage collection
_active_tasks = []

async def async_handle_byte_stream(reader, participant_identity):
    info = reader.info

    # Read the stream to a file
    with open(reader.info["name"], mode="wb") as f:
        async for chunk in reader:
            f.write(chunk)

        f.close()

    print(
        f'File "{info.name}" received from {participant_identity}\n'
        f' Topic: {info.topic}\n'
        f' Timestamp: {info.timestamp}\n'
        f' ID: {info.id}\n'
        f' Size: {info.size}' # Optional, only available if the stream was sent with `send_file`
    )

def handle_byte_stream(reader, participant_identity):
    task = asyncio.create_task(async_handle_byte_stream(reader, participant_identity))
    _active_tasks.append(task)
    task.add_done_callback(lambda t: _active_tasks.remove(t))

room.register_byte_stream_handler(
    "my-topic",
    handle_byte_stream
)
