//! A join whose first ICE attempt finds no path still completes: UDP is dropped while the
//! publisher's first candidate pairs are checked, then allowed again; the publisher restarts
//! ICE and the join ends with working data channels. Runs in a network namespace of its own
//! (`common/netns.rs`), so blocking UDP there touches nothing else.

mod common;

use std::time::Duration;

use common::*;
use livekit_core::api::VideoGrants;
use livekit_core::{DataOptions, Room, RoomEvent};

/// Longer than webrtc-rs's 8 unanswered checks (about 1.6 s), after which a pair is dead.
const UDP_BLOCKED_FOR: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_whose_first_ice_attempt_fails_restarts_ice_and_completes() {
    if !netns::inside_namespace() {
        return netns::run_in_namespace("a_join_whose_first_ice_attempt_fails_restarts_ice_and_completes", "");
    }
    let server = start_server();
    let (_bob, mut bob_events) = join(&server, "ice", "bob").await;

    netns::nft(&["add", "table", "inet", "blocked"]);
    netns::nft(&["add", "chain", "inet", "blocked", "input", "{ type filter hook input priority 0; }"]);
    netns::nft(&["add", "rule", "inet", "blocked", "input", "meta", "l4proto", "udp", "drop"]);
    // A participant that may not subscribe has the publisher as its primary connection: the
    // only one its join waits for, and the one whose ICE we restart.
    let grants = VideoGrants { can_subscribe: Some(false), ..participant_grants("ice") };
    let (url, alice_token) = (server.url(), token_with(&server, "alice", grants));
    let joining = tokio::spawn(async move { Room::connect(&url, &alice_token, common::room_options()).await });
    tokio::time::sleep(UDP_BLOCKED_FOR).await; // the length of the fault, not a wait for an event
    netns::nft(&["delete", "table", "inet", "blocked"]);

    let (alice, _alice_events) = joining
        .await
        .expect("the join task")
        .unwrap_or_else(|err| panic!("the join failed after UDP came back: {err}\n{}", server.log()));
    alice.local_participant().publish_data(b"after the restart".to_vec(), DataOptions::reliable()).await.unwrap();
    let payload = wait_for(&mut bob_events, "DataReceived", |e| match e {
        RoomEvent::DataReceived { payload, .. } => Some(payload.to_vec()),
        _ => None,
    })
    .await;
    assert_eq!(payload, b"after the restart");
}
