//! [`AudioResampler`]: the public, streaming sample-rate converter that the bindings hand to
//! their users (the official SDKs' `AudioResampler`). Input comes in pieces of any length; the
//! output lines up with the input (the filter's start-up delay is cut off) and a flush returns
//! exactly the converted length. The filtering is [`Polyphase`]; the pipelines' own chunked
//! converter is `resampler::ChunkResampler`.

use super::polyphase::{filter_or_pass, Polyphase};
use crate::error::{Error, Result};

/// The most samples one [`AudioResampler::push`] takes: 10 s of 48 kHz stereo.
pub const MAX_RESAMPLER_PUSH_SAMPLES: usize = 48_000 * 2 * 10;

/// The most channels an [`AudioResampler`] converts at once.
pub const MAX_RESAMPLER_CHANNELS: u32 = 8;

/// Converts a stream of interleaved 16-bit PCM from one sample rate to another, keeping the
/// channel count.
///
/// Each [`push`](Self::push) returns what the input so far completes, and
/// [`flush`](Self::flush) ends the stream with the rest, so that the whole output is exactly
/// `input_frames * output_rate / input_rate` frames (rounded up), lined up with the input.
/// After a flush the resampler starts a new stream.
///
/// ```
/// use livekit_core::media::AudioResampler;
///
/// let mut resampler = AudioResampler::new(48_000, 16_000, 1).unwrap();
/// let mut output = Vec::new();
/// for _ in 0..3 {
///     output.extend_from_slice(resampler.push(&[0i16; 700]).unwrap()); // any length
/// }
/// output.extend_from_slice(resampler.flush().unwrap());
/// assert_eq!(output.len(), 700); // 2100 samples at 48 kHz are 700 at 16 kHz
/// assert!(AudioResampler::new(44_100, 12_345, 1).is_err()); // not a multiple of 100 Hz
/// ```
pub struct AudioResampler {
    input_rate: u32,
    output_rate: u32,
    channels: usize,
    /// `None` when both rates are equal.
    filter: Option<Polyphase>,
    /// The input of the current call, interleaved, as the filter takes it.
    pending: Vec<f32>,
    /// Output frames still to drop: the filter's delay.
    skip: usize,
    input_frames: u64,
    output_frames: u64,
    /// What the last push or flush returned, kept so the call can lend it without allocating.
    output: Vec<i16>,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for AudioResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioResampler")
            .field("input_rate", &self.input_rate)
            .field("output_rate", &self.output_rate)
            .field("channels", &self.channels)
            .finish()
    }
}

