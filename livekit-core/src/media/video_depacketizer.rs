//! RTP payloads back into encoded pictures: VP8 (RFC 7741), H.264 (RFC 6184, single NAL
//! units, STAP-A and FU-A, out as Annex B) and VP9 (RFC 9628; the frames of several spatial
//! layers joined into one superframe). Plain functions over bytes; any input gives a result
//! or an error, never a panic.

use bytes::{BufMut, Bytes, BytesMut};

use super::video_codec::VideoCodec;
use crate::error::{Error, Result};

const ANNEX_B_START_CODE: [u8; 4] = [0, 0, 0, 1];

/// One encoded picture rebuilt from its RTP payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DepacketizedFrame {
    /// What the decoder takes: a VP8 frame, or an H.264 access unit in Annex B.
    pub data: Bytes,
    /// A picture that decodes on its own (VP8 key frame, H.264 IDR).
    pub keyframe: bool,
}

/// Whether `payload` is the first packet of a picture.
pub(crate) fn starts_frame(codec: VideoCodec, payload: &[u8]) -> bool {
    match codec {
        VideoCodec::H264 => h264_starts_frame(payload),
        VideoCodec::Vp9 => vp9_descriptor(payload).is_some_and(|d| d.begins_layer_frame && d.spatial_layer == 0),
        _ => vp8_descriptor(payload).is_some_and(|d| d.starts_partition_zero),
    }
}

/// Joins the payloads of one picture, in sequence order.
pub(crate) fn depacketize(codec: VideoCodec, payloads: &[Bytes]) -> Result<DepacketizedFrame> {
    match codec {
        VideoCodec::H264 => depacketize_h264(payloads),
        VideoCodec::Vp9 => depacketize_vp9(payloads),
        _ => depacketize_vp8(payloads),
    }
}

struct Vp8Descriptor {
    header_len: usize,
    starts_partition_zero: bool,
}

fn vp8_descriptor(payload: &[u8]) -> Option<Vp8Descriptor> {
    let first = *payload.first()?;
    let starts_partition_zero = first & 0x10 != 0 && first & 0x07 == 0;
    let mut len = 1;
    if first & 0x80 != 0 {
        let extension = *payload.get(1)?;
        len += 1;
        if extension & 0x80 != 0 {
            // Picture id: 7 bits, or 15 when its first bit (M) is set.
            len += if payload.get(len)? & 0x80 != 0 { 2 } else { 1 };
        }
        if extension & 0x40 != 0 {
            len += 1; // TL0PICIDX
        }
        if extension & 0x30 != 0 {
            len += 1; // TID / KEYIDX
        }
    }
    (payload.len() > len).then_some(Vp8Descriptor { header_len: len, starts_partition_zero })
}

fn depacketize_vp8(payloads: &[Bytes]) -> Result<DepacketizedFrame> {
    let mut frame = BytesMut::new();
    for payload in payloads {
        let descriptor = vp8_descriptor(payload).ok_or_else(|| invalid("a VP8 payload descriptor is truncated"))?;
        frame.extend_from_slice(&payload[descriptor.header_len..]);
    }
    // The frame tag's lowest bit is 0 for a key frame (RFC 6386, section 9.1).
    let keyframe = frame.first().is_some_and(|tag| tag & 0x01 == 0);
    if frame.is_empty() {
        return Err(invalid("an empty VP8 frame"));
    }
    Ok(DepacketizedFrame { data: frame.freeze(), keyframe })
}

struct Vp9Descriptor {
    header_len: usize,
    begins_layer_frame: bool,
    /// Predicted from an earlier picture (P): not a keyframe.
    inter_predicted: bool,
    spatial_layer: u8,
}

