//! Reconnection against a real server: resume after the signalling connection drops (cut by a
//! TCP proxy of the test's own, or simulated), full reconnect when the server lost our session,
//! giving up when the server stays unreachable, and the server's own disconnects.

mod common;

use std::time::Duration;

use common::*;
use livekit_core::room::{ConnectionState, DisconnectReason, ReconnectPolicy, SimulateScenario};
use livekit_core::{DataOptions, Room, RoomEvent, RoomOptions};
use livekit_test_harness::{TcpProxy, TestServer};
use tokio::sync::mpsc::UnboundedReceiver;

/// Longer than `EVENT_TIMEOUT`: a full reconnect joins again from scratch.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(30);

async fn join_through(
    proxy: &TcpProxy,
    server: &TestServer,
    room: &str,
    identity: &str,
    options: RoomOptions,
) -> (Room, UnboundedReceiver<RoomEvent>) {
    Room::connect(&proxy.url(), &token(server, room, identity), options)
        .await
        .unwrap_or_else(|err| panic!("{identity} could not join through the proxy: {err}"))
}

/// The reconnect events in order, up to `Reconnected`; panics on `Disconnected`.
async fn reconnect_events(events: &mut UnboundedReceiver<RoomEvent>) -> Vec<String> {
    let mut seen = Vec::new();
    let wait = async {
        while let Some(event) = events.recv().await {
            let name = match &event {
                RoomEvent::ConnectionStateChanged(state) => format!("State({state:?})"),
                RoomEvent::Reconnecting => "Reconnecting".to_string(),
                RoomEvent::Reconnected => "Reconnected".to_string(),
                RoomEvent::ParticipantDisconnected(p) => format!("ParticipantDisconnected({})", p.identity()),
                RoomEvent::ParticipantConnected(p) => format!("ParticipantConnected({})", p.identity()),
                RoomEvent::Disconnected { reason } => panic!("disconnected ({reason:?}) instead of reconnecting"),
                _ => continue,
            };
            let done = name == "Reconnected";
            seen.push(name);
            if done {
                return;
            }
        }
        panic!("the event stream ended while reconnecting");
    };
    tokio::time::timeout(RECONNECT_TIMEOUT, wait)
        .await
        .unwrap_or_else(|_| panic!("no Reconnected within {RECONNECT_TIMEOUT:?}; saw {seen:?}"));
    seen
}

/// "mobile" (ours, through a proxy that can cut its signalling) and "desk" (ours, direct) in
/// one room, each knowing the other.
struct Pair {
    server: TestServer,
    proxy: TcpProxy,
    ours: Room,
    events: UnboundedReceiver<RoomEvent>,
    other: Room,
    other_events: UnboundedReceiver<RoomEvent>,
}

