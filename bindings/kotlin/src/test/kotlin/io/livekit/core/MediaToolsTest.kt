package io.livekit.core

import io.livekit.core.uniffi.AudioResampler
import io.livekit.core.uniffi.LiveKitException
import io.livekit.core.uniffi.VideoFormat
import io.livekit.core.uniffi.VideoFrame
import io.livekit.core.uniffi.convertFrame
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import kotlin.math.PI
import kotlin.math.abs
import kotlin.math.roundToInt
import kotlin.math.sin
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/** The media helpers that need no room: the resampler and pixel format conversion. */
class MediaToolsTest {
    @Test
    fun a_tone_keeps_its_pitch_and_exact_length_through_the_resampler() {
        val input = ShortArray(48_000) { (sin(2 * PI * 440.0 * it / 48_000) * 16_000).roundToInt().toShort() }
        AudioResampler(48_000u, 16_000u, 1u).use { resampler ->
            val output = mutableListOf<Short>()
            // Pieces of odd lengths: the resampler keeps its state across pushes.
            for (start in input.indices step 777) {
                output += resampler.push(input.copyOfRange(start, minOf(start + 777, input.size))).toList()
            }
            output += resampler.flushSamples().toList()
            assertEquals(16_000, output.size)
            val frequency = zeroCrossingFrequency(output.toShortArray(), 16_000)
            assertTrue(abs(frequency - 440.0) < 3.0, "heard $frequency Hz")
        }
        assertThrows<LiveKitException.InvalidArgument> { AudioResampler(44_100u, 12_345u, 1u) }
    }

    @Test
    fun a_red_picture_stays_red_in_every_format() {
        val red = ByteArray(4 * 4 * 4) { if (it % 4 == 0 || it % 4 == 3) 255.toByte() else 0 }
        val frame = VideoFrame(VideoFormat.RGBA, 4u, 4u, red, 0u, 0L)
        for (format in VideoFormat.entries) {
            val back = convertFrame(convertFrame(frame, format), VideoFormat.RGBA)
            val (r, g, b) = Triple(back.data[0].toInt() and 255, back.data[1].toInt() and 255, back.data[2].toInt() and 255)
            assertTrue(r > 235 && g < 20 && b < 20, "$format: $r $g $b")
        }
        assertThrows<LiveKitException.InvalidArgument> { convertFrame(frame.copy(data = ByteArray(3)), VideoFormat.I420) }
    }
}
