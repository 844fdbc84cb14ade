//! Data messages between our own clients, and from the server API, through a real server.

mod common;

use std::time::Duration;

use common::*;
use livekit_core::api::{RoomClient, SendDataOptions};
use livekit_core::{DataOptions, DataPacketKind, RoomEvent};

#[derive(Debug, PartialEq)]
struct Received {
    payload: Vec<u8>,
    topic: Option<String>,
    kind: DataPacketKind,
    sender: Option<String>,
}

fn as_received(event: &RoomEvent) -> Option<Received> {
    match event {
        RoomEvent::DataReceived { payload, topic, kind, sender_identity, .. } => Some(Received {
            payload: payload.to_vec(),
            topic: topic.clone(),
            kind: *kind,
            sender: sender_identity.clone(),
        }),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliable_and_lossy_messages_arrive_with_topic_kind_and_sender() {
    let server = start_server();
    let (alice, _alice_events) = join(&server, "d1", "alice").await;
    let (_bob, mut bob_events) = join(&server, "d1", "bob").await;
    let local = alice.local_participant();

    local.publish_data(b"hello".to_vec(), DataOptions::reliable().with_topic("chat")).await.unwrap();
    let got = wait_for(&mut bob_events, "reliable DataReceived", as_received).await;
    assert_eq!(
        got,
        Received {
            payload: b"hello".to_vec(),
            topic: Some("chat".into()),
            kind: DataPacketKind::Reliable,
            sender: Some("alice".into())
        }
    );

    local.publish_data(b"pos:1,2".to_vec(), DataOptions::lossy().with_topic("cursor")).await.unwrap();
    let got = wait_for(&mut bob_events, "lossy DataReceived", as_received).await;
    assert_eq!(
        got,
        Received {
            payload: b"pos:1,2".to_vec(),
            topic: Some("cursor".into()),
            kind: DataPacketKind::Lossy,
            sender: Some("alice".into())
        }
    );

    local.publish_data(b"no topic".to_vec(), DataOptions::reliable()).await.unwrap();
    let got = wait_for(&mut bob_events, "DataReceived without topic", as_received).await;
    assert_eq!(got.topic, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliable_messages_arrive_complete_and_in_order() {
    let server = start_server();
    let (alice, _alice_events) = join(&server, "d2", "alice").await;
    let (_bob, mut bob_events) = join(&server, "d2", "bob").await;
    let local = alice.local_participant();
    const COUNT: u32 = 500;
    for i in 0..COUNT {
        local.publish_data(i.to_be_bytes().to_vec(), DataOptions::reliable().with_topic("seq")).await.unwrap();
    }
    for expected in 0..COUNT {
        let got = wait_for(&mut bob_events, "a sequenced message", as_received).await;
        assert_eq!(got.payload, expected.to_be_bytes().to_vec(), "message {expected} out of order");
    }
}

/// With one peer connection the server learns of our data channels only after our join returns
/// (module docs of `engine::session`); reliable messages another participant sends in between
/// must still arrive. Alice sends without pause while bob joins; every message she sends after
/// bob's join returned must reach bob, in order and without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliable_messages_sent_while_a_participant_joins_all_reach_it() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;
    let server = start_server();
    let (alice, _alice_events) = join(&server, "d5", "alice").await;
    let next = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = tokio::spawn({
        let (next, stop) = (next.clone(), stop.clone());
        async move {
            let mut pace = tokio::time::interval(Duration::from_millis(2));
            while !stop.load(Ordering::SeqCst) {
                pace.tick().await;
                let number = next.load(Ordering::SeqCst);
                let options = DataOptions::reliable().with_topic("join-window");
                alice.local_participant().publish_data(number.to_be_bytes().to_vec(), options).await.unwrap();
                next.store(number + 1, Ordering::SeqCst);
            }
        }
    });

    let (_bob, mut bob_events) = join(&server, "d5", "bob").await;
    // Every number from here on was sent after the join returned.
    let first_owed = next.load(Ordering::SeqCst);
    let mut expected = None;
    while expected.is_none_or(|n| n < first_owed + 200) {
        let got = wait_for(&mut bob_events, "alice's next message", as_received).await;
        let number = u32::from_be_bytes(got.payload.try_into().expect("a 4-byte number"));
        match expected {
            // The first message bob gets may be any before the owed ones; later ones follow it.
            None => assert!(number <= first_owed, "bob's first message is {number}, after {first_owed}: lost"),
            Some(want) => assert_eq!(number, want, "a message was lost or reordered"),
        }
        expected = Some(number + 1);
    }
    stop.store(true, Ordering::SeqCst);
    sender.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_identities_limit_who_receives() {
    let server = start_server();
    let (alice, _alice_events) = join(&server, "d3", "alice").await;
    let (_bob, mut bob_events) = join(&server, "d3", "bob").await;
    let (_carol, mut carol_events) = join(&server, "d3", "carol").await;

    let options = DataOptions::reliable().with_topic("private").with_destinations(["bob"]);
    alice.local_participant().publish_data(b"for bob".to_vec(), options).await.unwrap();
    let got = wait_for(&mut bob_events, "the message for bob", as_received).await;
    assert_eq!(got.payload, b"for bob".to_vec());

    // Everyone gets a broadcast sent after it, so carol's stream is past the private message.
    alice.local_participant().publish_data(b"for all".to_vec(), DataOptions::reliable()).await.unwrap();
    let got = wait_for(&mut carol_events, "the broadcast", as_received).await;
    assert_eq!(got.payload, b"for all".to_vec(), "carol must not have received the private message first");
}

/// Sent by the server API right after the join returned, each of several times: with one peer
/// connection the join waits until the server has our channels (`engine::session`); before it
/// did, 9 of 30 such messages were lost on a loaded machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_send_data_reaches_the_room_without_a_sender() {
    let server = start_server();
    let client = RoomClient::with_api_key(&server.http_url(), server.api_key(), server.api_secret());
    for round in 0..5 {
        let room = format!("d4-{round}");
        let (_alice, mut alice_events) = join(&server, &room, "alice").await;
        let options = SendDataOptions { topic: Some("announce".into()), ..Default::default() };
        client.send_data(&room, b"from the server".to_vec(), options).await.unwrap();
        let got = wait_for(&mut alice_events, "server DataReceived", as_received).await;
        assert_eq!(got.payload, b"from the server".to_vec());
        assert_eq!(got.topic.as_deref(), Some("announce"));
        assert_eq!(got.sender, None);

        // A quiet window after the positive check: nothing else arrives (no duplicates).
        assert_no_event(&mut alice_events, Duration::from_millis(300), "duplicate DataReceived", |e| {
            matches!(e, RoomEvent::DataReceived { .. })
        })
        .await;
    }
}
