//! One session with the server: the signalling connection and its peer connections with the
//! `_reliable`/`_lossy` data channels. Two connections (publisher, offered by us; subscriber,
//! offered by the server), or in single peer connection mode one, offered by us, that also
//! receives: the server asks for receive sections with `MediaSectionsRequirement` and names the
//! track on each section in its answers. A resume keeps the session; a full reconnect replaces
//! it (`Engine`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use livekit_protocol as proto;
use livekit_signaling::SignalClient;
use parking_lot::Mutex;
use prost::Message;
use tokio::sync::{mpsc, Notify};

use super::negotiation::Negotiation;
use super::peer::{self, DataChannel, DataPacketKind, IceServer, PeerEvent, PeerRole, PeerTransport};
use super::peer_media::MediaUse;
use super::sequence::DuplicateFilter;
use super::turn_bridge::TurnBridges;
use super::{AudioSender, EngineEvent, EngineOptions, LayerFeedback, PeerConnectionMode, TrackSender, VideoSender};
use crate::error::{Error, Result};
use crate::media::VideoCodec;
use crate::signal::{self, SignalEvent};

pub(crate) struct Session {
    pub(super) signal: Arc<SignalClient>,
    /// The connection we offer: publishing and data, and in single mode subscribing too.
    pub(super) publisher: Arc<PeerTransport>,
    /// The server's connection; `None` in single peer connection mode.
    pub(super) subscriber: Option<Arc<PeerTransport>>,
    pub(super) reliable: DataChannel,
    /// Set during the join: with one connection only once `_reliable` is open (see `connect`).
    lossy: tokio::sync::OnceCell<DataChannel>,
    /// Set before we close the signalling ourselves during a resume, so the close it reports
    /// is not taken for a new break.
    expect_close: Arc<AtomicBool>,
    close_seen: Arc<Notify>,
    /// Publisher offers, one in flight at a time; held while an offer is made and sent.
    pub(super) negotiation: Arc<tokio::sync::Mutex<Negotiation>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// TURN over TCP/TLS for both peer connections; stopped on close.
    turn_bridges: Mutex<TurnBridges>,
}

impl Session {
    /// Joins: signalling first, then both peer connections; returns once data can flow. The
    /// session's events go to `events`.
    pub async fn connect(
        url: &str,
        token: &str,
        options: &EngineOptions,
        events: mpsc::UnboundedSender<EngineEvent>,
    ) -> Result<(Self, proto::JoinResponse)> {
        let try_single = options.peer_connection_mode != PeerConnectionMode::Dual;
        let (signal, join, signal_events) =
            signal::connect(url, token, options.auto_subscribe, try_single, options.connect_timeout).await?;
        let single = signal.is_single_pc_mode_active();
        if options.peer_connection_mode == PeerConnectionMode::Single && !single {
            signal.close().await;
            return Err(Error::Server(
                "the server has no single peer connection mode (/rtc/v1 answered 404): \
                 livekit-server 1.9.10 or later has it; PeerConnectionMode::Auto falls back to two"
                    .into(),
            ));
        }
        let signal = Arc::new(signal);
        log::debug!("joined with {} peer connection(s)", if single { 1 } else { 2 });
        let receivers = if single && options.auto_subscribe { published_media_counts(&join) } else { (0, 0) };
        let transports = Self::start_transports(
            signal.clone(),
            &join,
            signal_events,
            single.then_some(receivers),
            options.connect_timeout,
            events,
        );
        match transports.await {
            Ok(session) => Ok((session, join)),
            Err(err) => {
                signal.close().await;
                Err(err)
            }
        }
    }

