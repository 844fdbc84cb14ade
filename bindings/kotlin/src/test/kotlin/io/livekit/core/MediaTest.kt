package io.livekit.core

import io.livekit.core.uniffi.AudioSource
import io.livekit.core.uniffi.AudioStream
import io.livekit.core.uniffi.LocalTrack
import io.livekit.core.uniffi.Room
import io.livekit.core.uniffi.RoomEvent
import io.livekit.core.uniffi.RoomOptions
import io.livekit.core.uniffi.TrackKind
import io.livekit.core.uniffi.TrackPublication
import io.livekit.core.uniffi.TrackPublishOptions
import io.livekit.core.uniffi.TrackSource
import io.livekit.core.uniffi.VideoFormat
import io.livekit.core.uniffi.VideoFrame
import io.livekit.core.uniffi.VideoSource
import io.livekit.core.uniffi.VideoStream
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.add
import kotlinx.serialization.json.addJsonArray
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.double
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonArray
import org.junit.jupiter.api.Test
import kotlin.math.PI
import kotlin.math.abs
import kotlin.math.roundToInt
import kotlin.math.sin
import kotlin.math.sqrt
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds

/**
 * Audio and video between a Kotlin participant and the official Python SDK on a real server:
 * a tone each way (frequency measured on the receiving side), a solid colour each way, and
 * mute changes seen by the other side.
 */
class MediaTest : ServerTest() {
    @Test
    fun a_tone_crosses_both_ways_and_mutes_are_seen() = runBlocking<Unit> {
        OfficialPeer.start().use { peer ->
            val kotlin = peer.joinWithKotlin(server, uniqueRoom("media-audio"))
            coroutineScope {
                val events = EventLog(kotlin, this)

                // Ours: 440 Hz, heard and measured by the official SDK.
                val source = AudioSource(48_000u, 1u, 100u)
                val track = LocalTrack.createAudioTrack("tone", source)
                val ours = kotlin.localParticipant().publishTrack(track, TrackPublishOptions(source = TrackSource.MICROPHONE))
                val feeder = launch(Dispatchers.Default) { playSine(source, 440.0) }
                events.await<RoomEvent.LocalTrackPublished> { it.publication.sid() == ours.sid() }
                val announced = peer.awaitEvent("track_published") { it.string("track_sid") == ours.sid() }
                assertEquals("SOURCE_MICROPHONE", announced.string("source"))
                val recording = peer.request("start_recording", buildJsonObject {
                    put("participant_identity", "kotlin")
                    put("track_sid", ours.sid())
                    put("sample_rate", 48_000)
                    put("channels", 1)
                }).string("recording_id")
                val heard = peer.request("stop_recording", buildJsonObject {
                    put("recording_id", recording)
                    put("wait_sound_ms", 1500)
                }, timeout = 30.seconds)
                val segment = heard.getValue("segments").jsonArray.map { it.jsonObject }
                    .maxByOrNull { it.ms("end_ms") - it.ms("start_ms") }
                assertNotNull(segment, "the official SDK heard no tone: $heard")
                val theirMeasure = segment.getValue("freq").jsonPrimitive.double
                println("official SDK measured our tone at %.2f Hz".format(theirMeasure))
                assertEquals(440.0, theirMeasure, 5.0)

                // Our mute and unmute reach the official SDK (and raise our own events).
                track.mute()
                events.await<RoomEvent.TrackMuted> { it.localSid() == ours.sid() }
                peer.awaitEvent("track_muted") { it.string("track_sid") == ours.sid() }
                track.unmute()
                events.await<RoomEvent.TrackUnmuted> { it.localSid() == ours.sid() }
                peer.awaitEvent("track_unmuted") { it.string("track_sid") == ours.sid() }

                // Theirs: 660 Hz, measured here by zero crossings.
                val theirs = peer.publishAudio("their-tone")
                val subscribed = events.await<RoomEvent.TrackSubscribed>(15.seconds) { it.publication.sid() == theirs }
                assertEquals(TrackKind.AUDIO, subscribed.track.kind())
                assertEquals(TrackSource.MICROPHONE, subscribed.publication.source())
                val stream = AudioStream.fromTrack(subscribed.track, 48_000u, 1u)
                peer.playTone(theirs, 660, 4)
                val sound = withTimeoutOrNull(20.seconds) { oneSecondOfSound(stream) }
                assertNotNull(sound, "no second of sound from the official SDK's track within 20 s")
                val ourMeasure = zeroCrossingFrequency(sound, 48_000)
                println("we measured the official SDK's tone at %.2f Hz".format(ourMeasure))
                assertEquals(660.0, ourMeasure, 5.0)

                // Both tones make their senders active speakers (the server's audio-level reports).
                events.await<RoomEvent.ActiveSpeakersChanged>(10.seconds) { event ->
                    event.speakers.map { it.identity() }.containsAll(listOf("kotlin", "python"))
                }

                // Their mute and unmute reach us.
                peer.request("mute_track", buildJsonObject { put("track_sid", theirs); put("muted", true) })
                val muted = events.await<RoomEvent.TrackMuted> { it.remoteSid() == theirs }
                assertEquals("python", muted.participant.identity())
                peer.request("mute_track", buildJsonObject { put("track_sid", theirs); put("muted", false) })
                events.await<RoomEvent.TrackUnmuted> { it.remoteSid() == theirs }

                // Unpublishing ours: the official SDK sees it go.
                kotlin.localParticipant().unpublishTrack(ours.sid())
                events.await<RoomEvent.LocalTrackUnpublished> { it.publication.sid() == ours.sid() }
                peer.awaitEvent("track_unpublished") { it.string("track_sid") == ours.sid() }

                stream.cancel()
                assertEquals(null, stream.next())
                feeder.cancel()
                coroutineContext.cancelChildren()
            }
            kotlin.disconnect()
        }
    }

