//! The narrow seam around the WebRTC stack (`webrtc` 0.17): one peer connection with its data
//! channels (media in `peer_media.rs`). Only SDP strings, candidate JSON, bytes and our own
//! types cross this boundary, so the stack can be swapped without touching the engine.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, watch, Notify};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::data_channel::data_channel_init::RTCDataChannelInit;
use webrtc::data_channel::data_channel_state::RTCDataChannelState;
use webrtc::data_channel::RTCDataChannel;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::ice_transport::ice_connection_state::RTCIceConnectionState;
use webrtc::ice_transport::ice_gatherer_state::RTCIceGathererState;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::offer_answer_options::RTCOfferOptions;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;

use super::peer_media::{self, AudioSender, MediaUse, ReceivedTrack, TrackSender};
use super::peer_video::{LayerFeedback, VideoSender};
use crate::error::{Error, Result};
use crate::media::VideoCodec;

/// Which of the two LiveKit peer connections this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerRole {
    Publisher,
    Subscriber,
}

/// Reliable or lossy: the two data channels LiveKit uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataPacketKind {
    /// Ordered and retransmitted until delivered.
    Reliable,
    /// Unordered and never retransmitted: a lost packet stays lost.
    Lossy,
}

impl DataPacketKind {
    pub(crate) const RELIABLE_LABEL: &'static str = "_reliable";
    pub(crate) const LOSSY_LABEL: &'static str = "_lossy";

    fn from_label(label: &str) -> Option<Self> {
        match label {
            Self::RELIABLE_LABEL => Some(Self::Reliable),
            Self::LOSSY_LABEL => Some(Self::Lossy),
            _ => None,
        }
    }
}

/// What a peer connection reports to the engine.
#[derive(Debug)]
pub(crate) enum PeerEvent {
    /// A local ICE candidate, as the JSON `RTCIceCandidateInit` the signalling carries.
    LocalCandidate { role: PeerRole, candidate_json: String },
    /// A message on one of the data channels (ours or the server's).
    Data { kind: DataPacketKind, data: Bytes },
    /// A remote track's media started arriving (subscriber connection).
    RemoteTrack(ReceivedTrack),
    /// A remote track's media ended (unsubscribed, unpublished, connection closed).
    RemoteTrackEnded { track_id: String },
    /// The peer connection failed (ICE found no path any more, or DTLS broke).
    Failed { role: PeerRole },
}

/// ICE server as given by the JoinResponse.
#[derive(Clone, Debug, Default)]
pub(crate) struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// A WebRTC API instance for one peer connection of a room, with the codecs its media needs.
pub(crate) fn new_api(media: MediaUse) -> Result<API> {
    let mut settings = SettingEngine::default();
    // Needed to reach a server on loopback; harmless elsewhere.
    settings.set_include_loopback_candidate(true);
    // LiveKit servers send plain IP candidates: no mDNS socket (and no multicast) per agent.
    settings.set_ice_multicast_dns_mode(webrtc::ice::mdns::MulticastDnsMode::Disabled);
    // The server's checks often arrive before its trickled candidate, making the pair
    // peer-reflexive; waiting the default 1 s before accepting it delayed one join in ten.
    settings.set_prflx_acceptance_min_wait(Some(std::time::Duration::ZERO));
    // Behind a firewall that drops UDP, the relay is the only path: the default 2 s wait before
    // nominating it made every such join take 2 s. Where UDP works, a host pair (no wait)
    // succeeds within a round trip, long before this.
    settings.set_relay_acceptance_min_wait(Some(std::time::Duration::from_millis(500)));
    let (media_engine, interceptors) = peer_media::media_engine_and_interceptors(media)?;
    Ok(APIBuilder::new()
        .with_setting_engine(settings)
        .with_media_engine(media_engine)
        .with_interceptor_registry(interceptors)
        .build())
}

pub(crate) struct PeerTransport {
    role: PeerRole,
    pc: Arc<RTCPeerConnection>,
    state: watch::Receiver<RTCPeerConnectionState>,
    ice_state: watch::Receiver<RTCIceConnectionState>,
    /// How many times ICE has reached `Connected` (a restart goes through `Checking` again).
    ice_connects: watch::Receiver<u64>,
    gathering: watch::Receiver<RTCIceGathererState>,
    /// Set once the remote side's `_reliable` channel is open on this connection.
    remote_reliable_open: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<PeerEvent>,
}

