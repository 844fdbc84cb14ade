//! RPC: calls to other participants, and methods this participant answers through a foreign
//! handler. Acknowledgements, timeouts and the v1/v2 wire formats are the core's.

use std::sync::Arc;
use std::time::Duration;

use livekit_core::data::{PerformRpcData, RpcError as CoreRpcError};

use crate::error::RpcError;
use crate::participant::LocalParticipant;

/// One incoming call.
#[derive(uniffi::Record)]
pub struct RpcInvocation {
    pub request_id: String,
    pub caller_identity: String,
    pub payload: String,
    /// How long the caller waits for the answer.
    pub response_timeout_ms: u64,
}

/// Answers calls to one method: return the response payload, or throw `RpcError` to answer
/// with an error code. Anything else thrown reaches the caller as 1500 (application error).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait RpcHandler: Send + Sync {
    async fn handle(&self, invocation: RpcInvocation) -> Result<String, RpcError>;
}

#[uniffi::export(async_runtime = "tokio")]
impl LocalParticipant {
    /// Calls `method` on `destination_identity` and waits for its answer (15 s after the
    /// acknowledgement unless `response_timeout_ms` says otherwise).
    pub async fn perform_rpc(
        &self,
        destination_identity: String,
        method: String,
        payload: String,
        response_timeout_ms: Option<u64>,
    ) -> Result<String, RpcError> {
        let mut data = PerformRpcData::new(destination_identity, method).with_payload(payload);
        if let Some(ms) = response_timeout_ms {
            data = data.with_response_timeout(Duration::from_millis(ms));
        }
        Ok(self.0.perform_rpc(data).await?)
    }

    /// Registers the handler of `method`, replacing an earlier one.
    pub fn register_rpc_method(&self, method: String, handler: Arc<dyn RpcHandler>) {
        self.0.register_rpc_method(method, move |call| {
            let handler = handler.clone();
            Box::pin(async move {
                let invocation = RpcInvocation {
                    request_id: call.request_id,
                    caller_identity: call.caller_identity.0,
                    payload: call.payload,
                    response_timeout_ms: call.response_timeout.as_millis() as u64,
                };
                handler.handle(invocation).await.map_err(CoreRpcError::from)
            })
        });
    }

    pub fn unregister_rpc_method(&self, method: String) {
        self.0.unregister_rpc_method(&method);
    }
}
