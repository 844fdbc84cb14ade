//! Test helpers for audio content checks: a tone generator and a tone detector (Goertzel scan),
//! so tests assert what is heard, not just how many samples came out. Compiled for tests only;
//! integration tests that want them can copy or re-export this module.

use std::f64::consts::PI;

/// Interleaved i16 sine: `amplitude` is a fraction of full scale, the same signal on each channel.
pub(crate) fn sine(frequency: f64, amplitude: f64, sample_rate: u32, channels: u32, duration_ms: u32) -> Vec<i16> {
    let frames = (u64::from(sample_rate) * u64::from(duration_ms) / 1_000) as usize;
    let mut out = Vec::with_capacity(frames * channels as usize);
    for n in 0..frames {
        let value =
            (amplitude * 32767.0 * (2.0 * PI * frequency * n as f64 / f64::from(sample_rate)).sin()).round() as i16;
        out.extend(std::iter::repeat_n(value, channels as usize));
    }
    out
}

/// What [`detect_tone`] found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tone {
    /// The strongest frequency between 50 Hz and 2 kHz, to about 0.1 Hz.
    pub frequency: f64,
    /// RMS over all channels, in i16 units (a full-scale sine is about 23170).
    pub rms: f64,
    /// RMS of the quietest channel, to catch a channel left silent by a remix.
    pub min_channel_rms: f64,
    /// The largest jump between two consecutive samples of channel 0: a click shows up here.
    pub max_step: f64,
}

/// Finds the dominant tone of interleaved PCM.
pub(crate) fn detect_tone(samples: &[i16], sample_rate: u32, channels: u32) -> Tone {
    let channels = channels as usize;
    let first: Vec<f64> = samples.iter().step_by(channels).map(|&s| f64::from(s)).collect();
    // A Hann window keeps the side lobes low, so the coarse scan lands in the main lobe.
    let n = first.len();
    let windowed: Vec<f64> =
        first.iter().enumerate().map(|(i, s)| s * (0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos())).collect();
    let rate = f64::from(sample_rate);
    let best_in = |from: f64, to: f64, step: f64| {
        let mut best = (from, f64::MIN);
        let mut f = from;
        while f <= to {
            let p = goertzel_power(&windowed, rate, f);
            if p > best.1 {
                best = (f, p);
            }
            f += step;
        }
        best.0
    };
    let coarse = best_in(50.0, 2_000.0_f64.min(rate / 2.0), 2.0);
    let frequency = best_in(coarse - 2.0, coarse + 2.0, 0.05);

    let rms_of = |xs: &mut dyn Iterator<Item = f64>| {
        let (sum, count) = xs.fold((0.0, 0usize), |(s, c), x| (s + x * x, c + 1));
        (sum / count.max(1) as f64).sqrt()
    };
    let rms = rms_of(&mut samples.iter().map(|&s| f64::from(s)));
    let min_channel_rms = (0..channels)
        .map(|c| rms_of(&mut samples.iter().skip(c).step_by(channels).map(|&s| f64::from(s))))
        .fold(f64::MAX, f64::min);
    let max_step = first.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f64::max);
    Tone { frequency, rms, min_channel_rms, max_step }
}

/// Power of one frequency in a block of samples (Goertzel algorithm).
pub(crate) fn goertzel_power(samples: &[f64], sample_rate: f64, frequency: f64) -> f64 {
    let coeff = 2.0 * (2.0 * PI * frequency / sample_rate).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detector_finds_what_the_generator_made() {
        let pcm = sine(440.0, 0.5, 16_000, 2, 500);
        let tone = detect_tone(&pcm, 16_000, 2);
        assert!((tone.frequency - 440.0).abs() < 0.5, "{tone:?}");
        assert!((tone.rms - 0.5 * 32767.0 / 2f64.sqrt()).abs() < 50.0, "{tone:?}");
        let other = detect_tone(&sine(1_000.0, 0.1, 48_000, 1, 300), 48_000, 1);
        assert!((other.frequency - 1_000.0).abs() < 0.5, "{other:?}");
    }
}
