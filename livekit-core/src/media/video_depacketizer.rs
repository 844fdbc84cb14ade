//! RTP payloads back into encoded pictures: VP8 (RFC 7741) and H.264 (RFC 6184, single NAL
//! units, STAP-A and FU-A, out as Annex B). Plain functions over bytes; any input gives a
//! result or an error, never a panic.

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
        _ => vp8_descriptor(payload).is_some_and(|d| d.starts_partition_zero),
    }
}

/// Joins the payloads of one picture, in sequence order.
pub(crate) fn depacketize(codec: VideoCodec, payloads: &[Bytes]) -> Result<DepacketizedFrame> {
    match codec {
        VideoCodec::H264 => depacketize_h264(payloads),
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
