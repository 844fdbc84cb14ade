//! H.264 through OpenH264 (the `openh264` crate, built from its bundled source): a constrained
//! baseline realtime encoder (CAVLC, no B-frames, single slice, bitrate rate control with frame
//! skipping, SPS/PPS before every IDR) and a decoder for Annex B access units, behind
//! [`VideoEncoder`] / [`VideoDecoder`].
//!
//! H.264 4:2:0 cannot code an odd width or height (cropping works in steps of 2), so the
//! encoder pads such a picture by one repeated column/row and reports the even size in
//! [`EncodedVideo`]; the decoder then shows the padded size.
#![cfg(feature = "h264")]

use std::os::raw::c_int;

use bytes::Bytes;
use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig as OpenH264Config, FrameRate, FrameType, Level, Profile, QpRange,
    RateControlMode, SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVSource;
use openh264::{OpenH264API, Timestamp};

use crate::error::{Error, Result};
use crate::media::video_codec::{sanitize_rates, EncodedVideo, EncoderConfig, VideoDecoder, VideoEncoder};
use crate::media::I420Buffer;

/// NAL unit types this file looks for (H.264 table 7-1).
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// OpenH264's encoder limit (its README: 3840x2160 either way round).
const MAX_LONG_SIDE: u32 = 3840;
const MAX_SHORT_SIDE: u32 = 2160;

/// The encoder's speed/quality trade-off (OpenH264 `iComplexityMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum H264Complexity {
    /// Fastest.
    Low,
    /// OpenH264's default, which libwebrtc keeps.
    Medium,
    /// Slowest, best compression.
    High,
}

/// A realtime constrained-baseline H.264 encoder.
pub(crate) struct H264Encoder {
    encoder: Option<Encoder>,
    size: (u32, u32),
    bitrate_bps: u32,
    framerate: f64,
    screencast: bool,
    complexity: H264Complexity,
    timestamp_ms: f64,
    /// A keyframe was asked for and not yet produced (rate control skipped that frame).
    keyframe_pending: bool,
    /// The last SPS and PPS NAL units (with start codes), put before an IDR that lacks them.
    parameter_sets: Vec<u8>,
}

impl H264Encoder {
    /// An encoder that starts on the first picture.
    pub(crate) fn new(config: EncoderConfig) -> Result<Self> {
        Self::with_complexity(config, H264Complexity::Medium)
    }

    /// As `new`, with OpenH264's complexity mode.
    pub(crate) fn with_complexity(config: EncoderConfig, complexity: H264Complexity) -> Result<Self> {
        Ok(Self {
            encoder: None,
            size: (0, 0),
            bitrate_bps: config.bitrate_bps,
            framerate: config.max_framerate,
            screencast: config.screencast,
            complexity,
            timestamp_ms: 0.0,
            keyframe_pending: false,
            parameter_sets: Vec::new(),
        })
    }

    /// A fresh OpenH264 encoder with the current rates; its first frame is an IDR.
    fn start(&mut self, width: u32, height: u32) -> Result<()> {
        let (long, short) = (width.max(height), width.min(height));
        if long > MAX_LONG_SIDE || short > MAX_SHORT_SIDE {
            return Err(Error::InvalidArgument(format!(
                "H.264 (OpenH264) encodes up to 3840x2160, not {width}x{height}"
            )));
        }
        let complexity = match self.complexity {
            H264Complexity::Low => Complexity::Low,
            H264Complexity::Medium => Complexity::Medium,
            H264Complexity::High => Complexity::High,
        };
        let config = OpenH264Config::new()
            .usage_type(if self.screencast { UsageType::ScreenContentRealTime } else { UsageType::CameraVideoRealTime })
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(self.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(self.framerate as f32))
            // OpenH264's bitrate control only holds with frame skipping (for screens too: without
            // it, it undershoots by 4-10x); libwebrtc turns it on as well.
            .skip_frames(true)
            // An explicit range: left at 0..=51, OpenH264 narrows it to 12..=42 for camera and
            // 26..=35 for screens (too coarse for text; measured in docs/video-codecs.md).
            .qp(QpRange::new(12, 51))
            .profile(Profile::Baseline)
            // 42e01f: level 3.1 at least; OpenH264 raises it itself for larger pictures.
            .level(Level::Level_3_1)
            .complexity(complexity)
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .num_threads(1)
            .scene_change_detect(true)
            // OpenH264 supports these for camera content only (it warns and turns them off).
            .adaptive_quantization(!self.screencast)
            .background_detection(!self.screencast)
            .long_term_reference(false)
            .debug(false);
        let encoder =
            Encoder::with_api_config(OpenH264API::from_source(), config).map_err(openh264_error("encoder"))?;
        self.encoder = Some(encoder);
        self.size = (width, height);
        Ok(())
    }

