//! Audio analysis for tests: tones, levels and dropouts of received PCM.
//!
//! The same definitions and thresholds as `stop_recording` of the official peer
//! (`tests/peer/official_peer_media.py`), so audio our core receives and audio the
//! official SDK receives are judged alike:
//!
//! * Samples are interleaved i16; they are mixed to mono (mean of the channels) and
//!   scaled to full scale (/32768).
//! * Windows: consecutive, non-overlapping [`WINDOW_MS`] = 20 ms; a trailing partial one
//!   is ignored. A window is silent when its RMS < [`SILENCE_RMS`] = 0.01 (−40 dBFS).
//! * Dominant frequency of a window: mean removed, symmetric Hann window, zero-padded to
//!   the next power of two ≥ 8× its length, the largest magnitude bin above DC refined by
//!   a parabola through the log magnitudes of it and its neighbours.
//! * Segments: runs of consecutive non-silent windows whose frequencies stay within
//!   [`FREQ_TOLERANCE_HZ`] = 5 Hz of the run's mean; runs shorter than
//!   [`MIN_SEGMENT_WINDOWS`] = 3 (60 ms, e.g. a window straddling two tones) are dropped.
//!   Then two kept runs within 5 Hz of each other (their mean frequencies) with no silent
//!   window between them are merged: a short glitch inside a tone does not split it.
//!   A segment's `freq` is the precise dominant frequency of all its samples, `start_ms` /
//!   `end_ms` its window edges, `rms` the RMS of its samples.
//! * Precise dominant frequency ([`dominant_frequency`]): the same, zero-padded to the next
//!   power of two ≥ max(4× the length, the sample rate); better than 0.5 Hz for ≥ 0.5 s.
//! * `longest_gap_ms`: the longest run of silent windows between the first and the last
//!   non-silent window, × 20 ms (0 without one): a 20 ms resolution, so a 100 ms dropout
//!   reads 80 or 100 depending on its alignment with the windows.
//! * `rms`: RMS of the samples of all non-silent windows (0 when all are silent); a sine of
//!   amplitude A has RMS A/√2.

use std::io::{self, Read, Write};
use std::path::Path;

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;
use serde::Deserialize;

pub const WINDOW_MS: u32 = 20;
pub const SILENCE_RMS: f64 = 0.01;
pub const FREQ_TOLERANCE_HZ: f64 = 5.0;
pub const MIN_SEGMENT_WINDOWS: usize = 3;

/// One tone found in a recording.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ToneSegment {
    pub freq: f64,
    pub start_ms: u64,
    pub end_ms: u64,
    pub rms: f64,
}

/// What [`analyze`] finds in PCM (the official peer's `stop_recording` adds the
/// recording's own fields, see `AudioAnalysis`).
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub segments: Vec<ToneSegment>,
    pub longest_gap_ms: u64,
    pub rms: f64,
    pub first_sound_ms: Option<u64>,
    pub last_sound_ms: Option<u64>,
}

/// Interleaved i16 to mono f32 in full-scale units (mean of the channels).
pub fn to_mono(interleaved: &[i16], channels: usize) -> Vec<f32> {
    let channels = channels.max(1);
    interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().map(|&s| f64::from(s)).sum::<f64>() / channels as f64 / 32768.0)
        .map(|v| v as f32)
        .collect()
}

/// Root mean square of full-scale samples (0 for none).
pub fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// The precise dominant frequency of `samples_mono` at `rate` Hz (see the module docs);
/// ±0.5 Hz or better for a tone of ≥ 0.5 s.
pub fn dominant_frequency(samples_mono: &[f32], rate: u32) -> f64 {
    peak_frequency(samples_mono, rate, (4 * samples_mono.len()).max(rate as usize))
}

