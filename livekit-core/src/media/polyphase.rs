//! Sample-rate conversion between two rates whose ratio is rational (every rate the pipelines
//! take is a multiple of 100 Hz), by a polyphase FIR filter: the input is notionally upsampled
//! by `up`, low-pass filtered and downsampled by `down`, computing only the samples kept.
//!
//! It replaced rubato's FFT resampler, whose FFT library built every SIMD variant into the
//! library (0.84 MB of a release build, docs/platforms.md). Because the ratio is exact and the
//! phase is integer bookkeeping, 10 ms in always gives exactly 10 ms out, which the pipelines
//! rely on. The filter is a Kaiser-windowed sinc: flat to 90 % of the lower Nyquist frequency,
//! at least 80 dB down from 100 % of it.

use std::f64::consts::PI;

/// Stopband attenuation the filter is designed for, in dB.
const ATTENUATION_DB: f64 = 80.0;
/// The passband ends at this fraction of the lower rate's Nyquist frequency; the stopband
/// starts at the Nyquist frequency itself.
const PASSBAND: f64 = 0.9;

/// A streaming polyphase resampler over interleaved f32 frames.
pub(crate) struct Polyphase {
    up: usize,
    down: usize,
    taps: usize,
    /// `up` phases of `taps` coefficients each, every phase reversed, so that an output is the
    /// dot product of its phase with the `taps` input frames ending at its position.
    phases: Vec<f32>,
    /// Per channel: the input frames still needed (history first).
    history: Vec<Vec<f32>>,
    /// Where the next output falls, in upsampled samples from the first frame of `history`.
    next: usize,
}

impl Polyphase {
    /// A resampler from `in_rate` to `out_rate` Hz (both non-zero) for `channels` channels.
    pub(crate) fn new(in_rate: u32, out_rate: u32, channels: usize) -> Self {
        let common = gcd(in_rate, out_rate).max(1);
        let (up, down) = ((out_rate / common) as usize, (in_rate / common) as usize);
        let upsampled_rate = f64::from(in_rate) * up as f64;
        let nyquist = f64::from(in_rate.min(out_rate)) / 2.0;
        // Kaiser's estimate of the length for this attenuation and transition band.
        let transition = 2.0 * PI * (1.0 - PASSBAND) * nyquist / upsampled_rate;
        let length_estimate = (ATTENUATION_DB - 8.0) / (2.285 * transition) + 1.0;
        let taps = (length_estimate / up as f64).ceil().max(1.0) as usize;
        let prototype = kaiser_sinc(taps * up, (1.0 + PASSBAND) / 2.0 * nyquist / upsampled_rate, up as f64);
        let mut phases = vec![0.0; taps * up];
        for phase in 0..up {
            for k in 0..taps {
                phases[phase * taps + (taps - 1 - k)] = prototype[phase + k * up] as f32;
            }
        }
        Polyphase {
            up,
            down,
            taps,
            phases,
            // Silence before the stream starts, so the first output has a full window.
            history: vec![vec![0.0; taps - 1]; channels.max(1)],
            next: (taps - 1) * up,
        }
    }

    /// Output frames by which the output lags the input (the filter's group delay, rounded).
    pub(crate) fn delay_frames(&self) -> usize {
        let group_delay = (self.taps * self.up - 1) as f64 / 2.0;
        (group_delay / self.down as f64).round() as usize
    }

    /// Takes interleaved input (whole frames) and appends to `out` every interleaved output
    /// frame it completes.
    pub(crate) fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let channels = self.history.len();
        for frame in input.chunks_exact(channels) {
            for (history, &sample) in self.history.iter_mut().zip(frame) {
                history.push(sample);
            }
        }
        let available = self.history[0].len();
        while self.next / self.up < available {
            let (newest, phase) = (self.next / self.up, self.next % self.up);
            let coefficients = &self.phases[phase * self.taps..(phase + 1) * self.taps];
            for history in &self.history {
                out.push(dot(coefficients, &history[newest + 1 - self.taps..=newest]));
            }
            self.next += self.down;
        }
        // Keep only the frames a later output can still reach.
        let first_needed = (self.next / self.up + 1).saturating_sub(self.taps).min(available);
        for history in &mut self.history {
            history.drain(..first_needed);
        }
        self.next -= first_needed * self.up;
    }
}

