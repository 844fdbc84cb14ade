//! RPC on the official `livekit-rpc` crate: the room lends it a transport (data packets and
//! text streams) and a view of the remote participants' protocol support.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use livekit_common::{ClientCapability, ParticipantIdentity, RemoteParticipantRegistry};
use livekit_data_stream::api::{SendTextOptions, StreamResult, TextStreamInfo};
use livekit_protocol as proto;
use livekit_rpc::backend::{HandleRequestOptions, RpcTransport, RpcTransportError};

use super::local_participant::LocalParticipant;
use super::RoomInner;
use crate::data::rpc_guard::RpcGuard;
use crate::data::{PerformRpcData, RpcError, RpcErrorCode, RpcInvocationData};
use crate::engine::DataPacketKind;

/// The room as the RPC and stream managers see it.
pub(crate) struct RoomTransport(pub Arc<RoomInner>);

impl RemoteParticipantRegistry for RoomTransport {
    fn remote_client_protocol(&self, identity: &ParticipantIdentity) -> i32 {
        self.0.remotes.read().get(identity.0.as_str()).map(|p| p.state.read().client_protocol).unwrap_or(0)
    }

    fn remote_capabilities(&self, identity: &ParticipantIdentity) -> Vec<ClientCapability> {
        let Some(participant) = self.0.remotes.read().get(identity.0.as_str()).cloned() else { return Vec::new() };
        let capabilities = participant.state.read().capabilities.clone();
        capabilities.into_iter().filter_map(|c| ClientCapability::try_from(c).ok()).collect()
    }

    fn remote_identities(&self) -> Vec<ParticipantIdentity> {
        self.0.remotes.read().keys().map(|k| ParticipantIdentity(k.clone())).collect()
    }
}

impl RpcTransport for RoomTransport {
    async fn publish_data(&self, data: proto::DataPacket) -> Result<(), RpcTransportError> {
        self.0.send_data(data, DataPacketKind::Reliable).await.map_err(RpcTransportError::new)
    }

    async fn send_text(&self, text: &str, options: SendTextOptions) -> StreamResult<TextStreamInfo> {
        self.0.streams.outgoing.send_text(text, options, self).await
    }

    fn server_version(&self) -> Option<String> {
        Some(self.0.server_version.clone())
    }
}

/// A request let through the RPC guard; dropping it tells the guard the request is done.
pub(crate) struct PendingRpc {
    guard: Arc<parking_lot::Mutex<RpcGuard>>,
    caller: String,
}

impl PendingRpc {
    /// Counts a request from `caller`, or `None` (logged) when the guard's limits refuse it.
    pub(crate) fn begin(room: &RoomInner, caller: &str, method: &str) -> Option<Self> {
        let guard = room.rpc_guard.clone();
        let admitted = guard.lock().try_begin(caller, method);
        admitted.then(|| Self { guard, caller: caller.to_string() })
    }
}

impl Drop for PendingRpc {
    fn drop(&mut self) {
        self.guard.lock().end(&self.caller);
    }
}

/// Answers an RPC request that came as a data packet (RPC v1), unless the RPC guard drops it.
pub(crate) fn handle_request_packet(room: Arc<RoomInner>, request: proto::RpcRequest, caller: String) {
    let Some(pending) = PendingRpc::begin(&room, &caller, &request.method) else { return };
    let payload = if request.payload.is_empty() && !request.compressed_payload.is_empty() {
        match inflate(&request.compressed_payload) {
            Ok(payload) => payload,
            Err(err) => {
                log::warn!("dropping RPC request {} with an unreadable compressed payload: {err}", request.id);
                return;
            }
        }
    } else {
        request.payload
    };
    let options = HandleRequestOptions {
        caller_identity: caller.into(),
        request_id: request.id,
        method: request.method,
        payload,
        response_timeout: Duration::from_millis(request.response_timeout_ms as u64),
        version: request.version,
    };
    crate::tasks::spawn(async move {
        let transport = RoomTransport(room.clone());
        room.rpc_server.handle_v1_request(options, &transport).await;
        drop(pending);
    });
}

/// Resolves a pending call from an RPC response packet.
pub(crate) fn handle_response_packet(room: &RoomInner, response: proto::RpcResponse) {
    use proto::rpc_response::Value;
    let (payload, error) = match response.value {
        Some(Value::Payload(payload)) => (Some(payload), None),
        Some(Value::Error(error)) => (None, Some(error)),
        Some(Value::CompressedPayload(bytes)) => match inflate(&bytes) {
            Ok(payload) => (Some(payload), None),
            Err(err) => (None, Some(application_error(&format!("unreadable compressed response: {err}")))),
        },
        None => (None, Some(application_error("the RPC response carried no value"))),
    };
    room.rpc_client.handle_v1_response_packet(response.request_id, payload, error);
}

fn application_error(data: &str) -> proto::RpcError {
    RpcError::built_in(RpcErrorCode::ApplicationError, Some(data.to_string())).to_proto()
}

/// Compressed RPC payloads are raw DEFLATE of UTF-8 text.
fn inflate(bytes: &[u8]) -> Result<String, std::io::Error> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(bytes).read_to_string(&mut text)?;
    Ok(text)
}

/// The boxed future an RPC method handler returns.
pub type RpcHandlerFuture = Pin<Box<dyn Future<Output = Result<String, RpcError>> + Send>>;

impl LocalParticipant {
    /// Calls `method` on another participant and waits for its answer. Fails with an
    /// `RpcError` carrying the built-in codes (1400 unsupported method, 1401 recipient not
    /// found, 1501 connection timeout, 1502 response timeout, 1503 recipient disconnected,
    /// 1402 request too large...) or the callee's own application error.
    pub async fn perform_rpc(&self, data: PerformRpcData) -> Result<String, RpcError> {
        let Some(room) = self.room.upgrade() else {
            return Err(RpcError::built_in(RpcErrorCode::SendFailed, Some("the room is disconnected".into())));
        };
        let transport = RoomTransport(room.clone());
        room.rpc_client.perform_rpc(data, &transport).await
    }

    /// Registers the handler for calls to `method`, replacing any earlier one.
    pub fn register_rpc_method(
        &self,
        method: impl Into<String>,
        handler: impl Fn(RpcInvocationData) -> RpcHandlerFuture + Send + Sync + 'static,
    ) {
        if let Some(room) = self.room.upgrade() {
            room.rpc_server.register_method(method.into(), handler);
        }
    }

    /// Removes the handler for `method`; later calls to it fail as unsupported (1400).
    pub fn unregister_rpc_method(&self, method: &str) {
        if let Some(room) = self.room.upgrade() {
            room.rpc_server.unregister_method(method);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::inflate;

    #[test]
    fn compressed_payloads_inflate_to_text() {
        use std::io::Write;
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all("héllo rpc".as_bytes()).unwrap();
        assert_eq!(inflate(&encoder.finish().unwrap()).unwrap(), "héllo rpc");
        assert!(inflate(b"not deflate").is_err());
    }
}