    async fn start_transports(
        signal: Arc<SignalClient>,
        join: &proto::JoinResponse,
        signal_events: livekit_signaling::SignalEvents,
        single_with_receivers: Option<(u32, u32)>,
        connect_timeout: Duration,
        events: mpsc::UnboundedSender<EngineEvent>,
    ) -> Result<Self> {
        let ice_servers: Vec<IceServer> = join
            .ice_servers
            .iter()
            .map(|s| IceServer { urls: s.urls.clone(), username: s.username.clone(), credential: s.credential.clone() })
            .collect();
        let (ice_servers, turn_bridges) = TurnBridges::start(&ice_servers).await;
        let (peer_tx, peer_rx) = mpsc::unbounded_channel();
        let publisher_media = if single_with_receivers.is_some() { MediaUse::SendAndReceive } else { MediaUse::Send };
        let publisher_api = peer::new_api(publisher_media)?;
        let publisher =
            Arc::new(PeerTransport::new(&publisher_api, PeerRole::Publisher, &ice_servers, peer_tx.clone()).await?);
        let subscriber = match single_with_receivers {
            Some(_) => None,
            None => {
                let subscriber_api = peer::new_api(MediaUse::Receive)?;
                Some(Arc::new(PeerTransport::new(&subscriber_api, PeerRole::Subscriber, &ice_servers, peer_tx).await?))
            }
        };
        let reliable = publisher.create_data_channel(DataPacketKind::Reliable).await?;
        let lossy = tokio::sync::OnceCell::new();
        if subscriber.is_some() {
            let _ = lossy.set(publisher.create_data_channel(DataPacketKind::Lossy).await?);
        }
        // Sections for the tracks already published, so the server need not ask for them.
        if let Some((audios, videos)) = single_with_receivers {
            publisher.add_receivers(audios, videos).await?;
        }

        // The offer goes out before the task starts, so no local candidate can precede it.
        let mut negotiation = Negotiation::default();
        negotiation.request();
        let offer = publisher.create_offer(false).await?;
        signal.send(proto::signal_request::Message::Offer(session_description("offer", offer))).await;
        let negotiation = Arc::new(tokio::sync::Mutex::new(negotiation));

        let expect_close = Arc::new(AtomicBool::new(false));
        let close_seen = Arc::new(Notify::new());
        let task = crate::tasks::spawn(
            SessionTask {
                signal: signal.clone(),
                publisher: publisher.clone(),
                subscriber: subscriber.clone(),
                events,
                expect_close: expect_close.clone(),
                close_seen: close_seen.clone(),
                duplicates: DuplicateFilter::default(),
                negotiation: negotiation.clone(),
                mid_to_track_sid: HashMap::new(),
                mapped_track_ids: HashMap::new(),
            }
            .run(signal_events, peer_rx),
        );
        let engine = Self {
            signal,
            publisher,
            subscriber,
            reliable,
            lossy,
            expect_close,
            close_seen,
            negotiation,
            task: Mutex::new(Some(task)),
            turn_bridges: Mutex::new(turn_bridges),
        };

        let ready = async {
            engine.reliable.wait_open().await?;
            if engine.subscriber.is_none() {
                engine.open_lossy_and_wait_acknowledged().await?;
            }
            engine.lossy()?.wait_open().await?;
            if let Some(subscriber) = engine.subscriber.as_ref().filter(|_| join.subscriber_primary) {
                subscriber.wait_connected().await?;
                subscriber.wait_remote_reliable_open().await?;
            }
            Ok::<_, Error>(())
        };
        let ready = async {
            tokio::select! {
                result = ready => result,
                never = restart_stalled_publisher_ice(&engine) => match never {},
            }
        };
        match tokio::time::timeout(connect_timeout, ready).await {
            Ok(Ok(())) => Ok(engine),
            Ok(Err(err)) => {
                engine.close(false).await;
                Err(err)
            }
            Err(_) => {
                engine.close(false).await;
                Err(Error::timeout("connecting the peer connections", connect_timeout))
            }
        }
    }

    /// Whether this session runs on one peer connection.
    pub fn is_single_peer_connection(&self) -> bool {
        self.subscriber.is_none()
    }

