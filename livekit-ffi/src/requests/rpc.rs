//! RPC: outgoing calls, and incoming calls handed to the client as `rpc_method_invocation`
//! events whose answers come back as requests, matched by invocation id.

use std::time::Duration;

use livekit_core::data::{PerformRpcData, RpcError, RpcErrorCode, RpcInvocationData};
use livekit_core::room::RpcHandlerFuture;
use tokio::sync::oneshot;

use crate::error::FfiResult;
use crate::events;
use crate::proto::{self, ffi_event};
use crate::server::server;

pub fn perform(request: proto::PerformRpcRequest) -> FfiResult<proto::PerformRpcResponse> {
    let participant = server().handles.local_participant(request.local_participant_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let mut data = PerformRpcData::new(request.destination_identity, request.method).with_payload(request.payload);
    if let Some(timeout) = request.response_timeout_ms {
        data = data.with_response_timeout(Duration::from_millis(timeout.into()));
    }
    if let Some(latency) = request.max_round_trip_latency_ms {
        data = data.with_max_round_trip_latency(Duration::from_millis(latency.into()));
    }
    let call = async move {
        let (payload, error) = match participant.perform_rpc(data).await {
            Ok(payload) => (Some(payload), None),
            Err(error) => (None, Some(error_to_proto(error))),
        };
        ffi_event::Message::PerformRpc(proto::PerformRpcCallback { async_id, payload, error })
    };
    server().spawn_callback(async_id, call, |async_id, message| {
        let error = RpcError::built_in(RpcErrorCode::ApplicationError, Some(message));
        ffi_event::Message::PerformRpc(proto::PerformRpcCallback {
            async_id,
            payload: None,
            error: Some(error_to_proto(error)),
        })
    });
    Ok(proto::PerformRpcResponse { async_id })
}

fn error_to_proto(error: RpcError) -> proto::RpcError {
    proto::RpcError { code: error.code, message: error.message, data: error.data }
}

pub fn register(request: proto::RegisterRpcMethodRequest) -> FfiResult<proto::RegisterRpcMethodResponse> {
    let local_handle = request.local_participant_handle;
    let participant = server().handles.local_participant(local_handle)?;
    let method = request.method.clone();
    participant.register_rpc_method(request.method, move |invocation| ask_client(local_handle, &method, invocation));
    Ok(proto::RegisterRpcMethodResponse {})
}

pub fn unregister(request: proto::UnregisterRpcMethodRequest) -> FfiResult<proto::UnregisterRpcMethodResponse> {
    let participant = server().handles.local_participant(request.local_participant_handle)?;
    participant.unregister_rpc_method(&request.method);
    Ok(proto::UnregisterRpcMethodResponse {})
}

/// An incoming call: tell the client and wait for its answer until the caller's deadline.
fn ask_client(local_handle: u64, method: &str, invocation: RpcInvocationData) -> RpcHandlerFuture {
    let invocation_id = server().handles.next_id();
    let (answer_tx, answer_rx) = oneshot::channel();
    server().rpc_answers.lock().insert(invocation_id, answer_tx);
    let timeout = invocation.response_timeout;
    events::send(ffi_event::Message::RpcMethodInvocation(proto::RpcMethodInvocationEvent {
        local_participant_handle: local_handle,
        invocation_id,
        method: method.to_string(),
        request_id: invocation.request_id,
        caller_identity: invocation.caller_identity.0,
        payload: invocation.payload,
        response_timeout_ms: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX).max(1),
    }));
    Box::pin(async move {
        let answer = tokio::time::timeout(timeout, answer_rx).await;
        server().rpc_answers.lock().remove(&invocation_id);
        match answer {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(RpcError::built_in(
                RpcErrorCode::ApplicationError,
                Some("the client's method handler went away".into()),
            )),
            Err(_) => Err(RpcError::built_in(RpcErrorCode::ResponseTimeout, None)),
        }
    })
}

pub fn answer(request: proto::RpcMethodInvocationResponseRequest) -> proto::RpcMethodInvocationResponseResponse {
    let Some(waiting) = server().rpc_answers.lock().remove(&request.invocation_id) else {
        return proto::RpcMethodInvocationResponseResponse {
            error: Some(format!(
                "no caller waits for invocation {}: it timed out or was answered",
                request.invocation_id
            )),
        };
    };
    let result = match request.error {
        Some(error) => Err(RpcError::new(error.code, error.message, error.data)),
        None => Ok(request.payload.unwrap_or_default()),
    };
    let _ = waiting.send(result);
    proto::RpcMethodInvocationResponseResponse { error: None }
}
