//! The sox resampler requests, which the official SDK's `rtc.AudioResampler` uses: a stream of
//! interleaved int16 in, the same audio at another rate out. livekit-core's resampler is
//! private to its media pipeline, so this one drives `rubato` (the crate the core uses) itself:
//! 10 ms blocks through an FFT resampler, its start-up delay cut off so the output lines up
//! with the input, and a flush that pads the last block and returns exactly the converted
//! length.

use parking_lot::Mutex;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _};
use std::sync::Arc;

use crate::error::{FfiError, FfiResult};
use crate::handles::FfiHandle;
use crate::proto::{self, new_sox_resampler_response};
use crate::server::server;

/// The most one push may carry: 10 s of 48 kHz stereo, in bytes.
const MAX_PUSH_BYTES: u32 = 48_000 * 2 * 2 * 10;

/// A resampler as the client holds it. The last output lives here until the next call.
pub type FfiResampler = Arc<Mutex<SoxResampler>>;

/// One stream's conversion state.
pub struct SoxResampler {
    in_rate: u64,
    out_rate: u64,
    channels: usize,
    /// `None` when both rates are equal.
    fft: Option<Fft<f32>>,
    /// Input not yet a whole 10 ms block, interleaved.
    pending: Vec<f32>,
    /// Output frames still to drop: the filter's delay.
    skip: usize,
    in_frames: u64,
    out_frames: u64,
    /// What the last push or flush returned; the client reads it through the pointer.
    output: Vec<i16>,
    scratch: Vec<f32>,
}