fn peak_frequency(x: &[f32], rate: u32, min_fft: usize) -> f64 {
    let n = x.len();
    if n < 2 {
        return 0.0;
    }
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let nfft = min_fft.max(n).next_power_of_two();
    let mut buf: Vec<Complex<f64>> = Vec::with_capacity(nfft);
    let denom = (n - 1) as f64;
    for (i, &v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / denom).cos();
        buf.push(Complex::new((f64::from(v) - mean) * w, 0.0));
    }
    buf.resize(nfft, Complex::new(0.0, 0.0));
    FftPlanner::new().plan_fft_forward(nfft).process(&mut buf);
    let mag: Vec<f64> = buf[..nfft / 2 + 1].iter().map(|c| c.norm()).collect();
    let k = (1..mag.len()).fold(1, |best, i| if mag[i] > mag[best] { i } else { best });
    let mut delta = 0.0;
    if k + 1 < mag.len() {
        let (a, b, c) = ((mag[k - 1] + 1e-12).ln(), (mag[k] + 1e-12).ln(), (mag[k + 1] + 1e-12).ln());
        let d = a - 2.0 * b + c;
        if d < 0.0 {
            delta = 0.5 * (a - c) / d;
        }
    }
    (k as f64 + delta) * f64::from(rate) / nfft as f64
}

fn window_len(rate: u32) -> usize {
    (rate * WINDOW_MS / 1000) as usize
}

/// Tone segments of interleaved i16 PCM, in order (see the module docs).
pub fn segments(interleaved: &[i16], rate: u32, channels: usize) -> Vec<ToneSegment> {
    analyze(interleaved, rate, channels).segments
}

/// The longest dropout (silent windows) between the first and last sound, in ms.
pub fn longest_gap_ms(interleaved: &[i16], rate: u32, channels: usize) -> u64 {
    analyze(interleaved, rate, channels).longest_gap_ms
}

/// The whole analysis of interleaved i16 PCM at `rate` Hz.
pub fn analyze(interleaved: &[i16], rate: u32, channels: usize) -> Analysis {
    let x = to_mono(interleaved, channels);
    let win = window_len(rate);
    let windows: Vec<&[f32]> = if win == 0 { Vec::new() } else { x.chunks_exact(win).collect() };
    let loud: Vec<bool> = windows.iter().map(|w| rms(w) >= SILENCE_RMS).collect();
    let ms = u64::from(WINDOW_MS);

    // Kept runs: (first window, last window, mean frequency).
    let mut runs: Vec<(usize, usize, f64)> = Vec::new();
    let close = |run: &Option<(usize, usize, Vec<f64>)>, runs: &mut Vec<(usize, usize, f64)>| {
        if let Some((first, last, freqs)) = run {
            if last - first + 1 >= MIN_SEGMENT_WINDOWS {
                runs.push((*first, *last, freqs.iter().sum::<f64>() / freqs.len() as f64));
            }
        }
    };
    let mut run: Option<(usize, usize, Vec<f64>)> = None;
    for (i, w) in windows.iter().enumerate() {
        if !loud[i] {
            close(&run, &mut runs);
            run = None;
            continue;
        }
        let f = peak_frequency(w, rate, 8 * win);
        match &mut run {
            Some((_, last, freqs))
                if (f - freqs.iter().sum::<f64>() / freqs.len() as f64).abs() <= FREQ_TOLERANCE_HZ =>
            {
                *last = i;
                freqs.push(f);
            }
            _ => {
                close(&run, &mut runs);
                run = Some((i, i, vec![f]));
            }
        }
    }
    close(&run, &mut runs);

    // A glitch (a short run with no silence) inside a tone does not split it.
    let mut merged: Vec<(usize, usize, f64)> = Vec::new();
    for r in runs {
        match merged.last_mut() {
            Some(prev) if (r.2 - prev.2).abs() <= FREQ_TOLERANCE_HZ && loud[prev.1 + 1..r.0].iter().all(|&l| l) => {
                prev.1 = r.1;
            }
            _ => merged.push(r),
        }
    }
    let found: Vec<ToneSegment> = merged
        .iter()
        .map(|&(first, last, _)| {
            let span = &x[first * win..(last + 1) * win];
            ToneSegment {
                freq: dominant_frequency(span, rate),
                start_ms: first as u64 * ms,
                end_ms: (last as u64 + 1) * ms,
                rms: rms(span),
            }
        })
        .collect();

    let loud_idx: Vec<usize> = (0..loud.len()).filter(|&i| loud[i]).collect();
    let (mut longest, mut gap) = (0u64, 0u64);
    let mut active: Vec<f32> = Vec::new();
    if let (Some(&first), Some(&last)) = (loud_idx.first(), loud_idx.last()) {
        for &is_loud in &loud[first..=last] {
            gap = if is_loud { 0 } else { gap + 1 };
            longest = longest.max(gap);
        }
        for &i in &loud_idx {
            active.extend_from_slice(windows[i]);
        }
    }
    Analysis {
        segments: found,
        longest_gap_ms: longest * ms,
        rms: rms(&active),
        first_sound_ms: loud_idx.first().map(|&i| i as u64 * ms),
        last_sound_ms: loud_idx.last().map(|&i| (i as u64 + 1) * ms),
    }
}