async fn mobile_and_desk(room: &str) -> Pair {
    let server = start_server();
    let proxy = TcpProxy::start(server.http_port()).unwrap();
    let (ours, mut events) = join_through(&proxy, &server, room, "mobile", common::room_options()).await;
    let (other, other_events) = join(&server, room, "desk").await;
    wait_until_known(&mut events, "desk").await;
    Pair { server, proxy, ours, events, other, other_events }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_signalling_connection_resumes_the_same_session() {
    let Pair { server: _server, proxy, ours, mut events, other, mut other_events } = mobile_and_desk("r1").await;
    let sid_before = ours.local_participant().sid();

    assert_eq!(proxy.cut(), 1, "one signalling connection was open");
    let seen = reconnect_events(&mut events).await;
    assert_eq!(
        seen,
        ["State(Reconnecting)", "Reconnecting", "State(Connected)", "Reconnected"],
        "a resume keeps every participant"
    );
    assert_eq!(ours.local_participant().sid(), sid_before, "a resume keeps the session");
    assert_eq!(ours.connection_state(), ConnectionState::Connected);

    send_text(&ours, "after resume").await;
    assert_eq!(receive_text(&mut other_events, "after resume").await, "mobile");
    send_text(&other, "back to you").await;
    assert_eq!(receive_text(&mut events, "back to you").await, "desk");
    ours.local_participant().set_attributes([("k".to_string(), "v".to_string())].into()).await.unwrap();
    assert_no_event(
        &mut other_events,
        Duration::from_millis(500),
        "our departure",
        |e| matches!(e, RoomEvent::ParticipantDisconnected(p) if p.identity() == "mobile"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_signal_drop_resumes() {
    let server = start_server();
    let (ours, mut events) = join(&server, "r2", "mobile").await;
    let sid_before = ours.local_participant().sid();
    ours.simulate_scenario(SimulateScenario::SignalReconnect).await.unwrap();
    let seen = reconnect_events(&mut events).await;
    assert_eq!(seen.first().map(String::as_str), Some("State(Reconnecting)"));
    assert_eq!(ours.local_participant().sid(), sid_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_session_reconnects_fully_as_a_new_session() {
    let server = start_server();
    let (ours, mut events) = join(&server, "r3", "mobile").await;
    let (other, mut other_events) = join(&server, "r3", "desk").await;
    wait_until_known(&mut events, "desk").await;
    ours.local_participant().set_metadata("kept").await.unwrap();
    let sid_before = ours.local_participant().sid();

    ours.simulate_scenario(SimulateScenario::NodeFailure).await.unwrap();
    let seen = reconnect_events(&mut events).await;
    // The room tries to resume first; the server refuses (it lost the session), and only
    // then is everyone reported gone and back from the new session.
    assert_eq!(
        seen,
        [
            "State(Reconnecting)",
            "Reconnecting",
            "ParticipantDisconnected(desk)",
            "ParticipantConnected(desk)",
            "State(Connected)",
            "Reconnected"
        ]
    );
    assert_ne!(ours.local_participant().sid(), sid_before, "a full reconnect is a new session");
    assert!(ours.remote_participants().contains_key("desk"));
    assert_eq!(ours.local_participant().metadata(), "kept", "our metadata was set again");

    send_text(&ours, "new session").await;
    assert_eq!(receive_text(&mut other_events, "new session").await, "mobile");
    send_text(&other, "hello again").await;
    assert_eq!(receive_text(&mut events, "hello again").await, "desk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_resume_escalates_to_a_full_reconnect() {
    let server = start_server();
    let (ours, mut events) = join(&server, "r4", "mobile").await;
    let sid_before = ours.local_participant().sid();
    ours.simulate_scenario(SimulateScenario::DisconnectSignalOnResume).await.unwrap();
    reconnect_events(&mut events).await;
    assert_ne!(ours.local_participant().sid(), sid_before, "the resume failed, so the room joined anew");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_ends_in_disconnected_after_the_attempts() {
    let server = start_server();
    let proxy = TcpProxy::start(server.http_port()).unwrap();
    let policy = ReconnectPolicy { max_attempts: 3, ..ReconnectPolicy::default() };
    let options = RoomOptions { reconnect_policy: policy, ..common::room_options() };
    let (ours, mut events) = join_through(&proxy, &server, "r5", "mobile", options).await;

    proxy.set_refusing(true);
    proxy.cut();
    let started = std::time::Instant::now();
    wait_for_within(&mut events, RECONNECT_TIMEOUT, "Reconnecting", |e| {
        matches!(e, RoomEvent::Reconnecting).then_some(())
    })
    .await;
    let reason = wait_for_within(&mut events, RECONNECT_TIMEOUT, "Disconnected", |e| match e {
        RoomEvent::Reconnected => panic!("reconnected through a proxy that refuses"),
        RoomEvent::Disconnected { reason } => Some(*reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, DisconnectReason::ConnectionLost);
    assert!(started.elapsed() < Duration::from_secs(20), "3 attempts took {:?}", started.elapsed());
    assert_eq!(ours.connection_state(), ConnectionState::Disconnected);
    let err = ours.local_participant().publish_data(b"late".to_vec(), DataOptions::default()).await.unwrap_err();
    assert_eq!(err, livekit_core::Error::Disconnected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_leave_disconnects_without_reconnecting() {
    let server = start_server();
    let (ours, mut events) = join(&server, "r6", "mobile").await;
    ours.simulate_scenario(SimulateScenario::ServerLeave).await.unwrap();
    let reason = wait_for(&mut events, "Disconnected", |e| match e {
        RoomEvent::Reconnecting => panic!("a server leave with DISCONNECT must not reconnect"),
        RoomEvent::Disconnected { reason } => Some(*reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, DisconnectReason::ServerShutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_during_a_reconnect_wait_and_go_out_after_it() {
    let Pair { server: _server, proxy: _proxy, ours, mut events, other: _other, mut other_events } =
        mobile_and_desk("r7").await;

    ours.simulate_scenario(SimulateScenario::FullReconnect).await.unwrap();
    wait_for(&mut events, "Reconnecting", |e| matches!(e, RoomEvent::Reconnecting).then_some(())).await;
    assert_eq!(ours.connection_state(), ConnectionState::Reconnecting);
    send_text(&ours, "sent while reconnecting").await;
    assert_eq!(ours.connection_state(), ConnectionState::Connected, "the send waited for the reconnect");
    assert_eq!(receive_text(&mut other_events, "sent while reconnecting").await, "mobile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_join_token_expired_still_reconnects_with_the_refreshed_one() {
    let server = start_server();
    // The server allows a minute of clock skew: this token expired 52 s ago, so it still
    // joins, and is refused from 8 s on.
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let expires = now() - 52;
    let claims = serde_json::json!({
        "iss": server.api_key(), "sub": "mobile", "nbf": expires - 600, "exp": expires,
        "video": { "roomJoin": true, "room": "r8", "canPublishData": true },
    });
    let short_lived = sign_hs256(&claims, server.api_secret());
    let (ours, mut events) = Room::connect(&server.url(), &short_lived, common::room_options()).await.expect("join");
    let sid_before = ours.local_participant().sid();
    // Waiting for the clock to pass the server's allowance (the condition under test is time).
    while now() <= expires + 61 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let refused = Room::connect(&server.url(), &short_lived, common::room_options()).await;
    assert!(
        matches!(refused, Err(livekit_core::Error::Unauthorized { .. })),
        "the join token has expired: {:?}",
        refused.err()
    );

    ours.simulate_scenario(SimulateScenario::FullReconnect).await.unwrap();
    reconnect_events(&mut events).await;
    assert_ne!(ours.local_participant().sid(), sid_before, "joined anew with the token the server refreshed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_whose_first_connection_is_refused_succeeds_on_a_retry() {
    let server = start_server();
    let proxy = TcpProxy::start(server.http_port()).expect("proxy");
    let without_retries = RoomOptions { join_retries: 0, ..common::room_options() };
    proxy.refuse_next(1);
    let refused = Room::connect(&proxy.url(), &token(&server, "j1", "once"), without_retries).await;
    assert!(matches!(refused, Err(livekit_core::Error::Connection(_))), "{:?}", refused.err());

    proxy.refuse_next(1);
    let (room, _events) = join_through(&proxy, &server, "j1", "twice", common::room_options()).await;
    assert_eq!(room.local_participant().identity(), "twice");
}
