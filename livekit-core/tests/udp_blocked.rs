//! Joining where a firewall blocks UDP: the client's only way in is the server's TURN over
//! TLS on port 443, as for the official SDKs behind such firewalls.
//!
//! Layout (all built by the test, root needed): the test runs again in a namespace of its own
//! (port 443 is free there) with the server, its TURN over TLS for a domain signed by a test CA,
//! and the official Python SDK as the peer. Our client runs in a second namespace, linked by a
//! veth pair that drops every UDP packet both ways; its hosts file names the TURN domain, and
//! `SSL_CERT_FILE` makes it trust the test CA. Join, data both ways and audio must work, and the
//! link must have dropped UDP on the way (it was tried, and blocked).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::netns::{inside_namespace, run_in_namespace, UdpBlockedNamespace, UDP_BLOCKED_SERVER_IP};
use common::tone::{official_records_the_tone, play_tone_forever};
use common::*;
use livekit_core::{AudioSource, LocalAudioTrack, LocalTrack, Room, TrackPublishOptions};
use livekit_test_harness::{write_test_certificate, OfficialPeer, ServerConfig, TestServer, TurnTls};

const TEST: &str = "ours_joins_and_sends_data_and_audio_when_udp_is_blocked";
const TURN_DOMAIN: &str = "turn.udp-blocked.test";
/// Set for the copy of the test that is our client, behind the UDP-blocking link: the URL and
/// the token, separated by a space.
const CLIENT_ENV: &str = "LK_UDP_BLOCKED_CLIENT";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_joins_and_sends_data_and_audio_when_udp_is_blocked() {
    if let Ok(url_and_token) = std::env::var(CLIENT_ENV) {
        let (url, token) = url_and_token.split_once(' ').expect("URL and token");
        return client_behind_the_firewall(url, token).await;
    }
    if !inside_namespace() {
        return run_in_namespace(TEST, "");
    }
    let _ = env_logger::builder().is_test(true).try_init();
    let blocked = UdpBlockedNamespace::create(&format!("127.0.0.1 localhost\n{UDP_BLOCKED_SERVER_IP} {TURN_DOMAIN}\n"));
    let dir = std::env::temp_dir().join(format!("lk-udp-blocked-{}", std::process::id()));
    let certificate = write_test_certificate(TURN_DOMAIN, &dir).expect("test certificate");
    let config = ServerConfig {
        node_ip: UDP_BLOCKED_SERVER_IP.into(),
        turn_tls: Some(TurnTls {
            domain: TURN_DOMAIN.into(),
            cert_file: certificate.cert_file.clone(),
            key_file: certificate.key_file.clone(),
            relay_ports: (31_000, 31_100),
        }),
        ..Default::default()
    };
    let server = TestServer::start_with(config).unwrap_or_else(|err| panic!("livekit-server: {err}"));
    let mut official = official_peer(&server, "udp-blocked", "py").await;

    let url = format!("ws://{UDP_BLOCKED_SERVER_IP}:{}", server.http_port());
    let mut client =
        tokio::process::Command::from(blocked.command(&std::env::current_exe().unwrap().to_string_lossy()));
    let mut client = client
        .args([TEST, "--exact", "--nocapture"])
        .env(CLIENT_ENV, format!("{url} {}", token(&server, "udp-blocked", "rusty")))
        .env("SSL_CERT_FILE", &certificate.ca_file)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starting our client in the UDP-blocked namespace");

    // Matched by its content: the data may come before the official SDK knows who sent it.
    let greeting = |e: &serde_json::Value| OfficialPeer::payload(e).is_ok_and(|p| p == b"over TURN/TLS");
    official
        .wait_event(Duration::from_secs(40), |e| e["type"] == "data_received" && greeting(e))
        .await
        .unwrap_or_else(|err| panic!("no data from our client behind the firewall: {err}\n{}", server.log()));
    let published = official
        .wait_event(Duration::from_secs(20), |e| e["type"] == "track_published" && e["identity"] == "rusty")
        .await
        .expect("our client's track is published");
    let sid = published["track_sid"].as_str().expect("a track sid").to_string();
    official_records_the_tone(&mut official, "rusty", &sid).await;
    official.publish_data(b"heard you", true, Some("t"), &["rusty"]).await.expect("the official peer answers");

    let status = tokio::time::timeout(Duration::from_secs(30), client.wait())
        .await
        .expect("our client ends once it has the answer")
        .expect("our client's exit status");
    assert!(status.success(), "our client failed behind the firewall ({status})");
    let dropped = blocked.dropped_udp_packets();
    eprintln!("UDP packets the link dropped: {dropped}");
    assert!(dropped > 0, "no UDP was dropped: the test did not block what the client tried");
    let _ = std::fs::remove_dir_all(dir);
}

/// Our client: joins, sends a message and a tone, and ends once the official peer answers.
async fn client_behind_the_firewall(url: &str, token: &str) {
    let _ = env_logger::builder().is_test(true).try_init();
    let started = std::time::Instant::now();
    let (room, mut events): (Room, _) =
        Room::connect(url, token, common::room_options()).await.expect("joining with UDP blocked");
    eprintln!("joined with UDP blocked in {:?}", started.elapsed());
    send_text(&room, "over TURN/TLS").await;
    let source = AudioSource::new(48_000, 1, 100).unwrap();
    let track = LocalAudioTrack::create("mic", &source);
    let player = play_tone_forever(source);
    room.local_participant()
        .publish_track(LocalTrack::Audio(track), TrackPublishOptions::default())
        .await
        .expect("publishing with UDP blocked");
    wait_for_within(&mut events, Duration::from_secs(60), "the official peer's answer", |e| match e {
        livekit_core::RoomEvent::DataReceived { payload, .. } if payload.as_slice() == b"heard you" => Some(()),
        _ => None,
    })
    .await;
    player.abort();
    room.disconnect().await.expect("leaving");
}
