// The thin Kotlin layer over the generated bindings (io.livekit.core.uniffi): flows for the
// room's events and a stream's chunks, and lambdas for handlers. It decides nothing: every
// call goes to the core unchanged.
package io.livekit.core

import io.livekit.core.uniffi.ByteStreamHandler
import io.livekit.core.uniffi.ByteStreamInfo
import io.livekit.core.uniffi.ByteStreamReader
import io.livekit.core.uniffi.LocalParticipant
import io.livekit.core.uniffi.Room
import io.livekit.core.uniffi.RoomEvent
import io.livekit.core.uniffi.RpcHandler
import io.livekit.core.uniffi.RpcInvocation
import io.livekit.core.uniffi.SendByteOptions
import io.livekit.core.uniffi.StreamProgressListener
import io.livekit.core.uniffi.TextStreamHandler
import io.livekit.core.uniffi.TextStreamReader
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.launch

/**
 * The room's events in order, from `Connected` to `Disconnected`, after which the flow
 * completes. The room has one event stream: collect this flow once.
 */
fun Room.events(): Flow<RoomEvent> = flow {
    while (true) emit(nextEvent() ?: break)
}

/** The stream's chunks as they arrive; the flow fails when the sender aborts the stream. */
fun ByteStreamReader.chunks(): Flow<ByteArray> = flow {
    while (true) emit(readChunk() ?: break)
}

/** The stream's text chunks as they arrive (whole UTF-8). */
fun TextStreamReader.chunks(): Flow<String> = flow {
    while (true) emit(readChunk() ?: break)
}

/**
 * Byte streams on `topic` start `handler` in `scope`, one coroutine per stream, in the order
 * the sender opened them.
 */
fun Room.registerByteStreamHandler(
    topic: String,
    scope: CoroutineScope,
    handler: suspend (reader: ByteStreamReader, participantIdentity: String) -> Unit,
) = registerByteStreamHandler(topic, object : ByteStreamHandler {
    override fun onStream(reader: ByteStreamReader, participantIdentity: String) {
        scope.launch { handler(reader, participantIdentity) }
    }
})

/** Text streams on `topic` start `handler` in `scope`, one coroutine per stream. */
fun Room.registerTextStreamHandler(
    topic: String,
    scope: CoroutineScope,
    handler: suspend (reader: TextStreamReader, participantIdentity: String) -> Unit,
) = registerTextStreamHandler(topic, object : TextStreamHandler {
    override fun onStream(reader: TextStreamReader, participantIdentity: String) {
        scope.launch { handler(reader, participantIdentity) }
    }
})

/**
 * Answers calls to `method` with what `handler` returns; throw `RpcException.Failed` to answer
 * with an error code (anything else thrown reaches the caller as 1500).
 */
fun LocalParticipant.registerRpcMethod(method: String, handler: suspend (RpcInvocation) -> String) =
    registerRpcMethod(method, object : RpcHandler {
        override suspend fun handle(invocation: RpcInvocation): String = handler(invocation)
    })

/** Sends a file; `onProgress` hears (bytes sent, total bytes). */
suspend fun LocalParticipant.sendFile(
    path: String,
    options: SendByteOptions,
    onProgress: (sent: Long, total: Long?) -> Unit,
): ByteStreamInfo = sendFile(path, options, object : StreamProgressListener {
    override fun onProgress(bytesProcessed: ULong, bytesTotal: ULong?) {
        onProgress(bytesProcessed.toLong(), bytesTotal?.toLong())
    }
})
