//! Built without the `audio` feature (no Opus, so no C library to build): the audio types
//! exist with the same API, and making one fails with an error that says why. Rooms, data,
//! streams and RPC work as usual; remote audio tracks are announced but cannot be decoded.

use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use super::{AudioFrame, EncodedAudio, RtpPacket};
use crate::error::{Error, Result};

fn unavailable() -> Error {
    Error::InvalidArgument("audio needs livekit-core built with the `audio` feature (Opus)".into())
}

/// Stand-in for the audio source of builds with the `audio` feature; `new` always fails.
#[derive(Clone, Debug)]
pub struct AudioSource {
    sample_rate: u32,
    num_channels: u32,
}

impl AudioSource {
    /// Fails: this build has no Opus encoder.
    pub fn new(_sample_rate: u32, _num_channels: u32, _queue_ms: u32) -> Result<AudioSource> {
        Err(unavailable())
    }

    /// The sample rate given to `new`.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The channel count given to `new`.
    pub fn num_channels(&self) -> u32 {
        self.num_channels
    }

    /// Fails: this build has no Opus encoder.
    pub async fn capture_frame(&self, _frame: &AudioFrame) -> Result<()> {
        Err(unavailable())
    }

    /// Nothing is ever queued.
    pub fn queued_duration(&self) -> Duration {
        Duration::ZERO
    }

    /// Nothing is ever queued.
    pub fn clear_queue(&self) {}

    /// Nothing is ever queued.
    pub async fn wait_for_playout(&self) {}

    /// Nothing to close.
    pub fn close(&self) {}

    pub(crate) fn attach(&self) -> mpsc::Receiver<EncodedAudio> {
        mpsc::channel(1).1
    }

    pub(crate) fn detach(&self) {}

    pub(crate) fn set_dtx(&self, _dtx: bool) {}

    pub(crate) fn report_loss(&self, _fraction_lost: f32) {}

    pub(crate) fn set_bitrate(&self, _bitrate_bps: u32) -> Result<()> {
        Err(unavailable())
    }
}

/// Stand-in for the audio stream of builds with the `audio` feature; making one always fails.
#[derive(Debug)]
pub struct AudioStream {
    _private: (),
}

impl AudioStream {
    pub(crate) fn from_packets(
        _packets: broadcast::Receiver<RtpPacket>,
        _sample_rate: u32,
        _num_channels: u32,
    ) -> Result<AudioStream> {
        Err(unavailable())
    }

    /// Fails: this build has no audio.
    pub fn from_participant(
        _participant: &crate::RemoteParticipant,
        _source: crate::TrackSource,
        _sample_rate: u32,
        _num_channels: u32,
    ) -> Result<AudioStream> {
        Err(unavailable())
    }

    /// Never yields a frame.
    pub async fn recv(&mut self) -> Option<AudioFrame> {
        None
    }

    /// Never called: no stream exists to ask.
    pub fn sample_rate(&self) -> u32 {
        0
    }

    /// Never called: no stream exists to ask.
    pub fn num_channels(&self) -> u32 {
        0
    }

    /// Nothing to close.
    pub fn close(&mut self) {}
}
