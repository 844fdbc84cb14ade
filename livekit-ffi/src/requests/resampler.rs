//! The sox resampler requests, which the official SDK's `rtc.AudioResampler` uses: a stream of
//! interleaved int16 in, the same audio at another rate out. The conversion is the core's
//! streaming [`AudioResampler`]; this file only checks the protocol's fields and lends the
//! output through a pointer.

use livekit_core::media::AudioResampler;
use parking_lot::Mutex;
use std::sync::Arc;

use crate::error::{FfiError, FfiResult};
use crate::handles::FfiHandle;
use crate::proto::{self, new_sox_resampler_response};
use crate::server::server;

/// A resampler as the client holds it. The last output lives in it until the next call, which
/// is what the response's pointer points at.
pub type FfiResampler = Arc<Mutex<AudioResampler>>;

fn new_resampler(input_rate: f64, output_rate: f64, channels: u32) -> Result<AudioResampler, String> {
    let whole = |rate: f64| -> Result<u32, String> {
        if rate.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&rate) {
            return Err(format!(
                "{rate} Hz is not supported by livekit-core's resampler (whole multiples of 100 Hz, 8 to 48 kHz)"
            ));
        }
        Ok(rate as u32)
    };
    AudioResampler::new(whole(input_rate)?, whole(output_rate)?, channels).map_err(|error| error.to_string())
}

/// An output slice as the protocol's pointer and byte size (0 and 0 when empty).
fn output_view(output: &[i16]) -> (u64, u32) {
    if output.is_empty() {
        return (0, 0);
    }
    (output.as_ptr() as u64, (output.len() * 2) as u32)
}

/// A resampler, or the reason in the response's error field.
pub fn new_sox_resampler(request: proto::NewSoxResamplerRequest) -> proto::NewSoxResamplerResponse {
    let interleaved = proto::SoxResamplerDataType::SoxrDatatypeInt16i;
    let message = if request.input_data_type() != interleaved || request.output_data_type() != interleaved {
        new_sox_resampler_response::Message::Error(
            "livekit-core's resampler takes and gives interleaved int16 (SOXR_DATATYPE_INT16I) only".into(),
        )
    } else {
        match new_resampler(request.input_rate, request.output_rate, request.num_channels) {
            Ok(resampler) => {
                let handle = server().handles.insert(FfiHandle::Resampler(Arc::new(Mutex::new(resampler))));
                new_sox_resampler_response::Message::Resampler(proto::OwnedSoxResampler {
                    handle: proto::FfiOwnedHandle { id: handle },
                    info: proto::SoxResamplerInfo {},
                })
            }
            Err(error) => new_sox_resampler_response::Message::Error(error),
        }
    };
    proto::NewSoxResamplerResponse { message: Some(message) }
}

/// Converts the pushed bytes; the output lives in the resampler until its next call.
pub fn push_sox_resampler(request: proto::PushSoxResamplerRequest) -> FfiResult<proto::PushSoxResamplerResponse> {
    let resampler = server().handles.resampler(request.resampler_handle)?;
    let mut resampler = resampler.lock();
    let frame_bytes = 2 * resampler.channels();
    let max_bytes = 2 * livekit_core::media::MAX_RESAMPLER_PUSH_SAMPLES as u32;
    if request.size > max_bytes || !request.size.is_multiple_of(frame_bytes) {
        return Ok(push_error(format!(
            "push of {} bytes: whole frames of {frame_bytes} bytes, at most {max_bytes} bytes, are accepted",
            request.size
        )));
    }
    if request.size > 0 && request.data_ptr == 0 {
        return Err(FfiError::InvalidArgument("push_sox_resampler: data_ptr is null".into()));
    }
    let samples: Vec<i16> = if request.size == 0 {
        Vec::new()
    } else {
        // SAFETY: the caller's buffer holds `size` bytes for the duration of the request; the
        // size was bounded above, and it is read as bytes (any alignment).
        let bytes = unsafe { std::slice::from_raw_parts(request.data_ptr as *const u8, request.size as usize) };
        bytes.chunks_exact(2).map(|pair| i16::from_ne_bytes([pair[0], pair[1]])).collect()
    };
    Ok(match resampler.push(&samples) {
        Ok(output) => {
            let (output_ptr, size) = output_view(output);
            proto::PushSoxResamplerResponse { output_ptr, size, error: None }
        }
        Err(error) => push_error(error.to_string()),
    })
}

fn push_error(error: String) -> proto::PushSoxResamplerResponse {
    proto::PushSoxResamplerResponse { output_ptr: 0, size: 0, error: Some(error) }
}

/// Ends the input and returns the rest of the output.
pub fn flush_sox_resampler(request: proto::FlushSoxResamplerRequest) -> FfiResult<proto::FlushSoxResamplerResponse> {
    let resampler = server().handles.resampler(request.resampler_handle)?;
    let mut resampler = resampler.lock();
    Ok(match resampler.flush() {
        Ok(output) => {
            let (output_ptr, size) = output_view(output);
            proto::FlushSoxResamplerResponse { output_ptr, size, error: None }
        }
        Err(error) => proto::FlushSoxResamplerResponse { output_ptr: 0, size: 0, error: Some(error.to_string()) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_that_are_not_whole_hertz_are_refused_with_a_message() {
        assert!(new_resampler(44_100.5, 16_000.0, 1).unwrap_err().contains("44100.5 Hz"));
        assert!(new_resampler(-1.0, 16_000.0, 1).is_err());
        assert!(new_resampler(22_050.0, 16_000.0, 1).is_err());
        assert!(new_resampler(48_000.0, 16_000.0, 0).is_err());
        assert_eq!(new_resampler(48_000.0, 16_000.0, 2).unwrap().channels(), 2);
    }

    #[test]
    fn an_empty_output_is_a_null_pointer() {
        assert_eq!(output_view(&[]), (0, 0));
        let samples = [1i16, 2];
        assert_eq!(output_view(&samples), (samples.as_ptr() as u64, 4));
    }
}