impl AudioResampler {
    /// A resampler from `input_rate` to `output_rate` Hz for `channels` interleaved channels.
    /// Fails with [`Error::InvalidArgument`] unless each rate is a multiple of 100 Hz within
    /// 8..=48 kHz and `channels` is 1..=[`MAX_RESAMPLER_CHANNELS`].
    pub fn new(input_rate: u32, output_rate: u32, channels: u32) -> Result<Self> {
        for rate in [input_rate, output_rate] {
            if !(8_000..=48_000).contains(&rate) || !rate.is_multiple_of(100) {
                return Err(Error::InvalidArgument(format!(
                    "{rate} Hz is not supported by the resampler (multiples of 100 Hz, 8 to 48 kHz)"
                )));
            }
        }
        if !(1..=MAX_RESAMPLER_CHANNELS).contains(&channels) {
            return Err(Error::InvalidArgument(format!(
                "{channels} channels: the resampler takes 1 to {MAX_RESAMPLER_CHANNELS}"
            )));
        }
        let channels = channels as usize;
        let filter = (input_rate != output_rate).then(|| Polyphase::new(input_rate, output_rate, channels));
        let skip = filter.as_ref().map_or(0, Polyphase::delay_frames);
        Ok(AudioResampler {
            input_rate,
            output_rate,
            channels,
            filter,
            pending: Vec::new(),
            skip,
            input_frames: 0,
            output_frames: 0,
            output: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// The input sample rate in Hz.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// The output sample rate in Hz.
    pub fn output_rate(&self) -> u32 {
        self.output_rate
    }

    /// The channel count of both input and output.
    pub fn channels(&self) -> u32 {
        self.channels as u32
    }

    /// Adds interleaved input of any whole number of frames and returns the output it
    /// completes (possibly empty), valid until the next call. Fails with
    /// [`Error::InvalidArgument`] when `input` is not whole frames or is longer than
    /// [`MAX_RESAMPLER_PUSH_SAMPLES`].
    pub fn push(&mut self, input: &[i16]) -> Result<&[i16]> {
        if input.len() > MAX_RESAMPLER_PUSH_SAMPLES || !input.len().is_multiple_of(self.channels) {
            return Err(Error::InvalidArgument(format!(
                "a push of {} samples: whole frames of {} samples, at most {MAX_RESAMPLER_PUSH_SAMPLES}, are taken",
                input.len(),
                self.channels
            )));
        }
        self.output.clear();
        self.input_frames += (input.len() / self.channels) as u64;
        self.pending.extend(input.iter().map(|&sample| f32::from(sample)));
        self.run_filter();
        Ok(&self.output)
    }

    /// Ends the stream: returns the rest of the output, so that everything returned since the
    /// stream began is exactly the converted length, then starts over.
    pub fn flush(&mut self) -> Result<&[i16]> {
        self.output.clear();
        let expected = (self.input_frames * u64::from(self.output_rate)).div_ceil(u64::from(self.input_rate));
        // Silence pushes the filter's delay out; 10 ms at a time, bounded whatever happens.
        let silence = self.input_rate as usize / 100 * self.channels;
        for _ in 0..1_000 {
            if self.output_frames >= expected {
                break;
            }
            self.pending.resize(silence, 0.0);
            self.run_filter();
        }
        let extra = (self.output_frames.saturating_sub(expected) as usize) * self.channels;
        self.output.truncate(self.output.len().saturating_sub(extra));
        let output = std::mem::take(&mut self.output);
        *self = AudioResampler { output, ..Self::new(self.input_rate, self.output_rate, self.channels as u32)? };
        Ok(&self.output)
    }

    /// Filters `pending` into `output`, dropping the filter's start-up delay.
    fn run_filter(&mut self) {
        let produced = filter_or_pass(self.filter.as_mut(), &self.pending, &mut self.scratch);
        let dropped = self.skip.min(produced.len() / self.channels);
        self.skip -= dropped;
        let kept = &produced[dropped * self.channels..];
        self.output_frames += (kept.len() / self.channels) as u64;
        self.output.extend(kept.iter().map(|&s| s.round().clamp(-32768.0, 32767.0) as i16));
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::test_support::{detect_tone, sine};

    fn stream(resampler: &mut AudioResampler, input: &[i16], piece: usize) -> Vec<i16> {
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            out.extend_from_slice(resampler.push(chunk).unwrap());
        }
        out.extend_from_slice(resampler.flush().unwrap());
        out
    }

    #[test]
    fn pieces_of_any_length_give_exactly_the_converted_length_and_keep_the_tone() {
        for (from, to, channels) in [(48_000, 16_000, 1), (16_000, 48_000, 2), (44_100, 48_000, 1)] {
            let mut resampler = AudioResampler::new(from, to, channels).unwrap();
            let input = sine(440.0, 0.5, from, channels, 1_000);
            let out = stream(&mut resampler, &input, 1_234 * channels as usize);
            let frames_in = (input.len() / channels as usize) as u64;
            assert_eq!(out.len() / channels as usize, (frames_in * u64::from(to)).div_ceil(u64::from(from)) as usize);
            let tone = detect_tone(&out, to, channels);
            assert!((tone.frequency - 440.0).abs() <= 2.0, "{from}->{to}: {tone:?}");
            assert!(tone.max_step < 0.25 * 32767.0, "a click between pieces: {tone:?}");
        }
    }

    #[test]
    fn the_output_lines_up_with_the_input() {
        // A tone that starts at sample 0 is loud from the start of the output: no leading delay.
        let mut resampler = AudioResampler::new(48_000, 16_000, 1).unwrap();
        let out = stream(&mut resampler, &sine(440.0, 0.5, 48_000, 1, 500), 1_000);
        let rms = |s: &[i16]| (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
        assert!(rms(&out[40..200]) > 8_000.0, "{}", rms(&out[40..200]));
    }

    #[test]
    fn a_flush_starts_a_new_stream() {
        let mut resampler = AudioResampler::new(48_000, 24_000, 1).unwrap();
        let first = stream(&mut resampler, &[1_000; 960], 960);
        let second = stream(&mut resampler, &[1_000; 960], 960);
        assert_eq!(first.len(), 480);
        assert_eq!(first, second);
    }

    #[test]
    fn equal_rates_pass_through() {
        let mut resampler = AudioResampler::new(16_000, 16_000, 2).unwrap();
        assert_eq!(stream(&mut resampler, &[1, 2, 3, 4], 4), [1, 2, 3, 4]);
    }

    #[test]
    fn bad_formats_and_pieces_are_typed_errors() {
        for (from, to, channels) in [(22_050, 16_000, 1), (48_000, 96_000, 1), (48_000, 16_000, 0), (16_000, 8_000, 9)]
        {
            assert!(matches!(AudioResampler::new(from, to, channels), Err(Error::InvalidArgument(_))));
        }
        let mut resampler = AudioResampler::new(48_000, 16_000, 2).unwrap();
        assert!(matches!(resampler.push(&[0; 3]), Err(Error::InvalidArgument(_))));
        let too_long = vec![0; MAX_RESAMPLER_PUSH_SAMPLES + 2];
        assert!(matches!(resampler.push(&too_long), Err(Error::InvalidArgument(_))));
        assert!(resampler.push(&[]).unwrap().is_empty());
    }
}