impl PeerTransport {
    pub async fn new(
        api: &API,
        role: PeerRole,
        ice_servers: &[IceServer],
        events: mpsc::UnboundedSender<PeerEvent>,
    ) -> Result<Self> {
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
        let pc = Arc::new(api.new_peer_connection(config).await.map_err(Error::internal)?);

        let candidate_events = events.clone();
        pc.on_ice_candidate(Box::new(move |candidate| {
            let events = candidate_events.clone();
            Box::pin(async move {
                let Some(candidate) = candidate else { return };
                match candidate.to_json().map(|init| serde_json::to_string(&init)) {
                    Ok(Ok(candidate_json)) => {
                        let _ = events.send(PeerEvent::LocalCandidate { role, candidate_json });
                    }
                    _ => log::warn!("could not serialise a local ICE candidate"),
                }
            })
        }));

        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let failure_events = events.clone();
        pc.on_peer_connection_state_change(Box::new(move |s| {
            log::debug!("{role:?} peer connection: {s}");
            if s == RTCPeerConnectionState::Failed {
                let _ = failure_events.send(PeerEvent::Failed { role });
            }
            let _ = state_tx.send(s);
            Box::pin(async {})
        }));

        let (ice_state_tx, ice_state) = watch::channel(RTCIceConnectionState::New);
        let (ice_connects_tx, ice_connects) = watch::channel(0u64);
        pc.on_ice_connection_state_change(Box::new(move |s| {
            log::debug!("{role:?} ICE: {s}");
            if s == RTCIceConnectionState::Connected {
                ice_connects_tx.send_modify(|n| *n += 1);
            }
            let _ = ice_state_tx.send(s);
            Box::pin(async {})
        }));

        let (gathering_tx, gathering) = watch::channel(RTCIceGathererState::New);
        pc.on_ice_gathering_state_change(Box::new(move |s| {
            let _ = gathering_tx.send(s);
            Box::pin(async {})
        }));

        let track_events = events.clone();
        let weak_pc = Arc::downgrade(&pc);
        pc.on_track(Box::new(move |track, _receiver, transceiver| {
            let ended_events = track_events.clone();
            let on_end = move |track_id| {
                let _ = ended_events.send(PeerEvent::RemoteTrackEnded { track_id });
            };
            let mid = transceiver.mid().map(|mid| mid.to_string());
            let received = peer_media::receive(track, mid, weak_pc.clone(), on_end);
            let _ = track_events.send(PeerEvent::RemoteTrack(received));
            Box::pin(async {})
        }));

        // The server opens its own `_reliable`/`_lossy` channels on the subscriber connection.
        let channel_events = events.clone();
        let (reliable_open_tx, remote_reliable_open) = watch::channel(false);
        let reliable_open_tx = Arc::new(reliable_open_tx);
        pc.on_data_channel(Box::new(move |dc| {
            forward_messages(&dc, channel_events.clone());
            if dc.label() == DataPacketKind::RELIABLE_LABEL {
                let open_tx = reliable_open_tx.clone();
                dc.on_open(Box::new(move || {
                    let _ = open_tx.send(true);
                    Box::pin(async {})
                }));
            }
            Box::pin(async {})
        }));

        Ok(Self { role, pc, state, ice_state, ice_connects, gathering, remote_reliable_open, events })
    }

    /// Creates one of the two LiveKit data channels on this (publisher) connection. Messages
    /// arriving on it are reported too: in single peer connection mode the server sends on ours.
    pub async fn create_data_channel(&self, kind: DataPacketKind) -> Result<DataChannel> {
        let init = match kind {
            DataPacketKind::Reliable => RTCDataChannelInit { ordered: Some(true), ..Default::default() },
            DataPacketKind::Lossy => {
                RTCDataChannelInit { ordered: Some(false), max_retransmits: Some(0), ..Default::default() }
            }
        };
        let label = match kind {
            DataPacketKind::Reliable => DataPacketKind::RELIABLE_LABEL,
            DataPacketKind::Lossy => DataPacketKind::LOSSY_LABEL,
        };
        let dc = self.pc.create_data_channel(label, Some(init)).await.map_err(Error::internal)?;
        forward_messages(&dc, self.events.clone());
        let (open_tx, open) = watch::channel(false);
        dc.on_open(Box::new(move || {
            let _ = open_tx.send(true);
            Box::pin(async {})
        }));
        let drained = Arc::new(Notify::new());
        dc.set_buffered_amount_low_threshold(BUFFER_LOW_WATER).await;
        let notify = drained.clone();
        dc.on_buffered_amount_low(Box::new(move || {
            notify.notify_waiters();
            Box::pin(async {})
        }))
        .await;
        Ok(DataChannel { dc, open, drained })
    }