    /// With one connection the server sends to us only on our channels, and drops what it
    /// sends before their open reached it, without telling us when that happened. So the join
    /// waits until the server's SCTP has acknowledged both opens (it has the channels a moment
    /// later). The server delays that acknowledgement by 200 ms unless a second packet follows
    /// the first: opening `_lossy` only once `_reliable` is open sends the two opens in two
    /// packets, and the second is acknowledged at once.
    async fn open_lossy_and_wait_acknowledged(&self) -> Result<()> {
        // `_reliable` reports open as its open is queued, not sent; without a pause the two
        // opens often left in one packet (one join in four waited the 200 ms). The send queue
        // gives no signal for "sent", so this is a pause, not a wait for an event.
        tokio::time::sleep(OPENS_APART).await;
        let lossy = self.publisher.create_data_channel(DataPacketKind::Lossy).await?;
        let lossy = self.lossy.get_or_init(|| async { lossy }).await;
        lossy.wait_open().await?;
        self.reliable.drain(OPEN_ACKNOWLEDGED_LIMIT).await;
        lossy.drain(OPEN_ACKNOWLEDGED_LIMIT).await;
        Ok(())
    }

    fn lossy(&self) -> Result<&DataChannel> {
        self.lossy.get().ok_or_else(|| Error::Connection("the lossy data channel is not open yet".into()))
    }

    /// Sends a lossy data packet at once.
    pub async fn send_lossy(&self, packet: Bytes) -> Result<()> {
        self.lossy()?.send(packet).await
    }

    /// Adds an audio track to the publisher connection (msid track id `cid`, as RED when
    /// `red`) and renegotiates.
    pub async fn publish_audio(&self, cid: &str, red: bool) -> Result<Arc<AudioSender>> {
        let sender = self.publisher.add_audio_sender(cid, cid, red).await?;
        renegotiate(&self.publisher, &self.signal, &self.negotiation).await?;
        Ok(sender)
    }

    /// Adds a video track to the publisher connection (msid track id `cid`; one encoding per
    /// rid, or one without a rid) and renegotiates; the server's feedback on each layer comes
    /// out of the receiver.
    pub async fn publish_video(
        &self,
        cid: &str,
        codec: VideoCodec,
        rids: &[&str],
    ) -> Result<(Arc<VideoSender>, mpsc::UnboundedReceiver<LayerFeedback>)> {
        let added = self.publisher.add_video_sender(cid, cid, codec, rids).await?;
        renegotiate(&self.publisher, &self.signal, &self.negotiation).await?;
        Ok(added)
    }

    /// Offers the publisher connection again with new ICE credentials (a resume).
    pub async fn restart_publisher_ice(&self) -> Result<()> {
        // webrtc-rs refuses to restart while it still gathers.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.publisher.wait_gathering_complete()).await;
        let mut negotiation = self.negotiation.lock().await;
        // An offer sent while the signalling was down was dropped, and its answer never comes.
        negotiation.on_offer_failed();
        if negotiation.request_ice_restart() {
            send_offer(&self.publisher, &self.signal, &mut negotiation).await?;
        }
        Ok(())
    }

    /// Removes a published track from the publisher connection and renegotiates.
    pub async fn unpublish(&self, sender: &TrackSender) -> Result<()> {
        self.publisher.remove_sender(sender).await?;
        renegotiate(&self.publisher, &self.signal, &self.negotiation).await
    }

    /// Closes our side of the signalling while a resume is under way, and waits until the
    /// session task has seen the close it causes (so it is not reported as a new break).
    pub async fn close_signal_for_resume(&self) {
        if !self.signal.is_connected().await {
            return;
        }
        let seen = self.close_seen.notified();
        self.expect_close.store(true, Ordering::SeqCst);
        self.signal.close().await;
        if tokio::time::timeout(Duration::from_secs(1), seen).await.is_err() {
            self.expect_close.store(false, Ordering::SeqCst);
        }
    }

