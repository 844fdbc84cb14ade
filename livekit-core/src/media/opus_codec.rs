//! Opus encoder and decoder at 48 kHz with 20 ms packets, wrapping the `opus` crate (libopus).
//! Only settings and error mapping live here; the codec itself is libopus.

use bytes::Bytes;

use crate::error::{Error, Result};

/// Opus always runs at 48 kHz on the wire in LiveKit (`opus/48000/2`).
pub(crate) const OPUS_SAMPLE_RATE: u32 = 48_000;
/// Samples per channel in one 20 ms packet; also the RTP timestamp step per packet.
pub(crate) const FRAME_SAMPLES: usize = 960;
/// The largest packet libopus may produce for one frame (RFC 6716 caps a frame at 1275 bytes).
const MAX_PACKET_BYTES: usize = 1_275;
/// Samples per channel in the longest Opus packet (120 ms), the decoder's output bound.
const MAX_DECODED_SAMPLES: usize = 5_760;

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpusEncoderConfig {
    /// 1 or 2.
    pub channels: u32,
    /// Target bitrate in bits per second (libopus accepts 500..=512000).
    pub bitrate_bps: i32,
    /// In-band forward error correction: each packet also carries a coarse copy of the
    /// previous one, which the receiver decodes when that one is lost.
    pub inband_fec: bool,
    /// The loss the encoder plans FEC for; libopus adds no FEC data at 0 (and skips the
    /// second encode FEC costs). The send pipeline moves it with the loss the server reports.
    pub expected_loss_percent: u8,
    /// Discontinuous transmission: near-silent stretches are sent as rare tiny packets.
    pub dtx: bool,
}

impl OpusEncoderConfig {
    /// LiveKit's defaults: FEC on (the server offers `useinbandfec=1`) but planned for no loss
    /// until a receiver report says otherwise, DTX off, 32 kb/s mono or 64 kb/s stereo.
    pub(crate) fn for_channels(channels: u32) -> Self {
        OpusEncoderConfig {
            channels,
            bitrate_bps: if channels == 2 { 64_000 } else { 32_000 },
            inband_fec: true,
            expected_loss_percent: 0,
            dtx: false,
        }
    }
}

fn opus_channels(channels: u32) -> Result<opus::Channels> {
    match channels {
        1 => Ok(opus::Channels::Mono),
        2 => Ok(opus::Channels::Stereo),
        n => Err(Error::InvalidArgument(format!("Opus supports 1 or 2 channels here, not {n}"))),
    }
}

fn codec_error(what: &str, err: opus::Error) -> Error {
    Error::Internal(format!("opus {what}: {err}"))
}

/// Encodes 20 ms blocks of 48 kHz interleaved PCM into Opus packets.
pub(crate) struct OpusEncoder {
    encoder: opus::Encoder,
    channels: usize,
    out: Vec<u8>,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").field("channels", &self.channels).finish()
    }
}

impl OpusEncoder {
    /// An encoder tuned for VoIP (which lets FEC work: libopus carries FEC only in its speech
    /// modes).
    pub(crate) fn new(config: OpusEncoderConfig) -> Result<Self> {
        let mut encoder =
            opus::Encoder::new(OPUS_SAMPLE_RATE, opus_channels(config.channels)?, opus::Application::Voip)
                .map_err(|e| codec_error("encoder", e))?;
        encoder.set_inband_fec(config.inband_fec).map_err(|e| codec_error("set_inband_fec", e))?;
        encoder
            .set_packet_loss_perc(i32::from(config.expected_loss_percent.min(100)))
            .map_err(|e| codec_error("set_packet_loss_perc", e))?;
        encoder.set_dtx(config.dtx).map_err(|e| codec_error("set_dtx", e))?;
        let mut this = OpusEncoder { encoder, channels: config.channels as usize, out: vec![0; MAX_PACKET_BYTES] };
        this.set_bitrate(config.bitrate_bps)?;
        Ok(this)
    }

    /// Changes the target bitrate (bits per second, 500..=512000).
    pub(crate) fn set_bitrate(&mut self, bitrate_bps: i32) -> Result<()> {
        if !(500..=512_000).contains(&bitrate_bps) {
            return Err(Error::InvalidArgument(format!("Opus bitrate {bitrate_bps} b/s is outside 500..=512000")));
        }
        self.encoder.set_bitrate(opus::Bitrate::Bits(bitrate_bps)).map_err(|e| codec_error("set_bitrate", e))
    }

    /// Plans in-band FEC for this much loss (percent, at most 100) from the next packet on.
    pub(crate) fn set_expected_loss(&mut self, percent: u8) -> Result<()> {
        self.encoder
            .set_packet_loss_perc(i32::from(percent.min(100)))
            .map_err(|e| codec_error("set_packet_loss_perc", e))
    }

    /// Turns discontinuous transmission on or off from the next packet on.
    pub(crate) fn set_dtx(&mut self, dtx: bool) -> Result<()> {
        self.encoder.set_dtx(dtx).map_err(|e| codec_error("set_dtx", e))
    }

    /// Encodes exactly 20 ms (960 samples per channel) of interleaved PCM into one packet.
    pub(crate) fn encode(&mut self, pcm: &[i16]) -> Result<Bytes> {
        if pcm.len() != FRAME_SAMPLES * self.channels {
            return Err(Error::InvalidArgument(format!(
                "Opus encodes 20 ms blocks of {} samples here, got {}",
                FRAME_SAMPLES * self.channels,
                pcm.len()
            )));
        }
        let len = self.encoder.encode(pcm, &mut self.out).map_err(|e| codec_error("encode", e))?;
        Ok(Bytes::copy_from_slice(&self.out[..len]))
    }
}