    @Test
    fun a_participant_stream_follows_the_official_microphone() = runBlocking<Unit> {
        OfficialPeer.start().use { peer ->
            val kotlin = peer.joinWithKotlin(server, uniqueRoom("media-follow"))
            val python = kotlin.remoteParticipants().getValue("python")
            // Opened before anything is published: the stream waits for the microphone track.
            val stream = AudioStream.fromParticipant(python, TrackSource.MICROPHONE, 48_000u, 1u)
            val theirs = peer.publishAudio("their-mic")
            peer.playTone(theirs, 550, 4)
            val sound = withTimeoutOrNull(20.seconds) { oneSecondOfSound(stream) }
            assertNotNull(sound, "no second of sound from the official SDK's microphone within 20 s")
            assertEquals(550.0, zeroCrossingFrequency(sound, 48_000), 5.0)

            // The participant leaves: the stream ends.
            peer.request("disconnect")
            val ended = withTimeoutOrNull(15.seconds) { while (stream.next() != null) Unit; true }
            assertEquals(true, ended, "the stream ends when the participant leaves")
            kotlin.disconnect()
        }
    }

    @Test
    fun a_colour_crosses_both_ways() = runBlocking<Unit> {
        OfficialPeer.start().use { peer ->
            val kotlin = peer.joinWithKotlin(server, uniqueRoom("media-video"))
            coroutineScope {
                val events = EventLog(kotlin, this)

                // Ours: solid orange, seen by the official SDK.
                val orange = Rgb(230, 120, 30)
                val source = VideoSource(320u, 240u, false)
                val track = LocalTrack.createVideoTrack("colour", source)
                val ours = kotlin.localParticipant().publishTrack(track, TrackPublishOptions(source = TrackSource.CAMERA))
                assertEquals(TrackKind.VIDEO, ours.kind())
                val picture = solidRgba(320, 240, orange)
                launch(Dispatchers.Default) {
                    // 15 pictures a second, as a camera would hand them in.
                    while (isActive) {
                        source.captureFrame(VideoFrame(VideoFormat.RGBA, 320u, 240u, picture))
                        delay(66)
                    }
                }
                val seen = colourSeenByPeer(peer, ours.sid(), orange)
                println("official SDK saw our $orange as $seen")
                assertTrue(seen.near(orange), "the official SDK saw $seen, sent $orange")

                // Our video mute reaches the official SDK.
                track.mute()
                peer.awaitEvent("track_muted") { it.string("track_sid") == ours.sid() }
                track.unmute()
                peer.awaitEvent("track_unmuted") { it.string("track_sid") == ours.sid() }

                // Theirs: solid teal (with the peer's moving white bar), seen here.
                val teal = Rgb(30, 160, 200)
                val theirs = peer.request("publish_video", buildJsonObject {
                    put("name", "their-colour")
                    put("width", 320)
                    put("height", 240)
                    put("fps", 15)
                    putJsonArray("colours") { addJsonArray { add(teal.r); add(teal.g); add(teal.b); add(60) } }
                }).string("track_sid")
                val subscribed = events.await<RoomEvent.TrackSubscribed>(15.seconds) { it.publication.sid() == theirs }
                assertEquals(TrackSource.CAMERA, subscribed.publication.source())
                val stream = VideoStream.fromTrack(subscribed.track, VideoFormat.RGBA)
                var last: Rgb? = null
                val matched = withTimeoutOrNull(20.seconds) {
                    stream.frames().first { frame ->
                        assertEquals(VideoFormat.RGBA, frame.format)
                        medianColour(frame).also { last = it }.near(teal)
                    }
                }
                println("we saw the official SDK's $teal as $last")
                assertNotNull(matched, "within 20 s we saw $last, the official SDK sent $teal")
                stream.cancel()
                coroutineContext.cancelChildren()
            }
            kotlin.disconnect()
        }
    }