    /// Closes everything. With `leave`, first lets queued reliable data go out (nothing sent
    /// reliably is dropped by our own disconnect), then sends `LeaveRequest` so others see us
    /// leave at once; a session replaced by a full reconnect closes without either.
    pub async fn close(&self, leave: bool) {
        if leave {
            self.reliable.drain(Duration::from_secs(2)).await;
        }
        let leave_request = proto::LeaveRequest {
            can_reconnect: false,
            reason: proto::DisconnectReason::ClientInitiated as i32,
            action: proto::leave_request::Action::Disconnect as i32,
            regions: None,
        };
        if leave {
            self.signal.send(proto::signal_request::Message::Leave(leave_request)).await;
        }
        self.signal.close().await;
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
        self.reliable.close().await;
        if let Some(lossy) = self.lossy.get() {
            lossy.close().await;
        }
        self.publisher.close().await;
        if let Some(subscriber) = &self.subscriber {
            subscriber.close().await;
        }
        *self.turn_bridges.lock() = TurnBridges::default();
    }
}

/// How long the publisher's ICE may search during a join before it starts over. webrtc-rs
/// gives up on a candidate pair after 8 unanswered checks (about 1.6 s) and never retries it,
/// so a server too busy to answer in that window left the join hanging until its timeout.
/// Restarting gives fresh pairs; 5 s leaves a slow but working path (TURN) time to connect.
const PUBLISHER_ICE_RESTART_AFTER: Duration = Duration::from_secs(5);

/// The pause between the two channels' opens, so they leave in two packets.
const OPENS_APART: Duration = Duration::from_millis(1);

/// How long a join waits for the server to acknowledge our channels' opens (one connection):
/// past it the join goes on, as it did before it waited.
const OPEN_ACKNOWLEDGED_LIMIT: Duration = Duration::from_secs(1);

/// Restarts the publisher's ICE each time it has not connected within
/// `PUBLISHER_ICE_RESTART_AFTER`; never returns once it has (the join's timeout ends it).
async fn restart_stalled_publisher_ice(engine: &Session) -> std::convert::Infallible {
    loop {
        if tokio::time::timeout(PUBLISHER_ICE_RESTART_AFTER, engine.publisher.wait_ice_connected()).await.is_ok() {
            return std::future::pending().await;
        }
        log::warn!("the publisher connection found no ICE path in {PUBLISHER_ICE_RESTART_AFTER:?}; restarting ICE");
        // webrtc-rs refuses to restart while it still gathers (a STUN server that never
        // answers holds gathering for 5 s).
        engine.publisher.wait_gathering_complete().await;
        let mut negotiation = engine.negotiation.lock().await;
        if negotiation.request_ice_restart() {
            if let Err(err) = send_offer(&engine.publisher, &engine.signal, &mut negotiation).await {
                log::warn!("restarting the publisher's ICE: {err}");
            }
        }
    }
}

/// Sends a new publisher offer now, or after the answer to the one in flight.
pub(super) async fn renegotiate(
    publisher: &PeerTransport,
    signal: &SignalClient,
    negotiation: &tokio::sync::Mutex<Negotiation>,
) -> Result<()> {
    let mut negotiation = negotiation.lock().await;
    if negotiation.request() {
        send_offer(publisher, signal, &mut negotiation).await?;
    }
    Ok(())
}

pub(super) async fn send_offer(
    publisher: &PeerTransport,
    signal: &SignalClient,
    negotiation: &mut Negotiation,
) -> Result<()> {
    let offer = match publisher.create_offer(negotiation.take_ice_restart()).await {
        Ok(offer) => offer,
        Err(err) => {
            negotiation.on_offer_failed();
            return Err(err);
        }
    };
    signal.send(proto::signal_request::Message::Offer(session_description("offer", offer))).await;
    Ok(())
}

