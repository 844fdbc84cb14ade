package io.livekit.core

import io.livekit.core.uniffi.ByteStreamReader
import io.livekit.core.uniffi.LiveKitException
import io.livekit.core.uniffi.Room
import io.livekit.core.uniffi.RoomEvent
import io.livekit.core.uniffi.RoomOptions
import io.livekit.core.uniffi.RpcException
import io.livekit.core.uniffi.SendByteOptions
import io.livekit.core.uniffi.SendTextOptions
import io.livekit.core.uniffi.StreamOptions
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import java.io.File
import java.nio.file.Files
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** Byte and text streams and RPC between two Kotlin participants on a real server. */
class StreamsAndRpcTest : ServerTest() {
    private suspend fun pair(prefix: String): Pair<Room, Room> {
        val name = uniqueRoom(prefix)
        val alice = Room.connect(server.url, server.token(name, "alice"), RoomOptions())
        val bob = Room.connect(server.url, server.token(name, "bob"), RoomOptions())
        // Streams compress only for receivers the sender knows: wait until alice sees bob (bob
        // found alice in the room when he joined).
        coroutineScope {
            EventLog(alice, this).await<RoomEvent.ParticipantConnected> { it.participant.identity() == "bob" }
            coroutineContext.cancelChildren()
        }
        assertTrue("alice" in bob.remoteParticipants())
        return alice to bob
    }

    @Test
    fun a_byte_stream_arrives_chunk_by_chunk_in_order() = runBlocking<Unit> {
        val (alice, bob) = pair("bytes")
        coroutineScope {
            val received = CompletableDeferred<Pair<List<ByteArray>, String>>()
            bob.registerByteStreamHandler("photos", this) { reader, sender ->
                received.complete(reader.chunks().toList() to sender)
            }
            val writer = alice.localParticipant().streamBytes(StreamOptions(topic = "photos", name = "p.bin"))
            val parts = listOf(Random.nextBytes(20_000), Random.nextBytes(7))
            parts.forEach { writer.write(it) }
            writer.finish()
            val (chunks, sender) = withTimeout(10_000) { received.await() }
            assertEquals("alice", sender)
            assertContentEquals(parts.reduce(ByteArray::plus), chunks.reduce(ByteArray::plus))
            assertTrue(chunks.all { it.size <= 15_000 }, "chunks of at most 15,000 bytes")
        }
        alice.disconnect()
        bob.disconnect()
    }

    @Test
    fun a_file_sent_with_progress_is_written_to_a_folder() = runBlocking<Unit> {
        val (alice, bob) = pair("file")
        val source = Files.createTempFile("lk-kotlin", ".bin").toFile().apply { writeBytes(Random.nextBytes(100_000)) }
        val downloads = Files.createTempDirectory("lk-downloads").toFile()
        coroutineScope {
            val saved = CompletableDeferred<String>()
            bob.registerByteStreamHandler("files", this) { reader, _ ->
                saved.complete(reader.writeToFile(downloads.path, null))
            }
            var lastProgress = 0L to (null as Long?)
            val info = alice.localParticipant().sendFile(source.path, SendByteOptions(topic = "files")) { sent, total ->
                lastProgress = sent to total
            }
            assertEquals(source.name, info.name)
            assertEquals(100_000L to 100_000L, lastProgress)
            val path = withTimeout(10_000) { saved.await() }
            assertEquals(File(downloads, source.name).path, path)
            assertContentEquals(source.readBytes(), File(path).readBytes())
        }
        alice.disconnect()
        bob.disconnect()
    }

    @Test
    fun an_aborted_stream_fails_the_reader() = runBlocking<Unit> {
        val (alice, bob) = pair("abort")
        coroutineScope {
            val failure = CompletableDeferred<Throwable?>()
            bob.registerByteStreamHandler("big", this) { reader, _ ->
                failure.complete(runCatching { reader.readAll() }.exceptionOrNull())
            }
            val writer = alice.localParticipant().streamBytes(StreamOptions(topic = "big"))
            writer.write(ByteArray(100))
            writer.abort("changed my mind")
            val error = withTimeout(10_000) { failure.await() }
            assertTrue(error is LiveKitException.Stream && "changed my mind" in error.reason, "got $error")
        }
        alice.disconnect()
        bob.disconnect()
    }

    @Test
    fun a_writer_released_without_finishing_still_ends_its_stream() = runBlocking<Unit> {
        val (alice, bob) = pair("release")
        coroutineScope {
            val received = CompletableDeferred<ByteArray>()
            bob.registerByteStreamHandler("notes", this) { reader, _ -> received.complete(reader.readAll()) }
            val writer = alice.localParticipant().streamBytes(StreamOptions(topic = "notes"))
            writer.write("unfinished".toByteArray())
            writer.close() // frees the native writer (AutoCloseable), on a thread outside the runtime
            assertEquals("unfinished", withTimeout(10_000) { received.await() }.decodeToString())
        }
        alice.disconnect()
        bob.disconnect()
    }

    @Test
    fun text_without_a_handler_comes_as_an_event() = runBlocking<Unit> {
        val (alice, bob) = pair("text")
        coroutineScope {
            val bobEvents = EventLog(bob, this)
            alice.localParticipant().sendText("héllo wörld", SendTextOptions(topic = "chat"))
            val opened = bobEvents.await<RoomEvent.TextStreamOpened> { it.topic == "chat" }
            assertEquals("alice", opened.participantIdentity)
            assertEquals("héllo wörld", opened.reader.readAll())
            assertFailsWith<LiveKitException.Stream> { opened.reader.readAll() }
            coroutineContext.cancelChildren()
        }
        alice.disconnect()
        bob.disconnect()
    }

    @Test
    fun rpc_answers_errors_and_unknown_methods() = runBlocking<Unit> {
        val (alice, bob) = pair("rpc")
        bob.localParticipant().registerRpcMethod("greet") { call -> "hello ${call.callerIdentity}: ${call.payload}" }
        bob.localParticipant().registerRpcMethod("fail") { throw RpcException.Failed(4001u, "no seats", "row 3") }
        bob.localParticipant().registerRpcMethod("crash") { error("a bug in the handler") }
        val me = alice.localParticipant()
        assertEquals("hello alice: hi", me.performRpc("bob", "greet", "hi", null))
        val failed = assertFailsWith<RpcException.Failed> { me.performRpc("bob", "fail", "", null) }
        assertEquals(4001u, failed.code)
        assertEquals("no seats", failed.reason)
        assertEquals("row 3", failed.data)
        val unknown = assertFailsWith<RpcException.Failed> { me.performRpc("bob", "nope", "", null) }
        assertEquals(1400u, unknown.code)
        // A handler that throws something else answers 1500 (application error); bob stays up.
        val crashed = assertFailsWith<RpcException.Failed> { me.performRpc("bob", "crash", "", null) }
        assertEquals(1500u, crashed.code)
        assertEquals("hello alice: again", me.performRpc("bob", "greet", "again", null))
        alice.disconnect()
        bob.disconnect()
    }
}
