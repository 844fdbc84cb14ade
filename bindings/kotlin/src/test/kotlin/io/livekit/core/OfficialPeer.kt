package io.livekit.core

import io.livekit.core.uniffi.Room
import io.livekit.core.uniffi.RoomOptions
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.add
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonArray
import java.io.File
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * The official LiveKit Python SDK as a peer, through the project's JSON-lines script
 * `tests/peer/official_peer.py` (its top comment lists the commands and events).
 * The interpreter is `$PYTHON`, else `python3`.
 */
class OfficialPeer private constructor(private val process: Process) : AutoCloseable {
    private val messages = MutableStateFlow<List<JsonObject>>(emptyList())
    private val stderrTail = ArrayDeque<String>()
    private var nextId = 1

    companion object {
        suspend fun start(): OfficialPeer {
            val script = File(repoRoot, "tests/peer/official_peer.py")
            val python = System.getenv("PYTHON") ?: "python3"
            val process = ProcessBuilder(python, "-u", script.path).start()
            val peer = OfficialPeer(process)
            val ready = withTimeout(30.seconds) { peer.awaitMessage { it.type == "ready" || it.type == "fatal" } }
            check(ready.type == "ready") { "official peer: ${ready["error"]} (pip install livekit livekit-api)" }
            return peer
        }
    }

    init {
        thread(isDaemon = true, name = "official-peer-stdout") {
            process.inputStream.bufferedReader().forEachLine { line ->
                val message = Json.parseToJsonElement(line).jsonObject
                messages.update { it + message }
            }
        }
        thread(isDaemon = true, name = "official-peer-stderr") {
            process.errorStream.bufferedReader().forEachLine { line ->
                synchronized(stderrTail) {
                    stderrTail.addLast(line)
                    if (stderrTail.size > 40) stderrTail.removeFirst()
                }
            }
        }
    }

    /** Sends a command and returns its ok result; a failed command throws with its error. */
    suspend fun request(cmd: String, fields: JsonObject = JsonObject(emptyMap()), timeout: Duration = 20.seconds): JsonObject {
        val id = synchronized(this) { nextId++ }
        val command = buildJsonObject {
            put("cmd", cmd)
            put("id", id)
            fields.forEach { (k, v) -> put(k, v) }
        }
        synchronized(process) {
            process.outputStream.write((command.toString() + "\n").toByteArray())
            process.outputStream.flush()
        }
        val result = try {
            withTimeout(timeout) { awaitMessage { it.type == "result" && it["id"]?.jsonPrimitive?.content == "$id" } }
        } catch (e: Exception) {
            throw AssertionError("official peer: no answer to $cmd within $timeout; stderr:\n${stderr()}", e)
        }
        check(result["ok"]?.jsonPrimitive?.content == "true") { "official peer: $cmd failed: ${result["error"]}" }
        return result
    }

    /** The first event of `type` matching `predicate`, already received or still to come. */
    suspend fun awaitEvent(type: String, timeout: Duration = 15.seconds, predicate: (JsonObject) -> Boolean = { true }): JsonObject =
        try {
            withTimeout(timeout) { awaitMessage { it.type == type && predicate(it) } }
        } catch (e: Exception) {
            throw AssertionError("official peer: no $type event within $timeout; stderr:\n${stderr()}", e)
        }

    private suspend fun awaitMessage(predicate: (JsonObject) -> Boolean): JsonObject =
        messages.first { list -> list.any(predicate) }.first(predicate)

    private fun stderr() = synchronized(stderrTail) { stderrTail.joinToString("\n") }

    override fun close() {
        process.outputStream.close()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}

val JsonObject.type: String? get() = (this["type"] as? JsonPrimitive)?.content
fun JsonObject.string(key: String): String = getValue(key).jsonPrimitive.content

/**
 * The official peer ("python") joins `room`, then we ("kotlin"); returns once each knows the
 * other (the official SDK learns of us through the server's participant update).
 */
suspend fun OfficialPeer.joinWithKotlin(server: TestServer, room: String): Room {
    request("connect", buildJsonObject {
        put("url", server.url)
        put("token", server.token(room, "python"))
    })
    val kotlin = Room.connect(server.url, server.token(room, "kotlin"), RoomOptions())
    assertEquals(setOf("python"), kotlin.remoteParticipants().keys)
    awaitEvent("participant_connected") { it.string("identity") == "kotlin" }
    return kotlin
}

/** The official peer publishes a 48 kHz mono audio track named `name`; returns its sid. */
suspend fun OfficialPeer.publishAudio(name: String): String =
    request("publish_audio", buildJsonObject {
        put("name", name)
        put("sample_rate", 48_000)
        put("channels", 1)
    }).string("track_sid")

/** The official peer plays one tone of `freq` Hz on its track `trackSid`, at half amplitude. */
suspend fun OfficialPeer.playTone(trackSid: String, freq: Int, seconds: Int) {
    request("play_tones", buildJsonObject {
        put("track_sid", trackSid)
        putJsonArray("tones") {
            add(buildJsonObject { put("freq", freq); put("seconds", seconds); put("amplitude", 0.5) })
        }
    })
}
