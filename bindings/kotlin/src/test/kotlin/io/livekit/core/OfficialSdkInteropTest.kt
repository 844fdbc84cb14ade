package io.livekit.core

import io.livekit.core.uniffi.DataOptions
import io.livekit.core.uniffi.Room
import io.livekit.core.uniffi.RoomEvent
import io.livekit.core.uniffi.RoomOptions
import io.livekit.core.uniffi.RpcException
import io.livekit.core.uniffi.SendByteOptions
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonObject
import org.junit.jupiter.api.Test
import java.io.File
import java.nio.file.Files
import java.security.MessageDigest
import java.util.Base64
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith

/** A Kotlin participant and the official Python SDK in one room on a real server. */
class OfficialSdkInteropTest : ServerTest() {
    @Test
    fun attributes_data_and_files_cross_both_ways_with_the_official_sdk() = runBlocking<Unit> {
        OfficialPeer.start().use { peer ->
            val kotlin = peer.joinWithKotlin(server, uniqueRoom("interop"))
            coroutineScope {
                val events = EventLog(kotlin, this)

                // Attributes: ours to the SDK, the SDK's to us.
                kotlin.localParticipant().setAttributes(mapOf("lang" to "kotlin"))
                val seen = peer.awaitEvent("participant_attributes_changed") { it.string("identity") == "kotlin" }
                assertEquals("kotlin", seen.getValue("attributes").jsonObject.getValue("lang").jsonPrimitive.content)
                peer.request("set_attributes", buildJsonObject { putJsonObject("attributes") { put("lang", "python") } })
                val changed = events.await<RoomEvent.ParticipantAttributesChanged> { it.participant.identity() == "python" }
                assertEquals(mapOf("lang" to "python"), changed.changedAttributes)

                // Data messages both ways.
                kotlin.localParticipant().publishData("from kotlin".toByteArray(), DataOptions(topic = "chat"))
                val data = peer.awaitEvent("data_received") { it.string("topic") == "chat" }
                assertEquals("kotlin", data.string("identity"))
                assertEquals("from kotlin", String(Base64.getDecoder().decode(data.string("payload_b64"))))
                peer.request("publish_data", buildJsonObject {
                    put("payload_b64", Base64.getEncoder().encodeToString("from python".toByteArray()))
                    put("topic", "chat")
                })
                val received = events.await<RoomEvent.DataReceived> { it.senderIdentity == "python" }
                assertEquals("from python", received.payload.decodeToString())

                // A file from us to the SDK (compressed: the SDK supports it), checked by hash.
                val saveDir = Files.createTempDirectory("lk-python-downloads").toFile()
                peer.request("register_byte_stream_handler", buildJsonObject {
                    put("topic", "files")
                    put("save_dir", saveDir.path)
                })
                val ours = Files.createTempFile("kotlin-", ".bin").toFile().apply { writeBytes(Random.nextBytes(60_000)) }
                kotlin.localParticipant().sendFile(ours.path, SendByteOptions(topic = "files"), null)
                val got = peer.awaitEvent("byte_stream_received") { it.string("topic") == "files" }
                assertEquals(ours.name, got.string("name"))
                assertEquals("60000", got.string("size"))
                assertEquals(sha256(ours.readBytes()), got.string("sha256"))

                // A file from the SDK to us, written by our reader into a folder.
                val downloads = Files.createTempDirectory("lk-kotlin-downloads").toFile()
                val saved = CompletableDeferred<String>()
                kotlin.registerByteStreamHandler("docs", this) { reader, sender ->
                    check(sender == "python") { "sender $sender" }
                    saved.complete(reader.writeToFile(downloads.path, null))
                }
                val theirs = Files.createTempFile("python-", ".txt").toFile().apply { writeText("a".repeat(40_000) + "end") }
                peer.request("send_file", buildJsonObject {
                    put("path", theirs.path)
                    put("topic", "docs")
                })
                val path = withTimeout(15_000) { saved.await() }
                assertEquals(theirs.name, File(path).name)
                assertContentEquals(theirs.readBytes(), File(path).readBytes())
                coroutineContext.cancelChildren()
            }
            kotlin.disconnect()
        }
    }

    @Test
    fun rpc_crosses_both_ways_with_the_official_sdk() = runBlocking<Unit> {
        OfficialPeer.start().use { peer ->
            val kotlin = peer.joinWithKotlin(server, uniqueRoom("interop-rpc"))
            peer.request("register_rpc_method", buildJsonObject {
                put("method", "echo")
                putJsonObject("behaviour") { put("echo", true) }
            })
            peer.request("register_rpc_method", buildJsonObject {
                put("method", "refuse")
                putJsonObject("behaviour") { putJsonObject("error") { put("code", 2001); put("message", "full") } }
            })
            val me = kotlin.localParticipant()
            assertEquals("ping", me.performRpc("python", "echo", "ping", null))
            val refused = assertFailsWith<RpcException.Failed> { me.performRpc("python", "refuse", "", null) }
            assertEquals(2001u to "full", refused.code to refused.reason)

            me.registerRpcMethod("shout") { call -> call.payload.uppercase() + " from " + call.callerIdentity }
            val answer = peer.request("perform_rpc", buildJsonObject {
                put("destination", "kotlin")
                put("method", "shout")
                put("payload", "hi")
            })
            assertEquals("HI from python", answer.string("response"))
            kotlin.disconnect()
        }
    }

    private fun sha256(bytes: ByteArray) =
        MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }
}
