//! `webrtc` 0.21.1: the async layer over the Sans-I/O `rtc` core. Events come through one
//! handler trait and each data channel's `poll()`; sockets are bound on 127.0.0.1 explicitly
//! (a wildcard would skip loopback).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use rtc21::ice::mdns::MulticastDnsMode;
use tokio::sync::mpsc;
use webrtc21::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc21::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceCandidateInit,
    RTCIceServer, RTCPeerConnectionIceEvent, RTCSessionDescription, SettingEngineBuilder,
};

use crate::peers::{self, FromPeers, IceServer, PeersEnds, PeersHandle, Role, ToPeers};

type Pc = Arc<dyn PeerConnection>;

struct Handler {
    role: Role,
    from: mpsc::UnboundedSender<FromPeers>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Some(json) = event.candidate.to_json().ok().and_then(|i| serde_json::to_string(&i).ok()) {
            let _ = self.from.send(FromPeers::LocalCandidate(self.role, json));
        }
    }

    /// The server's channels on the subscriber connection.
    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        // Off the driver: reading the label takes the core lock.
        tokio::spawn(read_remote_channel(dc, self.from.clone()));
    }
}

/// Every channel must be polled: the driver holds undelivered events and stops reading SCTP.
async fn read_remote_channel(dc: Arc<dyn DataChannel>, from: mpsc::UnboundedSender<FromPeers>) {
    let reliable = dc.label().await.map(|l| l == peers::RELIABLE).unwrap_or(false);
    while let Some(event) = dc.poll().await {
        match event {
            DataChannelEvent::OnOpen if reliable => {
                let _ = from.send(FromPeers::SubscriberReliableOpen);
            }
            DataChannelEvent::OnMessage(msg) if reliable => {
                let _ = from.send(FromPeers::Data(msg.data.freeze()));
            }
            _ => {}
        }
    }
}

async fn new_pc(role: Role, ice_servers: &[IceServer], from: &mpsc::UnboundedSender<FromPeers>) -> anyhow::Result<Pc> {
    let config = RTCConfigurationBuilder::new()
        .with_ice_servers(
            ice_servers
                .iter()
                .map(|s| RTCIceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone(),
                    credential: s.credential.clone(),
                })
                .collect(),
        )
        .build();
    let mut settings = SettingEngineBuilder::new().with_multicast_dns_mode(MulticastDnsMode::Disabled);
    // Writes queued by internal events (DTLS start, DCEP open) wait for the next ICE timer tick;
    // this knob shortens the tick to show that cost (docs/webrtc-stacks.md).
    if let Some(ms) = std::env::var("PROBE_WEBRTC21_CHECK_INTERVAL_MS").ok().and_then(|v| v.parse().ok()) {
        settings = settings.with_ice_connection_attempts(Some(Duration::from_millis(ms)), None);
    }
    let settings = settings.build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_setting_engine(settings)
        .with_handler(Arc::new(Handler { role, from: from.clone() }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        // `send` then blocks above the high-water mark: the back-pressure we need.
        .with_data_channel_send_buffer_limit(peers::SEND_HIGH_WATER)
        .build()
        .await?;
    Ok(Arc::new(pc))
}

pub async fn start(ice_servers: &[IceServer]) -> anyhow::Result<PeersHandle> {
    let (handle, ends) = peers::channels();
    let publisher = new_pc(Role::Publisher, ice_servers, &ends.from).await?;
    let subscriber = new_pc(Role::Subscriber, ice_servers, &ends.from).await?;

    let reliable = publisher.create_data_channel(peers::RELIABLE, Some(RTCDataChannelInit::default())).await?;
    let lossy_init = RTCDataChannelInit { ordered: false, max_retransmits: Some(0), ..Default::default() };
    let lossy = publisher.create_data_channel(peers::LOSSY, Some(lossy_init)).await?;

    let offer = publisher.create_offer(None).await?;
    publisher.set_local_description(offer.clone()).await?;
    let _ = ends.from.send(FromPeers::LocalOffer(offer.sdp));

    let PeersEnds { to, from, send } = ends;
    tokio::spawn(watch_own_channel(reliable.clone(), Some(from.clone())));
    tokio::spawn(watch_own_channel(lossy, None));
    tokio::spawn(send_loop(reliable, send));
    tokio::spawn(command_loop(publisher, subscriber, to, from));
    Ok(handle)
}

/// Reports our `_reliable` opening (when `open_tx` is given) and drains the other events.
async fn watch_own_channel(dc: Arc<dyn DataChannel>, open_tx: Option<mpsc::UnboundedSender<FromPeers>>) {
    while let Some(event) = dc.poll().await {
        if let (DataChannelEvent::OnOpen, Some(tx)) = (&event, &open_tx) {
            let _ = tx.send(FromPeers::PublisherReliableOpen);
        }
    }
}

async fn send_loop(dc: Arc<dyn DataChannel>, mut send: mpsc::Receiver<Bytes>) {
    while let Some(message) = send.recv().await {
        if dc.send(BytesMut::from(&message[..])).await.is_err() {
            return;
        }
    }
}

async fn command_loop(
    publisher: Pc,
    subscriber: Pc,
    mut to: mpsc::UnboundedReceiver<ToPeers>,
    from: mpsc::UnboundedSender<FromPeers>,
) {
    while let Some(command) = to.recv().await {
        if let Err(err) = apply(&publisher, &subscriber, command, &from).await {
            let _ = from.send(FromPeers::Failed(format!("{err:#}")));
        }
    }
    let _ = publisher.close().await;
    let _ = subscriber.close().await;
}

async fn apply(
    publisher: &Pc,
    subscriber: &Pc,
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
