//! Entry points for the fuzz targets in `fuzz/`: untrusted bytes into the plain parts of the
//! core that consume what the server and other participants send, with time passed in. Built
//! only with the `fuzzing` feature; not part of the API.
//!
//! Each entry point panics only where the core would misbehave for real (a hostile packet that
//! ends an audio stream, a frame of the wrong size); anything else bad input does is ignored.

mod framing;
#[cfg(feature = "audio")]
mod rtp_audio;
mod rtp_video;
mod signal;

pub use framing::length_prefixed;
#[cfg(feature = "audio")]
pub use rtp_audio::rtp_audio;
pub use rtp_video::rtp_video;
pub use signal::signal_responses;

/// Replays every input a fuzz target once failed on (`fuzz/regressions/<target>/`, checked in)
/// on stable and without a sanitizer, so a finding stays fixed; `make fuzz` runs the targets.
#[cfg(test)]
mod regressions {
    use std::path::PathBuf;

    fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
        let mut inputs: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .map(|path| {
                let data = std::fs::read(&path).expect("a regression input");
                (path, data)
            })
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "the {target} corpus is checked in");
        inputs
    }

    #[test]
    fn signal_response_regressions_stay_fixed() {
        for (_path, data) in inputs("signal_response") {
            super::signal_responses(&data);
        }
    }

    #[test]
    fn rtp_video_regressions_stay_fixed() {
        for (_path, data) in inputs("rtp_video") {
            super::rtp_video(&data);
        }
    }

    #[cfg(feature = "audio")]
    #[test]
    fn rtp_audio_regressions_stay_fixed() {
        for (_path, data) in inputs("rtp_audio") {
            super::rtp_audio(&data);
        }
    }
}
