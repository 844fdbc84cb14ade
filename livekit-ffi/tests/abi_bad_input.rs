//! The C ABI under bad input: every failure is a typed error (`livekit_ffi_last_error`),
//! never a panic or a crash. One test walks the whole lifecycle, because the library's state
//! is global to the process: before initialize, after it, after dispose, and again.

use std::ffi::c_char;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use livekit_ffi::proto::{self, ffi_event, ffi_request, ffi_response, FfiEvent, FfiRequest, FfiResponse};
use livekit_ffi::{
    livekit_ffi_dispose, livekit_ffi_drop_handle, livekit_ffi_initialize, livekit_ffi_last_error, livekit_ffi_request,
    LkFfiErrorCode,
};
use prost::Message;

static EVENTS: Mutex<Vec<FfiEvent>> = Mutex::new(Vec::new());
static EVENT_ARRIVED: Condvar = Condvar::new();

unsafe extern "C" fn on_event(data: *const u8, len: usize) {
    let event = FfiEvent::decode(std::slice::from_raw_parts(data, len)).expect("events decode");
    EVENTS.lock().unwrap().push(event);
    EVENT_ARRIVED.notify_all();
}

/// Waits (at most 10 s) until an event that `matches` has arrived.
fn wait_for_event(matches: impl Fn(&FfiEvent) -> bool) {
    let events = EVENTS.lock().unwrap();
    let (_events, timeout) = EVENT_ARRIVED
        .wait_timeout_while(events, Duration::from_secs(10), |events| !events.iter().any(&matches))
        .unwrap();
    assert!(!timeout.timed_out(), "the expected event did not arrive within 10 s");
}

/// A copy of the bytes a response handle owns, read through the pointer the request gave.
fn read_response_bytes(pointer: *const u8, len: usize) -> Vec<u8> {
    unsafe { std::slice::from_raw_parts(pointer, len) }.to_vec()
}

/// Sends raw bytes; returns the handle and the decoded response, or the error code and message.
fn send(bytes: &[u8]) -> Result<(u64, FfiResponse), (LkFfiErrorCode, String)> {
    send_raw(bytes).map(|(handle, pointer, len)| {
        let response = FfiResponse::decode(read_response_bytes(pointer, len).as_slice()).expect("responses decode");
        (handle, response)
    })
}

/// Like `send`, but gives the response's pointer and length as the C ABI returned them.
fn send_raw(bytes: &[u8]) -> Result<(u64, *const u8, usize), (LkFfiErrorCode, String)> {
    let mut response_ptr: *const u8 = std::ptr::null();
    let mut response_len = 0usize;
    let handle = unsafe { livekit_ffi_request(bytes.as_ptr(), bytes.len(), &mut response_ptr, &mut response_len) };
    if handle == 0 {
        let mut message = [0 as c_char; 512];
        let code = unsafe { livekit_ffi_last_error(message.as_mut_ptr(), message.len()) };
        let message = unsafe { std::ffi::CStr::from_ptr(message.as_ptr()) }.to_string_lossy().into_owned();
        return Err((code, message));
    }
    Ok((handle, response_ptr, response_len))
}

fn request(message: ffi_request::Message) -> Vec<u8> {
    FfiRequest { message: Some(message) }.encode_to_vec()
}

fn set_metadata(handle: u64, metadata: &str) -> Vec<u8> {
    request(ffi_request::Message::SetLocalMetadata(proto::SetLocalMetadataRequest {
        local_participant_handle: handle,
        metadata: metadata.into(),
        request_async_id: None,
    }))
}

fn expect_error(bytes: &[u8], code: LkFfiErrorCode, words: &str) {
    match send(bytes) {
        Ok((_, response)) => panic!("expected {code:?}, got a response {response:?}"),
        Err((actual, message)) => {
            assert_eq!(actual, code, "{message}");
            assert!(message.contains(words), "{message:?} should mention {words:?}");
        }
    }
}

