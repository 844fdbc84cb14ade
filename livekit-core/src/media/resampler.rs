//! Streaming sample-rate conversion and mono/stereo remix of interleaved i16 PCM, in 10 ms
//! chunks. The filtering is [`Polyphase`]; this file only adapts formats and keeps state across
//! calls so consecutive chunks join without clicks.

use super::frame::{samples_per_10ms, validate_paced_format};
use super::polyphase::{filter_or_pass, Polyphase};
use crate::error::{Error, Result};

/// Converts a stream of 10 ms chunks from one rate/channel count to another.
pub(crate) struct ChunkResampler {
    in_rate: u32,
    in_channels: usize,
    out_rate: u32,
    out_channels: usize,
    /// `None` when the rates are equal (only the remix runs).
    filter: Option<Polyphase>,
    /// Reused buffers, in the channel count the filter works in.
    scratch_in: Vec<f32>,
    scratch_out: Vec<f32>,
}

impl std::fmt::Debug for ChunkResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkResampler")
            .field("from", &(self.in_rate, self.in_channels))
            .field("to", &(self.out_rate, self.out_channels))
            .finish()
    }
}

impl ChunkResampler {
    /// A converter between two formats; each rate must be 8..=48 kHz and a multiple of 100 Hz,
    /// each channel count 1 or 2.
    pub(crate) fn new(in_rate: u32, in_channels: u32, out_rate: u32, out_channels: u32) -> Result<Self> {
        validate_paced_format(in_rate, in_channels)?;
        validate_paced_format(out_rate, out_channels)?;
        // Resample in the smaller channel count: downmix before, upmix after.
        let work_channels = in_channels.min(out_channels) as usize;
        // 10 ms at a rate that is a multiple of 100 Hz is whole frames, and the filter turns
        // exactly that into 10 ms at the output rate.
        let filter = (in_rate != out_rate).then(|| Polyphase::new(in_rate, out_rate, work_channels));
        Ok(ChunkResampler {
            in_rate,
            in_channels: in_channels as usize,
            out_rate,
            out_channels: out_channels as usize,
            filter,
            scratch_in: Vec::new(),
            scratch_out: Vec::new(),
        })
    }

    /// Output samples (per channel) this converter adds before the input shows (filter delay).
    pub(crate) fn delay_samples(&self) -> usize {
        self.filter.as_ref().map_or(0, Polyphase::delay_frames)
    }

    /// Converts interleaved input made of whole 10 ms chunks; returns the same duration at the
    /// output format (delayed by [`Self::delay_samples`]).
    pub(crate) fn process(&mut self, input: &[i16]) -> Result<Vec<i16>> {
        let in_chunk = samples_per_10ms(self.in_rate) * self.in_channels;
        if input.is_empty() || !input.len().is_multiple_of(in_chunk) {
            return Err(Error::InvalidArgument(format!(
                "resampler input of {} samples is not a whole number of 10 ms chunks ({in_chunk} samples)",
                input.len()
            )));
        }
        let out_chunk = samples_per_10ms(self.out_rate) * self.out_channels;
        let mut output = Vec::with_capacity(input.len() / in_chunk * out_chunk);
        for chunk in input.chunks_exact(in_chunk) {
            self.process_chunk(chunk, &mut output);
        }
        Ok(output)
    }

    fn process_chunk(&mut self, chunk: &[i16], output: &mut Vec<i16>) {
        let work_channels = self.in_channels.min(self.out_channels);
        self.scratch_in.clear();
        remix_to_f32(chunk, self.in_channels, work_channels, &mut self.scratch_in);
        let resampled = filter_or_pass(self.filter.as_mut(), &self.scratch_in, &mut self.scratch_out);
        for frame in resampled.chunks_exact(work_channels) {
            for channel in 0..self.out_channels {
                output.push(to_i16(frame[channel.min(work_channels - 1)]));
            }
        }
    }
}

/// Interleaved i16 to interleaved f32 in `to` channels (averaging stereo to mono).
fn remix_to_f32(input: &[i16], from: usize, to: usize, out: &mut Vec<f32>) {
    if from == to {
        out.extend(input.iter().map(|&s| f32::from(s)));
    } else {
        // Only stereo -> mono reaches here: upmixing happens after resampling.
        out.extend(input.chunks_exact(from).map(|f| f.iter().map(|&s| f32::from(s)).sum::<f32>() / from as f32));
    }
}

/// Rounds and saturates (the filter may overshoot full scale slightly).
fn to_i16(sample: f32) -> i16 {
    sample.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::test_support::{detect_tone, sine};

    fn convert(in_rate: u32, in_ch: u32, out_rate: u32, out_ch: u32) {
        let mut resampler = ChunkResampler::new(in_rate, in_ch, out_rate, out_ch).unwrap();
        let input = sine(440.0, 0.5, in_rate, in_ch, 1_000);
        // Fed 10 ms at a time, the way the pipelines use it: state must carry across calls.
        let mut out = Vec::new();
        for chunk in input.chunks(samples_per_10ms(in_rate) * in_ch as usize) {
            out.extend(resampler.process(chunk).unwrap());
        }
        assert_eq!(out.len(), (out_rate / 100 * 100 * out_ch) as usize, "{in_rate}->{out_rate}");
        // Skip the filter's start-up; the rest is a clean tone at the same level on every channel.
        let skip = (out_rate as usize / 10) * out_ch as usize;
        let tone = detect_tone(&out[skip..], out_rate, out_ch);
        assert!((tone.frequency - 440.0).abs() <= 2.0, "{in_rate}->{out_rate}: {tone:?}");
        let expected_rms = 0.5 * 32767.0 / 2f64.sqrt();
        assert!((tone.rms / expected_rms - 1.0).abs() < 0.1, "{in_rate}->{out_rate}: {tone:?}");
        assert!(tone.min_channel_rms > 0.9 * expected_rms, "a silent channel: {tone:?}");
        assert!(tone.max_step < 0.25 * 32767.0, "a click between chunks: {tone:?}");
    }

    #[test]
    fn tones_keep_frequency_and_level_across_rates_and_channels() {
        convert(16_000, 1, 48_000, 1);
        convert(48_000, 2, 16_000, 1);
        convert(44_100, 2, 48_000, 2);
        convert(48_000, 1, 8_000, 2);
        convert(24_000, 2, 24_000, 1);
    }

    #[test]
    fn input_that_is_not_whole_10ms_chunks_is_an_error() {
        let mut resampler = ChunkResampler::new(48_000, 2, 16_000, 1).unwrap();
        assert!(matches!(resampler.process(&[0; 480]), Err(Error::InvalidArgument(_))));
        assert!(matches!(resampler.process(&[]), Err(Error::InvalidArgument(_))));
        assert!(ChunkResampler::new(48_000, 2, 44_110, 1).is_err());
    }
}