/// `input` through `filter` into `scratch` (cleared first), or `input` itself when there is no
/// filter (equal rates): what the two resamplers do with their optional filter.
pub(crate) fn filter_or_pass<'a>(
    filter: Option<&mut Polyphase>,
    input: &'a [f32],
    scratch: &'a mut Vec<f32>,
) -> &'a [f32] {
    match filter {
        None => input,
        Some(filter) => {
            scratch.clear();
            filter.process(input, scratch);
            scratch
        }
    }
}

/// A low-pass prototype of `length` taps with its cutoff at `cutoff` (a fraction of the
/// sample rate), Kaiser-windowed and scaled to a DC gain of `gain`.
fn kaiser_sinc(length: usize, cutoff: f64, gain: f64) -> Vec<f64> {
    let beta = 0.1102 * (ATTENUATION_DB - 8.7);
    let centre = (length - 1) as f64 / 2.0;
    let mut taps: Vec<f64> = (0..length)
        .map(|n| {
            let x = n as f64 - centre;
            let sinc = if x == 0.0 { 2.0 * cutoff } else { (2.0 * PI * cutoff * x).sin() / (PI * x) };
            let ratio = if centre == 0.0 { 0.0 } else { x / centre };
            sinc * bessel_i0(beta * (1.0 - ratio * ratio).max(0.0).sqrt()) / bessel_i0(beta)
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    for tap in &mut taps {
        *tap *= gain / sum;
    }
    taps
}

/// The modified Bessel function of the first kind, order 0, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..64 {
        term *= (x / (2.0 * k as f64)).powi(2);
        sum += term;
        if term < sum * 1e-16 {
            break;
        }
    }
    sum
}

/// The dot product of two equally long slices: eight floats at a time in vector registers
/// (SSE on x86_64, NEON on aarch64, both part of every such CPU), because the release profile
/// optimises for size and then leaves a plain loop scalar (about 3.6x the instructions, measured
/// with callgrind).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let whole = len / 8 * 8;
    let tail: f32 = a[whole..len].iter().zip(&b[whole..len]).map(|(x, y)| x * y).sum();
    dot_simd(&a[..whole], &b[..whole]) + tail
}

#[cfg(target_arch = "x86_64")]
fn dot_simd(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::{_mm_add_ps, _mm_loadu_ps, _mm_mul_ps, _mm_setzero_ps, _mm_storeu_ps};
    // SAFETY: SSE is part of every x86_64 CPU; each chunk holds 8 floats, so both 4-float loads
    // are in bounds (loadu takes any alignment), and `lanes` holds the 4 floats stored.
    unsafe {
        let (mut low, mut high) = (_mm_setzero_ps(), _mm_setzero_ps());
        for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
            low = _mm_add_ps(low, _mm_mul_ps(_mm_loadu_ps(x.as_ptr()), _mm_loadu_ps(y.as_ptr())));
            high = _mm_add_ps(high, _mm_mul_ps(_mm_loadu_ps(x.as_ptr().add(4)), _mm_loadu_ps(y.as_ptr().add(4))));
        }
        let mut lanes = [0.0f32; 4];
        _mm_storeu_ps(lanes.as_mut_ptr(), _mm_add_ps(low, high));
        lanes.iter().sum()
    }
}

