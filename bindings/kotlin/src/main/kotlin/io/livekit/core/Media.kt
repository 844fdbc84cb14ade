// The Kotlin layer over the generated media objects: flows of received frames and PCM as
// ShortArray. PCM crosses the native boundary as little-endian 16-bit bytes (one ByteArray,
// copied in bulk), because uniffi would pass a ShortArray as a List<Short> of boxed numbers.
package io.livekit.core

import io.livekit.core.uniffi.AudioFrame
import io.livekit.core.uniffi.AudioResampler
import io.livekit.core.uniffi.AudioSource
import io.livekit.core.uniffi.AudioStream
import io.livekit.core.uniffi.VideoFrame
import io.livekit.core.uniffi.VideoStream
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * Queues interleaved 16-bit samples and returns once the source's queue is back under its
 * size, so a capture loop runs at real-time pace. Copies the samples once into bytes; a caller
 * that already has little-endian bytes (Android's `AudioRecord.read(ByteArray, ...)`) should
 * call `captureFrame(ByteArray)` instead.
 */
suspend fun AudioSource.captureFrame(samples: ShortArray) = captureFrame(samples.toLittleEndianBytes())

/** Resamples interleaved samples; returns what they complete (see `AudioResampler.push`). */
fun AudioResampler.push(samples: ShortArray): ShortArray = push(samples.toLittleEndianBytes()).toShortArray()

/** Ends the resampler's stream; returns the rest of its output as samples. */
fun AudioResampler.flushSamples(): ShortArray = flush().toShortArray()

/** The frame's interleaved samples (one copy out of its little-endian bytes). */
fun AudioFrame.samples(): ShortArray = data.toShortArray()

private fun ByteArray.toShortArray(): ShortArray {
    val samples = ShortArray(size / 2)
    ByteBuffer.wrap(this).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(samples)
    return samples
}

/** These samples as little-endian bytes, the form `AudioSource.captureFrame` takes. */
fun ShortArray.toLittleEndianBytes(): ByteArray {
    val bytes = ByteArray(size * 2)
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().put(this)
    return bytes
}

/**
 * The stream's 10 ms frames as they are decoded; completes when the track ends or after
 * `cancel()`. Cancelling the collector leaves the stream open (collect it again, or call
 * `cancel()`/`close()`). One collector at a time.
 */
fun AudioStream.frames(): Flow<AudioFrame> = flow {
    while (true) emit(next() ?: break)
}

/** The stream's pictures as they are decoded; completes when the track ends or after `cancel()`. */
fun VideoStream.frames(): Flow<VideoFrame> = flow {
    while (true) emit(next() ?: break)
}
