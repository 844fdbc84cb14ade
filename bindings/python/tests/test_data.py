"""Data packets both directions with the official SDK, and no loss at 1000 messages per second."""

import asyncio

from conftest import Events, connect_official, connect_ours, joined, pair

from livekit_core import rtc



async def test_data_from_official_peer_arrives_as_data_packet(server, room_name):
    ours, peer = await pair(server, room_name)
    events = Events(ours, "data_received")
    await peer.local_participant.publish_data(b"hello", topic="chat")
    await peer.local_participant.publish_data("lossy text", reliable=False)
    (packet,) = await events.wait("data_received", lambda p: p.topic == "chat")
    assert isinstance(packet, rtc.DataPacket)
    assert packet.data == b"hello" and packet.kind == rtc.DataPacketKind.KIND_RELIABLE
    assert packet.participant is ours.remote_participants["official"] and packet.sender_identity == "official"
    (packet,) = await events.wait("data_received", lambda p: p.data == b"lossy text")
    assert packet.kind == rtc.DataPacketKind.KIND_LOSSY and not packet.topic
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_our_data_reaches_official_peer_with_topic_and_destination(server, room_name):
    ours, peer = await pair(server, room_name)
    other = await connect_official(server, "other", room_name)
    await joined([ours], ["ours", "official", "other"])
    to_peer, to_other = Events(peer, "data_received"), Events(other, "data_received")
    await ours.local_participant.publish_data("only for official", topic="direct", destination_identities=["official"])
    await ours.local_participant.publish_data(b"for all", topic="all")
    (packet,) = await to_peer.wait("data_received", lambda p: p.topic == "direct")
    assert packet.data == b"only for official" and packet.participant.identity == "ours"
    await to_other.wait("data_received", lambda p: p.topic == "all")
    await to_peer.wait("data_received", lambda p: p.topic == "all")
    assert not [p for (p,) in to_other.seen["data_received"] if p.topic == "direct"]
    await asyncio.gather(peer.disconnect(), other.disconnect(), ours.disconnect())


async def test_thousand_messages_per_second_none_lost_and_in_order(server, room_name):
    ours, peer = await pair(server, room_name)
    received = []
    done = asyncio.Event()
    count = 2000

    @ours.on("data_received")
    def on_data(packet):
        received.append(int(packet.data))
        if len(received) == count:
            done.set()

    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(count):  # paced at 1000 per second, as the target demands
        await peer.local_participant.publish_data(str(i).encode(), topic="load")
        behind = start + (i + 1) / 1000 - loop.time()
        if behind > 0:
            await asyncio.sleep(behind)
    await asyncio.wait_for(done.wait(), 30)
    assert received == list(range(count))
    await asyncio.gather(peer.disconnect(), ours.disconnect())


async def test_server_api_data_has_no_participant(server, room_name):
    from livekit_core import api

    ours = await connect_ours(server, "ours", room_name)
    events = Events(ours, "data_received")
    service = api.RoomService(server.http_url, server.api_key, server.api_secret)
    await service.send_data(room_name, b"from the server", topic="sys")
    (packet,) = await events.wait("data_received")
    assert (packet.data, packet.topic, packet.participant, packet.sender_identity) == (b"from the server", "sys", None, None)
    await ours.disconnect()