#[cfg(target_arch = "aarch64")]
fn dot_simd(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::aarch64::{vaddq_f32, vaddvq_f32, vdupq_n_f32, vfmaq_f32, vld1q_f32};
    // SAFETY: NEON is part of every aarch64 CPU; each chunk holds 8 floats, so both 4-float
    // loads are in bounds.
    unsafe {
        let (mut low, mut high) = (vdupq_n_f32(0.0), vdupq_n_f32(0.0));
        for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
            low = vfmaq_f32(low, vld1q_f32(x.as_ptr()), vld1q_f32(y.as_ptr()));
            high = vfmaq_f32(high, vld1q_f32(x.as_ptr().add(4)), vld1q_f32(y.as_ptr().add(4)));
        }
        vaddvq_f32(vaddq_f32(low, high))
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn dot_simd(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().sum()
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(frequency: f64, rate: u32, frames: usize) -> Vec<f32> {
        (0..frames).map(|n| (2.0 * PI * frequency * n as f64 / f64::from(rate)).sin() as f32 * 10_000.0).collect()
    }

    fn rms(samples: &[f32]) -> f64 {
        (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
    }

    /// Converts one second of a tone in 10 ms chunks; returns the output after the start-up.
    fn convert_tone(frequency: f64, in_rate: u32, out_rate: u32) -> Vec<f32> {
        let mut resampler = Polyphase::new(in_rate, out_rate, 1);
        let input = sine(frequency, in_rate, in_rate as usize);
        let mut out = Vec::new();
        for chunk in input.chunks(in_rate as usize / 100) {
            let before = out.len();
            resampler.process(chunk, &mut out);
            assert_eq!(out.len() - before, out_rate as usize / 100, "{in_rate}->{out_rate}: 10 ms in, 10 ms out");
        }
        out.split_off(resampler.delay_frames() + out_rate as usize / 10)
    }

    #[test]
    fn every_10ms_in_gives_exactly_10ms_out_and_tones_keep_their_level() {
        for (in_rate, out_rate) in
            [(48_000, 16_000), (16_000, 48_000), (44_100, 48_000), (48_000, 44_100), (8_000, 24_000)]
        {
            let level = rms(&convert_tone(440.0, in_rate, out_rate)) / (10_000.0 / 2f64.sqrt());
            assert!((level - 1.0).abs() < 0.01, "{in_rate}->{out_rate}: level {level}");
        }
    }

    #[test]
    fn the_passband_is_flat_and_what_would_alias_is_removed() {
        // 48 kHz to 8 kHz: 3.5 kHz is inside the passband (90 % of 4 kHz is 3.6 kHz)...
        let kept = rms(&convert_tone(3_500.0, 48_000, 8_000)) / (10_000.0 / 2f64.sqrt());
        assert!((kept - 1.0).abs() < 0.01, "3.5 kHz kept at {kept}");
        // ...while 5 kHz and 10 kHz would fold back to 3 kHz and 2 kHz: 80 dB down or more.
        for frequency in [5_000.0, 10_000.0] {
            let folded = rms(&convert_tone(frequency, 48_000, 8_000)) / (10_000.0 / 2f64.sqrt());
            assert!(folded < 1e-4, "{frequency} Hz folded back at {folded}");
        }
    }

    #[test]
    fn the_delay_is_what_delay_frames_says() {
        // An impulse comes out delay_frames() later, within a frame.
        for (in_rate, out_rate) in [(48_000, 16_000), (16_000, 48_000), (48_000, 44_100)] {
            let mut resampler = Polyphase::new(in_rate, out_rate, 1);
            let mut input = vec![0.0; in_rate as usize / 10];
            input[0] = 1.0;
            let mut out = Vec::new();
            resampler.process(&input, &mut out);
            let peak = (0..out.len()).max_by(|&a, &b| out[a].abs().total_cmp(&out[b].abs())).unwrap();
            assert!(peak.abs_diff(resampler.delay_frames()) <= 1, "{in_rate}->{out_rate}: peak at {peak}");
        }
    }

    #[test]
    fn channels_are_filtered_apart_and_pieces_join_seamlessly() {
        let (left, right) = (sine(300.0, 16_000, 1_600), sine(1_000.0, 16_000, 1_600));
        let interleaved: Vec<f32> = left.iter().zip(&right).flat_map(|(&l, &r)| [l, r]).collect();
        let mut whole = Vec::new();
        Polyphase::new(16_000, 48_000, 2).process(&interleaved, &mut whole);
        let mut pieces = Vec::new();
        let mut resampler = Polyphase::new(16_000, 48_000, 2);
        for piece in interleaved.chunks(2 * 37) {
            resampler.process(piece, &mut pieces);
        }
        assert_eq!(whole, pieces);
        let mut mono = Vec::new();
        Polyphase::new(16_000, 48_000, 1).process(&left, &mut mono);
        let left_out: Vec<f32> = whole.iter().step_by(2).copied().collect();
        assert_eq!(left_out, mono);
    }
}
