//! Requests of the official protocol that livekit-core does not implement yet. prost skips
//! unknown oneof members, so the request's field number is read from the raw bytes to name it.

use prost::encoding::{decode_key, skip_field, DecodeContext};

use crate::error::FfiError;

/// Official `FfiRequest` members we do not implement, by field number, with a hint.
fn describe(number: u32) -> Option<(&'static str, &'static str)> {
    const ENCODED: &str = " (livekit-core encodes video itself: capture raw frames into a native source)";
    const CAPTURE: &str = " (built-in capture sources (GStreamer, test patterns) are not part of livekit-core: capture frames into a video source)";
    const AUDIO: &str = " (livekit-core does not implement this audio feature yet)";
    const DATA_TRACKS: &str = " (data tracks come in a later release)";
    const LOW_LEVEL: &str = " (use the byte and text stream requests instead)";
    Some(match number {
        13 => ("publish_transcription", ""),
        14 => ("publish_sip_dtmf", ""),
        29 => ("new_audio_resampler", " (use the sox resampler requests, as the Python SDK's AudioResampler does)"),
        30 => ("remix_and_resample", " (use the sox resampler requests, as the Python SDK's AudioResampler does)"),
        31 => ("e2ee", " (end-to-end encryption comes in a later release)"),
        36 => ("send_chat_message", " (send a text stream on the lk.chat topic instead)"),
        37 => ("edit_chat_message", " (send a text stream on the lk.chat topic instead)"),
        44 => ("send_stream_header", LOW_LEVEL),
        45 => ("send_stream_chunk", LOW_LEVEL),
        46 => ("send_stream_trailer", LOW_LEVEL),
        47 => ("set_data_channel_buffered_amount_low_threshold", ""),
        49 => ("load_audio_filter_plugin", AUDIO),
        50 => ("new_apm", AUDIO),
        51 => ("apm_process_stream", AUDIO),
        52 => ("apm_process_reverse_stream", AUDIO),
        53 => ("apm_set_stream_delay", AUDIO),
        69 => ("publish_data_track", DATA_TRACKS),
        70 => ("local_data_track_try_push", DATA_TRACKS),
        71 => ("local_data_track_unpublish", DATA_TRACKS),
        72 => ("local_data_track_is_published", DATA_TRACKS),
        73 => ("subscribe_data_track", DATA_TRACKS),
        74 => ("remote_data_track_is_published", DATA_TRACKS),
        75 => ("data_track_stream_read", DATA_TRACKS),
        78 => ("get_audio_devices", AUDIO),
        79 => ("set_recording_device", AUDIO),
        80 => ("set_playout_device", AUDIO),
        81 => ("start_recording", AUDIO),
        82 => ("stop_recording", AUDIO),
        84 => ("remote_data_track_set_pipeline_options", DATA_TRACKS),
        85 => ("define_schema", ""),
        86 => ("get_schema", ""),
        87 => ("capture_encoded_video_frame", ENCODED),
        88 => ("take_encoded_video_source_feedback", ENCODED),
        89 => ("start_capture", CAPTURE),
        90 => ("stop_capture", CAPTURE),
        91 => ("new_capture_source", CAPTURE),
        _ => return None,
    })
}

/// Why a request that decoded to no known member cannot be served.
pub fn classify(bytes: &[u8]) -> FfiError {
    match last_field_number(bytes) {
        None => FfiError::Empty,
        Some(number) => match describe(number) {
            Some((name, why)) => FfiError::NotImplemented { name, number, why },
            None => FfiError::InvalidArgument(format!(
                "FfiRequest field {number} is not part of the livekit-ffi protocol this library speaks"
            )),
        },
    }
}

/// The number of the last top-level field (the oneof member that wins), if the bytes hold any.
fn last_field_number(mut bytes: &[u8]) -> Option<u32> {
    let mut last = None;
    while !bytes.is_empty() {
        let (number, wire_type) = decode_key(&mut bytes).ok()?;
        skip_field(wire_type, number, &mut bytes, DecodeContext::default()).ok()?;
        last = Some(number);
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unimplemented_request_is_named() {
        // FfiRequest { capture_encoded_video_frame (87): {} }
        let mut bytes = Vec::new();
        prost::encoding::encode_key(87, prost::encoding::WireType::LengthDelimited, &mut bytes);
        bytes.push(0);
        let error = classify(&bytes);
        assert!(
            matches!(error, FfiError::NotImplemented { name: "capture_encoded_video_frame", number: 87, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("capture_encoded_video_frame"));
    }

    #[test]
    fn empty_bytes_are_an_empty_request() {
        assert!(matches!(classify(&[]), FfiError::Empty));
    }

    #[test]
    fn a_field_outside_the_protocol_is_invalid() {
        let mut bytes = Vec::new();
        prost::encoding::encode_key(500, prost::encoding::WireType::LengthDelimited, &mut bytes);
        bytes.push(0);
        assert!(matches!(classify(&bytes), FfiError::InvalidArgument(_)));
    }
}
