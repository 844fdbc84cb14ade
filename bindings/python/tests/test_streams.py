"""Byte and text streams both directions with the official SDK; readers with `async for` and
`read_all`; aborted streams fail the reader."""

import asyncio
import os

from conftest import connect_ours, pair

from livekit_core import rtc



def _collect(room, kind, topic, read):
    """Registers a handler that reads each stream with `read(reader)`; returns a queue of
    (info, sender, result) or (info, sender, exception)."""
    results: asyncio.Queue = asyncio.Queue()
    tasks = set()

    async def consume(reader, sender):
        try:
            results.put_nowait((reader.info, sender, await read(reader)))
        except Exception as err:  # the test inspects the failure
            results.put_nowait((reader.info, sender, err))

    def handler(reader, sender):
        task = asyncio.ensure_future(consume(reader, sender))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    getattr(room, f"register_{kind}_stream_handler")(topic, handler)
    return results


async def _iterate_bytes(reader):
    return b"".join([chunk async for chunk in reader])


async def _read_all(reader):
    return await reader.read_all()


async def test_official_file_reaches_our_byte_handler(server, room_name, tmp_path):
    ours, peer = await pair(server, room_name)
    results = _collect(ours, "byte", "files", _iterate_bytes)
    path = tmp_path / "report.pdf"
    data = os.urandom(300_000)
    path.write_bytes(data)
    sent = await peer.local_participant.send_file(str(path), topic="files")
    info, sender, got = await asyncio.wait_for(results.get(), 20)
    assert got == data and sender == "official"
    assert isinstance(info, rtc.ByteStreamInfo)
    assert (info.stream_id, info.id, info.name, info["name"], info.topic) == (sent.stream_id, sent.stream_id, "report.pdf", "report.pdf", "files")
    assert info.mime_type == "application/pdf" and info.size == len(data)
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_official_text_reaches_our_text_handler(server, room_name):
    ours, peer = await pair(server, room_name)
    results = _collect(ours, "text", "chat", _read_all)
    text = "héllo wörld " * 5000
    await peer.local_participant.send_text(text, topic="chat", attributes={"k": "v"})
    info, sender, got = await asyncio.wait_for(results.get(), 20)
    assert got == text and sender == "official"
    assert isinstance(info, rtc.TextStreamInfo) and info.attributes == {"k": "v"}
    writer = await peer.local_participant.stream_text(topic="chat")
    for part in ("one ", "two ", "three"):
        await writer.write(part)
    await writer.aclose()
    _, _, got = await asyncio.wait_for(results.get(), 20)
    assert got == "one two three"
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_our_streams_reach_the_official_peer(server, room_name, tmp_path):
    ours, peer = await pair(server, room_name)
    byte_results = _collect(peer, "byte", "files", _iterate_bytes)
    text_results = _collect(peer, "text", "chat", _read_all)

    data = os.urandom(200_000)
    path = tmp_path / "photo.png"
    path.write_bytes(data)
    info = await ours.local_participant.send_file(str(path), topic="files", attributes={"a": "b"})
    got_info, sender, got = await asyncio.wait_for(byte_results.get(), 20)
    assert (got, sender, got_info.name, got_info.mime_type, got_info.stream_id) == (data, "ours", "photo.png", "image/png", info.stream_id)
    assert got_info.attributes == {"a": "b"}

    await ours.local_participant.send_bytes(b"\x00\x01" * 10_000, topic="files", name="blob.bin")
    got_info, _, got = await asyncio.wait_for(byte_results.get(), 20)
    assert got == b"\x00\x01" * 10_000 and got_info.name == "blob.bin"

    writer = await ours.local_participant.stream_bytes("live.bin", topic="files", total_size=30_000)
    assert writer.stream_id == writer.info.stream_id
    await writer.write(b"a" * 15_000)
    await writer.write(b"b" * 15_000)
    await writer.aclose()
    got_info, _, got = await asyncio.wait_for(byte_results.get(), 20)
    assert got == b"a" * 15_000 + b"b" * 15_000 and got_info.name == "live.bin"

    text_info = await ours.local_participant.send_text("hi there", topic="chat")
    got_info, _, got = await asyncio.wait_for(text_results.get(), 20)
    assert (got, got_info.stream_id) == ("hi there", text_info.stream_id)

    writer = await ours.local_participant.stream_text(topic="chat")
    await writer.write("part one, ")
    await writer.write("part two")
    await writer.aclose()
    _, _, got = await asyncio.wait_for(text_results.get(), 20)
    assert got == "part one, part two"
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_aborted_stream_fails_our_reader(server, room_name):
    ours, peer = await pair(server, room_name)
    results = _collect(ours, "byte", "files", _read_all)
    writer = await peer.local_participant.stream_bytes("partial.bin", topic="files")
    await writer.write(b"x" * 1000)
    await writer.aclose(reason="sender gave up")
    _, _, outcome = await asyncio.wait_for(results.get(), 20)
    assert isinstance(outcome, rtc.StreamError) and "sender gave up" in str(outcome)
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_handler_registration_rules(server, room_name):
    ours = await connect_ours(server, "ours", room_name)
    ours.register_byte_stream_handler("t", lambda r, s: None)
    try:
        ours.register_byte_stream_handler("t", lambda r, s: None)
        raise AssertionError("a second handler for one topic must be refused")
    except ValueError as err:
        assert "already set" in str(err)
    ours.unregister_byte_stream_handler("t")
    ours.register_byte_stream_handler("t", lambda r, s: None)
    await ours.disconnect()