fn vp9_descriptor(payload: &[u8]) -> Option<Vp9Descriptor> {
    let first = *payload.first()?;
    let (picture_id, inter_predicted, layer_indices, flexible) =
        (first & 0x80 != 0, first & 0x40 != 0, first & 0x20 != 0, first & 0x10 != 0);
    let (begins_layer_frame, scalability_structure) = (first & 0x08 != 0, first & 0x02 != 0);
    let mut len = 1;
    if picture_id {
        len += if payload.get(len)? & 0x80 != 0 { 2 } else { 1 };
    }
    let mut spatial_layer = 0;
    if layer_indices {
        spatial_layer = (payload.get(len)? >> 1) & 0x07;
        len += if flexible { 1 } else { 2 }; // TL0PICIDX in non-flexible mode
    }
    if flexible && inter_predicted {
        // Up to three reference differences, each with a "one more" bit.
        for _ in 0..3 {
            let diff = *payload.get(len)?;
            len += 1;
            if diff & 0x01 == 0 {
                break;
            }
        }
    }
    if scalability_structure {
        let ss = *payload.get(len)?;
        len += 1;
        let layers = usize::from(ss >> 5) + 1;
        if ss & 0x10 != 0 {
            len += 4 * layers; // a width and height per spatial layer
        }
        if ss & 0x08 != 0 {
            let pictures = *payload.get(len)?;
            len += 1;
            for _ in 0..pictures {
                let references = usize::from((payload.get(len)? >> 2) & 0x03);
                len += 1 + references;
            }
        }
    }
    (payload.len() > len).then_some(Vp9Descriptor {
        header_len: len,
        begins_layer_frame,
        inter_predicted,
        spatial_layer,
    })
}

/// The layer frames of one picture; several (spatial layers) are joined into a VP9 superframe,
/// which the decoder takes as one.
fn depacketize_vp9(payloads: &[Bytes]) -> Result<DepacketizedFrame> {
    let mut frames: Vec<BytesMut> = Vec::new();
    let mut keyframe = false;
    for payload in payloads {
        let descriptor = vp9_descriptor(payload).ok_or_else(|| invalid("a VP9 payload descriptor is truncated"))?;
        if descriptor.begins_layer_frame || frames.is_empty() {
            if frames.is_empty() {
                keyframe = !descriptor.inter_predicted;
            }
            frames.push(BytesMut::new());
        }
        if let Some(frame) = frames.last_mut() {
            frame.extend_from_slice(&payload[descriptor.header_len..]);
        }
    }
    let data = match frames.len() {
        0 => return Err(invalid("an empty VP9 picture")),
        1 => frames.pop().unwrap_or_default().freeze(),
        _ => superframe(&frames)?,
    };
    Ok(DepacketizedFrame { data, keyframe })
}

/// Frames followed by a superframe index (VP9 bitstream spec, annex B): a marker byte
/// `0b110 size-bytes-1 frames-1`, each size in 4 little-endian bytes, the marker again.
fn superframe(frames: &[BytesMut]) -> Result<Bytes> {
    if frames.len() > 8 {
        return Err(invalid("a VP9 picture of more than 8 layer frames"));
    }
    let marker = 0b1100_0000 | (3 << 3) | (frames.len() as u8 - 1);
    let mut out = BytesMut::new();
    frames.iter().for_each(|frame| out.extend_from_slice(frame));
    out.put_u8(marker);
    for frame in frames {
        let size = u32::try_from(frame.len()).map_err(|_| invalid("a VP9 layer frame over 4 GiB"))?;
        out.put_u32_le(size);
    }
    out.put_u8(marker);
    Ok(out.freeze())
}

const NAL_IDR: u8 = 5;
const NAL_SEI: u8 = 6;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

fn h264_starts_frame(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else { return false };
    let (nal_type, rest) = match header & 0x1f {
        // The first unit of the aggregate decides: skip the type byte and the 16-bit size.
        STAP_A => match payload.get(3) {
            Some(&inner) => (inner & 0x1f, payload.get(4..).unwrap_or_default()),
            None => return false,
        },
        FU_A => match payload.get(1) {
            Some(&fu) if fu & 0x80 != 0 => (fu & 0x1f, payload.get(2..).unwrap_or_default()),
            _ => return false,
        },
        nal_type => (nal_type, &payload[1..]),
    };
    match nal_type {
        NAL_AUD | NAL_SEI | NAL_SPS | NAL_PPS => true,
        // A slice whose first_mb_in_slice is 0 (its ue(v) code starts with a 1 bit).
        1 | NAL_IDR => rest.first().is_some_and(|b| b & 0x80 != 0),
        _ => false,
    }
}

