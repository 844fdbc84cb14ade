"""Data packets: reliable and lossy, topics, destinations, from and to the official SDK API."""

import asyncio

from livekit import rtc

from conftest import expect, known


async def test_reliable_data_with_a_topic_arrives_with_its_sender(join):
    alice = await join("alice")
    bob = await join("bob")
    await known(alice, "bob")
    await known(bob, "alice")

    received = expect(bob, "data_received")
    await alice.local_participant.publish_data(b"hello \x00 bytes", topic="chat")
    (packet,) = await received.wait()
    assert packet.data == b"hello \x00 bytes"
    assert packet.topic == "chat"
    assert packet.kind == rtc.DataPacketKind.KIND_RELIABLE
    assert packet.participant.identity == "alice"


async def test_text_payloads_and_lossy_packets_arrive(join):
    alice = await join("alice")
    bob = await join("bob")
    await known(bob, "alice")

    received = expect(bob, "data_received", lambda packet: packet.topic == "lossy")
    # Lossy packets may drop (the first ones while the lossy channel settles): send one, wait a
    # little for it, and send again until one arrives.
    for _ in range(100):
        await alice.local_participant.publish_data("ping", reliable=False, topic="lossy")
        try:
            await asyncio.wait_for(asyncio.shield(received.future), 0.1)
            break
        except asyncio.TimeoutError:
            continue
    (packet,) = await received.wait()
    assert packet.data == b"ping"
    assert packet.kind == rtc.DataPacketKind.KIND_LOSSY


async def test_destination_identities_limit_who_receives(join):
    alice = await join("alice")
    bob = await join("bob")
    carol = await join("carol")
    for room in (bob, carol):
        await known(room, "alice")

    to_bob = expect(bob, "data_received", lambda packet: packet.topic == "everyone")
    to_carol = expect(carol, "data_received", lambda packet: packet.topic == "everyone")
    await alice.local_participant.publish_data(b"for bob", topic="private", destination_identities=["bob"])
    await alice.local_participant.publish_data(b"for all", topic="everyone")
    await to_bob.wait()
    await to_carol.wait()
    # Reliable packets keep their order: carol got the broadcast, so the private one is not coming.
    assert [args[0].topic for args in to_bob.seen] == ["private", "everyone"]
    assert [args[0].topic for args in to_carol.seen] == ["everyone"]


async def test_many_reliable_messages_arrive_complete_and_in_order(join):
    alice = await join("alice")
    bob = await join("bob")
    await known(bob, "alice")
    count = 500
    last = expect(bob, "data_received", lambda packet: packet.data == str(count - 1).encode())
    for i in range(count):
        await alice.local_participant.publish_data(str(i), topic="seq")
    await last.wait()
    assert [args[0].data for args in last.seen] == [str(i).encode() for i in range(count)]