    /// Adds a send-only audio track whose msid track id is `cid`, sent as RED when `red`
    /// (renegotiate afterwards).
    pub async fn add_audio_sender(&self, cid: &str, stream_id: &str, red: bool) -> Result<Arc<AudioSender>> {
        AudioSender::add(&self.pc, cid, stream_id, red).await.map(Arc::new)
    }

    pub async fn add_video_sender(
        &self,
        cid: &str,
        stream_id: &str,
        codec: VideoCodec,
        rids: &[&str],
    ) -> Result<(Arc<VideoSender>, mpsc::UnboundedReceiver<LayerFeedback>)> {
        let (sender, feedback) = VideoSender::add(&self.pc, cid, stream_id, codec, rids).await?;
        Ok((Arc::new(sender), feedback))
    }

    /// Adds receive-only media sections for the server's tracks (renegotiate afterwards).
    pub async fn add_receivers(&self, audios: u32, videos: u32) -> Result<()> {
        peer_media::add_receivers(&self.pc, audios, videos).await
    }

    /// Removes a published track's sender (renegotiate afterwards).
    pub async fn remove_sender(&self, sender: &TrackSender) -> Result<()> {
        self.pc.remove_track(sender.rtp_sender()).await.map_err(Error::internal)
    }

    /// Creates an offer (with new ICE credentials when `ice_restart`), applies it locally and
    /// returns its SDP.
    pub async fn create_offer(&self, ice_restart: bool) -> Result<String> {
        let options = RTCOfferOptions { ice_restart, ..Default::default() };
        let offer = self.pc.create_offer(Some(options)).await.map_err(Error::internal)?;
        self.pc.set_local_description(offer.clone()).await.map_err(Error::internal)?;
        log::trace!("{:?} offer:\n{}", self.role, offer.sdp);
        Ok(offer.sdp)
    }

    pub async fn apply_answer(&self, sdp: String) -> Result<()> {
        log::trace!("{:?} answer:\n{sdp}", self.role);
        let answer = RTCSessionDescription::answer(sdp).map_err(Error::internal)?;
        self.pc.set_remote_description(answer).await.map_err(Error::internal)
    }

    /// Applies a remote offer and returns the SDP of our answer.
    pub async fn answer_offer(&self, sdp: String) -> Result<String> {
        // An offer may restart ICE (the server's answer to a resume), which webrtc-rs refuses
        // while it still gathers; gathering ends within a few seconds (a STUN server that never
        // answers holds it for 5 s).
        if *self.gathering.borrow() == RTCIceGathererState::Gathering {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(6), self.wait_gathering_complete()).await;
        }
        let offer = RTCSessionDescription::offer(sdp).map_err(Error::internal)?;
        self.pc.set_remote_description(offer).await.map_err(Error::internal)?;
        let answer = self.pc.create_answer(None).await.map_err(Error::internal)?;
        self.pc.set_local_description(answer.clone()).await.map_err(Error::internal)?;
        Ok(answer.sdp)
    }

    pub async fn add_remote_candidate(&self, candidate_json: &str) -> Result<()> {
        let init: RTCIceCandidateInit = serde_json::from_str(candidate_json)
            .map_err(|e| Error::Internal(format!("bad ICE candidate from the server: {e}")))?;
        self.pc.add_ice_candidate(init).await.map_err(Error::internal)
    }

    /// Resolves when the connection is connected; fails if it fails or closes first.
    pub async fn wait_connected(&self) -> Result<()> {
        let mut state = self.state.clone();
        let role = self.role;
        let reached = state
            .wait_for(|s| {
                matches!(
                    s,
                    RTCPeerConnectionState::Connected | RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                )
            })
            .await
            .map_err(|_| Error::Connection(format!("{role:?} peer connection dropped")))?;
        match *reached {
            RTCPeerConnectionState::Connected => Ok(()),
            other => Err(Error::Connection(format!("{role:?} peer connection {other}"))),
        }
    }

    /// Resolves once ICE has found a working candidate pair (DTLS may still be under way).
    pub async fn wait_ice_connected(&self) {
        let mut state = self.ice_state.clone();
        let _ =
            state.wait_for(|s| matches!(s, RTCIceConnectionState::Connected | RTCIceConnectionState::Completed)).await;
    }

    /// Whether ICE reports a working path now.
    pub fn is_ice_connected(&self) -> bool {
        matches!(*self.ice_state.borrow(), RTCIceConnectionState::Connected | RTCIceConnectionState::Completed)
    }

    /// The connection's statistics report (RTP streams, ICE, data channels).
    pub async fn stats(&self) -> webrtc::stats::StatsReport {
        self.pc.get_stats().await
    }

    /// How many times ICE has connected so far.
    pub fn ice_connects(&self) -> u64 {
        *self.ice_connects.borrow()
    }

    /// Resolves once ICE has connected more than `count` times (after a restart).
    pub async fn wait_ice_connects_after(&self, count: u64) {
        let mut connects = self.ice_connects.clone();
        let _ = connects.wait_for(|n| *n > count).await;
    }

    /// Resolves once this round of candidate gathering is over (or the connection closed).
    pub async fn wait_gathering_complete(&self) {
        let mut gathering = self.gathering.clone();
        let _ = gathering.wait_for(|s| matches!(s, RTCIceGathererState::Complete | RTCIceGathererState::Closed)).await;
    }

    /// Resolves when the remote side's reliable channel is open, so data sent to us arrives.
    pub async fn wait_remote_reliable_open(&self) -> Result<()> {
        let mut open = self.remote_reliable_open.clone();
        open.wait_for(|o| *o)
            .await
            .map(|_| ())
            .map_err(|_| Error::Connection(format!("{:?} connection closed before its data channel opened", self.role)))
    }

    pub async fn close(&self) {
        if let Err(err) = self.pc.close().await {
            log::debug!("closing {:?} peer connection: {err}", self.role);
        }
    }
}

