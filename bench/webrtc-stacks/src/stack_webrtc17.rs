//! `webrtc` 0.17.2 (the stack livekit-core uses today), set up as `engine/peer.rs` does, plus
//! a loopback-only IP filter and no mDNS so all three stacks gather the same single candidate.
//!
//! Media (facts/media.md section 6): a MediaEngine with the default codecs, the audio-level
//! extension and NACK for audio, the default interceptors, and our `Tap` (tap17.rs) registered
//! first, so it wraps the socket side and sees every packet.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use tokio::sync::{mpsc, Notify};
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::data_channel::data_channel_init::RTCDataChannelInit;
use webrtc::data_channel::RTCDataChannel;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use webrtc::rtp::extension::HeaderExtension;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecCapability, RTCRtpHeaderExtensionCapability, RTPCodecType};
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::{RTCPFeedback, RTCRtpTransceiverInit};
use webrtc::stats::StatsReportType;
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::TrackLocal;

use crate::peers::{self, FromPeers, IceServer, PeersEnds, PeersHandle, Role, ToPeers};
use crate::tap17::{Tap, TapCounts};

fn new_api(counts: Arc<TapCounts>) -> anyhow::Result<API> {
    let mut settings = SettingEngine::default();
    // The server is on loopback: without this 0.17 never offers a 127.x candidate.
    settings.set_include_loopback_candidate(true);
    settings.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    settings.set_network_types(vec![NetworkType::Udp4]);
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    // The server's checks often arrive before its trickled candidates, so the pair starts as
    // peer-reflexive, which the controlling agent nominates only after this wait (default
    // 1 s). Off by default to measure the stack as livekit-core uses it (docs/webrtc-stacks.md).
    if let Some(ms) = std::env::var("PROBE_WEBRTC17_PRFLX_WAIT_MS").ok().and_then(|v| v.parse().ok()) {
        settings.set_prflx_acceptance_min_wait(Some(Duration::from_millis(ms)));
    }
    if !peers::media_enabled() {
        return Ok(APIBuilder::new().with_setting_engine(settings).build());
    }
    let mut engine = MediaEngine::default();
    engine.register_default_codecs()?;
    let level = RTCRtpHeaderExtensionCapability { uri: webrtc::sdp::extmap::AUDIO_LEVEL_URI.to_owned() };
    engine.register_header_extension(level, RTPCodecType::Audio, None)?;
    // LiveKit offers `nack` for audio; the defaults register it for video only.
    engine.register_feedback(RTCPFeedback { typ: "nack".into(), parameter: String::new() }, RTPCodecType::Audio);
    let mut registry = Registry::new();
    // First in the chain = next to the socket.
    registry.add(Box::new(Tap(counts)));
    let registry = register_default_interceptors(registry, &mut engine)?;
    Ok(APIBuilder::new()
        .with_setting_engine(settings)
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .build())
}

pub async fn start(ice_servers: &[IceServer]) -> anyhow::Result<PeersHandle> {
    let (handle, ends) = peers::channels();
    let media = Media::default();
    // Media: one API per connection, so each has its own tap. Data only: one API, as before.
    let api = new_api(media.publisher.clone())?;
    let publisher = new_pc(&api, Role::Publisher, ice_servers, &ends.from).await?;
    let api = if peers::media_enabled() { new_api(media.subscriber.clone())? } else { api };
    let subscriber = new_pc(&api, Role::Subscriber, ice_servers, &ends.from).await?;

    let reliable = publisher
        .create_data_channel(peers::RELIABLE, Some(RTCDataChannelInit { ordered: Some(true), ..Default::default() }))
        .await?;
    let lossy_init = RTCDataChannelInit { ordered: Some(false), max_retransmits: Some(0), ..Default::default() };
    publisher.create_data_channel(peers::LOSSY, Some(lossy_init)).await?;
    let open_tx = ends.from.clone();
    reliable.on_open(Box::new(move || {
        let _ = open_tx.send(FromPeers::PublisherReliableOpen);
        Box::pin(async {})
    }));

    let offer = publisher.create_offer(None).await?;
    publisher.set_local_description(offer.clone()).await?;
    // Sent before any candidate event can be handled by the session (same queue, first).
    let _ = ends.from.send(FromPeers::LocalOffer(offer.sdp));

    let PeersEnds { to, from, send } = ends;
    tokio::spawn(send_loop(reliable, send));
    tokio::spawn(command_loop(publisher, subscriber, media, to, from));
    Ok(handle)
}