#[test]
fn bad_input_gets_typed_errors_through_the_whole_lifecycle() {
    // Before initialize.
    expect_error(&set_metadata(1, "x"), LkFfiErrorCode::LkFfiNotInitialized, "livekit_ffi_initialize");
    assert!(!livekit_ffi_drop_handle(12345));

    unsafe { livekit_ffi_initialize(Some(on_event), true, c"rust-test".as_ptr(), std::ptr::null()) };

    // Bytes that are not protobuf, and an empty request.
    expect_error(&[0xff, 0xff, 0xff], LkFfiErrorCode::LkFfiMalformedRequest, "not a valid FfiRequest");
    expect_error(&[], LkFfiErrorCode::LkFfiEmptyRequest, "empty");
    // A truncated message: a length prefix longer than the bytes.
    expect_error(&[3 << 3 | 2, 50, 1, 2], LkFfiErrorCode::LkFfiMalformedRequest, "not a valid FfiRequest");

    // Invalid UTF-8 in a string field.
    let mut bytes = set_metadata(7, "AAAA");
    let at = bytes.windows(4).position(|w| w == b"AAAA").expect("the metadata is in the bytes");
    bytes[at..at + 4].copy_from_slice(&[0xff, 0xfe, 0xfd, 0xfc]);
    expect_error(&bytes, LkFfiErrorCode::LkFfiMalformedRequest, "UTF-8");

    // Unknown handles, and a handle of the wrong kind (a response buffer is not a participant).
    expect_error(&set_metadata(987_654, "x"), LkFfiErrorCode::LkFfiUnknownHandle, "unknown handle 987654");
    let disconnect = request(ffi_request::Message::Disconnect(proto::DisconnectRequest {
        room_handle: 424_242,
        request_async_id: None,
        reason: None,
    }));
    expect_error(&disconnect, LkFfiErrorCode::LkFfiUnknownHandle, "424242");

    // A request that succeeds: its response handle drops once, then it is unknown.
    let ready = request(ffi_request::Message::Dispose(proto::DisposeRequest { r#async: false }));
    let (response_handle, response) = send(&ready).expect("dispose with no room succeeds");
    assert!(matches!(response.message, Some(ffi_response::Message::Dispose(_))));
    expect_error(&set_metadata(response_handle, "x"), LkFfiErrorCode::LkFfiWrongHandleType, "is a buffer");
    assert!(livekit_ffi_drop_handle(response_handle));
    assert!(!livekit_ffi_drop_handle(response_handle));
    assert!(!livekit_ffi_drop_handle(0));

    // A request of the official protocol we do not implement yet is named, and logged.
    let mut encoded_frame = Vec::new();
    prost::encoding::encode_key(87, prost::encoding::WireType::LengthDelimited, &mut encoded_frame);
    encoded_frame.push(0);
    expect_error(&encoded_frame, LkFfiErrorCode::LkFfiNotImplemented, "capture_encoded_video_frame");
    let logged = EVENTS.lock().unwrap().iter().any(|event| match &event.message {
        Some(ffi_event::Message::Logs(batch)) => {
            batch.records.iter().any(|r| r.message.contains("capture_encoded_video_frame"))
        }
        _ => false,
    });
    assert!(logged, "the failure reaches the client as a log event before the request returns");

    audio_bad_input();
    video_bad_input();

    // Null pointers.
    let mut len = 0usize;
    let handle = unsafe { livekit_ffi_request(std::ptr::null(), 10, &mut std::ptr::null(), &mut len) };
    assert_eq!(handle, 0);
    assert_eq!(unsafe { livekit_ffi_last_error(std::ptr::null_mut(), 0) }, LkFfiErrorCode::LkFfiInvalidArgument);
    let bytes = set_metadata(1, "x");
    let handle = unsafe { livekit_ffi_request(bytes.as_ptr(), bytes.len(), std::ptr::null_mut(), &mut len) };
    assert_eq!(handle, 0);
    assert_eq!(unsafe { livekit_ffi_last_error(std::ptr::null_mut(), 0) }, LkFfiErrorCode::LkFfiInvalidArgument);

    // An answer to an RPC call nobody waits for is refused in the response, not by a crash.
    let answer =
        request(ffi_request::Message::RpcMethodInvocationResponse(proto::RpcMethodInvocationResponseRequest {
            local_participant_handle: 1,
            invocation_id: 77,
            payload: Some("late".into()),
            error: None,
        }));
    let (handle, response) = send(&answer).expect("the request itself is well-formed");
    match response.message {
        Some(ffi_response::Message::RpcMethodInvocationResponse(r)) => {
            assert!(r.error.unwrap_or_default().contains("no caller waits for invocation 77"))
        }
        other => panic!("unexpected response {other:?}"),
    }
    assert!(livekit_ffi_drop_handle(handle));

    // Buffers the caller holds outlive any dispose. The fuzzer's input `12 02 08 29` is an async
    // dispose request: its own response used to be freed by the dispose it started.
    let fuzz_finding = [0x12, 0x02, 0x08, 0x29];
    let (async_dispose_response, _) = send(&fuzz_finding).expect("async dispose is answered");
    let (held, held_pointer, held_len) = send_raw(&ready).expect("dispose with no room succeeds");
    let held_bytes = read_response_bytes(held_pointer, held_len);
    wait_for_event(|event| matches!(event.message, Some(ffi_event::Message::Dispose(_))));
    assert!(livekit_ffi_drop_handle(async_dispose_response), "async dispose freed its own response");

    // After dispose, requests fail until the next initialize; no event arrives after dispose.
    livekit_ffi_dispose();
    assert_eq!(read_response_bytes(held_pointer, held_len), held_bytes, "a held buffer survives dispose");
    assert!(livekit_ffi_drop_handle(held), "the caller still drops what it holds after dispose");
    let events_at_dispose = EVENTS.lock().unwrap().len();
    expect_error(&set_metadata(1, "x"), LkFfiErrorCode::LkFfiDisposed, "dispose");
    assert_eq!(EVENTS.lock().unwrap().len(), events_at_dispose);

    unsafe { livekit_ffi_initialize(Some(on_event), false, std::ptr::null(), std::ptr::null()) };
    expect_error(&set_metadata(5, "x"), LkFfiErrorCode::LkFfiUnknownHandle, "unknown handle 5");
    livekit_ffi_dispose();
}

/// Audio requests with bad sizes, pointers and handles get typed errors; memory is read only
/// after the sizes are checked.
fn audio_bad_input() {
    let new_source = |rate: Option<u32>| {
        request(ffi_request::Message::NewAudioSource(proto::NewAudioSourceRequest {
            r#type: proto::AudioSourceType::AudioSourceNative as i32,
            options: None,
            sample_rate: rate,
            num_channels: Some(1),
            queue_size_ms: Some(100),
            platform_audio_handle: None,
        }))
    };
    expect_error(&new_source(None), LkFfiErrorCode::LkFfiInvalidArgument, "sample_rate");
    expect_error(&new_source(Some(1)), LkFfiErrorCode::LkFfiInvalidArgument, "new_audio_source");
    let (response_handle, response) = send(&new_source(Some(48_000))).expect("a valid source");
    let Some(ffi_response::Message::NewAudioSource(created)) = response.message else { panic!("{response:?}") };
    let source = created.source.handle.id;
    assert!(livekit_ffi_drop_handle(response_handle));

    let samples = [0i16; 480];
    let capture = |handle: u64, ptr: u64, rate: u32, count: u32| {
        request(ffi_request::Message::CaptureAudioFrame(proto::CaptureAudioFrameRequest {
            source_handle: handle,
            buffer: proto::AudioFrameBufferInfo {
                data_ptr: ptr,
                num_channels: 1,
                sample_rate: rate,
                samples_per_channel: count,
            },
            request_async_id: None,
        }))
    };
    let ptr = samples.as_ptr() as u64;
    expect_error(&capture(source, 0, 48_000, 480), LkFfiErrorCode::LkFfiInvalidArgument, "null");
    // Claims ten seconds: refused before anything is read.
    expect_error(&capture(source, ptr, 48_000, 480_000), LkFfiErrorCode::LkFfiInvalidArgument, "samples per channel");
    expect_error(&capture(source, ptr, 0, 480), LkFfiErrorCode::LkFfiInvalidArgument, "sample rate");
    expect_error(&capture(source, ptr, 16_000, 160), LkFfiErrorCode::LkFfiInvalidArgument, "audio frame");
    expect_error(&capture(424_242, ptr, 48_000, 480), LkFfiErrorCode::LkFfiUnknownHandle, "424242");
    let stream_of_a_source = request(ffi_request::Message::NewAudioStream(proto::NewAudioStreamRequest {
        track_handle: source,
        r#type: 0,
        sample_rate: None,
        num_channels: None,
        audio_filter_module_id: None,
        audio_filter_options: None,
        frame_size_ms: None,
        queue_size_frames: None,
    }));
    expect_error(&stream_of_a_source, LkFfiErrorCode::LkFfiWrongHandleType, "remote audio track");
    let push = |handle: u64, ptr: u64, size: u32| {
        request(ffi_request::Message::PushSoxResampler(proto::PushSoxResamplerRequest {
            resampler_handle: handle,
            data_ptr: ptr,
            size,
        }))
    };
    expect_error(&push(source, ptr, 960), LkFfiErrorCode::LkFfiWrongHandleType, "resampler");
    let new_resampler = request(ffi_request::Message::NewSoxResampler(proto::NewSoxResamplerRequest {
        input_rate: 48_000.0,
        output_rate: 16_000.0,
        num_channels: 1,
        input_data_type: 0,
        output_data_type: 0,
        quality_recipe: 0,
        flags: None,
    }));
    let (response_handle, response) = send(&new_resampler).expect("a valid resampler");
    let Some(ffi_response::Message::NewSoxResampler(proto::NewSoxResamplerResponse {
        message: Some(proto::new_sox_resampler_response::Message::Resampler(resampler)),
    })) = response.message
    else {
        panic!("{response:?}")
    };
    assert!(livekit_ffi_drop_handle(response_handle));
    let resampler = resampler.handle.id;
    expect_error(&push(resampler, 0, 960), LkFfiErrorCode::LkFfiInvalidArgument, "null");
    // An odd size or a huge one is answered in the response's error field, nothing read.
    let (response_handle, response) = send(&push(resampler, ptr, u32::MAX)).expect("answered");
    let Some(ffi_response::Message::PushSoxResampler(pushed)) = response.message else { panic!("{response:?}") };
    assert!(pushed.error.is_some_and(|e| e.contains("at most")), "a push that claims 4 GB is refused");
    assert!(livekit_ffi_drop_handle(response_handle));
    assert!(livekit_ffi_drop_handle(resampler));
    assert!(livekit_ffi_drop_handle(source));
}

fn video_bad_input() {
    let new_source = |kind: proto::VideoSourceType, width: u32| {
        request(ffi_request::Message::NewVideoSource(proto::NewVideoSourceRequest {
            r#type: kind as i32,
            resolution: proto::VideoSourceResolution { width, height: 240 },
            is_screencast: None,
        }))
    };
    expect_error(
        &new_source(proto::VideoSourceType::VideoSourceEncoded, 320),
        LkFfiErrorCode::LkFfiNotImplemented,
        "VIDEO_SOURCE_ENCODED",
    );
    expect_error(
        &new_source(proto::VideoSourceType::VideoSourceNative, 0),
        LkFfiErrorCode::LkFfiInvalidArgument,
        "new_video_source",
    );
    let (response_handle, response) =
        send(&new_source(proto::VideoSourceType::VideoSourceNative, 320)).expect("a valid source");
    let Some(ffi_response::Message::NewVideoSource(created)) = response.message else { panic!("{response:?}") };
    let source = created.source.handle.id;
    assert!(livekit_ffi_drop_handle(response_handle));

    let pixels = [255u8; 4 * 4 * 4];
    let buffer = |ptr: u64, width: u32, stride: Option<u32>| proto::VideoBufferInfo {
        r#type: proto::VideoBufferType::Rgba as i32,
        width,
        height: 4,
        data_ptr: ptr,
        stride,
        components: Vec::new(),
    };
    let capture = |handle: u64, buffer: proto::VideoBufferInfo| {
        request(ffi_request::Message::CaptureVideoFrame(proto::CaptureVideoFrameRequest {
            source_handle: handle,
            buffer,
            timestamp_us: 0,
            rotation: 0,
        }))
    };
    let ptr = pixels.as_ptr() as u64;
    expect_error(&capture(source, buffer(0, 4, None)), LkFfiErrorCode::LkFfiInvalidArgument, "null");
    // Claims a 100000-pixel-wide picture: refused before anything is read.
    expect_error(&capture(source, buffer(ptr, 100_000, None)), LkFfiErrorCode::LkFfiInvalidArgument, "100000x4");
    expect_error(&capture(source, buffer(ptr, 4, Some(8))), LkFfiErrorCode::LkFfiInvalidArgument, "shorter than a row");
    expect_error(&capture(424_242, buffer(ptr, 4, None)), LkFfiErrorCode::LkFfiUnknownHandle, "424242");
    let (handle, _) = send(&capture(source, buffer(ptr, 4, None))).expect("a valid capture");
    assert!(livekit_ffi_drop_handle(handle));

    // A conversion reports its failure in the response, as the official library does.
    let convert = |buffer: proto::VideoBufferInfo, to: proto::VideoBufferType| {
        request(ffi_request::Message::VideoConvert(proto::VideoConvertRequest {
            flip_y: None,
            buffer,
            dst_type: to as i32,
        }))
    };
    let (handle, response) = send(&convert(buffer(ptr, 4, None), proto::VideoBufferType::I444)).expect("answered");
    let Some(ffi_response::Message::VideoConvert(converted)) = response.message else { panic!("{response:?}") };
    assert!(
        matches!(&converted.message, Some(proto::video_convert_response::Message::Error(e)) if e.contains("I444")),
        "{converted:?}"
    );
    assert!(livekit_ffi_drop_handle(handle));
    let (handle, response) = send(&convert(buffer(ptr, 4, None), proto::VideoBufferType::I420)).expect("answered");
    let Some(ffi_response::Message::VideoConvert(converted)) = response.message else { panic!("{response:?}") };
    let Some(proto::video_convert_response::Message::Buffer(owned)) = converted.message else {
        panic!("{converted:?}")
    };
    assert_eq!((owned.info.width, owned.info.height, owned.info.components.len()), (4, 4, 3));
    // The converted picture is readable until its handle is dropped: white is Y 235.
    let y = unsafe { std::slice::from_raw_parts(owned.info.components[0].data_ptr as *const u8, 16) };
    assert!(y.iter().all(|&v| v >= 234), "{y:?}");
    assert!(livekit_ffi_drop_handle(owned.handle.id));
    assert!(livekit_ffi_drop_handle(handle));
    assert!(livekit_ffi_drop_handle(source));
}
