package io.livekit.core

import io.livekit.core.uniffi.ConnectionState
import io.livekit.core.uniffi.DataOptions
import io.livekit.core.uniffi.DisconnectReason
import io.livekit.core.uniffi.LiveKitException
import io.livekit.core.uniffi.Room
import io.livekit.core.uniffi.RoomEvent
import io.livekit.core.uniffi.RoomOptions
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** Two Kotlin participants on a real server: state, events, data and typed errors. */
class RoomStateTest : ServerTest() {
    private suspend fun join(room: String, identity: String, canUpdateOwnMetadata: Boolean = true): Room =
        Room.connect(server.url, server.token(room, identity, canUpdateOwnMetadata), RoomOptions())

    @Test
    fun attributes_metadata_and_name_reach_the_other_participant() = runBlocking<Unit> {
        val name = uniqueRoom("state")
        val alice = join(name, "alice")
        val bob = join(name, "bob")
        coroutineScope {
            val bobEvents = EventLog(bob, this)
            val me = alice.localParticipant()

            me.setAttributes(mapOf("status" to "ready", "seat" to "3"))
            assertEquals(mapOf("status" to "ready", "seat" to "3"), me.attributes())
            val changed = bobEvents.await<RoomEvent.ParticipantAttributesChanged> {
                it.participant.identity() == "alice" && it.changedAttributes["status"] == "ready"
            }
            assertEquals(mapOf("status" to "ready", "seat" to "3"), changed.changedAttributes)

            me.setAttributes(mapOf("seat" to ""))
            bobEvents.await<RoomEvent.ParticipantAttributesChanged> { it.changedAttributes == mapOf("seat" to "") }
            assertEquals(mapOf("status" to "ready"), bob.remoteParticipants().getValue("alice").attributes())

            me.setMetadata("{\"seat\":3}")
            val metadata = bobEvents.await<RoomEvent.ParticipantMetadataChanged> { it.participant.identity() == "alice" }
            assertEquals("{\"seat\":3}", metadata.metadata)

            me.setName("Alice A.")
            val renamed = bobEvents.await<RoomEvent.ParticipantNameChanged> { it.participant.identity() == "alice" }
            assertEquals("Alice A.", renamed.name)
            coroutineContext.cancelChildren()
        }
        alice.disconnect()
        bob.disconnect()
    }

    @Test
    fun data_messages_arrive_with_topic_and_sender() = runBlocking<Unit> {
        val name = uniqueRoom("data")
        val alice = join(name, "alice")
        val bob = join(name, "bob")
        coroutineScope {
            val bobEvents = EventLog(bob, this)
            alice.localParticipant().publishData("hello".toByteArray(), DataOptions(reliable = true, topic = "chat"))
            val data = bobEvents.await<RoomEvent.DataReceived> { it.topic == "chat" }
            assertEquals("hello", data.payload.decodeToString())
            assertEquals("alice", data.senderIdentity)
            coroutineContext.cancelChildren()
        }
        alice.disconnect()
        bob.disconnect()
    }

    @Test
    fun bad_input_fails_with_typed_exceptions() = runBlocking<Unit> {
        val name = uniqueRoom("bad")
        val readOnly = join(name, "reader", canUpdateOwnMetadata = false)
        assertFailsWith<LiveKitException.NotAllowed> { readOnly.localParticipant().setMetadata("x") }
        assertFailsWith<LiveKitException.InvalidArgument> { readOnly.localParticipant().setMetadata("") }
        val tooBig = assertFailsWith<LiveKitException.LimitExceeded> {
            readOnly.localParticipant().publishData(ByteArray(16 * 1024), DataOptions())
        }
        assertEquals(15uL * 1024uL, tooBig.limit)
        assertFailsWith<LiveKitException.Unauthorized> {
            Room.connect(server.url, "not-a-token", RoomOptions())
        }
        readOnly.disconnect()
        assertEquals(ConnectionState.DISCONNECTED, readOnly.connectionState())
        assertFailsWith<LiveKitException.Disconnected> { readOnly.localParticipant().setAttributes(mapOf("a" to "b")) }
    }

    @Test
    fun event_flow_runs_from_connected_to_disconnected_and_completes() = runBlocking<Unit> {
        val room = join(uniqueRoom("flow"), "solo")
        val collected = mutableListOf<RoomEvent>()
        val collector = launch { room.events().collect { collected += it } }
        room.disconnect()
        kotlinx.coroutines.withTimeout(10_000) { collector.join() }
        assertTrue(collected.first() is RoomEvent.Connected, "first event: ${collected.first()}")
        val last = collected.last()
        assertTrue(last is RoomEvent.Disconnected && last.reason == DisconnectReason.CLIENT_INITIATED, "last: $last")
    }

    @Test
    fun a_room_released_without_disconnect_leaves() = runBlocking<Unit> {
        val name = uniqueRoom("release")
        val alice = join(name, "alice")
        val bob = join(name, "bob")
        coroutineScope {
            val bobEvents = EventLog(bob, this)
            alice.close() // frees the native room (AutoCloseable) on a thread outside the runtime
            bobEvents.await<RoomEvent.ParticipantDisconnected> { it.participant.identity() == "alice" }
            coroutineContext.cancelChildren()
        }
        bob.disconnect()
    }

    @Test
    fun session_metadata_needs_room_admin_and_is_announced() = runBlocking<Unit> {
        val name = uniqueRoom("session")
        val admin = Room.connect(server.url, server.token(name, "admin", roomAdmin = true), RoomOptions())
        val guest = join(name, "guest")
        coroutineScope {
            val guestEvents = EventLog(guest, this)
            assertFailsWith<LiveKitException.NotAllowed> { guest.setSessionMetadata("nope") }
            admin.setSessionMetadata("round 2")
            guestEvents.await<RoomEvent.RoomMetadataChanged> { it.metadata == "round 2" }
            assertEquals("round 2", guest.sessionMetadata())
            coroutineContext.cancelChildren()
        }
        admin.disconnect()
        guest.disconnect()
    }
}