async fn new_pc(
    api: &API,
    role: Role,
    ice_servers: &[IceServer],
    from: &mpsc::UnboundedSender<FromPeers>,
) -> anyhow::Result<Arc<RTCPeerConnection>> {
    let config = RTCConfiguration {
        ice_servers: ice_servers
            .iter()
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect(),
        ..Default::default()
    };
    let pc = Arc::new(api.new_peer_connection(config).await?);

    let candidates = from.clone();
    pc.on_ice_candidate(Box::new(move |candidate| {
        if let Some(json) = candidate.and_then(|c| c.to_json().ok()).and_then(|i| serde_json::to_string(&i).ok()) {
            let _ = candidates.send(FromPeers::LocalCandidate(role, json));
        }
        Box::pin(async {})
    }));

    // Remote audio: every RTP payload to the measurement.
    let rtp_tx = from.clone();
    pc.on_track(Box::new(move |track, _receiver, _transceiver| {
        let rtp_tx = rtp_tx.clone();
        tokio::spawn(async move {
            while let Ok((packet, _)) = track.read_rtp().await {
                let _ = rtp_tx.send(FromPeers::Rtp { payload: packet.payload, at: std::time::Instant::now() });
            }
        });
        Box::pin(async {})
    }));

    // The server opens `_reliable`/`_lossy` on the subscriber connection; we read `_reliable`.
    let channel_events = from.clone();
    pc.on_data_channel(Box::new(move |dc| {
        if dc.label() == peers::RELIABLE {
            let open_tx = channel_events.clone();
            dc.on_open(Box::new(move || {
                let _ = open_tx.send(FromPeers::SubscriberReliableOpen);
                Box::pin(async {})
            }));
            let data_tx = channel_events.clone();
            dc.on_message(Box::new(move |msg| {
                let _ = data_tx.send(FromPeers::Data(msg.data));
                Box::pin(async {})
            }));
        }
        Box::pin(async {})
    }));
    Ok(pc)
}

/// Applies signalling in order; closes both connections when the session drops its sender.
async fn command_loop(
    publisher: Arc<RTCPeerConnection>,
    subscriber: Arc<RTCPeerConnection>,
    mut media: Media,
    mut to: mpsc::UnboundedReceiver<ToPeers>,
    from: mpsc::UnboundedSender<FromPeers>,
) {
    while let Some(command) = to.recv().await {
        if let Err(err) = apply(&publisher, &subscriber, &mut media, command, &from).await {
            let _ = from.send(FromPeers::Failed(format!("{err:#}")));
        }
    }
    let _ = publisher.close().await;
    let _ = subscriber.close().await;
}

