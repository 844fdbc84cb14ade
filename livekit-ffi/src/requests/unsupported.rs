//! Requests of the official protocol that livekit-core does not implement yet. prost skips
//! unknown oneof members, so the request's field number is read from the raw bytes to name it.

use prost::encoding::{decode_key, skip_field, DecodeContext};

use crate::error::FfiError;

/// Official `FfiRequest` members we do not implement, by field number, with a hint.
fn describe(number: u32) -> Option<(&'static str, &'static str)> {
    const MEDIA: &str = " (audio and video tracks come in a later release)";
    const DATA_TRACKS: &str = " (data tracks come in a later release)";
    const LOW_LEVEL: &str = " (use the byte and text stream requests instead)";
    Some(match number {
        5 => ("publish_track", MEDIA),
        6 => ("unpublish_track", MEDIA),
        8 => ("set_subscribed", MEDIA),
        13 => ("publish_transcription", ""),
        14 => ("publish_sip_dtmf", ""),
        15 => ("create_video_track", MEDIA),
        16 => ("create_audio_track", MEDIA),
        17 => ("local_track_mute", MEDIA),
        18 => ("enable_remote_track", MEDIA),
        19 => ("get_stats", MEDIA),
        20 => ("new_video_stream", MEDIA),
        21 => ("new_video_source", MEDIA),
        22 => ("capture_video_frame", MEDIA),
        23 => ("video_convert", MEDIA),
        24 => ("video_stream_from_participant", MEDIA),
        25 => ("new_audio_stream", MEDIA),
        26 => ("new_audio_source", MEDIA),
        27 => ("capture_audio_frame", MEDIA),
        28 => ("clear_audio_buffer", MEDIA),
        29 => ("new_audio_resampler", MEDIA),
        30 => ("remix_and_resample", MEDIA),
        31 => ("e2ee", " (end-to-end encryption comes in a later release)"),
        32 => ("audio_stream_from_participant", MEDIA),
        33 => ("new_sox_resampler", MEDIA),
        34 => ("push_sox_resampler", MEDIA),
        35 => ("flush_sox_resampler", MEDIA),
        36 => ("send_chat_message", " (send a text stream on the lk.chat topic instead)"),
        37 => ("edit_chat_message", " (send a text stream on the lk.chat topic instead)"),
        42 => ("enable_remote_track_publication", MEDIA),
        43 => ("update_remote_track_publication_dimension", MEDIA),
        44 => ("send_stream_header", LOW_LEVEL),
        45 => ("send_stream_chunk", LOW_LEVEL),
        46 => ("send_stream_trailer", LOW_LEVEL),
        47 => ("set_data_channel_buffered_amount_low_threshold", ""),
        48 => ("set_track_subscription_permissions", MEDIA),
        49 => ("load_audio_filter_plugin", MEDIA),
        50 => ("new_apm", MEDIA),
        51 => ("apm_process_stream", MEDIA),
        52 => ("apm_process_reverse_stream", MEDIA),
        53 => ("apm_set_stream_delay", MEDIA),
        68 => ("set_remote_track_publication_quality", MEDIA),
        69 => ("publish_data_track", DATA_TRACKS),
        70 => ("local_data_track_try_push", DATA_TRACKS),
        71 => ("local_data_track_unpublish", DATA_TRACKS),
        72 => ("local_data_track_is_published", DATA_TRACKS),
        73 => ("subscribe_data_track", DATA_TRACKS),
        74 => ("remote_data_track_is_published", DATA_TRACKS),
        75 => ("data_track_stream_read", DATA_TRACKS),
        76 => ("simulate_scenario", ""),
        77 => ("new_platform_audio", MEDIA),
        78 => ("get_audio_devices", MEDIA),
        79 => ("set_recording_device", MEDIA),
        80 => ("set_playout_device", MEDIA),
        81 => ("start_recording", MEDIA),
        82 => ("stop_recording", MEDIA),
        84 => ("remote_data_track_set_pipeline_options", DATA_TRACKS),
        85 => ("define_schema", ""),
        86 => ("get_schema", ""),
        87 => ("capture_encoded_video_frame", MEDIA),
        88 => ("take_encoded_video_source_feedback", MEDIA),
        89 => ("start_capture", MEDIA),
        90 => ("stop_capture", MEDIA),
        91 => ("new_capture_source", MEDIA),
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
        // FfiRequest { new_audio_source (26): {} }
        let mut bytes = Vec::new();
        prost::encoding::encode_key(26, prost::encoding::WireType::LengthDelimited, &mut bytes);
        bytes.push(0);
        let error = classify(&bytes);
        assert!(matches!(error, FfiError::NotImplemented { name: "new_audio_source", number: 26, .. }), "{error}");
        assert!(error.to_string().contains("new_audio_source"));
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
