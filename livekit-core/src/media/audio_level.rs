//! Audio level for the RFC 6464 `ssrc-audio-level` RTP header extension: the server derives
//! active speakers from it alone (it never decodes audio), so every sent packet carries one.

/// The quietest level RFC 6464 can express (-127 dBov); digital silence maps here.
pub(crate) const SILENT_LEVEL: u8 = 127;

/// Levels at or below this (louder than -40 dBov) set the voice-activity flag. Plain energy,
/// not a speech detector: the LiveKit server ignores the flag and uses the level itself
/// (it counts a speaker active at level <= 35).
pub(crate) const VOICE_ACTIVITY_MAX_LEVEL: u8 = 40;

/// Level and voice flag of one packet's worth of audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AudioLevel {
    /// -dBov, 0 (loudest) ..= 127 (silence).
    pub level: u8,
    /// Whether the level is above the voice-activity threshold.
    pub voice_activity: bool,
}

/// RFC 6464 level of a block of i16 samples (any channel layout: all samples count alike).
/// 0 dBov is the RMS of a full-scale square wave, so a full-scale sine is at 3.
pub(crate) fn audio_level(samples: &[i16]) -> AudioLevel {
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (energy / samples.len().max(1) as f64).sqrt();
    let level = if rms < 1e-9 {
        SILENT_LEVEL
    } else {
        let dbov = 20.0 * (rms / 32768.0).log10();
        (-dbov).round().clamp(0.0, f64::from(SILENT_LEVEL)) as u8
    };
    AudioLevel { level, voice_activity: level <= VOICE_ACTIVITY_MAX_LEVEL }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::test_support::sine;

    #[test]
    fn full_scale_sine_is_3_dbov_and_silence_is_127() {
        let loud = audio_level(&sine(440.0, 1.0, 48_000, 1, 20));
        assert_eq!(loud, AudioLevel { level: 3, voice_activity: true });
        let silent = audio_level(&[0; 960]);
        assert_eq!(silent, AudioLevel { level: 127, voice_activity: false });
        assert_eq!(audio_level(&[]).level, 127);
    }

    #[test]
    fn level_tracks_amplitude_in_db() {
        // -20 dB of amplitude is 20 more in the level; 1/1000 of full scale is near -63 dBov.
        assert_eq!(audio_level(&sine(440.0, 0.1, 48_000, 2, 20)).level, 23);
        let faint = audio_level(&sine(440.0, 0.001, 48_000, 1, 20));
        assert!((62..=64).contains(&faint.level), "{faint:?}");
        assert!(!faint.voice_activity);
        // Quietest non-zero input stays in range.
        assert!(audio_level(&[1, -1, 1, -1]).level <= 127);
    }
}
