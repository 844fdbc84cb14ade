package io.livekit.core

import io.livekit.core.uniffi.ConnectionState
import io.livekit.core.uniffi.DataOptions
import io.livekit.core.uniffi.DisconnectReason
import io.livekit.core.uniffi.Room
import io.livekit.core.uniffi.RoomEvent
import io.livekit.core.uniffi.RoomOptions
import io.livekit.core.uniffi.SimulateScenario
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Test
import java.util.Base64
import kotlin.test.assertEquals
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds

/** Reconnection from Kotlin on a real server: simulated faults, the events, data afterwards. */
class ReconnectTest : ServerTest() {
    /** A full reconnect joins again from scratch: longer than one event. */
    private val reconnectTimeout = 30.seconds

    private suspend fun join(room: String, identity: String, options: RoomOptions = RoomOptions()): Room =
        Room.connect(server.url, server.token(room, identity), options)

    /** The reconnect-related events so far, by name, in order. */
    private fun EventLog.reconnectTrail(): List<String> = events.mapNotNull { event ->
        when (event) {
            is RoomEvent.ConnectionStateChanged -> "State(${event.state})"
            is RoomEvent.Reconnecting -> "Reconnecting"
            is RoomEvent.Reconnected -> "Reconnected"
            is RoomEvent.ParticipantConnected -> "ParticipantConnected(${event.participant.identity()})"
            is RoomEvent.ParticipantDisconnected -> "ParticipantDisconnected(${event.participant.identity()})"
            is RoomEvent.Disconnected -> "Disconnected(${event.reason})"
            else -> null
        }
    }

    @Test
    fun a_signal_reconnect_resumes_and_data_flows_both_ways_with_the_official_sdk() = runBlocking<Unit> {
        OfficialPeer.start().use { peer ->
            val name = uniqueRoom("resume")
            peer.request("connect", buildJsonObject {
                put("url", server.url)
                put("token", server.token(name, "python"))
            })
            val kotlin = join(name, "kotlin")
            peer.awaitEvent("participant_connected") { it.string("identity") == "kotlin" }
            coroutineScope {
                val events = EventLog(kotlin, this)
                val sidBefore = kotlin.localParticipant().sid()

                kotlin.simulateScenario(SimulateScenario.SignalReconnect)
                events.await<RoomEvent.Reconnected>(reconnectTimeout)
                assertEquals(
                    listOf("State(RECONNECTING)", "Reconnecting", "State(CONNECTED)", "Reconnected"),
                    events.reconnectTrail(),
                    "a resume keeps every participant",
                )
                assertEquals(ConnectionState.CONNECTED, kotlin.connectionState())
                assertEquals(sidBefore, kotlin.localParticipant().sid(), "a resume keeps the session")

                kotlin.localParticipant().publishData("after the resume".toByteArray(), DataOptions(topic = "r"))
                val data = peer.awaitEvent("data_received") { it.string("topic") == "r" }
                assertEquals("kotlin", data.string("identity"))
                assertEquals("after the resume", String(Base64.getDecoder().decode(data.string("payload_b64"))))
                peer.request("publish_data", buildJsonObject {
                    put("payload_b64", Base64.getEncoder().encodeToString("python after the resume".toByteArray()))
                    put("topic", "r")
                })
                val received = events.await<RoomEvent.DataReceived> { it.senderIdentity == "python" }
                assertEquals("python after the resume", received.payload.decodeToString())
                coroutineContext.cancelChildren()
            }
            kotlin.disconnect()
        }
    }

    @Test
    fun a_full_reconnect_is_a_new_session_that_sees_the_others_again() = runBlocking<Unit> {
        val name = uniqueRoom("full")
        val alice = join(name, "alice")
        val bob = join(name, "bob")
        coroutineScope {
            val aliceEvents = EventLog(alice, this)
            val bobEvents = EventLog(bob, this)
            aliceEvents.await<RoomEvent.ParticipantConnected> { it.participant.identity() == "bob" }
            val sidBefore = alice.localParticipant().sid()

            alice.simulateScenario(SimulateScenario.FullReconnect)
            aliceEvents.await<RoomEvent.Reconnected>(reconnectTimeout)
            val trail = aliceEvents.reconnectTrail().dropWhile { it != "ParticipantDisconnected(bob)" }
            assertEquals(
                listOf("ParticipantDisconnected(bob)", "State(RECONNECTING)", "Reconnecting"),
                trail.take(3),
                "every remote participant leaves before Reconnecting",
            )
            assertTrue(
                trail.indexOf("ParticipantConnected(bob)") in 3 until trail.indexOf("Reconnected"),
                "bob is connected again from the new session before Reconnected: $trail",
            )
            assertNotEquals(sidBefore, alice.localParticipant().sid(), "a full reconnect is a new session")
            assertEquals(setOf("bob"), alice.remoteParticipants().keys)

            alice.localParticipant().publishData("new session".toByteArray(), DataOptions(topic = "f"))
            val data = bobEvents.await<RoomEvent.DataReceived> { it.topic == "f" }
            assertEquals("alice", data.senderIdentity)
            bob.localParticipant().publishData("welcome back".toByteArray(), DataOptions(topic = "f"))
            assertEquals("bob", aliceEvents.await<RoomEvent.DataReceived> { it.topic == "f" }.senderIdentity)
            coroutineContext.cancelChildren()
        }
        alice.disconnect()
        bob.disconnect()
    }

    @Test
    fun with_reconnection_off_a_break_disconnects_with_connection_lost() = runBlocking<Unit> {
        val room = join(uniqueRoom("off"), "solo", RoomOptions(reconnectMaxAttempts = 0u))
        coroutineScope {
            val events = EventLog(room, this)
            room.simulateScenario(SimulateScenario.SignalReconnect)
            val disconnected = events.await<RoomEvent.Disconnected>(reconnectTimeout)
            assertEquals(DisconnectReason.CONNECTION_LOST, disconnected.reason)
            assertEquals(
                listOf("State(RECONNECTING)", "Reconnecting", "State(DISCONNECTED)", "Disconnected(CONNECTION_LOST)"),
                events.reconnectTrail(),
            )
            assertEquals(ConnectionState.DISCONNECTED, room.connectionState())
            coroutineContext.cancelChildren()
        }
    }
}