/// How many audio and video tracks the others in the room publish when we join: in single mode
/// the first offer carries a receive section for each.
fn published_media_counts(join: &proto::JoinResponse) -> (u32, u32) {
    let tracks = join.other_participants.iter().flat_map(|p| &p.tracks);
    let (mut audios, mut videos) = (0u32, 0u32);
    for track in tracks {
        match proto::TrackType::try_from(track.r#type) {
            Ok(proto::TrackType::Audio) => audios += 1,
            Ok(proto::TrackType::Video) => videos += 1,
            _ => {}
        }
    }
    (audios.min(MAX_RECEIVERS_PER_REQUEST), videos.min(MAX_RECEIVERS_PER_REQUEST))
}

/// Receive sections added for one request of the server (or at join); a server asking for
/// more is asked again after the answer, which keeps a broken server from making us allocate
/// without bound.
const MAX_RECEIVERS_PER_REQUEST: u32 = 32;

fn session_description(kind: &str, sdp: String) -> proto::SessionDescription {
    proto::SessionDescription { r#type: kind.to_string(), sdp, ..Default::default() }
}

/// The session's event loop: negotiation and candidates, data decoding, forwarding the rest.
struct SessionTask {
    signal: Arc<SignalClient>,
    publisher: Arc<PeerTransport>,
    subscriber: Option<Arc<PeerTransport>>,
    events: mpsc::UnboundedSender<EngineEvent>,
    expect_close: Arc<AtomicBool>,
    close_seen: Arc<Notify>,
    duplicates: DuplicateFilter,
    negotiation: Arc<tokio::sync::Mutex<Negotiation>>,
    /// Single mode: the track sid on each receive section, from the server's answers.
    mid_to_track_sid: HashMap<String, String>,
    /// Single mode: received tracks whose msid id differs from their sid, by msid id.
    mapped_track_ids: HashMap<String, String>,
}

impl SessionTask {
    async fn run(
        mut self,
        mut signal_events: livekit_signaling::SignalEvents,
        mut peer_events: mpsc::UnboundedReceiver<PeerEvent>,
    ) {
        loop {
            tokio::select! {
                event = signal_events.recv() => match event {
                    Some(SignalEvent::Message(message)) => self.on_signal(*message).await,
                    // The session outlives its signalling connection: a resume opens a new one
                    // whose messages come on the same receiver.
                    Some(SignalEvent::Close(reason)) => {
                        if self.expect_close.swap(false, Ordering::SeqCst) {
                            self.close_seen.notify_one();
                        } else {
                            let _ = self.events.send(EngineEvent::SignalLost { reason: reason.into_owned() });
                        }
                    }
                    None => {
                        let _ = self.events.send(EngineEvent::SignalLost { reason: "signalling ended".into() });
                        return;
                    }
                },
                Some(event) = peer_events.recv() => self.on_peer(event).await,
            }
        }
    }

    async fn on_signal(&mut self, message: proto::signal_response::Message) {
        use proto::signal_response::Message as M;
        match message {
            M::Answer(answer) => {
                // Merged before the answer applies: its tracks may fire at once.
                log::debug!("answer maps sections {:?}", answer.mid_to_track_id);
                self.mid_to_track_sid.extend(answer.mid_to_track_id);
                let mut negotiation = self.negotiation.lock().await;
                if let Err(err) = self.publisher.apply_answer(answer.sdp).await {
                    log::error!("applying the publisher answer: {err}");
                }
                if negotiation.on_answer() {
                    if let Err(err) = send_offer(&self.publisher, &self.signal, &mut negotiation).await {
                        log::error!("renegotiating the publisher: {err}");
                    }
                }
            }
            M::Offer(offer) => {
                let Some(subscriber) = &self.subscriber else {
                    log::warn!("ignoring an offer from the server: this session has one peer connection");
                    return;
                };
                match subscriber.answer_offer(offer.sdp).await {
                    Ok(sdp) => {
                        let answer = proto::SessionDescription { id: offer.id, ..session_description("answer", sdp) };
                        self.signal.send(proto::signal_request::Message::Answer(answer)).await;
                    }
                    Err(err) => log::error!("answering the subscriber offer: {err}"),
                }
            }
            M::MediaSectionsRequirement(needed) => self.on_media_sections_requirement(needed).await,
            M::Trickle(trickle) => {
                let transport = match &self.subscriber {
                    Some(subscriber) if trickle.target == proto::SignalTarget::Subscriber as i32 => subscriber,
                    _ => &self.publisher,
                };
                if let Err(err) = transport.add_remote_candidate(&trickle.candidate_init).await {
                    log::warn!("adding a remote candidate: {err}");
                }
            }
            other => {
                let _ = self.events.send(EngineEvent::Signal(Box::new(other)));
            }
        }
    }

    /// Single mode: the server needs receive sections, or only a new offer (a subscription
    /// moved onto a section we have, or left one): it never offers itself.
    async fn on_media_sections_requirement(&mut self, needed: proto::MediaSectionsRequirement) {
        if self.subscriber.is_some() {
            log::debug!("ignoring a media sections requirement: this session has two peer connections");
            return;
        }
        log::debug!("the server needs {} audio and {} video sections", needed.num_audios, needed.num_videos);
        let audios = needed.num_audios.min(MAX_RECEIVERS_PER_REQUEST);
        let videos = needed.num_videos.min(MAX_RECEIVERS_PER_REQUEST);
        if let Err(err) = self.publisher.add_receivers(audios, videos).await {
            log::error!("adding receive sections: {err}");
        }
        if let Err(err) = renegotiate(&self.publisher, &self.signal, &self.negotiation).await {
            log::error!("offering the receive sections: {err}");
        }
    }

    /// Single mode names a received track by its section; the msid may still carry the
    /// section's earlier track.
    fn name_received_track(&mut self, track: &mut super::ReceivedTrack) {
        log::debug!("track {:?} stream {:?} on section {:?}", track.track_id, track.stream_id, track.mid);
        let Some(sid) = track.mid.as_ref().and_then(|mid| self.mid_to_track_sid.get(mid)) else { return };
        if *sid == track.track_id {
            return;
        }
        log::debug!("received track {} is {sid} (section {:?})", track.track_id, track.mid);
        let participant = track.stream_id.split('|').next().unwrap_or_default();
        track.stream_id = format!("{participant}|{sid}");
        self.mapped_track_ids.insert(track.track_id.clone(), sid.clone());
        track.track_id = sid.clone();
    }

    async fn on_peer(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::LocalCandidate { role, candidate_json } => {
                let target = match role {
                    PeerRole::Publisher => proto::SignalTarget::Publisher,
                    PeerRole::Subscriber => proto::SignalTarget::Subscriber,
                };
                let trickle =
                    proto::TrickleRequest { candidate_init: candidate_json, target: target as i32, r#final: false };
                self.signal.send(proto::signal_request::Message::Trickle(trickle)).await;
            }
            PeerEvent::Data { kind, data } => match proto::DataPacket::decode(data) {
                Ok(packet) => {
                    if self.duplicates.accept(&packet.participant_sid, packet.sequence) {
                        let _ = self.events.send(EngineEvent::Data { packet: Box::new(packet), kind });
                    }
                }
                Err(err) => log::warn!("dropping an undecodable data packet: {err}"),
            },
            PeerEvent::RemoteTrack(mut track) => {
                self.name_received_track(&mut track);
                let _ = self.events.send(EngineEvent::RemoteTrack(track));
            }
            PeerEvent::RemoteTrackEnded { track_id } => {
                let track_sid = self.mapped_track_ids.remove(&track_id).unwrap_or(track_id);
                let _ = self.events.send(EngineEvent::RemoteTrackEnded { track_sid });
            }
            PeerEvent::Failed { role } => {
                let _ = self.events.send(EngineEvent::PeerFailed { reason: format!("the {role:?} connection failed") });
            }
        }
    }
}
