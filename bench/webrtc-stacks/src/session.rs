//! One LiveKit participant on any stack: signalling with `livekit-signaling` (as livekit-core
//! does), the stack's two peer connections, and LiveKit `DataPacket`s in and out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use bytes::Bytes;
use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalEvent, SignalEvents, SignalOptions};
use prost::Message;
use tokio::sync::{mpsc, watch};

use crate::peers::{FromPeers, IceServer, PeersHandle, Role, ToPeers};
use crate::stacks::Stack;

const JOIN_TIMEOUT: Duration = Duration::from_secs(20);

/// How far a join got, with the instants the connect figures are taken from.
#[derive(Clone, Debug, Default)]
struct Progress {
    offer_sent: Option<Instant>,
    publisher_open: Option<Instant>,
    subscriber_open: Option<Instant>,
    failed: Option<String>,
}

/// Connect figures of one join.
#[derive(Clone, Copy, Debug)]
pub struct JoinTimes {
    /// WebSocket connect to JoinResponse (the same code for every stack).
    pub signal: Duration,
    /// Publisher offer sent to our `_reliable` open.
    pub publisher: Duration,
    /// Publisher offer sent to the server's `_reliable` open on the subscriber connection.
    pub subscriber: Duration,
}

/// A user packet that reached us.
pub struct Received {
    pub from: String,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// What the media measurement listens to: a few server messages and the stack's media events.
pub enum MediaEvent {
    TrackPublished(proto::TrackPublishedResponse),
    Speakers(proto::SpeakersChanged),
    Quality(proto::ConnectionQualityUpdate),
    Rtp {
        payload: Bytes,
        at: Instant,
    },
    Stats(Vec<(String, String)>),
    /// An SDP with an audio m-line, and whose it is.
    Sdp(&'static str, String),
}

fn audio_sdp(media: &mpsc::UnboundedSender<MediaEvent>, what: &'static str, sdp: &str) {
    if sdp.contains("m=audio") {
        let _ = media.send(MediaEvent::Sdp(what, sdp.to_string()));
    }
}

pub struct Participant {
    pub times: JoinTimes,
    pub sid: String,
    pub media: mpsc::UnboundedReceiver<MediaEvent>,
    to_peers: mpsc::UnboundedSender<ToPeers>,
    signal: Arc<SignalClient>,
    send: mpsc::Sender<Bytes>,
    sequence: u32,
    task: tokio::task::JoinHandle<()>,
}

pub fn signal_options() -> SignalOptions {
    let mut options = SignalOptions::default();
    options.auto_subscribe = true;
    options.adaptive_stream = false;
    options.single_peer_connection = false;
    options.region_failover = false;
    options.client_capabilities = Vec::new();
    options.client_protocol = livekit_signaling::CLIENT_PROTOCOL_DEFAULT;
    options.sdk_options.sdk = "rust".into();
    options
}

impl Participant {
    /// Joins and returns once both `_reliable` channels are open (ours and the server's).
    pub async fn join(
        stack: Stack,
        url: &str,
        token: &str,
    ) -> anyhow::Result<(Self, mpsc::UnboundedReceiver<Received>)> {
        let started = Instant::now();
        let (signal, join, events) =
            SignalClient::connect(url, token, signal_options(), None).await.map_err(|e| anyhow!("signalling: {e}"))?;
        let signal_time = started.elapsed();
        let signal = Arc::new(signal);
        let ice_servers: Vec<IceServer> = join
            .ice_servers
            .iter()
            .map(|s| IceServer { urls: s.urls.clone(), username: s.username.clone(), credential: s.credential.clone() })
            .collect();
        let peers = match stack.start(&ice_servers).await {
            Ok(peers) => peers,
            Err(err) => {
                signal.close().await;
                return Err(err.context(format!("{} could not start", stack.name())));
            }
        };
        let (progress_tx, mut progress) = watch::channel(Progress::default());
        let (data_tx, data_rx) = mpsc::unbounded_channel();
        let send = peers.send.clone();
        let to_peers = peers.to.clone();
        let (media_tx, media) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(signal.clone(), events, peers, progress_tx, data_tx, media_tx));

