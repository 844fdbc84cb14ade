//! Proves the official-SDK peer driver works against a real livekit-server:
//! two Python peers in one room see each other, attributes and targeted data.

mod common;

use common::{spawn_peer, token};
use std::time::Duration;

use livekit_test_harness::{OfficialPeer, TestServer};
use serde_json::{json, Value};

const EVENT_TIMEOUT: Duration = Duration::from_secs(15);
const ROOM: &str = "official-peer-smoke";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_official_peers_exchange_attributes_and_targeted_data() {
    let mut a = spawn_peer().await;
    let mut b = spawn_peer().await;
    let server = tokio::task::spawn_blocking(TestServer::start).await.expect("join").expect("start livekit-server");
    let url = server.url();

    let joined_a = a.connect(&url, &token(&server, ROOM, "alice")).await.expect("alice connects");
    assert_eq!(joined_a["identity"], "alice");
    assert!(joined_a["sid"].as_str().is_some_and(|s| s.starts_with("RM_")), "{joined_a}");
    assert_eq!(joined_a["participants"], json!([]));

    let joined_b = b.connect(&url, &token(&server, ROOM, "bob")).await.expect("bob connects");
    assert_eq!(joined_b["sid"], joined_a["sid"], "same room");
    let present: Vec<&str> =
        joined_b["participants"].as_array().unwrap().iter().filter_map(|p| p["identity"].as_str()).collect();
    assert_eq!(present, ["alice"]);

    let seen_bob = a
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "participant_connected" && e["identity"] == "bob")
        .await
        .expect("alice sees bob join");
    assert_eq!(seen_bob["name"], "bob");

    a.set_attributes([("a", "1")]).await.expect("set attributes");
    let changed = b
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "participant_attributes_changed" && e["identity"] == "alice")
        .await
        .expect("bob sees alice's attributes");
    assert_eq!(changed["changed"], json!({"a": "1"}), "{changed}");
    // Only `changed` is exact: the SDK's full `attributes` map of a remote participant lags at times.
    assert_eq!(changed["attributes"]["a"], "1", "{changed}");

    let payload = b"hello \x00\xff bob";
    a.publish_data(payload, true, Some("t"), &["bob"]).await.expect("publish data");
    let data =
        b.wait_event(EVENT_TIMEOUT, |e: &Value| e["type"] == "data_received").await.expect("bob receives the packet");
    assert_eq!(data["identity"], "alice", "{data}");
    assert_eq!(data["topic"], "t", "{data}");
    assert_eq!(data["kind"], "reliable", "{data}");
    assert_eq!(OfficialPeer::payload(&data).unwrap(), payload);

    b.disconnect().await.expect("bob disconnects");
    // Not asserted: bob's own `disconnected` event. The official library 0.13.2 at times sends
    // only `connection_state_changed` for a client-initiated leave, and the SDK then emits no
    // `disconnected` (docs/ffi-protocol.md §4.3). What others see is what this test is about.
    a.wait_event(EVENT_TIMEOUT, |e| e["type"] == "participant_disconnected" && e["identity"] == "bob")
        .await
        .expect("alice sees bob leave");
    b.close().await.expect("bob's script exits cleanly");
    a.close().await.expect("alice's script disconnects and exits when stdin closes");
}
