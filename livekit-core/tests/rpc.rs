//! RPC between our own clients through a real server: results and every built-in error.

mod common;

use std::time::{Duration, Instant};

use common::*;
use livekit_core::data::{PerformRpcData, RpcError, RpcErrorCode, MAX_V1_PAYLOAD_BYTES};
use livekit_core::room::RpcHandlerFuture;

fn call(to: &str, method: &str, payload: &str) -> PerformRpcData {
    PerformRpcData::new(to, method).with_payload(payload)
}

fn echo_upper(data: livekit_core::data::RpcInvocationData) -> RpcHandlerFuture {
    Box::pin(async move { Ok(format!("{}:{}", data.caller_identity, data.payload.to_uppercase())) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_returns_the_handlers_answer_and_its_errors() {
    let server = start_server();
    let (alice, _a) = join(&server, "rpc1", "alice").await;
    let (bob, _b) = join(&server, "rpc1", "bob").await;
    let bob_local = bob.local_participant();
    bob_local.register_rpc_method("shout", echo_upper);
    bob_local.register_rpc_method("fail", |_| -> RpcHandlerFuture {
        Box::pin(async { Err(RpcError::new(42, "no seats left".into(), Some("row 7".into()))) })
    });
    let alice_local = alice.local_participant();

    let answer = alice_local.perform_rpc(call("bob", "shout", "hello")).await.unwrap();
    assert_eq!(answer, "alice:HELLO");

    let err = alice_local.perform_rpc(call("bob", "fail", "")).await.unwrap_err();
    assert_eq!((err.code, err.message.as_str(), err.data.as_deref()), (42, "no seats left", Some("row 7")));

    let err = alice_local.perform_rpc(call("bob", "nope", "")).await.unwrap_err();
    assert_eq!(err.code, RpcErrorCode::UnsupportedMethod as u32);

    bob_local.unregister_rpc_method("shout");
    let err = alice_local.perform_rpc(call("bob", "shout", "x")).await.unwrap_err();
    assert_eq!(err.code, RpcErrorCode::UnsupportedMethod as u32, "unregistered methods are unsupported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_timeouts_and_limits_are_reported_with_their_codes() {
    let server = start_server();
    let (alice, _a) = join(&server, "rpc2", "alice").await;
    let (bob, _b) = join(&server, "rpc2", "bob").await;
    bob.local_participant().register_rpc_method("slow", |_| -> RpcHandlerFuture {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(5)).await; // the handler's work, outlasting the timeout
            Ok("late".into())
        })
    });
    let alice_local = alice.local_participant();

    let started = Instant::now();
    let request = call("bob", "slow", "").with_response_timeout(Duration::from_millis(1500));
    let err = alice_local.perform_rpc(request).await.unwrap_err();
    assert_eq!(err.code, RpcErrorCode::ResponseTimeout as u32, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(4), "the caller's timeout applies: {:?}", started.elapsed());

    let too_big = "x".repeat(MAX_V1_PAYLOAD_BYTES + 1);
    let err = alice_local.perform_rpc(call("bob", "slow", &too_big)).await.unwrap_err();
    assert_eq!(err.code, RpcErrorCode::RequestPayloadTooLarge as u32, "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_to_someone_not_in_the_room_fails() {
    let server = start_server();
    let (alice, _a) = join(&server, "rpc3", "alice").await;
    let request = call("ghost", "anything", "").with_response_timeout(Duration::from_secs(3));
    let err = alice.local_participant().perform_rpc(request).await.unwrap_err();
    // As with the official SDKs: the server drops a packet for an unknown identity, so the
    // call ends when no acknowledgement came (1501), not with "recipient not found".
    assert_eq!(err.code, RpcErrorCode::ConnectionTimeout as u32, "{err:?}");
}
