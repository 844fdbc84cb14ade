"""The Python snippets of seeds 000 and 002, verbatim except the import of `rtc`, against the
real server with the official SDK as the peer (tests/seeds/*.py hold the snippets)."""

import ast
import asyncio
import logging
import os
from pathlib import Path

from conftest import EVENT_TIMEOUT, Events, connect_official, connect_ours, joined, wait_until

SEEDS = Path(__file__).parent / "seeds"


def _code(name: str):
    source = (SEEDS / name).read_text()
    return compile(source, str(SEEDS / name), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_seed000_attributes_and_metadata(server, room_name, caplog):
    # The snippet calls asyncio.run() itself, so it runs outside any loop; the rooms live on
    # their own loop, which runs again afterwards to deliver the events.
    loop = asyncio.new_event_loop()
    try:
        ours = loop.run_until_complete(connect_ours(server, "ours", room_name))
        peer = loop.run_until_complete(connect_official(server, "official", room_name))
        loop.run_until_complete(joined([ours, peer], ["ours", "official"]))
        seen_by_peer = Events(peer, "participant_attributes_changed", "participant_metadata_changed")
        caplog.set_level(logging.INFO)

        exec(_code("seed000_attributes_metadata.py"), {"room": ours, "__name__": "seed000"})

        assert ours.local_participant.attributes == {"foo": "bar"}
        assert ours.local_participant.metadata == "some metadata"

        async def observed():
            changed, who = await seen_by_peer.wait("participant_attributes_changed")
            assert (changed, who.identity) == ({"foo": "bar"}, "ours")
            who, old, new = await seen_by_peer.wait("participant_metadata_changed")
            assert (who.identity, new) == ("ours", "some metadata")
            # the snippet's own callbacks ran for our participant, with the official arguments
            await wait_until(lambda: "metadata changed from  to some metadata" in caplog.text, "the metadata log")
            assert "participant attributes changed: {'foo': 'bar'} {'foo': 'bar'}" in caplog.text
            await asyncio.gather(peer.disconnect(), ours.disconnect())

        loop.run_until_complete(asyncio.wait_for(observed(), EVENT_TIMEOUT))
    finally:
        loop.close()


async def test_seed002_stream_bytes_sender(server, room_name, tmp_path, capsys):
    ours = await connect_ours(server, "ours", room_name)
    peer = await connect_official(server, "official", room_name)
    await joined([ours, peer], ["ours", "official"])
    received: asyncio.Queue = asyncio.Queue()

    async def read(reader, sender):
        data = b"".join([chunk async for chunk in reader])
        received.put_nowait((reader.info, sender, data))

    peer.register_byte_stream_handler("my-topic", lambda r, s: asyncio.ensure_future(read(r, s)))
    data = os.urandom(100_000)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)

    await eval(_code("seed002_stream_bytes.py"), {"self": ours.local_participant, "file_path": str(path)})

    info, sender, got = await asyncio.wait_for(received.get(), EVENT_TIMEOUT)
    assert (got, sender, info.name, info.topic) == (data, "ours", "my-byte-stream", "my-topic")
    assert f"Opened byte stream with ID: {info.stream_id}" in capsys.readouterr().out
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_seed002_byte_stream_handler(server, room_name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the snippet writes the file under its own name, here
    ours = await connect_ours(server, "ours", room_name)
    peer = await connect_official(server, "official", room_name)
    await joined([ours, peer], ["ours", "official"])
    namespace = {"room": ours, "__name__": "seed002"}

    exec(_code("seed002_byte_stream_handler.py"), namespace)

    source = tmp_path / "src"
    source.mkdir()
    data = os.urandom(250_000)
    (source / "photo.jpg").write_bytes(data)
    sent = await peer.local_participant.send_file(str(source / "photo.jpg"), topic="my-topic")
    output = []
    await wait_until(lambda: output.append(capsys.readouterr().out) or "received from official" in "".join(output),
                     "the snippet's report")
    assert (tmp_path / "photo.jpg").read_bytes() == data
    report = "".join(output)
    assert f"ID: {sent.stream_id}" in report and "Topic: my-topic" in report and f"Size: {len(data)}" in report
    await wait_until(lambda: namespace["_active_tasks"] == [], "the snippet's task list to empty")
    await asyncio.gather(peer.disconnect(), ours.disconnect())