/// A sine of `freq` Hz for `seconds` at `rate`, the same on each of `channels`
/// (interleaved), `amplitude` in 0..1 of full scale (×32767, rounded).
pub fn sine(freq: f64, seconds: f64, rate: u32, channels: usize, amplitude: f64) -> Vec<i16> {
    let n = (seconds * f64::from(rate)).round() as usize;
    let mut out = Vec::with_capacity(n * channels);
    for i in 0..n {
        let v = amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin();
        let s = (v * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
        out.extend(std::iter::repeat_n(s, channels));
    }
    out
}

/// Writes 16-bit PCM WAV (for looking at a failing test's audio).
pub fn write_wav(path: &Path, interleaved: &[i16], rate: u32, channels: u16) -> io::Result<()> {
    let data_len = (interleaved.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in interleaved {
        out.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::File::create(path)?.write_all(&out)
}

/// Reads a 16-bit PCM WAV: (interleaved samples, rate, channels).
pub fn read_wav(path: &Path) -> io::Result<(Vec<i16>, u32, u16)> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("not a 16-bit PCM WAV: {what}"));
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (mut pos, mut format) = (12, None);
    while pos + 8 <= bytes.len() {
        let (id, len) = (&bytes[pos..pos + 4], u32_at(pos + 4) as usize);
        let body = pos + 8;
        if body + len > bytes.len() {
            return Err(bad("truncated chunk"));
        }
        if id == b"fmt " && len >= 16 {
            if u16_at(body) != 1 || u16_at(body + 14) != 16 {
                return Err(bad("not 16-bit integer PCM"));
            }
            format = Some((u32_at(body + 4), u16_at(body + 2)));
        } else if id == b"data" {
            let (rate, channels) = format.ok_or_else(|| bad("data before fmt"))?;
            let samples = bytes[body..body + len].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
            return Ok((samples, rate, channels));
        }
        pos = body + len + (len & 1);
    }
    Err(bad("no data chunk"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;

    #[test]
    fn a_440_hz_sine_is_found_precisely_with_its_rms() {
        let pcm = sine(440.0, 1.0, RATE, 2, 0.5);
        let f = dominant_frequency(&to_mono(&pcm, 2), RATE);
        assert!((f - 440.0).abs() <= 0.5, "{f}");
        let half = &to_mono(&pcm, 2)[..RATE as usize / 2];
        let f = dominant_frequency(half, RATE);
        assert!((f - 440.0).abs() <= 0.5, "0.5 s: {f}");
        let off = sine(437.3, 0.5, RATE, 1, 0.3);
        let f = dominant_frequency(&to_mono(&off, 1), RATE);
        assert!((f - 437.3).abs() <= 0.5, "off-bin: {f}");
        let a = analyze(&pcm, RATE, 2);
        assert_eq!(a.segments.len(), 1, "{a:?}");
        assert!((a.segments[0].freq - 440.0).abs() <= 0.5, "{a:?}");
        let expected = 0.5 / 2f64.sqrt();
        assert!((a.rms - expected).abs() < 0.001, "{a:?}");
        assert!((a.segments[0].rms - expected).abs() < 0.001, "{a:?}");
        assert_eq!(a.longest_gap_ms, 0);
    }

    #[test]
    fn five_tones_in_sequence_give_five_segments_in_order() {
        let freqs = [330.0, 440.0, 550.0, 660.0, 880.0];
        let mut pcm = vec![0i16; 1000];
        for f in freqs {
            pcm.extend(sine(f, 1.0, RATE, 1, 0.5));
        }
        pcm.extend(vec![0i16; 4800]);
        let a = analyze(&pcm, RATE, 1);
        let found: Vec<f64> = a.segments.iter().map(|s| s.freq).collect();
        assert_eq!(found.len(), 5, "{a:?}");
        for (got, want) in found.iter().zip(freqs) {
            assert!((got - want).abs() <= 0.5, "{found:?}");
        }
        for pair in a.segments.windows(2) {
            assert!(pair[0].end_ms <= pair[1].start_ms && pair[1].start_ms - pair[0].end_ms <= 20, "{a:?}");
        }
        assert_eq!(a.longest_gap_ms, 0, "{a:?}");
        assert_eq!(a.first_sound_ms, Some(20), "the first window is mostly silence: {a:?}");
    }

    #[test]
    fn a_short_glitch_does_not_split_a_tone() {
        let mut pcm = sine(1000.0, 0.6, RATE, 1, 0.3);
        pcm.extend(sine(1300.0, 0.02, RATE, 1, 0.3));
        pcm.extend(sine(1000.0, 0.6, RATE, 1, 0.3));
        let a = analyze(&pcm, RATE, 1);
        assert_eq!(a.segments.len(), 1, "{a:?}");
        assert!((a.segments[0].freq - 1000.0).abs() <= 2.0, "{a:?}");
        assert_eq!((a.segments[0].start_ms, a.segments[0].end_ms), (0, 1220), "{a:?}");
    }

    #[test]
    fn a_100_ms_dropout_is_the_longest_gap() {
        // Aligned with the 20 ms windows: exactly 100 ms.
        let mut pcm = sine(440.0, 1.0, RATE, 2, 0.5);
        let start = 2 * 480 * 20; // 0.2 s of stereo samples
        pcm[start..start + 2 * 4800].fill(0);
        assert_eq!(longest_gap_ms(&pcm, RATE, 2), 100);
        // Anywhere else: one window less at 20 ms resolution.
        let mut pcm = sine(440.0, 1.0, RATE, 1, 0.5);
        pcm[10_000..14_800].fill(0);
        assert_eq!(longest_gap_ms(&pcm, RATE, 1), 80);
        // Leading and trailing silence are no gap.
        let mut pcm = vec![0i16; 9600];
        pcm.extend(sine(440.0, 0.5, RATE, 1, 0.5));
        pcm.extend(vec![0i16; 9600]);
        assert_eq!(longest_gap_ms(&pcm, RATE, 1), 0);
        assert_eq!(analyze(&[0; 4800], RATE, 1).rms, 0.0);
    }

    #[test]
    fn wav_round_trip() {
        let pcm = sine(1000.0, 0.1, 16_000, 2, 0.25);
        let path = std::env::temp_dir().join(format!("lk-harness-wav-{}.wav", std::process::id()));
        write_wav(&path, &pcm, 16_000, 2).unwrap();
        let (back, rate, channels) = read_wav(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!((back, rate, channels), (pcm, 16_000, 2));
    }
}