/// Decodes Opus packets to 48 kHz interleaved PCM, with loss concealment and FEC recovery.
pub(crate) struct OpusDecoder {
    decoder: opus::Decoder,
    channels: usize,
    out: Vec<i16>,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").field("channels", &self.channels).finish()
    }
}

impl OpusDecoder {
    /// A decoder producing `channels` (1 or 2) whatever the packets carry: libopus up- or
    /// downmixes.
    pub(crate) fn new(channels: u32) -> Result<Self> {
        let decoder =
            opus::Decoder::new(OPUS_SAMPLE_RATE, opus_channels(channels)?).map_err(|e| codec_error("decoder", e))?;
        Ok(OpusDecoder { decoder, channels: channels as usize, out: vec![0; MAX_DECODED_SAMPLES * channels as usize] })
    }

    /// Decodes one packet. A corrupt packet is an error; the caller may conceal instead.
    pub(crate) fn decode(&mut self, packet: &[u8]) -> Result<Vec<i16>> {
        if packet.is_empty() {
            return Err(Error::InvalidArgument("empty Opus packet".into()));
        }
        self.run(packet, MAX_DECODED_SAMPLES, false)
    }

    /// Recovers a lost packet of `samples` per channel from the FEC data in the packet after it.
    /// Without FEC data in `next_packet`, libopus conceals instead, so this never leaves a gap.
    pub(crate) fn decode_fec(&mut self, next_packet: &[u8], samples: usize) -> Result<Vec<i16>> {
        if next_packet.is_empty() {
            return self.conceal(samples);
        }
        self.run(next_packet, samples, true)
    }

    /// Packet-loss concealment: `samples` per channel extrapolated from what came before.
    pub(crate) fn conceal(&mut self, samples: usize) -> Result<Vec<i16>> {
        self.run(&[], samples, false)
    }

    fn run(&mut self, packet: &[u8], samples: usize, fec: bool) -> Result<Vec<i16>> {
        let samples = samples.min(MAX_DECODED_SAMPLES);
        let out = &mut self.out[..samples * self.channels];
        let decoded = self.decoder.decode(packet, out, fec).map_err(|e| codec_error("decode", e))?;
        Ok(out[..decoded * self.channels].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::test_support::{detect_tone, sine};

    fn encode_tone(channels: u32, ms: u32) -> Vec<Bytes> {
        let mut encoder = OpusEncoder::new(OpusEncoderConfig::for_channels(channels)).unwrap();
        let pcm = sine(440.0, 0.5, OPUS_SAMPLE_RATE, channels, ms);
        pcm.chunks(FRAME_SAMPLES * channels as usize).map(|block| encoder.encode(block).unwrap()).collect()
    }

    #[test]
    fn a_tone_survives_encode_and_decode() {
        for channels in [1, 2] {
            let packets = encode_tone(channels, 1_000);
            assert_eq!(packets.len(), 50);
            let mut decoder = OpusDecoder::new(channels).unwrap();
            let pcm: Vec<i16> = packets.iter().flat_map(|p| decoder.decode(p).unwrap()).collect();
            assert_eq!(pcm.len(), 48_000 * channels as usize);
            let tone = detect_tone(&pcm[9_600 * channels as usize..], OPUS_SAMPLE_RATE, channels);
            assert!((tone.frequency - 440.0).abs() <= 2.0, "{tone:?}");
            assert!((tone.rms / (0.5 * 32767.0 / 2f64.sqrt()) - 1.0).abs() < 0.1, "{tone:?}");
        }
    }

    #[test]
    fn a_lost_packet_is_recovered_from_fec_or_concealed() {
        let packets = encode_tone(1, 600);
        let mut with_fec = OpusDecoder::new(1).unwrap();
        let mut plc_only = OpusDecoder::new(1).unwrap();
        let mut out_fec = Vec::new();
        let mut out_plc = Vec::new();
        for (i, packet) in packets.iter().enumerate() {
            if i == 20 {
                out_fec.extend(with_fec.decode_fec(&packets[21], FRAME_SAMPLES).unwrap());
                out_plc.extend(plc_only.conceal(FRAME_SAMPLES).unwrap());
                continue;
            }
            out_fec.extend(with_fec.decode(packet).unwrap());
            out_plc.extend(plc_only.decode(packet).unwrap());
        }
        assert_eq!(out_fec.len(), 600 * 48);
        assert_eq!(out_plc.len(), 600 * 48);
        // The recovered 20 ms still holds the tone.
        let lost = 20 * FRAME_SAMPLES..21 * FRAME_SAMPLES;
        for out in [&out_fec, &out_plc] {
            let tone = detect_tone(&out[lost.clone()], OPUS_SAMPLE_RATE, 1);
            assert!((tone.frequency - 440.0).abs() <= 5.0, "{tone:?}");
            assert!(tone.rms > 0.5 * 0.5 * 32767.0 / 2f64.sqrt(), "{tone:?}");
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let mut encoder = OpusEncoder::new(OpusEncoderConfig::for_channels(1)).unwrap();
        assert!(matches!(encoder.encode(&[0; 480]), Err(Error::InvalidArgument(_))));
        assert!(matches!(encoder.set_bitrate(100), Err(Error::InvalidArgument(_))));
        assert!(matches!(OpusEncoder::new(OpusEncoderConfig::for_channels(3)), Err(Error::InvalidArgument(_))));
        let mut decoder = OpusDecoder::new(2).unwrap();
        assert!(matches!(decoder.decode(&[]), Err(Error::InvalidArgument(_))));
        // A corrupt packet (TOC says code 3 with 63 frames, no data) is an error, not a crash.
        assert!(matches!(decoder.decode(&[0xff, 0xff]), Err(Error::Internal(_))));
    }
}