impl SoxResampler {
    fn new(in_rate: f64, out_rate: f64, channels: u32) -> Result<Self, String> {
        let rate = |rate: f64| -> Result<u64, String> {
            let whole = rate as u64;
            if rate.fract() != 0.0 || !(8_000..=48_000).contains(&whole) || !whole.is_multiple_of(100) {
                return Err(format!(
                    "{rate} Hz is not supported by livekit-core's resampler (whole multiples of 100 Hz, 8 to 48 kHz)"
                ));
            }
            Ok(whole)
        };
        let (in_rate, out_rate) = (rate(in_rate)?, rate(out_rate)?);
        if !(1..=8).contains(&channels) {
            return Err(format!("{channels} channels: 1 to 8 are supported"));
        }
        let channels = channels as usize;
        let fft = if in_rate == out_rate {
            None
        } else {
            let block = in_rate as usize / 100;
            let fft = Fft::<f32>::new(in_rate as usize, out_rate as usize, block, channels, FixedSync::Both)
                .map_err(|error| format!("resampler {in_rate} -> {out_rate} Hz: {error}"))?;
            Some(fft)
        };
        let skip = fft.as_ref().map_or(0, |fft| fft.output_delay());
        Ok(Self {
            in_rate,
            out_rate,
            channels,
            fft,
            pending: Vec::new(),
            skip,
            in_frames: 0,
            out_frames: 0,
            output: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// Converts what whole blocks `input` completes; the output replaces the previous one.
    fn push(&mut self, input: &[i16]) -> Result<(), String> {
        self.output.clear();
        self.in_frames += (input.len() / self.channels) as u64;
        self.pending.extend(input.iter().map(|&sample| f32::from(sample)));
        self.run_blocks()
    }

    /// Ends the stream: pads the last block, runs zeros through until the filter's delay is
    /// out, and returns exactly the converted length; then starts over.
    fn flush(&mut self) -> Result<(), String> {
        self.output.clear();
        let expected = (self.in_frames * self.out_rate).div_ceil(self.in_rate);
        let block = self.block_len();
        // Enough zero blocks to push the delay out, with a bound whatever happens.
        for _ in 0..1_000 {
            if self.out_frames >= expected {
                break;
            }
            let missing = block - self.pending.len() % block;
            self.pending.resize(self.pending.len() + missing, 0.0);
            self.run_blocks()?;
        }
        let extra = (self.out_frames.saturating_sub(expected) as usize) * self.channels;
        self.output.truncate(self.output.len().saturating_sub(extra));
        let output = std::mem::take(&mut self.output);
        let fresh = Self::new(self.in_rate as f64, self.out_rate as f64, self.channels as u32)?;
        *self = Self { output, ..fresh };
        Ok(())
    }

    fn block_len(&self) -> usize {
        self.in_rate as usize / 100 * self.channels
    }

    fn run_blocks(&mut self) -> Result<(), String> {
        let block = self.block_len();
        let whole = self.pending.len() / block * block;
        let blocks: Vec<f32> = self.pending.drain(..whole).collect();
        for chunk in blocks.chunks_exact(block) {
            let produced: &[f32] = match self.fft.as_mut() {
                None => chunk,
                Some(fft) => {
                    let in_frames = chunk.len() / self.channels;
                    let out_frames = fft.output_frames_next();
                    self.scratch.resize(out_frames * self.channels, 0.0);
                    let input = InterleavedSlice::new(chunk, self.channels, in_frames).map_err(|e| e.to_string())?;
                    let mut out = InterleavedSlice::new_mut(&mut self.scratch[..], self.channels, out_frames)
                        .map_err(|e| e.to_string())?;
                    let (_, written) = fft.process_into_buffer(&input, &mut out, None).map_err(|e| e.to_string())?;
                    &self.scratch[..written * self.channels]
                }
            };
            let frames = produced.len() / self.channels;
            let dropped = self.skip.min(frames);
            self.skip -= dropped;
            let kept = &produced[dropped * self.channels..];
            self.out_frames += (kept.len() / self.channels) as u64;
            self.output.extend(kept.iter().map(|&s| s.round().clamp(-32768.0, 32767.0) as i16));
        }
        Ok(())
    }

    /// The last output as the protocol's pointer and byte size (0 and 0 when empty).
    fn output_view(&self) -> (u64, u32) {
        if self.output.is_empty() {
            return (0, 0);
        }
        (self.output.as_ptr() as u64, (self.output.len() * 2) as u32)
    }
}

/// A resampler, or the reason in the response's error field.
pub fn new_sox_resampler(request: proto::NewSoxResamplerRequest) -> proto::NewSoxResamplerResponse {
    let interleaved = proto::SoxResamplerDataType::SoxrDatatypeInt16i;
    let message = if request.input_data_type() != interleaved || request.output_data_type() != interleaved {
        new_sox_resampler_response::Message::Error(
            "livekit-core's resampler takes and gives interleaved int16 (SOXR_DATATYPE_INT16I) only".into(),
        )
    } else {
        match SoxResampler::new(request.input_rate, request.output_rate, request.num_channels) {
            Ok(resampler) => {
                let handle = server().handles.insert(FfiHandle::Resampler(Arc::new(Mutex::new(resampler))));
                new_sox_resampler_response::Message::Resampler(proto::OwnedSoxResampler {
                    handle: proto::FfiOwnedHandle { id: handle },
                    info: proto::SoxResamplerInfo {},
                })
            }
            Err(error) => new_sox_resampler_response::Message::Error(error),
        }
    };
    proto::NewSoxResamplerResponse { message: Some(message) }
}

/// Converts the pushed bytes; the output lives in the resampler until its next call.
pub fn push_sox_resampler(request: proto::PushSoxResamplerRequest) -> FfiResult<proto::PushSoxResamplerResponse> {
    let resampler = server().handles.resampler(request.resampler_handle)?;
    let mut resampler = resampler.lock();
    let frame_bytes = 2 * resampler.channels as u32;
    if request.size > MAX_PUSH_BYTES || !request.size.is_multiple_of(frame_bytes) {
        return Ok(push_error(format!(
            "push of {} bytes: whole frames of {frame_bytes} bytes, at most {MAX_PUSH_BYTES} bytes, are accepted",
            request.size
        )));
    }
    if request.size > 0 && request.data_ptr == 0 {
        return Err(FfiError::InvalidArgument("push_sox_resampler: data_ptr is null".into()));
    }
    let samples: Vec<i16> = if request.size == 0 {
        Vec::new()
    } else {
        // SAFETY: the caller's buffer holds `size` bytes for the duration of the request; the
        // size was bounded above, and it is read as bytes (any alignment).
        let bytes = unsafe { std::slice::from_raw_parts(request.data_ptr as *const u8, request.size as usize) };
        bytes.chunks_exact(2).map(|pair| i16::from_ne_bytes([pair[0], pair[1]])).collect()
    };
    Ok(match resampler.push(&samples) {
        Ok(()) => {
            let (output_ptr, size) = resampler.output_view();
            proto::PushSoxResamplerResponse { output_ptr, size, error: None }
        }
        Err(error) => push_error(error),
    })
}

fn push_error(error: String) -> proto::PushSoxResamplerResponse {
    proto::PushSoxResamplerResponse { output_ptr: 0, size: 0, error: Some(error) }
}

/// Ends the input and returns the rest of the output.
pub fn flush_sox_resampler(request: proto::FlushSoxResamplerRequest) -> FfiResult<proto::FlushSoxResamplerResponse> {
    let resampler = server().handles.resampler(request.resampler_handle)?;
    let mut resampler = resampler.lock();
    Ok(match resampler.flush() {
        Ok(()) => {
            let (output_ptr, size) = resampler.output_view();
            proto::FlushSoxResamplerResponse { output_ptr, size, error: None }
        }
        Err(error) => proto::FlushSoxResamplerResponse { output_ptr: 0, size: 0, error: Some(error) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u64, frames: usize) -> Vec<i16> {
        (0..frames)
            .map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / rate as f64).sin() * 16_000.0) as i16)
            .collect()
    }

    #[test]
    fn pushes_and_a_flush_give_exactly_the_converted_length() {
        let mut resampler = SoxResampler::new(48_000.0, 16_000.0, 1).unwrap();
        let input = sine(48_000, 48_000 / 2 + 123);
        let mut out = Vec::new();
        for chunk in input.chunks(1000) {
            resampler.push(chunk).unwrap();
            out.extend_from_slice(&resampler.output);
        }
        resampler.flush().unwrap();
        out.extend_from_slice(&resampler.output);
        assert_eq!(out.len(), (input.len() as u64 * 16_000).div_ceil(48_000) as usize);
        // Lined up with the input: the tone starts at the start (no leading delay).
        let rms = |s: &[i16]| (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
        assert!(rms(&out[40..200]) > 8_000.0, "{}", rms(&out[40..200]));
    }

    #[test]
    fn equal_rates_pass_through_and_bad_rates_are_refused() {
        let mut resampler = SoxResampler::new(16_000.0, 16_000.0, 2).unwrap();
        resampler.push(&[1, 2, 3, 4]).unwrap();
        resampler.flush().unwrap();
        assert_eq!(resampler.output, [1, 2, 3, 4]);
        assert!(SoxResampler::new(44_100.5, 16_000.0, 1).is_err());
        assert!(SoxResampler::new(22_050.0, 16_000.0, 1).is_err());
        assert!(SoxResampler::new(48_000.0, 16_000.0, 0).is_err());
    }
}
