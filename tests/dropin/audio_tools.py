"""Tones in, tones out: what the media cases send through rtc.AudioSource and check on the
frames rtc.AudioStream gives. numpy comes with the official SDK (it depends on it)."""

import asyncio

import numpy as np
from livekit import rtc

RATE = 48000
FRAME = RATE // 100  # 10 ms
AMPLITUDE = 0.5
# A 10 ms frame counts as sound above this RMS (full scale 32767); Opus leaves silence near 0.
LOUD_RMS = 1000.0


def tone(frequency, seconds, amplitude=AMPLITUDE):
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * frequency * t) * amplitude * 32767).astype(np.int16)


def silence(seconds):
    return np.zeros(int(RATE * seconds), dtype=np.int16)


async def play(source, samples):
    """Captures `samples` (mono, 48 kHz) in 10 ms frames, as a microphone would."""
    for start in range(0, len(samples) - FRAME + 1, FRAME):
        chunk = samples[start : start + FRAME]
        await source.capture_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, FRAME))


async def publish_microphone(room, name="microphone", queue_size_ms=100):
    """An AudioSource and its published track; returns (source, track, publication)."""
    source = rtc.AudioSource(RATE, 1, queue_size_ms=queue_size_ms)
    track = rtc.LocalAudioTrack.create_audio_track(name, source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    publication = await room.local_participant.publish_track(track, options)
    return source, track, publication


def rms(samples):
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def dominant_frequency(samples):
    window = samples.astype(np.float64) * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(window))
    spectrum[0] = 0
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


async def record_sound(stream, min_loud_seconds, timeout=10.0):
    """Frames from `stream` from the first loud one until `min_loud_seconds` of loud audio
    arrived and then 100 ms of quiet (the end of what was sent). Returns mono samples."""

    async def collect():
        kept, loud, quiet_after = [], 0, 0
        async for event in stream:
            samples = np.frombuffer(event.frame.data, dtype=np.int16)
            is_loud = rms(samples) > LOUD_RMS
            if not kept and not is_loud:
                continue
            kept.append(samples.copy())
            loud += len(samples) if is_loud else 0
            quiet_after = 0 if is_loud else quiet_after + len(samples)
            if loud >= min_loud_seconds * RATE and quiet_after >= RATE // 10:
                break
        return np.concatenate(kept) if kept else np.zeros(0, dtype=np.int16)

    return await asyncio.wait_for(collect(), timeout)


def loud_part(samples):
    """The samples from the first to the last loud 10 ms frame."""
    frames = [samples[i : i + FRAME] for i in range(0, len(samples) - FRAME + 1, FRAME)]
    loud = [i for i, frame in enumerate(frames) if rms(frame) > LOUD_RMS]
    return samples[loud[0] * FRAME : (loud[-1] + 1) * FRAME] if loud else samples[:0]


def tone_sequence(samples, window_seconds=0.05, min_windows=2):
    """The tones heard in order: the dominant frequency of each window, rounded to 10 Hz,
    runs shorter than `min_windows` (transitions) dropped, repeats merged."""
    size = int(RATE * window_seconds)
    runs = []
    for start in range(0, len(samples) - size + 1, size):
        window = samples[start : start + size]
        if rms(window) < LOUD_RMS:
            continue
        frequency = round(dominant_frequency(window) / 10) * 10
        if runs and abs(runs[-1][0] - frequency) <= 20:
            runs[-1][1] += 1
        else:
            runs.append([frequency, 1])
    sequence = []
    for frequency, count in runs:
        if count >= min_windows and (not sequence or abs(sequence[-1] - frequency) > 20):
            sequence.append(frequency)
    return sequence
