//! The send path as a plain type: 10 ms chunks at the source's format in, 20 ms Opus packets
//! out, each with its RTP timestamp step and RFC 6464 level. Packetizing into RTP and the header
//! extension are the engine's job.

use super::packets::EncodedAudio;

use std::time::Instant;

use super::audio_level::audio_level;
use super::fec_planner::FecPlanner;
use super::frame::samples_per_10ms;
use super::opus_codec::{OpusEncoder, OpusEncoderConfig, FRAME_SAMPLES, OPUS_SAMPLE_RATE};
use super::resampler::ChunkResampler;
use crate::error::{Error, Result};

/// Resamples, buffers to 20 ms and encodes.
#[derive(Debug)]
pub(crate) struct AudioSendPipeline {
    in_chunk: usize,
    resampler: ChunkResampler,
    encoder: OpusEncoder,
    /// How much loss the encoder's FEC is planned for, from the server's reports.
    fec: FecPlanner,
    /// 48 kHz PCM waiting for a full 20 ms block.
    pending: Vec<i16>,
    block: usize,
}

impl AudioSendPipeline {
    /// A pipeline for a source of this rate and channel count; the encoder runs mono for a
    /// mono source and stereo for a stereo one.
    pub(crate) fn new(sample_rate: u32, num_channels: u32) -> Result<Self> {
        Self::with_config(sample_rate, num_channels, OpusEncoderConfig::for_channels(num_channels))
    }

    /// Like [`Self::new`] with explicit encoder settings (their channel count wins).
    pub(crate) fn with_config(sample_rate: u32, num_channels: u32, config: OpusEncoderConfig) -> Result<Self> {
        let resampler = ChunkResampler::new(sample_rate, num_channels, OPUS_SAMPLE_RATE, config.channels)?;
        let encoder = OpusEncoder::new(config)?;
        let block = FRAME_SAMPLES * config.channels as usize;
        Ok(AudioSendPipeline {
            in_chunk: samples_per_10ms(sample_rate) * num_channels as usize,
            resampler,
            encoder,
            fec: FecPlanner::default(),
            pending: Vec::with_capacity(block),
            block,
        })
    }

    /// Changes the encoder's target bitrate.
    pub(crate) fn set_bitrate(&mut self, bitrate_bps: i32) -> Result<()> {
        self.encoder.set_bitrate(bitrate_bps)
    }

    /// Turns Opus DTX on or off: near-silence then becomes packets not worth sending.
    pub(crate) fn set_dtx(&mut self, dtx: bool) -> Result<()> {
        self.encoder.set_dtx(dtx)
    }

    /// Takes the fraction of packets lost (0..=1) from a receiver report that arrived at `now`,
    /// and retunes the encoder's FEC when the smoothed loss crossed a level.
    pub(crate) fn observe_loss(&mut self, now: Instant, fraction_lost: f32) -> Result<()> {
        match self.fec.observe(now, fraction_lost) {
            Some(percent) => {
                log::debug!("audio: FEC now planned for {percent} % loss (report: {:.1} %)", fraction_lost * 100.0);
                self.encoder.set_expected_loss(percent)
            }
            None => Ok(()),
        }
    }

    /// The loss (percent) the encoder's FEC is planned for now.
    #[cfg(test)]
    pub(crate) fn planned_loss_percent(&self) -> u8 {
        self.fec.planned_percent()
    }

