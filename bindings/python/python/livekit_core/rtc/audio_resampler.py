"""AudioResampler with the official SDK's shape: int16 PCM pushed in pieces of any length at one
sample rate, `AudioFrame`s out at another, the same channel count. The conversion is the core's
(an FFT resampler run on 10 ms blocks, the output lined up with the input); `flush` ends the
stream so the whole output is exactly the converted length."""

from __future__ import annotations

TYPE_CHECKING = False

from .. import _native
from .audio import AudioFrame

if TYPE_CHECKING:
    from typing import List, Union


class AudioResamplerQuality:
    """The official SDK's quality names. livekit-core has one quality (comparable to sox's
    "medium" to "high"), so every value is accepted and gives the same result."""

    QUICK = "quick"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


_QUALITIES = {"quick", "low", "medium", "high", "very_high"}


class AudioResampler:
    """Converts int16 PCM from `input_rate` to `output_rate` Hz (each a multiple of 100 Hz,
    8 to 48 kHz) for `num_channels` interleaved channels (1 to 8). Bad rates raise
    `InvalidArgumentError` (a `ValueError`)."""

    def __init__(self, input_rate: int, output_rate: int, *, num_channels: int = 1,
                 quality: str = AudioResamplerQuality.MEDIUM) -> None:
        if str(getattr(quality, "value", quality)) not in _QUALITIES:
            raise ValueError(f"{quality!r} is not an AudioResamplerQuality")
        self._native = _native.NativeAudioResampler(input_rate, output_rate, num_channels)
        self._output_rate = output_rate
        self._num_channels = num_channels

    def push(self, data: Union[bytearray, bytes, AudioFrame]) -> List[AudioFrame]:
        """Adds audio (int16 bytes or an `AudioFrame` at the input rate) and returns the output
        it completes: one frame, or none yet."""
        if isinstance(data, AudioFrame):
            size = data.samples_per_channel * data.num_channels * 2
            data = data._data if len(data._data) == size else bytes(memoryview(data._data)[:size])
        if not data:
            return []
        return self._frames(self._native.push(data))

    def flush(self) -> List[AudioFrame]:
        """Ends the stream and returns the rest of the output; the next push starts a new one."""
        return self._frames(self._native.flush())

    def _frames(self, output: bytearray) -> List[AudioFrame]:
        if not output:
            return []
        samples = len(output) // (2 * self._num_channels)
        return [AudioFrame(output, self._output_rate, self._num_channels, samples)]