    /// Pushes the current rates into a running encoder (max first, so a raise is not capped).
    fn apply_rates(&mut self) -> Result<()> {
        let Some(encoder) = self.encoder.as_mut() else { return Ok(()) };
        let bitrate = c_int::try_from(self.bitrate_bps).unwrap_or(c_int::MAX);
        let mut framerate = self.framerate as f32;
        for option in [openh264_sys2::ENCODER_OPTION_MAX_BITRATE, openh264_sys2::ENCODER_OPTION_BITRATE] {
            let mut info = openh264_sys2::SBitrateInfo { iLayer: openh264_sys2::SPATIAL_LAYER_ALL, iBitrate: bitrate };
            // SAFETY: the encoder is initialised (it has encoded a frame, see `encode`); both
            // options take an `SBitrateInfo` that lives through the call.
            let code =
                unsafe { encoder.raw_api().set_option(option, (&mut info as *mut openh264_sys2::SBitrateInfo).cast()) };
            if code != 0 {
                return Err(Error::Internal(format!("OpenH264 bitrate option {option}: error {code}")));
            }
        }
        // SAFETY: ENCODER_OPTION_FRAME_RATE takes a float.
        let code = unsafe {
            encoder.raw_api().set_option(openh264_sys2::ENCODER_OPTION_FRAME_RATE, (&mut framerate as *mut f32).cast())
        };
        if code != 0 {
            return Err(Error::Internal(format!("OpenH264 frame rate option: error {code}")));
        }
        Ok(())
    }
}

impl VideoEncoder for H264Encoder {
    fn encode(&mut self, picture: &I420Buffer, force_keyframe: bool) -> Result<Option<EncodedVideo>> {
        let padded;
        let source = if picture.width() % 2 == 1 || picture.height() % 2 == 1 {
            padded = pad_to_even(picture)?;
            &padded
        } else {
            picture
        };
        let (width, height) = (source.width(), source.height());
        if self.encoder.is_none() || self.size != (width, height) {
            self.start(width, height)?;
        }
        let timestamp = Timestamp::from_millis(self.timestamp_ms as u64);
        self.timestamp_ms += 1000.0 / self.framerate;
        let encoder = self.encoder.as_mut().ok_or_else(|| Error::Internal("H.264 encoder not started".into()))?;
        self.keyframe_pending |= force_keyframe;
        if self.keyframe_pending {
            encoder.force_intra_frame();
        }
        let stream = encoder.encode_at(&Planes(source), timestamp).map_err(openh264_error("encode"))?;
        if matches!(stream.frame_type(), FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        let mut data = stream.to_vec();
        if data.is_empty() {
            return Ok(None);
        }
        let mut has = [false; 32];
        for nal in nal_units(&data) {
            has[usize::from(nal.nal_type)] = true;
        }
        let keyframe = has[usize::from(NAL_IDR)];
        self.keyframe_pending &= !keyframe;
        if has[usize::from(NAL_SPS)] && has[usize::from(NAL_PPS)] {
            self.parameter_sets = nal_units(&data)
                .filter(|nal| nal.nal_type == NAL_SPS || nal.nal_type == NAL_PPS)
                .flat_map(|nal| [&[0, 0, 0, 1][..], nal.payload])
                .flatten()
                .copied()
                .collect();
        } else if keyframe {
            // OpenH264 writes them with every IDR; this only guards the contract.
            let mut with_sets = self.parameter_sets.clone();
            with_sets.extend_from_slice(&data);
            data = with_sets;
        }
        Ok(Some(EncodedVideo { data: Bytes::from(data), keyframe, width, height }))
    }

    fn set_rates(&mut self, bitrate_bps: u32, framerate: f64) {
        let (bitrate_bps, framerate) = sanitize_rates(bitrate_bps, framerate);
        self.bitrate_bps = bitrate_bps;
        self.framerate = framerate;
        if let Err(err) = self.apply_rates() {
            log::warn!("{err}");
        }
    }
}

/// An [`I420Buffer`] as OpenH264's input (strides are the plane widths).
struct Planes<'a>(&'a I420Buffer);

impl YUVSource for Planes<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let chroma = self.0.chroma_width() as usize;
        (self.0.width() as usize, chroma, chroma)
    }

    fn y(&self) -> &[u8] {
        self.0.y()
    }

    fn u(&self) -> &[u8] {
        self.0.u()
    }

    fn v(&self) -> &[u8] {
        self.0.v()
    }
}

/// `picture` grown to even dimensions by repeating its last column and row (chroma planes
/// already cover the rounded-up size, so they are copied as they are).
fn pad_to_even(picture: &I420Buffer) -> Result<I420Buffer> {
    let (width, height) = (picture.width() as usize, picture.height() as usize);
    let (even_width, even_height) = (width.next_multiple_of(2), height.next_multiple_of(2));
    let mut padded = I420Buffer::filled(even_width as u32, even_height as u32, (0, 128, 128))?;
    let (y, u, v) = padded.planes_mut();
    for row in 0..even_height {
        let source = &picture.y()[row.min(height - 1) * width..][..width];
        let target = &mut y[row * even_width..][..even_width];
        target[..width].copy_from_slice(source);
        target[width..].fill(source[width - 1]);
    }
    u.copy_from_slice(picture.u());
    v.copy_from_slice(picture.v());
    Ok(padded)
}

