//! `AudioFrame`: a validated block of interleaved 16-bit PCM. It owns its samples and knows
//! nothing about pacing, codecs or tracks.

use crate::error::{Error, Result};

/// The lowest sample rate an [`AudioFrame`] accepts, in Hz.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// The highest sample rate an [`AudioFrame`] accepts, in Hz.
pub const MAX_SAMPLE_RATE: u32 = 48_000;

/// A block of interleaved signed 16-bit PCM (`L R L R ...` for stereo).
///
/// ```
/// use livekit_core::AudioFrame;
/// // 10 ms of stereo silence at 48 kHz.
/// let frame = AudioFrame::new(vec![0; 960], 48_000, 2).unwrap();
/// assert_eq!(frame.samples_per_channel(), 480);
/// assert!(AudioFrame::new(vec![0; 3], 48_000, 2).is_err()); // not a whole number of stereo samples
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    data: Vec<i16>,
    sample_rate: u32,
    num_channels: u32,
    samples_per_channel: u32,
}

impl AudioFrame {
    /// Wraps interleaved samples. Fails with [`Error::InvalidArgument`] when the rate is outside
    /// 8000..=48000 Hz, the channel count is not 1 or 2, `data` is empty, or its length is not a
    /// multiple of the channel count.
    pub fn new(data: Vec<i16>, sample_rate: u32, num_channels: u32) -> Result<Self> {
        validate_format(sample_rate, num_channels)?;
        if data.is_empty() {
            return Err(Error::InvalidArgument("an audio frame needs at least one sample".into()));
        }
        if !data.len().is_multiple_of(num_channels as usize) {
            return Err(Error::InvalidArgument(format!(
                "an audio frame of {num_channels} channels needs a multiple of {num_channels} samples, got {}",
                data.len()
            )));
        }
        let samples_per_channel = u32::try_from(data.len() / num_channels as usize)
            .map_err(|_| Error::InvalidArgument("an audio frame is too long".into()))?;
        Ok(AudioFrame { data, sample_rate, num_channels, samples_per_channel })
    }

    /// A frame of silence lasting `samples_per_channel` samples.
    ///
    /// ```
    /// use livekit_core::AudioFrame;
    /// let frame = AudioFrame::silence(16_000, 1, 160).unwrap();
    /// assert!(frame.data().iter().all(|&s| s == 0));
    /// ```
    pub fn silence(sample_rate: u32, num_channels: u32, samples_per_channel: u32) -> Result<Self> {
        let len = samples_per_channel as usize * num_channels as usize;
        Self::new(vec![0; len], sample_rate, num_channels)
    }

    /// The interleaved samples.
    pub fn data(&self) -> &[i16] {
        &self.data
    }

    /// Gives the samples back, for reuse without a copy.
    pub fn into_data(self) -> Vec<i16> {
        self.data
    }

    /// Samples per second, per channel.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// 1 (mono) or 2 (stereo).
    pub fn num_channels(&self) -> u32 {
        self.num_channels
    }

    /// How many samples each channel has (`data().len() / num_channels()`).
    pub fn samples_per_channel(&self) -> u32 {
        self.samples_per_channel
    }

    /// How long the frame plays.
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(f64::from(self.samples_per_channel) / f64::from(self.sample_rate))
    }
}

/// Checks a sample rate and channel count against what the media layer supports.
pub(crate) fn validate_format(sample_rate: u32, num_channels: u32) -> Result<()> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(Error::InvalidArgument(format!(
            "sample rate {sample_rate} Hz is outside {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz"
        )));
    }
    if !(1..=2).contains(&num_channels) {
        return Err(Error::InvalidArgument(format!(
            "{num_channels} channels: only 1 (mono) or 2 (stereo) are supported"
        )));
    }
    Ok(())
}

/// Like [`validate_format`], and the rate must also give a whole number of samples per 10 ms,
/// because every paced or resampled step works on 10 ms chunks.
pub(crate) fn validate_paced_format(sample_rate: u32, num_channels: u32) -> Result<()> {
    validate_format(sample_rate, num_channels)?;
    if !sample_rate.is_multiple_of(100) {
        return Err(Error::InvalidArgument(format!(
            "sample rate {sample_rate} Hz does not divide into 10 ms chunks; use a multiple of 100 Hz"
        )));
    }
    Ok(())
}

/// Samples per channel in 10 ms at `sample_rate` (a multiple of 100).
pub(crate) fn samples_per_10ms(sample_rate: u32) -> usize {
    sample_rate as usize / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_frames_report_their_shape() {
        let frame = AudioFrame::new(vec![1; 320], 16_000, 2).unwrap();
        assert_eq!(frame.samples_per_channel(), 160);
        assert_eq!(frame.duration(), std::time::Duration::from_millis(10));
        assert_eq!(AudioFrame::silence(8_000, 1, 80).unwrap().data().len(), 80);
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        let invalid = |r: Result<AudioFrame>| matches!(r, Err(Error::InvalidArgument(_)));
        assert!(invalid(AudioFrame::new(vec![0; 10], 7_999, 1)));
        assert!(invalid(AudioFrame::new(vec![0; 10], 48_001, 1)));
        assert!(invalid(AudioFrame::new(vec![0; 10], 48_000, 0)));
        assert!(invalid(AudioFrame::new(vec![0; 12], 48_000, 3)));
        assert!(invalid(AudioFrame::new(vec![], 48_000, 1)));
        assert!(invalid(AudioFrame::new(vec![0; 5], 48_000, 2)));
        assert!(validate_paced_format(44_100, 2).is_ok());
        assert!(validate_paced_format(44_110, 2).is_err());
    }
}
