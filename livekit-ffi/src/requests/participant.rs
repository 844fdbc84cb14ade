//! The local participant's own state: metadata, name and attributes. Each callback comes once
//! the server applied the change (the core waits for its echo), or with the core's error.

use livekit_core::LocalParticipant;

use crate::error::FfiResult;
use crate::proto::{self, ffi_event};
use crate::server::server;

/// Runs one update of the local participant and answers with `callback(async_id, error)`.
fn update<F>(
    handle: u64,
    requested_async_id: Option<u64>,
    apply: impl FnOnce(LocalParticipant) -> F,
    callback: fn(u64, Option<String>) -> ffi_event::Message,
) -> FfiResult<u64>
where
    F: std::future::Future<Output = livekit_core::Result<()>> + Send + 'static,
{
    let participant = server().handles.local_participant(handle)?;
    let async_id = server().async_id(requested_async_id);
    let future = apply(participant);
    let done = async move { callback(async_id, future.await.err().map(|error| error.to_string())) };
    server().spawn_callback(async_id, done, move |async_id, error| callback(async_id, Some(error)));
    Ok(async_id)
}

pub fn set_metadata(request: proto::SetLocalMetadataRequest) -> FfiResult<proto::SetLocalMetadataResponse> {
    let metadata = request.metadata;
    let async_id = update(
        request.local_participant_handle,
        request.request_async_id,
        |participant| async move { participant.set_metadata(metadata).await },
        |async_id, error| ffi_event::Message::SetLocalMetadata(proto::SetLocalMetadataCallback { async_id, error }),
    )?;
    Ok(proto::SetLocalMetadataResponse { async_id })
}

pub fn set_name(request: proto::SetLocalNameRequest) -> FfiResult<proto::SetLocalNameResponse> {
    let name = request.name;
    let async_id = update(
        request.local_participant_handle,
        request.request_async_id,
        |participant| async move { participant.set_name(name).await },
        |async_id, error| ffi_event::Message::SetLocalName(proto::SetLocalNameCallback { async_id, error }),
    )?;
    Ok(proto::SetLocalNameResponse { async_id })
}

pub fn set_attributes(request: proto::SetLocalAttributesRequest) -> FfiResult<proto::SetLocalAttributesResponse> {
    let attributes = request.attributes.into_iter().map(|entry| (entry.key, entry.value)).collect();
    let async_id = update(
        request.local_participant_handle,
        request.request_async_id,
        |participant| async move { participant.set_attributes(attributes).await },
        |async_id, error| ffi_event::Message::SetLocalAttributes(proto::SetLocalAttributesCallback { async_id, error }),
    )?;
    Ok(proto::SetLocalAttributesResponse { async_id })
}