fn depacketize_h264(payloads: &[Bytes]) -> Result<DepacketizedFrame> {
    let mut out = BytesMut::new();
    let mut keyframe = false;
    let mut in_fragment = false;
    for payload in payloads {
        let header = *payload.first().ok_or_else(|| invalid("an empty H.264 payload"))?;
        match header & 0x1f {
            0 | 29..=31 => return Err(invalid("an H.264 packet type this client does not take")),
            STAP_A => {
                let mut rest = &payload[1..];
                while !rest.is_empty() {
                    let size = match rest {
                        [high, low, ..] => usize::from(u16::from_be_bytes([*high, *low])),
                        _ => return Err(invalid("a STAP-A unit size is truncated")),
                    };
                    let unit = rest.get(2..2 + size).filter(|u| !u.is_empty());
                    let unit = unit.ok_or_else(|| invalid("a STAP-A unit is truncated"))?;
                    keyframe |= unit[0] & 0x1f == NAL_IDR;
                    out.put_slice(&ANNEX_B_START_CODE);
                    out.put_slice(unit);
                    rest = &rest[2 + size..];
                }
            }
            FU_A => {
                let fu = *payload.get(1).ok_or_else(|| invalid("an FU-A header is truncated"))?;
                if fu & 0x80 != 0 {
                    let nal_type = fu & 0x1f;
                    keyframe |= nal_type == NAL_IDR;
                    out.put_slice(&ANNEX_B_START_CODE);
                    out.put_u8((header & 0xe0) | nal_type);
                    in_fragment = true;
                } else if !in_fragment {
                    return Err(invalid("an FU-A fragment without its start"));
                }
                out.put_slice(&payload[2..]);
                if fu & 0x40 != 0 {
                    in_fragment = false;
                }
            }
            nal_type => {
                keyframe |= nal_type == NAL_IDR;
                out.put_slice(&ANNEX_B_START_CODE);
                out.put_slice(payload);
            }
        }
    }
    if out.is_empty() {
        return Err(invalid("an empty H.264 access unit"));
    }
    Ok(DepacketizedFrame { data: out.freeze(), keyframe })
}

