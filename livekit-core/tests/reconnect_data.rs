//! Reliable data across reconnects, with the official Python SDK as the other end: 10,000
//! numbered messages while our signalling connection is cut 20 times (by a TCP proxy of the
//! test's own), in each direction. None may be lost or duplicated, and the order must hold.

mod common;

use std::time::{Duration, Instant};

use common::*;
use livekit_core::{DataOptions, Room, RoomEvent};
use livekit_test_harness::{TcpProxy, TestServer};
use tokio::sync::mpsc::UnboundedReceiver;

const MESSAGES: u64 = 10_000;
const CUTS: u64 = 20;
const TOPIC: &str = "numbered";
/// Per resume: the server restarts the subscriber's ICE, which webrtc-rs can only do once the
/// previous round of gathering ended (up to 5 s with the test server's silent STUN address).
const RESUME_TIMEOUT: Duration = Duration::from_secs(30);

async fn join_through(
    proxy: &TcpProxy,
    server: &TestServer,
    room: &str,
    identity: &str,
) -> (Room, UnboundedReceiver<RoomEvent>) {
    Room::connect(&proxy.url(), &token(server, room, identity), common::room_options())
        .await
        .unwrap_or_else(|err| panic!("{identity} could not join through the proxy: {err}"))
}

/// Waits for `Reconnected` (a resume: no participant may leave meanwhile); returns how long
/// it took. Data events on the way go to `on_data`.
async fn wait_resumed(events: &mut UnboundedReceiver<RoomEvent>, mut on_data: impl FnMut(&RoomEvent)) -> Duration {
    let started = Instant::now();
    let wait = async {
        while let Some(event) = events.recv().await {
            match &event {
                RoomEvent::Reconnected => return,
                RoomEvent::ParticipantDisconnected(p) => panic!("{} left during a resume", p.identity()),
                RoomEvent::Disconnected { reason } => panic!("disconnected: {reason:?}"),
                _ => on_data(&event),
            }
        }
    };
    tokio::time::timeout(RESUME_TIMEOUT, wait).await.expect("Reconnected after a cut");
    started.elapsed()
}

fn number_of(event: &RoomEvent) -> Option<u64> {
    match event {
        RoomEvent::DataReceived { payload, topic: Some(topic), .. } if topic == TOPIC => {
            std::str::from_utf8(payload).ok()?.parse().ok()
        }
        _ => None,
    }
}

fn assert_exactly_once_in_order(numbers: &[u64]) {
    let expected: Vec<u64> = (0..MESSAGES).collect();
    if numbers != expected.as_slice() {
        let mut sorted = numbers.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        panic!(
            "received {} messages ({} distinct, {} missing); first out of place at index {:?}",
            numbers.len(),
            sorted.len(),
            MESSAGES as usize - sorted.len(),
            numbers.iter().zip(&expected).position(|(a, b)| a != b)
        );
    }
}

fn report(direction: &str, resumes: &[Duration]) {
    let mut sorted = resumes.to_vec();
    sorted.sort();
    eprintln!(
        "{direction}: {} resumes, median {:?}, max {:?}",
        sorted.len(),
        sorted[sorted.len() / 2],
        sorted.last().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_to_an_official_receiver_survive_twenty_cuts() {
    let server = start_server();
    let proxy = TcpProxy::start(server.http_port()).unwrap();
    let (ours, mut events) = join_through(&proxy, &server, "d1", "mobile").await;
    let mut official = official_peer(&server, "d1", "py").await;
    official.count_numbered(TOPIC, MESSAGES).await.unwrap();
    wait_until_known(&mut events, "py").await;

    let (sent_tx, mut sent) = tokio::sync::watch::channel(0u64);
    let sender = {
        let ours = ours.clone();
        tokio::spawn(async move {
            let local = ours.local_participant();
            // 500 a second, as the official sender in the other direction: the server drops a
            // reliable packet whose write to a slow receiver blocks over 50 ms
            // (`datachannel_writer.go`), and a busy CI machine made the Python receiver that slow
            // when we sent as fast as we could. The ticks also let cuts land mid-flight.
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for i in 0..MESSAGES {
                if i % 10 == 0 {
                    tick.tick().await;
                }
                let options = DataOptions { topic: Some(TOPIC.into()), ..Default::default() };
                local.publish_data(i.to_string().into_bytes(), options).await.expect("publish_data");
                sent_tx.send_replace(i + 1);
            }
        })
    };
    let mut resumes = Vec::new();
    for cut in 1..=CUTS {
        let threshold = cut * MESSAGES / (CUTS + 1);
        sent.wait_for(|&n| n >= threshold).await.expect("the sender goes on");
        assert_eq!(proxy.cut(), 1, "cut {cut}: one signalling connection was open");
        resumes.push(wait_resumed(&mut events, |_| {}).await);
    }
    sender.await.unwrap();
    let complete = official.wait_event(Duration::from_secs(60), |e| e["type"] == "numbered_complete").await;
    if let Err(err) = complete {
        // Say which messages are missing (below) and what the server said about data: it drops
        // a reliable packet whose write to a receiver blocks over 50 ms (`datachannel_writer.go`).
        eprintln!("the official receiver did not report all {MESSAGES}: {err}");
        let log = server.log();
        let data_lines: Vec<&str> = log.lines().filter(|l| l.contains("data") || l.contains("dropped")).collect();
        eprintln!("server log lines about data:\n{}", data_lines.join("\n"));
    }
    let numbers = official.numbered_report(TOPIC).await.unwrap();
    assert_exactly_once_in_order(&numbers);
    report("ours -> official", &resumes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_from_an_official_sender_survive_twenty_cuts() {
    let server = start_server();
    let proxy = TcpProxy::start(server.http_port()).unwrap();
    let (_ours, mut events) = join_through(&proxy, &server, "d2", "mobile").await;
    let mut official = official_peer(&server, "d2", "py").await;
    wait_until_known(&mut events, "py").await;

    let mut numbers = Vec::with_capacity(MESSAGES as usize);
    // The official peer sends on its own while this test cuts our signalling.
    let per_second = 500.0;
    let send = tokio::spawn(async move {
        official.send_numbered(TOPIC, 0, MESSAGES, per_second).await.expect("send_numbered");
        official
    });
    let mut resumes = Vec::new();
    for cut in 1..=CUTS {
        let threshold = (cut * MESSAGES / (CUTS + 1)) as usize;
        while numbers.len() < threshold {
            let event = tokio::time::timeout(EVENT_TIMEOUT, events.recv()).await.expect("data keeps coming").unwrap();
            numbers.extend(number_of(&event));
        }
        assert_eq!(proxy.cut(), 1, "cut {cut}: one signalling connection was open");
        resumes.push(wait_resumed(&mut events, |event| numbers.extend(number_of(event))).await);
    }
    let _official = send.await.unwrap();
    while numbers.len() < MESSAGES as usize {
        match tokio::time::timeout(EVENT_TIMEOUT, events.recv()).await {
            Ok(Some(event)) => numbers.extend(number_of(&event)),
            _ => break,
        }
    }
    assert_exactly_once_in_order(&numbers);
    report("official -> ours", &resumes);
}
