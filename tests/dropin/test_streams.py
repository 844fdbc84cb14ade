"""Byte and text streams through the official SDK API: handlers, readers, writers, send_file."""

import asyncio
import hashlib
import os

import pytest
from livekit import rtc

from conftest import EVENT_TIMEOUT


def collect(room, kind, topic):
    """Registers a stream handler on `topic`; returns a future of (reader, sender identity)."""
    future = asyncio.get_running_loop().create_future()

    def handler(reader, participant_identity):
        if not future.done():
            future.set_result((reader, participant_identity))

    register = room.register_text_stream_handler if kind == "text" else room.register_byte_stream_handler
    register(topic, handler)
    return future


async def test_send_text_reaches_the_text_handler(pair):
    alice, bob = pair
    opened = collect(bob, "text", "chat")
    info = await alice.local_participant.send_text("héllo wörld ✓", topic="chat", attributes={"lang": "fr"})
    reader, sender = await asyncio.wait_for(opened, EVENT_TIMEOUT)
    assert sender == "alice"
    assert await reader.read_all() == "héllo wörld ✓"
    assert reader.info.topic == "chat"
    assert reader.info.stream_id == info.stream_id
    assert reader.info.attributes == {"lang": "fr"}


async def test_stream_text_writer_chunks_arrive_in_order(pair):
    alice, bob = pair
    opened = collect(bob, "text", "tokens")
    writer = await alice.local_participant.stream_text(topic="tokens")
    words = [f"word{i} " for i in range(50)]
    for word in words:
        await writer.write(word)
    await writer.aclose()
    reader, _ = await asyncio.wait_for(opened, EVENT_TIMEOUT)
    chunks = [chunk async for chunk in reader]
    assert "".join(chunks) == "".join(words)


async def test_send_file_arrives_whole_with_progress(pair, tmp_path):
    alice, bob = pair
    path = tmp_path / "photo.bin"
    content = os.urandom(3 * 1024 * 1024 + 17)
    path.write_bytes(content)
    opened = collect(bob, "bytes", "files")

    info = await alice.local_participant.send_file(str(path), topic="files", attributes={"album": "a"})
    assert info.name == "photo.bin"
    reader, sender = await asyncio.wait_for(opened, EVENT_TIMEOUT)
    assert sender == "alice"
    assert reader.info.name == "photo.bin"
    assert reader.info.size == len(content)
    received = bytearray()
    progress = []
    async for chunk in reader:
        received.extend(chunk)
        progress.append(len(received) / reader.info.size)
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(content).hexdigest()
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) > 10
    assert reader.info.attributes == {"album": "a"}


async def test_stream_bytes_writer_with_close_attributes(pair):
    alice, bob = pair
    opened = collect(bob, "bytes", "blobs")
    writer = await alice.local_participant.stream_bytes("blob.dat", topic="blobs", mime_type="application/x-test")
    parts = [bytes([i]) * 20_000 for i in range(8)]
    for part in parts:
        await writer.write(part)
    await writer.aclose(attributes={"checksum": "ok"})
    reader, _ = await asyncio.wait_for(opened, EVENT_TIMEOUT)
    assert reader.info.mime_type == "application/x-test"
    data = b"".join([chunk async for chunk in reader])
    assert data == b"".join(parts)
    assert reader.info.attributes.get("checksum") == "ok"


async def test_a_stream_on_a_topic_without_handler_is_dropped_and_later_ones_work(pair):
    alice, bob = pair
    await alice.local_participant.send_text("nobody listens", topic="unhandled")
    opened = collect(bob, "text", "handled")
    await alice.local_participant.send_text("someone listens", topic="handled")
    reader, _ = await asyncio.wait_for(opened, EVENT_TIMEOUT)
    assert await reader.read_all() == "someone listens"


async def test_a_stream_aborted_by_its_sender_fails_the_reader(pair):
    alice, bob = pair
    opened = collect(bob, "bytes", "aborted")
    writer = await alice.local_participant.stream_bytes("partial.bin", topic="aborted")
    await writer.write(b"x" * 1000)
    await writer.aclose(reason="user cancelled")
    reader, _ = await asyncio.wait_for(opened, EVENT_TIMEOUT)
    with pytest.raises(rtc.StreamError, match="user cancelled"):
        async for _ in reader:
            pass
