"""rtc.AudioResampler: a tone keeps its pitch, level and exact length through a rate change,
pushed in pieces of any length, frames or bytes; bad rates are the package's typed error. No
server needed: the conversion is local."""

import numpy as np
import pytest

from livekit_core import rtc
from test_audio import dominant_frequency


def sine(freq: float, rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = (np.sin(2 * np.pi * freq * t) * 16000).astype(np.int16)
    return np.repeat(mono, channels)


def resample(resampler: rtc.AudioResampler, pcm: np.ndarray, piece: int, rate: int, channels: int) -> np.ndarray:
    out = []
    for start in range(0, len(pcm), piece):
        chunk = pcm[start : start + piece]
        frame = rtc.AudioFrame(chunk.tobytes(), rate, channels, len(chunk) // channels)
        out.extend(resampler.push(frame))
    out.extend(resampler.flush())
    for frame in out:
        assert frame.num_channels == channels and frame.sample_rate == resampler._output_rate
    return np.concatenate([np.frombuffer(frame.data, dtype=np.int16) for frame in out])


@pytest.mark.parametrize("rate_in,rate_out,channels", [(48000, 16000, 1), (16000, 48000, 2), (44100, 24000, 1)])
def test_a_tone_keeps_pitch_level_and_exact_length(rate_in, rate_out, channels):
    resampler = rtc.AudioResampler(rate_in, rate_out, num_channels=channels, quality=rtc.AudioResamplerQuality.HIGH)
    sent = sine(440, rate_in, 0.5, channels)
    received = resample(resampler, sent, 777 * channels, rate_in, channels)
    frames_in = len(sent) // channels
    assert len(received) // channels == -(-frames_in * rate_out // rate_in)  # rounded up
    left = received[::channels].astype(np.float64)
    middle = left[len(left) // 10 : -len(left) // 10]
    assert abs(dominant_frequency(middle, rate_out) - 440) < 5
    level_db = 20 * np.log10(np.sqrt(np.mean(middle**2)) / (16000 / np.sqrt(2)))
    assert abs(level_db) < 1, level_db


def test_bytes_in_pieces_and_a_second_stream_after_flush():
    resampler = rtc.AudioResampler(48000, 24000)
    pcm = sine(1000, 48000, 0.1).tobytes()
    first = b"".join(bytes(f.data.cast("B")) for piece in (pcm[:1000], pcm[1000:]) for f in resampler.push(piece))
    first += b"".join(bytes(f.data.cast("B")) for f in resampler.flush())
    second = b"".join(bytes(f.data.cast("B")) for f in resampler.push(bytearray(pcm)) + resampler.flush())
    assert len(first) == len(pcm) // 2 and first == second
    assert resampler.push(b"") == []


def test_bad_arguments_are_typed_errors():
    with pytest.raises(rtc.InvalidArgumentError, match="22050 Hz"):
        rtc.AudioResampler(22050, 16000)
    with pytest.raises(rtc.InvalidArgumentError, match="channels"):
        rtc.AudioResampler(48000, 16000, num_channels=9)
    with pytest.raises(ValueError):
        rtc.AudioResampler(48000, 16000, quality="best")
    resampler = rtc.AudioResampler(48000, 16000)
    with pytest.raises(rtc.InvalidArgumentError, match="whole int16"):
        resampler.push(b"\x00\x01\x02")
    with pytest.raises(TypeError):
        resampler.push([1, 2, 3])
