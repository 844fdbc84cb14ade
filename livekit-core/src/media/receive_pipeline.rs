//! The receive path as a plain type with time passed in: Opus RTP payloads in (through the
//! jitter buffer), continuous 10 ms `AudioFrame`s out at the rate and channel count the user
//! asked for. A lost packet is rebuilt from the next packet's FEC when it is here, otherwise
//! concealed by libopus; an underrun (late packets, DTX, a paused sender) is concealed too, so
//! once playout has started every poll yields exactly one frame. When the jitter buffer holds
//! more delay than its estimate needs, two packets are cross-faded into one packet's length, so
//! the delay shrinks without a gap or a click.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::frame::{samples_per_10ms, validate_paced_format, AudioFrame};
use super::jitter_buffer::{JitterBuffer, JitterOutput, JitterStats, PushOutcome};
use super::opus_codec::{OpusDecoder, FRAME_SAMPLES, OPUS_SAMPLE_RATE};
use super::resampler::ChunkResampler;
use crate::error::Result;

/// Decodes one remote audio track.
#[derive(Debug)]
pub(crate) struct AudioReceivePipeline {
    jitter: JitterBuffer,
    decoder: OpusDecoder,
    resampler: ChunkResampler,
    out_rate: u32,
    out_channels: u32,
    /// Decoded 48 kHz PCM not yet cut into 10 ms frames.
    decoded: VecDeque<i16>,
    /// Samples per channel of the last decoded packet: what a concealment must replace.
    packet_samples: usize,
    /// Set by the first packet handed out; before it, polls yield nothing.
    started: bool,
    concealed_packets: u64,
}

impl AudioReceivePipeline {
    /// A pipeline producing frames of `sample_rate` (8..=48 kHz, a multiple of 100 Hz) and
    /// `num_channels` (1 or 2), with the default adaptive jitter buffer (20..=200 ms).
    pub(crate) fn new(sample_rate: u32, num_channels: u32) -> Result<Self> {
        Self::with_jitter_buffer(sample_rate, num_channels, JitterBuffer::default())
    }

    /// Like [`Self::new`] with a given jitter buffer.
    pub(crate) fn with_jitter_buffer(sample_rate: u32, num_channels: u32, jitter: JitterBuffer) -> Result<Self> {
        validate_paced_format(sample_rate, num_channels)?;
        Ok(AudioReceivePipeline {
            jitter,
            // libopus decodes straight to the wanted channel count; the resampler only changes rate.
            decoder: OpusDecoder::new(num_channels)?,
            resampler: ChunkResampler::new(OPUS_SAMPLE_RATE, num_channels, sample_rate, num_channels)?,
            out_rate: sample_rate,
            out_channels: num_channels,
            decoded: VecDeque::new(),
            packet_samples: FRAME_SAMPLES,
            started: false,
            concealed_packets: 0,
        })
    }

    /// Takes one received RTP packet's payload.
    pub(crate) fn push_packet(
        &mut self,
        sequence: u16,
        rtp_timestamp: u32,
        payload: Bytes,
        arrival: Instant,
    ) -> PushOutcome {
        self.jitter.push(sequence, rtp_timestamp, payload, arrival)
    }

    /// The next 10 ms frame, to be called once every 10 ms. `None` only before the first
    /// packet is due; after that, always a frame (concealment when packets are missing).
    pub(crate) fn poll_frame(&mut self, now: Instant) -> Result<Option<AudioFrame>> {
        let chunk = samples_per_10ms(OPUS_SAMPLE_RATE) * self.out_channels as usize;
        while self.decoded.len() < chunk {
            if !self.decode_next(now)? {
                return Ok(None);
            }
        }
        let pcm: Vec<i16> = self.decoded.drain(..chunk).collect();
        let out = self.resampler.process(&pcm)?;
        AudioFrame::new(out, self.out_rate, self.out_channels).map(Some)
    }

    /// When the next packet or loss is due, for a caller that wants to sleep until then.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.jitter.next_due()
    }

    /// True when no packet is buffered and less than one frame of decoded audio is left:
    /// after the sender is gone, further polls would only conceal.
    pub(crate) fn is_drained(&self) -> bool {
        self.jitter.len() == 0 && self.decoded.len() < samples_per_10ms(OPUS_SAMPLE_RATE) * self.out_channels as usize
    }

    /// Jitter-buffer counters, plus how many packets were concealed (lost without FEC, or
    /// underruns).
    pub(crate) fn stats(&self) -> (JitterStats, u64) {
        (self.jitter.stats(), self.concealed_packets)
    }

    /// Decodes the next packet's worth of audio; false when playout has not started.
    fn decode_next(&mut self, now: Instant) -> Result<bool> {
        let pcm = match self.jitter.pop(now) {
            Some(JitterOutput::Packet { payload, .. }) => match self.decoder.decode(&payload) {
                Ok(pcm) if !pcm.is_empty() => {
                    self.packet_samples = pcm.len() / self.out_channels as usize;
                    self.shrink(pcm, now)
                }
                // A corrupt packet is treated as lost.
                _ => self.conceal()?,
            },
            Some(JitterOutput::Lost { next_payload: Some(next), .. }) => {
                match self.decoder.decode_fec(&next, self.packet_samples) {
                    Ok(pcm) if !pcm.is_empty() => pcm,
                    _ => self.conceal()?,
                }
            }
            Some(JitterOutput::Lost { next_payload: None, .. }) => self.conceal()?,
            None if !self.started => return Ok(false),
            // Playing but nothing due: an underrun or a pause. Keep the output continuous.
            None => self.conceal()?,
        };
        self.started = true;
        self.decoded.extend(pcm);
        Ok(true)
    }

    /// `pcm` (a decoded packet), or, when the jitter buffer has a surplus packet, the two
    /// cross-faded into the second one's length: one packet less of delay. The fade starts on
    /// `pcm`'s first sample and ends on the next packet's last, so both seams stay continuous.
    fn shrink(&mut self, pcm: Vec<i16>, now: Instant) -> Vec<i16> {
        let Some(JitterOutput::Packet { payload, .. }) = self.jitter.pop_surplus(now) else {
            return pcm;
        };
        match self.decoder.decode(&payload) {
            Ok(next) if !next.is_empty() => cross_fade(&pcm, next, self.out_channels as usize),
            // Undecodable: playing `pcm` alone still shortens the delay by a packet.
            _ => pcm,
        }
    }

    fn conceal(&mut self) -> Result<Vec<i16>> {
        self.concealed_packets += 1;
        let pcm = self.decoder.conceal(self.packet_samples)?;
        if pcm.is_empty() {
            // libopus always fills the request; never loop on an empty answer.
            return Ok(vec![0; self.packet_samples * self.out_channels as usize]);
        }
        Ok(pcm)
    }
}

/// `next` with its start faded in over `first` (both interleaved with `channels` channels):
/// over their common length the output goes linearly from `first` to `next`, then `next`'s
/// remainder follows unchanged.
fn cross_fade(first: &[i16], mut next: Vec<i16>, channels: usize) -> Vec<i16> {
    let channels = channels.max(1);
    let frames = first.len().min(next.len()) / channels;
    for frame in 0..frames {
        let weight = (frame as f32 + 0.5) / frames as f32;
        for ch in 0..channels {
            let i = frame * channels + ch;
            let mixed = f32::from(first[i]) * (1.0 - weight) + f32::from(next[i]) * weight;
            next[i] = mixed.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
        }
    }
    next
}

/// How long one 10 ms poll step is; the caller's pacing interval.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(10);

#[cfg(test)]
#[path = "receive_pipeline_tests.rs"]
mod tests;