    /**
     * What the official SDK sees of our track: short recordings until one ends on a picture
     * near `expected` (the first pictures may still be the encoder's ramp-up), at most 20 s.
     */
    private suspend fun colourSeenByPeer(peer: OfficialPeer, trackSid: String, expected: Rgb): Rgb {
        // Our publish call returns once the server acknowledged it; the peer hears of the track
        // a moment later (CI once asked for a recording before that).
        peer.awaitEvent("track_published") { it.string("track_sid") == trackSid }
        var seen: Rgb? = null
        withTimeoutOrNull(20.seconds) {
            while (seen?.near(expected) != true) {
                val recording = peer.request("start_video_recording", buildJsonObject {
                    put("participant_identity", "kotlin")
                    put("track_sid", trackSid)
                }).string("recording_id")
                // A recording window, not a stand-in for an event: the peer reports frames only when stopped.
                delay(700)
                val frames = peer.request("stop_video_recording", buildJsonObject { put("recording_id", recording) })
                    .getValue("frames").jsonArray
                val lastFrame = frames.lastOrNull()?.jsonObject ?: continue
                val rgb = lastFrame.getValue("rgb").jsonArray.map { it.jsonPrimitive.double.roundToInt() }
                seen = Rgb(rgb[0], rgb[1], rgb[2])
            }
        }
        return assertNotNull(seen, "the official SDK received no picture of our track within 20 s")
    }
}

/** A colour, and whether another is within 16 of it on every channel (YUV and VP8 round trips). */
data class Rgb(val r: Int, val g: Int, val b: Int) {
    fun near(other: Rgb) = abs(r - other.r) <= 16 && abs(g - other.g) <= 16 && abs(b - other.b) <= 16
}

private fun solidRgba(width: Int, height: Int, colour: Rgb): ByteArray {
    val pixels = ByteArray(width * height * 4)
    for (i in 0 until width * height) {
        pixels[4 * i] = colour.r.toByte()
        pixels[4 * i + 1] = colour.g.toByte()
        pixels[4 * i + 2] = colour.b.toByte()
        pixels[4 * i + 3] = 255.toByte()
    }
    return pixels
}

/** The median of each channel over the picture's centre quarter: the peer's moving bar is a minority there. */
private fun medianColour(frame: VideoFrame): Rgb {
    val width = frame.width.toInt()
    val height = frame.height.toInt()
    val channels = List(3) { ArrayList<Int>() }
    for (y in height / 4 until height - height / 4) {
        for (x in width / 4 until width - width / 4) {
            val i = 4 * (y * width + x)
            for (c in 0 until 3) channels[c].add(frame.data[i + c].toInt() and 0xff)
        }
    }
    val medians = channels.map { it.sorted()[it.size / 2] }
    return Rgb(medians[0], medians[1], medians[2])
}

/** Captures a phase-continuous sine in 10 ms frames until cancelled; each capture waits for room in the queue. */
private suspend fun playSine(source: AudioSource, frequency: Double) {
    var n = 0L
    val frame = ShortArray(480)
    while (true) {
        for (i in frame.indices) {
            frame[i] = (0.5 * Short.MAX_VALUE * sin(2 * PI * frequency * n++ / 48_000)).toInt().toShort()
        }
        source.captureFrame(frame)
    }
}

/** One second of the stream's samples, starting 100 ms into the first sound (10 ms frames above -40 dBFS). */
private suspend fun oneSecondOfSound(stream: AudioStream): ShortArray {
    val collected = ArrayList<ShortArray>()
    var soundFrames = 0
    // first() fails if the stream ends before a second of sound.
    stream.frames().first { frame ->
        assertEquals(480u, frame.samplesPerChannel)
        val samples = frame.samples()
        val rms = sqrt(samples.sumOf { it.toDouble() * it } / samples.size) / 32768
        if (rms >= 0.01 || soundFrames > 0) soundFrames++
        if (soundFrames > 10) collected.add(samples)
        collected.size == 100
    }
    val out = ShortArray(collected.sumOf { it.size })
    var at = 0
    for (part in collected) {
        part.copyInto(out, at)
        at += part.size
    }
    return out
}

private fun JsonObject.ms(key: String) = getValue(key).jsonPrimitive.double

private fun RoomEvent.TrackMuted.localSid() = (publication as? TrackPublication.Local)?.publication?.sid()
private fun RoomEvent.TrackUnmuted.localSid() = (publication as? TrackPublication.Local)?.publication?.sid()
private fun RoomEvent.TrackMuted.remoteSid() = (publication as? TrackPublication.Remote)?.publication?.sid()
private fun RoomEvent.TrackUnmuted.remoteSid() = (publication as? TrackPublication.Remote)?.publication?.sid()

/** Frequency from upward zero crossings, each placed between its two samples by linear interpolation. */
fun zeroCrossingFrequency(samples: ShortArray, sampleRate: Int): Double {
    val crossings = ArrayList<Double>()
    for (i in 1 until samples.size) {
        val a = samples[i - 1].toDouble()
        val b = samples[i].toDouble()
        if (a < 0 && b >= 0) crossings.add(i - 1 + a / (a - b))
    }
    check(crossings.size >= 2) { "no tone: ${crossings.size} zero crossings" }
    return (crossings.size - 1) * sampleRate / (crossings.last() - crossings.first())
}
