"""rtc.AudioResampler (the sox resampler requests): a tone keeps its pitch, level and length
through a rate change, whichever library is loaded. No server needed."""

import numpy as np
from livekit import rtc

from audio_tools import dominant_frequency, rms, tone


def test_a_tone_keeps_pitch_level_and_length_from_48_to_16_khz():
    resampler = rtc.AudioResampler(48000, 16000, num_channels=1)
    sent = tone(440, 0.5)
    out = []
    for start in range(0, len(sent), 480):
        chunk = sent[start : start + 480]
        for frame in resampler.push(rtc.AudioFrame(chunk.tobytes(), 48000, 1, len(chunk))):
            assert frame.sample_rate == 16000
            out.append(np.frombuffer(frame.data, dtype=np.int16))
    out.extend(np.frombuffer(frame.data, dtype=np.int16) for frame in resampler.flush())
    received = np.concatenate(out)
    assert abs(len(received) - 8000) <= 80, len(received)
    middle = received[1000:7000]
    assert abs(dominant_frequency(middle) / 3 - 440) < 5  # dominant_frequency reads it as 48 kHz
    assert abs(20 * np.log10(rms(middle) / rms(sent))) < 1
