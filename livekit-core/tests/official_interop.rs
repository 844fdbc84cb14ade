//! Interoperability with the official LiveKit Python SDK (on libwebrtc) as the peer, through a
//! real livekit-server. The peer runs in `tests/peer/official_peer.py`; a missing SDK fails.

mod common;

use std::collections::HashMap;

use common::*;
use livekit_core::api::{RoomClient, SendDataOptions, UpdateParticipantOptions};
use livekit_core::{DataOptions, DataPacketKind, RoomEvent};
use livekit_test_harness::OfficialPeer;
use serde_json::{json, Value};

fn is(kind: &'static str, identity: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["type"] == kind && e["identity"] == identity
}

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn json_map(pairs: &[(&str, &str)]) -> Value {
    json!(map(pairs))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_client_sees_our_state_changes() {
    let server = start_server();
    let (ours, _events) = join(&server, "i1", "rusty").await;
    let mut official = official_peer(&server, "i1", "py").await;
    let local = ours.local_participant();

    local.set_attributes(map(&[("status", "ready"), ("color", "red")])).await.unwrap();
    let event = official.wait_event(EVENT_TIMEOUT, is("participant_attributes_changed", "rusty")).await.unwrap();
    assert_eq!(event["changed"], json_map(&[("status", "ready"), ("color", "red")]));

    local.set_attributes(map(&[("color", "")])).await.unwrap();
    let event = official.wait_event(EVENT_TIMEOUT, is("participant_attributes_changed", "rusty")).await.unwrap();
    assert_eq!(event["changed"], json_map(&[("color", "")]), "a deleted key maps to \"\"");

    local.set_metadata("from rust").await.unwrap();
    let event = official.wait_event(EVENT_TIMEOUT, is("participant_metadata_changed", "rusty")).await.unwrap();
    assert_eq!(event["new"], "from rust");

    local.set_name("Rusty R.").await.unwrap();
    let event = official.wait_event(EVENT_TIMEOUT, is("participant_name_changed", "rusty")).await.unwrap();
    assert_eq!(event["new"], "Rusty R.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_see_the_official_clients_state_changes() {
    let server = start_server();
    let (_ours, mut events) = join(&server, "i2", "rusty").await;
    let mut official = official_peer(&server, "i2", "py").await;
    wait_until_known(&mut events, "py").await;

    official.set_attributes([("mood", "happy"), ("seat", "3")]).await.unwrap();
    let (who, changed) = wait_for(&mut events, "ParticipantAttributesChanged", |e| match e {
        RoomEvent::ParticipantAttributesChanged { participant, changed_attributes } => {
            Some((participant.identity(), changed_attributes.clone()))
        }
        _ => None,
    })
    .await;
    assert_eq!(who, "py");
    assert_eq!(changed, map(&[("mood", "happy"), ("seat", "3")]));

    official.set_attributes([("seat", "")]).await.unwrap();
    let changed = wait_for(&mut events, "attribute deletion", |e| match e {
        RoomEvent::ParticipantAttributesChanged { changed_attributes, .. } => Some(changed_attributes.clone()),
        _ => None,
    })
    .await;
    assert_eq!(changed, map(&[("seat", "")]));

    official.set_metadata("from python").await.unwrap();
    let change = wait_for(&mut events, "ParticipantMetadataChanged", |e| match e {
        RoomEvent::ParticipantMetadataChanged { old_metadata, metadata, .. } => {
            Some((old_metadata.clone(), metadata.clone()))
        }
        _ => None,
    })
    .await;
    assert_eq!(change, (String::new(), "from python".to_string()));

    official.set_name("Py P.").await.unwrap();
    let change = wait_for(&mut events, "ParticipantNameChanged", |e| match e {
        RoomEvent::ParticipantNameChanged { old_name, name, .. } => Some((old_name.clone(), name.clone())),
        _ => None,
    })
    .await;
    assert_eq!(change, ("py".to_string(), "Py P.".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_flows_both_ways_with_topics_kinds_and_destinations() {
    let server = start_server();
    let (ours, mut events) = join(&server, "i3", "rusty").await;
    let (_bystander, mut bystander_events) = join(&server, "i3", "bystander").await;
    let mut official = official_peer(&server, "i3", "py").await;

    // Ours to theirs, reliable and lossy, addressed to the official client only.
    let local = ours.local_participant();
    let to_py = |reliable: bool| {
        let options = if reliable { DataOptions::reliable() } else { DataOptions::lossy() };
        options.with_topic(if reliable { "chat" } else { "cursor" }).with_destinations(["py"])
    };
    local.publish_data(b"hello py".to_vec(), to_py(true)).await.unwrap();
    let event = official.wait_event(EVENT_TIMEOUT, is("data_received", "rusty")).await.unwrap();
    assert_eq!(OfficialPeer::payload(&event).unwrap(), b"hello py");
    assert_eq!((event["topic"].as_str(), event["kind"].as_str()), (Some("chat"), Some("reliable")));
    local.publish_data(b"x=1".to_vec(), to_py(false)).await.unwrap();
    let event = official.wait_event(EVENT_TIMEOUT, is("data_received", "rusty")).await.unwrap();
    assert_eq!(OfficialPeer::payload(&event).unwrap(), b"x=1");
    assert_eq!((event["topic"].as_str(), event["kind"].as_str()), (Some("cursor"), Some("lossy")));

    // Theirs to ours, reliable and lossy, addressed to us only. Either may come first: the
    // server reads each data channel on a task of its own and forwards in the order it reads.
    official.publish_data(b"hello rust", true, Some("chat"), &["rusty"]).await.unwrap();
    official.publish_data(b"y=2", false, Some("cursor"), &["rusty"]).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        got.push(
            wait_for(&mut events, "DataReceived from py", |e| match e {
                RoomEvent::DataReceived { payload, topic, kind, sender_identity, .. } => {
                    Some((payload.to_vec(), topic.clone(), *kind, sender_identity.clone()))
                }
                _ => None,
            })
            .await,
        );
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let from_py =
        |payload: &[u8], topic: &str, kind| (payload.to_vec(), Some(topic.to_string()), kind, Some("py".to_string()));
    assert_eq!(
        got,
        [from_py(b"hello rust", "chat", DataPacketKind::Reliable), from_py(b"y=2", "cursor", DataPacketKind::Lossy)]
    );

    // A broadcast sent after the private messages is the bystander's first data.
    official.publish_data(b"everyone", true, Some("all"), &[]).await.unwrap();
    let first = wait_for(&mut bystander_events, "the broadcast", |e| match e {
        RoomEvent::DataReceived { payload, .. } => Some(payload.to_vec()),
        _ => None,
    })
    .await;
    assert_eq!(first, b"everyone".to_vec(), "the bystander must not receive messages addressed to others");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_api_changes_reach_both_clients() {
    let server = start_server();
    let (_ours, mut events) = join(&server, "i4", "rusty").await;
    let mut official = official_peer(&server, "i4", "py").await;
    wait_until_known(&mut events, "py").await;
    let client = RoomClient::with_api_key(&server.http_url(), server.api_key(), server.api_secret());

    let options = UpdateParticipantOptions { attributes: map(&[("role", "host")]), ..Default::default() };
    client.update_participant("i4", "py", options).await.unwrap();
    let changed = wait_for(&mut events, "attributes set by the server", |e| match e {
        RoomEvent::ParticipantAttributesChanged { participant, changed_attributes }
            if participant.identity() == "py" =>
        {
            Some(changed_attributes.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(changed, map(&[("role", "host")]));
    let event = official.wait_event(EVENT_TIMEOUT, is("participant_attributes_changed", "py")).await.unwrap();
    assert_eq!(event["changed"], json_map(&[("role", "host")]));

    let options = SendDataOptions { topic: Some("notice".into()), ..Default::default() };
    client.send_data("i4", b"server says hi".to_vec(), options).await.unwrap();
    let got = wait_for(&mut events, "server data", |e| match e {
        RoomEvent::DataReceived { payload, topic, participant, .. } => {
            Some((payload.to_vec(), topic.clone(), participant.is_none()))
        }
        _ => None,
    })
    .await;
    assert_eq!(got, (b"server says hi".to_vec(), Some("notice".into()), true));
    let event =
        official.wait_event(EVENT_TIMEOUT, |e| e["type"] == "data_received" && e["topic"] == "notice").await.unwrap();
    assert_eq!(OfficialPeer::payload(&event).unwrap(), b"server says hi");
    assert!(event["identity"].is_null());

    official.disconnect().await.unwrap();
}