/// One NAL unit of an Annex B stream: its type and its bytes after the start code.
struct Nal<'a> {
    nal_type: u8,
    payload: &'a [u8],
}

/// The NAL units of an Annex B byte stream (3- or 4-byte start codes); bytes before the first
/// start code are ignored, empty units skipped.
fn nal_units(stream: &[u8]) -> impl Iterator<Item = Nal<'_>> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&next| {
            // The next start code begins 3 bytes before its payload, 4 with a leading zero.
            let mut end = next - 3;
            while end > 0 && stream[end - 1] == 0 {
                end -= 1;
            }
            end
        })
        .chain(std::iter::once(stream.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .filter(|(start, end)| end > start)
        .map(|(start, end)| Nal { nal_type: stream[start] & 0x1f, payload: &stream[start..end] })
}

/// An H.264 decoder for whole Annex B access units; shows nothing until an IDR.
pub(crate) struct H264Decoder {
    decoder: Decoder,
    waiting_for_keyframe: bool,
}

impl H264Decoder {
    /// A decoder (one thread, no error concealment: a damaged picture is an error, not shown).
    pub(crate) fn new() -> Result<Self> {
        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let decoder =
            Decoder::with_api_config(OpenH264API::from_source(), config).map_err(openh264_error("decoder"))?;
        Ok(Self { decoder, waiting_for_keyframe: true })
    }

    fn decode_unit(&mut self, data: &[u8]) -> Result<Option<I420Buffer>> {
        if data.is_empty() {
            return Err(Error::InvalidArgument("empty H.264 access unit".into()));
        }
        let mut slices = false;
        let mut idr = false;
        for nal in nal_units(data) {
            slices |= (1..=5).contains(&nal.nal_type);
            idr |= nal.nal_type == NAL_IDR;
        }
        if !slices && !nal_units(data).any(|nal| nal.nal_type == NAL_SPS || nal.nal_type == NAL_PPS) {
            return Err(Error::InvalidArgument("H.264 access unit without a slice or parameter set".into()));
        }
        if self.waiting_for_keyframe && !idr {
            // Parameter sets alone are kept; delta pictures cannot be shown yet.
            if slices {
                return Ok(None);
            }
        }
        let decoded = self.decoder.decode(data).map_err(openh264_error("decode"))?;
        decoded.map(copy_decoded).transpose()
    }
}

impl VideoDecoder for H264Decoder {
    fn decode(&mut self, data: &[u8]) -> Result<Option<I420Buffer>> {
        let result = self.decode_unit(data);
        match &result {
            Err(_) => self.waiting_for_keyframe = true,
            Ok(Some(_)) => self.waiting_for_keyframe = false,
            Ok(None) => {}
        }
        result
    }
}

/// Copies OpenH264's picture (strided planes, owned by the decoder) into an [`I420Buffer`].
fn copy_decoded(decoded: DecodedYUV<'_>) -> Result<I420Buffer> {
    let (width, height) = decoded.dimensions();
    let (stride_y, stride_u, stride_v) = decoded.strides();
    let mut picture = I420Buffer::filled(width as u32, height as u32, (0, 128, 128))?;
    let (chroma_width, chroma_height) = (picture.chroma_width() as usize, picture.chroma_height() as usize);
    let (y, u, v) = picture.planes_mut();
    let planes = [
        (y, decoded.y(), stride_y, width, height),
        (u, decoded.u(), stride_u, chroma_width, chroma_height),
        (v, decoded.v(), stride_v, chroma_width, chroma_height),
    ];
    for (target, source, stride, plane_width, rows) in planes {
        for row in 0..rows {
            let line = source
                .get(row * stride..row * stride + plane_width)
                .ok_or_else(|| Error::Internal("OpenH264 decoded picture smaller than its size".into()))?;
            target[row * plane_width..(row + 1) * plane_width].copy_from_slice(line);
        }
    }
    Ok(picture)
}

fn openh264_error(what: &'static str) -> impl Fn(openh264::Error) -> Error {
    move |err| Error::Internal(format!("OpenH264 {what}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_units_are_split_on_both_start_code_lengths() {
        let stream = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5];
        let units: Vec<(u8, Vec<u8>)> = nal_units(&stream).map(|n| (n.nal_type, n.payload.to_vec())).collect();
        assert_eq!(units, vec![(7, vec![0x67, 1, 2]), (8, vec![0x68, 3]), (5, vec![0x65, 4, 5])]);
        assert_eq!(nal_units(&[1, 2, 3]).count(), 0);
        assert_eq!(nal_units(&[0, 0, 1]).count(), 0);
    }

    #[test]
    fn odd_pictures_are_padded_with_their_edge() {
        let mut picture = I420Buffer::filled(3, 3, (10, 20, 30)).unwrap();
        picture.planes_mut().0[8] = 99; // bottom-right luma
        let padded = pad_to_even(&picture).unwrap();
        assert_eq!((padded.width(), padded.height()), (4, 4));
        assert_eq!(&padded.y()[8..12], &[10, 10, 99, 99]);
        assert_eq!(&padded.y()[12..16], &[10, 10, 99, 99]);
        assert_eq!(padded.u(), picture.u());
    }
}