        let need_subscriber = join.subscriber_primary;
        let done = |p: &Progress| {
            p.failed.is_some() || (p.publisher_open.is_some() && (p.subscriber_open.is_some() || !need_subscriber))
        };
        let waited = tokio::time::timeout(JOIN_TIMEOUT, progress.wait_for(done)).await.map(|r| r.map(|p| p.clone()));
        let snapshot = match waited {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => Progress { failed: Some("the session task ended".into()), ..Default::default() },
            Err(_) => {
                let p = progress.borrow().clone();
                Progress { failed: Some(format!("not connected after {JOIN_TIMEOUT:?}: {}", describe(&p))), ..p }
            }
        };
        if let Some(reason) = snapshot.failed {
            task.abort();
            signal.close().await;
            bail!("{} join failed: {reason}", stack.name());
        }
        let offer_sent = snapshot.offer_sent.expect("an open channel follows the offer");
        let publisher = snapshot.publisher_open.expect("waited for") - offer_sent;
        let subscriber = snapshot.subscriber_open.map(|t| t.saturating_duration_since(offer_sent)).unwrap_or_default();
        let times = JoinTimes { signal: signal_time, publisher, subscriber };
        let sid = join.participant.as_ref().map(|p| p.sid.clone()).unwrap_or_default();
        let participant = Self { times, sid, media, to_peers, signal, send, sequence: 0, task };
        Ok((participant, data_rx))
    }

    /// Sends a reliable user packet to one participant; waits while the stack is backed up.
    pub async fn send_to(&mut self, destination: &str, topic: &str, payload: Vec<u8>) -> anyhow::Result<()> {
        self.sequence += 1;
        let packet = proto::DataPacket {
            destination_identities: vec![destination.to_string()],
            sequence: self.sequence,
            value: Some(proto::data_packet::Value::User(proto::UserPacket {
                payload,
                topic: Some(topic.to_string()),
                ..Default::default()
            })),
            ..Default::default()
        };
        self.send.send(Bytes::from(packet.encode_to_vec())).await.map_err(|_| anyhow!("the stack stopped"))
    }

    /// Asks the server to publish a microphone track (LiveKit's step before the new offer).
    pub async fn add_audio_track(&self, cid: &str) {
        let request = proto::AddTrackRequest {
            cid: cid.to_string(),
            name: "mic".into(),
            r#type: proto::TrackType::Audio as i32,
            source: proto::TrackSource::Microphone as i32,
            ..Default::default()
        };
        self.signal.send(proto::signal_request::Message::AddTrack(request)).await;
    }

    /// A media command for this participant's stack.
    pub fn media_command(&self, command: ToPeers) -> anyhow::Result<()> {
        self.to_peers.send(command).map_err(|_| anyhow!("the stack stopped"))
    }

