//! Data packets out. The bytes are copied while the request call lasts: the protocol passes a
//! raw address the caller may free right after.

use livekit_core::DataOptions;

use crate::error::{FfiError, FfiResult};
use crate::proto::{self, ffi_event};
use crate::server::server;

pub fn publish_data(request: proto::PublishDataRequest) -> FfiResult<proto::PublishDataResponse> {
    let participant = server().handles.local_participant(request.local_participant_handle)?;
    let payload = copy_caller_bytes(request.data_ptr, request.data_len)?;
    let mut options = if request.reliable { DataOptions::reliable() } else { DataOptions::lossy() };
    if let Some(topic) = request.topic.filter(|topic| !topic.is_empty()) {
        options = options.with_topic(topic);
    }
    options = options.with_destinations(request.destination_identities);
    let async_id = server().async_id(request.request_async_id);
    let callback = |async_id, error| ffi_event::Message::PublishData(proto::PublishDataCallback { async_id, error });
    let send = async move {
        let error = participant.publish_data(payload, options).await.err().map(|error| error.to_string());
        callback(async_id, error)
    };
    server().spawn_callback(async_id, send, move |async_id, error| callback(async_id, Some(error)));
    Ok(proto::PublishDataResponse { async_id })
}

/// Copies `len` bytes from the caller's address. The protocol trusts the caller here, as the
/// official library does; only a null address and impossible lengths are caught.
fn copy_caller_bytes(address: u64, len: u64) -> FfiResult<Vec<u8>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if address == 0 {
        return Err(FfiError::InvalidArgument(format!("data_ptr is null but data_len is {len}")));
    }
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= isize::MAX as usize)
        .ok_or_else(|| FfiError::InvalidArgument(format!("data_len {len} is larger than memory")))?;
    // SAFETY: the caller promises `address` points to `len` readable bytes for this call.
    Ok(unsafe { std::slice::from_raw_parts(address as *const u8, len) }.to_vec())
}
