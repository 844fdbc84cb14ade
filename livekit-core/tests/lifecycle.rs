//! What a long-lived process needs from the client: joining and leaving a thousand times
//! leaks no memory, file descriptor or thread; a network that stays gone ends in
//! `Disconnected` after the attempts the policy allows, within a bound, with nothing left
//! running.

mod common;

use std::time::{Duration, Instant};

use common::*;
use livekit_core::room::{DisconnectReason, ReconnectPolicy};
use livekit_core::{Room, RoomEvent, RoomOptions};

/// What the process holds now.
#[derive(Clone, Copy, Debug)]
struct Usage {
    rss_kib: u64,
    fds: usize,
    threads: usize,
}

fn usage() -> Usage {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    let count = |dir: &str| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    Usage { rss_kib, fds: count("/proc/self/fd"), threads: count("/proc/self/task") }
}

/// Waits (closing is asynchronous: sockets and threads go a moment after `disconnect`) until
/// the fds and threads are back to `baseline`; returns the usage then.
async fn settle_to(baseline: Usage, limit: Duration) -> Usage {
    let deadline = Instant::now() + limit;
    loop {
        let now = usage();
        if (now.fds <= baseline.fds && now.threads <= baseline.threads) || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await; // polling /proc, not an event
    }
}

const CYCLES: usize = 1000;
const WARM_UP: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_joins_and_leaves_leak_nothing() {
    let server = start_server();
    let token = token(&server, "soak", "cycler");
    let mut baseline = None;
    let started = Instant::now();
    for cycle in 0..CYCLES {
        if cycle == WARM_UP {
            // Caches, the runtime's worker threads and allocator arenas have grown by now.
            let quiet = settle_to(usage(), Duration::from_secs(2)).await;
            baseline = Some(quiet);
        }
        let (room, _events) = Room::connect(&server.url(), &token, common::room_options())
            .await
            .unwrap_or_else(|err| panic!("cycle {cycle}: {err}"));
        room.disconnect().await.unwrap();
    }
    let baseline = baseline.expect("more cycles than the warm-up");
    let end = settle_to(baseline, Duration::from_secs(20)).await;
    let growth_mib = (end.rss_kib as f64 - baseline.rss_kib as f64) / 1024.0;
    eprintln!(
        "{CYCLES} cycles in {:?}; after {WARM_UP}: {baseline:?}; at the end: {end:?}; RSS growth {growth_mib:.2} MiB",
        started.elapsed()
    );
    assert!(end.fds <= baseline.fds, "file descriptors grew: {baseline:?} -> {end:?}");
    assert!(end.threads <= baseline.threads, "threads grew: {baseline:?} -> {end:?}");
    assert!(growth_mib < 5.0, "resident memory grew by {growth_mib:.2} MiB over {CYCLES} cycles");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_gone_for_good_ends_in_disconnected_with_nothing_left() {
    if !netns::inside_namespace() {
        return netns::run_in_namespace("a_network_gone_for_good_ends_in_disconnected_with_nothing_left", "");
    }
    let server = start_server();
    let before = usage();
    let policy = ReconnectPolicy { max_attempts: 3, ..ReconnectPolicy::default() };
    let options =
        RoomOptions { reconnect_policy: policy, connect_timeout: Duration::from_secs(3), ..common::room_options() };
    let (room, mut events) =
        Room::connect(&server.url(), &token(&server, "gone", "mobile"), options).await.expect("join");

    // Every packet in this namespace is dropped from now on: no reset, no ICMP, as when a
    // phone loses its network.
    netns::nft(&["add", "table", "inet", "gone"]);
    netns::nft(&["add", "chain", "inet", "gone", "input", "{ type filter hook input priority 0; }"]);
    netns::nft(&["add", "rule", "inet", "gone", "input", "drop"]);
    let cut_at = Instant::now();

    // The signalling notices after the server's ping timeout (15 s); then 3 attempts: the
    // resume waits one connect timeout (3 s), a full reconnect two (the WebSocket, then the
    // `/rtc/validate` request that would explain a refusal); at most 0.9 s between attempts.
    let bound = Duration::from_secs(15 + 3 + 2 * 6 + 1 + 5);
    let reason = wait_for_within(&mut events, bound, "Disconnected", |e| match e {
        RoomEvent::Reconnected => panic!("reconnected without a network"),
        RoomEvent::Disconnected { reason } => Some(*reason),
        _ => None,
    })
    .await;
    let after = cut_at.elapsed();
    eprintln!("Disconnected ({reason:?}) {after:?} after the network went");
    assert_eq!(reason, DisconnectReason::ConnectionLost);
    drop(room);
    drop(events);
    let end = settle_to(before, Duration::from_secs(15)).await;
    assert!(end.fds <= before.fds, "file descriptors left: {before:?} -> {end:?}");
    assert!(end.threads <= before.threads, "threads left: {before:?} -> {end:?}");
}