/// Feeds a channel's messages to the engine, tagged reliable or lossy by its label.
fn forward_messages(dc: &Arc<RTCDataChannel>, events: mpsc::UnboundedSender<PeerEvent>) {
    let Some(kind) = DataPacketKind::from_label(dc.label()) else {
        log::debug!("ignoring data channel {:?}", dc.label());
        return;
    };
    dc.on_message(Box::new(move |msg| {
        let _ = events.send(PeerEvent::Data { kind, data: msg.data });
        Box::pin(async {})
    }));
}

/// A reliable sender waits while more than this is queued in the channel, so a large stream
/// never piles up in memory; it resumes when the queue drains below `BUFFER_LOW_WATER`.
const BUFFER_HIGH_WATER: usize = 1024 * 1024;
const BUFFER_LOW_WATER: usize = 256 * 1024;

/// One of our outgoing data channels.
pub(crate) struct DataChannel {
    dc: Arc<RTCDataChannel>,
    open: watch::Receiver<bool>,
    drained: Arc<Notify>,
}

impl DataChannel {
    pub async fn wait_open(&self) -> Result<()> {
        let mut open = self.open.clone();
        open.wait_for(|o| *o)
            .await
            .map(|_| ())
            .map_err(|_| Error::Connection("data channel closed before it opened".into()))
    }

    /// Waits until the channel's queue is below the high-water mark.
    pub async fn wait_for_room(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable(); // registered before the check, so no wake-up is missed
            let closed = self.dc.ready_state() != RTCDataChannelState::Open;
            if closed || self.dc.buffered_amount().await <= BUFFER_HIGH_WATER {
                return; // a closed channel fails the send that follows instead of waiting forever
            }
            // The timeout re-checks the state: a channel that closes sends no "drained" signal.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(250), drained).await;
        }
    }

    /// Waits (at most `limit`) until the peer's SCTP has acknowledged everything queued, so a
    /// disconnect right after a send does not lose it.
    pub async fn drain(&self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.dc.ready_state() == RTCDataChannelState::Open
            && self.dc.buffered_amount().await > 0
            && tokio::time::Instant::now() < deadline
        {
            // Polled: webrtc-rs signals only a crossing of the low-water mark, not an empty queue.
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// Bytes handed to the channel that the peer's SCTP has not acknowledged yet.
    pub async fn buffered_amount(&self) -> usize {
        self.dc.buffered_amount().await
    }

    pub fn is_open(&self) -> bool {
        self.dc.ready_state() == RTCDataChannelState::Open
    }

    pub async fn send(&self, data: Bytes) -> Result<()> {
        self.dc.send(&data).await.map(|_| ()).map_err(|e| Error::Connection(format!("data channel send: {e}")))
    }

    pub async fn close(&self) {
        let _ = self.dc.close().await;
    }
}