    /// Takes one 10 ms chunk; every second chunk completes a packet.
    pub(crate) fn push_10ms(&mut self, chunk: &[i16]) -> Result<Option<EncodedAudio>> {
        if chunk.len() != self.in_chunk {
            return Err(Error::InvalidArgument(format!(
                "the send pipeline takes 10 ms chunks of {} samples, got {}",
                self.in_chunk,
                chunk.len()
            )));
        }
        let resampled = self.resampler.process(chunk)?;
        self.pending.extend_from_slice(&resampled);
        if self.pending.len() < self.block {
            return Ok(None);
        }
        let level = audio_level(&self.pending);
        let payload = self.encoder.encode(&self.pending)?;
        self.pending.clear();
        Ok(Some(EncodedAudio {
            payload,
            rtp_timestamp_step: FRAME_SAMPLES as u32,
            audio_level: level.level,
            voice_activity: level.voice_activity,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::opus_codec::OpusDecoder;
    use crate::media::test_support::{detect_tone, sine};

    #[test]
    fn ten_ms_chunks_become_20ms_packets_carrying_the_tone() {
        let mut pipeline = AudioSendPipeline::new(16_000, 1).unwrap();
        let pcm = sine(440.0, 0.5, 16_000, 1, 1_000);
        let packets: Vec<EncodedAudio> =
            pcm.chunks(160).filter_map(|chunk| pipeline.push_10ms(chunk).unwrap()).collect();
        assert_eq!(packets.len(), 50);
        assert!(packets.iter().all(|p| p.rtp_timestamp_step == 960));
        // A half-scale sine is at 3 + 6 = 9 dBov (the first packet holds the resampler's start).
        assert!(packets[5..].iter().all(|p| (8..=10).contains(&p.audio_level) && p.voice_activity), "{packets:?}");

        let mut decoder = OpusDecoder::new(1).unwrap();
        let decoded: Vec<i16> = packets.iter().flat_map(|p| decoder.decode(&p.payload).unwrap()).collect();
        let tone = detect_tone(&decoded[9_600..], 48_000, 1);
        assert!((tone.frequency - 440.0).abs() <= 2.0, "{tone:?}");
    }

    #[test]
    fn silence_is_level_127_without_voice() {
        let mut pipeline = AudioSendPipeline::new(48_000, 2).unwrap();
        assert!(pipeline.push_10ms(&[0; 960]).unwrap().is_none());
        let packet = pipeline.push_10ms(&[0; 960]).unwrap().unwrap();
        assert_eq!((packet.audio_level, packet.voice_activity), (127, false));
        assert!(!packet.payload.is_empty());
    }

    #[test]
    fn with_dtx_silence_becomes_gaps_and_sound_does_not() {
        let mut pipeline = AudioSendPipeline::new(48_000, 1).unwrap();
        pipeline.set_dtx(true).unwrap();
        let mut encode = |pcm: &[i16]| -> Vec<EncodedAudio> {
            pcm.chunks(480).filter_map(|chunk| pipeline.push_10ms(chunk).unwrap()).collect()
        };
        let tone = encode(&sine(440.0, 0.5, 48_000, 1, 500));
        assert!(tone.iter().all(|p| !p.is_dtx_gap()), "a tone is always sent");
        let silence = encode(&vec![0; 48_000]);
        let gaps = silence.iter().filter(|p| p.is_dtx_gap()).count();
        // libopus keeps sending for a short hangover after the tone, then stops.
        assert!(gaps >= 30, "most of 1 s of silence is not sent: {gaps} of {} packets", silence.len());
        assert!(gaps < silence.len(), "libopus still sends a refresh now and then");
    }

    #[test]
    fn without_dtx_silence_is_sent() {
        let mut pipeline = AudioSendPipeline::new(48_000, 1).unwrap();
        let silence: Vec<EncodedAudio> =
            vec![0; 48_000].chunks(480).filter_map(|chunk| pipeline.push_10ms(chunk).unwrap()).collect();
        assert!(silence.iter().all(|p| !p.is_dtx_gap()));
    }

    /// Whether libopus put FEC data (LBRR) for the previous packet into `packet`.
    fn carries_fec(packet: &[u8]) -> bool {
        // SAFETY: the pointer and length describe `packet`, which libopus only reads.
        unsafe { opusic_sys::opus_packet_has_lbrr(packet.as_ptr(), packet.len() as i32) == 1 }
    }

    #[test]
    fn fec_is_sent_only_once_the_server_reports_loss() {
        let mut pipeline = AudioSendPipeline::new(48_000, 1).unwrap();
        let tone = sine(440.0, 0.5, 48_000, 1, 2_000);
        let encode = |pipeline: &mut AudioSendPipeline, pcm: &[i16]| -> usize {
            let packets: Vec<EncodedAudio> =
                pcm.chunks(480).filter_map(|chunk| pipeline.push_10ms(chunk).unwrap()).collect();
            packets.iter().filter(|p| carries_fec(&p.payload)).count()
        };
        // A clean link: no FEC, so libopus encodes each packet once.
        assert_eq!(pipeline.planned_loss_percent(), 0);
        assert_eq!(encode(&mut pipeline, &tone[..48_000]), 0);
        // A receiver report of 12 % loss: FEC for 10 %, carried by nearly every packet.
        let now = Instant::now();
        pipeline.observe_loss(now, 0.12).unwrap();
        assert_eq!(pipeline.planned_loss_percent(), 10);
        let with_fec = encode(&mut pipeline, &tone[48_000..]);
        assert!(with_fec >= 40, "{with_fec} of 50 packets carry FEC");
        // The loss is gone for a minute of reports: FEC stops again.
        for second in 1..=60 {
            pipeline.observe_loss(now + std::time::Duration::from_secs(second), 0.0).unwrap();
        }
        assert_eq!(pipeline.planned_loss_percent(), 0);
        // (The first packet may still carry the FEC of the last one encoded with it.)
        assert!(encode(&mut pipeline, &tone[..48_000]) <= 1);
    }

    #[test]
    fn wrong_chunk_size_is_an_error() {
        let mut pipeline = AudioSendPipeline::new(48_000, 1).unwrap();
        assert!(matches!(pipeline.push_10ms(&[0; 960]), Err(Error::InvalidArgument(_))));
        assert!(pipeline.set_bitrate(24_000).is_ok());
    }
}