fn invalid(what: &str) -> Error {
    Error::InvalidArgument(format!("received video: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(data: &[u8]) -> Bytes {
        Bytes::copy_from_slice(data)
    }

    #[test]
    fn vp8_descriptors_of_every_length_are_stripped() {
        // Short descriptor (start of partition 0), then one with a 15-bit picture id, TL0 and TID.
        let payloads = [bytes(&[0x10, 0x9c, 0x01]), bytes(&[0x80, 0xe0, 0x81, 0x23, 0x05, 0x40, 0x02])];
        assert!(starts_frame(VideoCodec::Vp8, &payloads[0]));
        assert!(!starts_frame(VideoCodec::Vp8, &payloads[1]));
        let frame = depacketize(VideoCodec::Vp8, &payloads).unwrap();
        assert_eq!(&frame.data[..], &[0x9c, 0x01, 0x02]);
        assert!(frame.keyframe, "tag 0x9c has its lowest bit clear");
    }

    #[test]
    fn vp8_interframe_and_truncated_descriptors() {
        let frame = depacketize(VideoCodec::Vp8, &[bytes(&[0x10, 0x31, 0x00])]).unwrap();
        assert!(!frame.keyframe);
        assert!(depacketize(VideoCodec::Vp8, &[bytes(&[0x80, 0x80])]).is_err());
        assert!(depacketize(VideoCodec::Vp8, &[bytes(&[0x10])]).is_err());
    }

    #[test]
    fn vp9_layer_frames_become_one_superframe() {
        // Base layer keyframe in two packets (I, L with SID 0, non-flexible), then layer 1.
        let base_start = bytes(&[0xa8, 0x05, 0x00, 0x00, 0x82, 0x49]);
        let base_end = bytes(&[0xa4, 0x05, 0x00, 0x00, 0x83]);
        let upper = bytes(&[0xec, 0x05, 0x02, 0x00, 0x86]);
        assert!(starts_frame(VideoCodec::Vp9, &base_start));
        assert!(!starts_frame(VideoCodec::Vp9, &base_end) && !starts_frame(VideoCodec::Vp9, &upper));
        let single = depacketize(VideoCodec::Vp9, &[base_start.clone(), base_end.clone()]).unwrap();
        assert_eq!((&single.data[..], single.keyframe), (&[0x82, 0x49, 0x83][..], true));
        let both = depacketize(VideoCodec::Vp9, &[base_start, base_end, upper]).unwrap();
        let marker = 0b1101_1001;
        assert_eq!(&both.data[..], &[0x82, 0x49, 0x83, 0x86, marker, 3, 0, 0, 0, 1, 0, 0, 0, marker]);
    }

    #[test]
    fn vp9_flexible_mode_and_a_scalability_structure_are_skipped() {
        // F and P with two reference differences, then V with 2 layers, sizes and no groups.
        let flexible = bytes(&[0x58, 0x03, 0x04, 0x77]);
        assert_eq!(&depacketize(VideoCodec::Vp9, &[flexible]).unwrap().data[..], &[0x77]);
        let with_ss = bytes(&[0x0a, 0x30, 1, 64, 0, 36, 2, 128, 0, 72, 0x99]);
        let frame = depacketize(VideoCodec::Vp9, &[with_ss]).unwrap();
        assert_eq!((&frame.data[..], frame.keyframe), (&[0x99][..], true));
        for truncated in [&[0x80][..], &[0x20], &[0x58, 0x03], &[0x0a, 0x30, 1]] {
            assert!(depacketize(VideoCodec::Vp9, &[bytes(truncated)]).is_err(), "{truncated:?}");
        }
    }

    #[test]
    fn h264_single_stap_a_and_fu_a_become_annex_b() {
        let sps_pps = bytes(&[STAP_A, 0, 2, 0x67, 0xaa, 0, 2, 0x68, 0xbb]);
        let fu_start = bytes(&[0x7c, 0x85, 0x88, 0x01]); // IDR, first_mb 0
        let fu_end = bytes(&[0x7c, 0x45, 0x02]);
        assert!(starts_frame(VideoCodec::H264, &sps_pps));
        assert!(starts_frame(VideoCodec::H264, &fu_start));
        assert!(!starts_frame(VideoCodec::H264, &fu_end));
        let frame = depacketize(VideoCodec::H264, &[sps_pps, fu_start, fu_end]).unwrap();
        assert_eq!(
            &frame.data[..],
            &[0, 0, 0, 1, 0x67, 0xaa, 0, 0, 0, 1, 0x68, 0xbb, 0, 0, 0, 1, 0x65, 0x88, 0x01, 0x02]
        );
        assert!(frame.keyframe);
        let single = depacketize(VideoCodec::H264, &[bytes(&[0x41, 0x9a])]).unwrap();
        assert_eq!((&single.data[..], single.keyframe), (&[0, 0, 0, 1, 0x41, 0x9a][..], false));
    }

    #[test]
    fn broken_h264_is_an_error() {
        for broken in [&[][..], &[STAP_A, 0, 9, 1], &[STAP_A, 0], &[FU_A], &[0x7c, 0x05, 1], &[0x1d, 0]] {
            assert!(depacketize(VideoCodec::H264, &[bytes(broken)]).is_err(), "{broken:?}");
            let _ = starts_frame(VideoCodec::H264, broken);
        }
    }
}