    pub async fn leave(self) {
        let leave = proto::LeaveRequest {
            can_reconnect: false,
            reason: proto::DisconnectReason::ClientInitiated as i32,
            action: proto::leave_request::Action::Disconnect as i32,
            regions: None,
        };
        self.signal.send(proto::signal_request::Message::Leave(leave)).await;
        self.signal.close().await;
        // Ending the task drops the stack's command sender, which closes its connections.
        self.task.abort();
        let _ = self.task.await;
    }
}

fn describe(p: &Progress) -> String {
    format!(
        "offer sent: {}, our _reliable open: {}, server _reliable open: {}",
        p.offer_sent.is_some(),
        p.publisher_open.is_some(),
        p.subscriber_open.is_some()
    )
}

fn session_description(kind: &str, sdp: String, id: u32) -> proto::SessionDescription {
    proto::SessionDescription { r#type: kind.to_string(), sdp, id, ..Default::default() }
}

/// Moves messages between the signalling and the stack until either side ends.
async fn drive(
    signal: Arc<SignalClient>,
    mut events: SignalEvents,
    mut peers: PeersHandle,
    progress: watch::Sender<Progress>,
    data: mpsc::UnboundedSender<Received>,
    media: mpsc::UnboundedSender<MediaEvent>,
) {
    let mut last_offer_id = 0;
    // Our publisher offers, numbered (a renegotiation is a second offer).
    let mut our_offer_id = 0;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(SignalEvent::Message(message)) => {
                    use proto::signal_response::Message as M;
                    let command = match *message {
                        M::Answer(answer) => {
                            audio_sdp(&media, "server answer (publisher)", &answer.sdp);
                            ToPeers::Answer(answer.sdp)
                        }
                        M::Offer(offer) => {
                            audio_sdp(&media, "server offer (subscriber)", &offer.sdp);
                            last_offer_id = offer.id;
                            ToPeers::Offer(offer.sdp)
                        }
                        M::Trickle(trickle) => {
                            let role = if trickle.target == proto::SignalTarget::Subscriber as i32 {
                                Role::Subscriber
                            } else {
                                Role::Publisher
                            };
                            ToPeers::Candidate(role, trickle.candidate_init)
                        }
                        M::TrackPublished(published) => {
                            let _ = media.send(MediaEvent::TrackPublished(published));
                            continue;
                        }
                        M::SpeakersChanged(speakers) => {
                            let _ = media.send(MediaEvent::Speakers(speakers));
                            continue;
                        }
                        M::ConnectionQuality(quality) => {
                            let _ = media.send(MediaEvent::Quality(quality));
                            continue;
                        }
                        M::Leave(leave) => {
                            progress.send_modify(|p| p.failed = Some(format!("the server sent leave: {leave:?}")));
                            return;
                        }
                        _ => continue,
                    };
                    let _ = peers.to.send(command);
                }
                Some(SignalEvent::Close(reason)) => {
                    progress.send_modify(|p| p.failed = Some(format!("signalling closed: {reason}")));
                    return;
                }
                None => return,
            },
            Some(event) = peers.from.recv() => match event {
                FromPeers::LocalOffer(sdp) => {
                    progress.send_modify(|p| { p.offer_sent.get_or_insert_with(Instant::now); });
                    audio_sdp(&media, "our offer (publisher)", &sdp);
                    our_offer_id += 1;
                    let offer = session_description("offer", sdp, our_offer_id);
                    signal.send(proto::signal_request::Message::Offer(offer)).await;
                }
                FromPeers::LocalAnswer(sdp) => {
                    audio_sdp(&media, "our answer (subscriber)", &sdp);
                    let answer = session_description("answer", sdp, last_offer_id);
                    signal.send(proto::signal_request::Message::Answer(answer)).await;
                }
                FromPeers::LocalCandidate(role, candidate_init) => {
                    let target = match role {
                        Role::Publisher => proto::SignalTarget::Publisher,
                        Role::Subscriber => proto::SignalTarget::Subscriber,
                    };
                    let trickle = proto::TrickleRequest { candidate_init, target: target as i32, r#final: false };
                    signal.send(proto::signal_request::Message::Trickle(trickle)).await;
                }
                FromPeers::PublisherReliableOpen => {
                    progress.send_modify(|p| { p.publisher_open.get_or_insert_with(Instant::now); });
                }
                FromPeers::SubscriberReliableOpen => {
                    progress.send_modify(|p| { p.subscriber_open.get_or_insert_with(Instant::now); });
                }
                FromPeers::Data(bytes) => forward(&bytes, &data),
                FromPeers::Failed(reason) => {
                    log::warn!("stack failed: {reason}");
                    progress.send_modify(|p| p.failed = Some(reason));
                }
                FromPeers::Rtp { payload, at } => { let _ = media.send(MediaEvent::Rtp { payload, at }); }
                FromPeers::MediaStats(lines) => { let _ = media.send(MediaEvent::Stats(lines)); }
            },
        }
    }
}

/// Decodes a packet from the server; only user packets matter here.
fn forward(bytes: &[u8], data: &mpsc::UnboundedSender<Received>) {
    let Ok(packet) = proto::DataPacket::decode(bytes) else { return };
    if let Some(proto::data_packet::Value::User(user)) = packet.value {
        let _ = data.send(Received {
            from: packet.participant_identity,
            topic: user.topic.unwrap_or_default(),
            payload: user.payload,
        });
    }
}