async fn apply(
    publisher: &RTCPeerConnection,
    subscriber: &RTCPeerConnection,
    media: &mut Media,
    command: ToPeers,
    from: &mpsc::UnboundedSender<FromPeers>,
) -> anyhow::Result<()> {
    match command {
        ToPeers::Answer(sdp) => {
            publisher.set_remote_description(RTCSessionDescription::answer(sdp)?).await.context("publisher answer")?
        }
        ToPeers::Offer(sdp) => {
            subscriber.set_remote_description(RTCSessionDescription::offer(sdp)?).await.context("subscriber offer")?;
            let answer = subscriber.create_answer(None).await?;
            subscriber.set_local_description(answer.clone()).await?;
            let _ = from.send(FromPeers::LocalAnswer(answer.sdp));
        }
        ToPeers::PublishAudio { track_id } => {
            let codec = RTCRtpCodecCapability {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            };
            let track = Arc::new(TrackLocalStaticRTP::new(codec, track_id, "probe-stream".into()));
            let init =
                RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, send_encodings: vec![] };
            let transceiver = publisher
                .add_transceiver_from_track(track.clone() as Arc<dyn TrackLocal + Send + Sync>, Some(init))
                .await?;
            // Interceptors run when RTCP is read: NACKs reach the responder only through this loop.
            let sender = transceiver.sender().await;
            tokio::spawn(async move { while sender.read_rtcp().await.is_ok() {} });
            media.track = Some(track);
            let offer = publisher.create_offer(None).await?;
            publisher.set_local_description(offer.clone()).await?;
            let _ = from.send(FromPeers::LocalOffer(offer.sdp));
        }
        ToPeers::Audio(packet) => {
            let Some(track) = &media.track else { return Ok(()) };
            // The track sets SSRC and payload type per binding; sequence and timestamp are ours.
            let rtp = webrtc::rtp::packet::Packet {
                header: webrtc::rtp::header::Header {
                    version: 2,
                    sequence_number: (packet.counter as u16).wrapping_add(media.first_sequence),
                    timestamp: packet.counter.wrapping_mul(960),
                    ..Default::default()
                },
                payload: packet.payload,
            };
            let level = HeaderExtension::AudioLevel(AudioLevelExtension { level: packet.level, voice: packet.voice });
            if track.write_rtp_with_extensions(&rtp, &[level]).await.is_err() {
                media.write_errors += 1;
            }
        }
        ToPeers::DropEvery(n) => media.publisher.drop_every.store(n, Ordering::Relaxed),
        ToPeers::Stats => {
            let mut lines = media.publisher.lines("pub");
            lines.extend(media.subscriber.lines("sub"));
            if media.write_errors > 0 {
                lines.push(("pub write errors".into(), media.write_errors.to_string()));
            }
            for (who, pc) in [("pub", publisher), ("sub", subscriber)] {
                for (id, report) in pc.get_stats().await.reports {
                    let text = match report {
                        StatsReportType::InboundRTP(s) => format!("{s:?}"),
                        StatsReportType::OutboundRTP(s) => format!("{s:?}"),
                        StatsReportType::RemoteInboundRTP(s) => format!("{s:?}"),
                        StatsReportType::RemoteOutboundRTP(s) => format!("{s:?}"),
                        _ => continue,
                    };
                    lines.push((format!("{who} {id}"), text.chars().take(700).collect()));
                }
            }
            let _ = from.send(FromPeers::MediaStats(lines));
        }
        ToPeers::Candidate(role, json) => {
            let init: RTCIceCandidateInit = serde_json::from_str(&json)?;
            let pc = if role == Role::Publisher { publisher } else { subscriber };
            // Not fatal: one unusable candidate (TCP, say) leaves the others.
            if let Err(err) = pc.add_ice_candidate(init).await {
                log::debug!("{role:?}: remote candidate refused: {err}");
            }
        }
    }
    Ok(())
}

/// Sends queued messages, holding back while the channel has more than the high-water mark
/// buffered; `on_buffered_amount_low` wakes it.
async fn send_loop(dc: Arc<RTCDataChannel>, mut send: mpsc::Receiver<Bytes>) {
    let low = Arc::new(Notify::new());
    dc.set_buffered_amount_low_threshold(peers::SEND_LOW_WATER).await;
    let wake = low.clone();
    dc.on_buffered_amount_low(Box::new(move || {
        wake.notify_one();
        Box::pin(async {})
    }))
    .await;
    while let Some(message) = send.recv().await {
        while dc.buffered_amount().await > peers::SEND_HIGH_WATER {
            low.notified().await;
        }
        if dc.send(&message).await.is_err() {
            return;
        }
    }
}

/// The publisher's track and both connections' tap counters.
#[derive(Default)]
struct Media {
    track: Option<Arc<TrackLocalStaticRTP>>,
    first_sequence: u16,
    write_errors: u64,
    publisher: Arc<TapCounts>,
    subscriber: Arc<TapCounts>,
}
