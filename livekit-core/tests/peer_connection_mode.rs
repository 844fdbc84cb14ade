//! One peer connection or two: what each `PeerConnectionMode` does against the pinned server
//! (which has single peer connection mode) and against the same server made to look older by
//! a proxy that answers 404 on `/rtc/v1`, as livekit-server before 1.9.10 does.

mod common;

use common::*;
use livekit_core::room::SimulateScenario;
use livekit_core::{Error, PeerConnectionMode, Room, RoomEvent, RoomOptions};
use livekit_test_harness::TcpProxy;

fn mode(peer_connection_mode: PeerConnectionMode) -> RoomOptions {
    RoomOptions { peer_connection_mode, ..RoomOptions::default() }
}

/// Data flows from `from` to `to` (both joined).
async fn data_flows(from: &Room, to: &mut tokio::sync::mpsc::UnboundedReceiver<livekit_core::RoomEvent>, text: &str) {
    send_text(from, text).await;
    receive_text(to, text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_and_single_use_one_connection_and_dual_two() {
    let server = start_server();
    let url = server.url();
    let (auto, mut auto_events) =
        Room::connect(&url, &token(&server, "m1", "auto"), mode(PeerConnectionMode::Auto)).await.expect("auto joins");
    let (single, _single_events) =
        Room::connect(&url, &token(&server, "m1", "single"), mode(PeerConnectionMode::Single))
            .await
            .expect("single joins");
    let (dual, mut dual_events) =
        Room::connect(&url, &token(&server, "m1", "dual"), mode(PeerConnectionMode::Dual)).await.expect("dual joins");
    assert!(auto.is_single_peer_connection(), "auto takes one connection where the server has it");
    assert!(single.is_single_peer_connection());
    assert!(!dual.is_single_peer_connection());

    wait_until_known(&mut auto_events, "dual").await;
    data_flows(&single, &mut dual_events, "from one connection to two").await;
    data_flows(&dual, &mut auto_events, "from two connections to one").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_an_older_server_auto_falls_back_to_two_and_single_fails_clearly() {
    let server = start_server();
    let older = TcpProxy::start_without_paths(server.http_port(), &["/rtc/v1"]).expect("proxy");

    let (auto, mut auto_events) =
        Room::connect(&older.url(), &token(&server, "m2", "auto"), mode(PeerConnectionMode::Auto))
            .await
            .expect("auto joins an older server");
    assert!(!auto.is_single_peer_connection(), "two connections after the 404");
    assert_eq!(older.not_found(), 1, "auto asked for /rtc/v1 once");

    let refused = Room::connect(&older.url(), &token(&server, "m2", "single"), mode(PeerConnectionMode::Single)).await;
    match refused {
        Err(Error::Server(message)) => assert!(message.contains("/rtc/v1"), "names what is missing: {message}"),
        Err(other) => panic!("single on an older server: wrong error {other:?}"),
        Ok(_) => panic!("single joined a server without /rtc/v1"),
    }
    assert_eq!(older.not_found(), 2, "refused without retrying");

    let (dual, _dual_events) =
        Room::connect(&older.url(), &token(&server, "m2", "dual"), mode(PeerConnectionMode::Dual))
            .await
            .expect("dual joins");
    assert_eq!(older.not_found(), 2, "dual never asks for /rtc/v1");
    wait_until_known(&mut auto_events, "dual").await;
    data_flows(&dual, &mut auto_events, "data on the fallback").await;

    // A full reconnect remembers the 404 instead of asking again.
    auto.simulate_scenario(SimulateScenario::FullReconnect).await.unwrap();
    wait_for(&mut auto_events, "Reconnected", |e| matches!(e, RoomEvent::Reconnected).then_some(())).await;
    assert!(!auto.is_single_peer_connection());
    assert_eq!(older.not_found(), 2, "the full reconnect did not ask for /rtc/v1 again");
    data_flows(&dual, &mut auto_events, "data after the full reconnect").await;
}
