//! The RTC engine: the current session with the server (`session.rs`: signalling, the two peer
//! connections and their data channels), and what survives a change of session: reliable
//! packet numbering, the packets a resume may have to send again, the event channel to the room.
//! It moves bytes and SDP; it knows nothing about participants (that is `room`), and it does
//! not decide when to reconnect (that is `room::reconnect`), only how.

mod audio_track_local;
mod lazy_interceptor;
mod negotiation;
mod peer;
mod peer_media;
mod peer_video;
mod resend;
mod sequence;
mod session;
mod stats_report;
mod turn_bridge;
mod turn_stream;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use livekit_protocol as proto;
use livekit_signaling::SignalError;
use parking_lot::RwLock;
use prost::Message;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::media::VideoCodec;
pub use peer::DataPacketKind;
pub(crate) use peer_media::{AudioSender, ReceivedTrack, TrackSender};
pub(crate) use peer_video::{LayerFeedback, VideoSender};
use resend::ResendBuffer;
use sequence::OutgoingSequence;
use session::Session;

/// What the engine reports to the room.
#[derive(Debug)]
pub(crate) enum EngineEvent {
    /// A signalling message the engine does not consume itself (updates, leave, responses...).
    Signal(Box<proto::signal_response::Message>),
    /// A data packet from the server, already de-duplicated.
    Data { packet: Box<proto::DataPacket>, kind: DataPacketKind },
    /// The signalling connection closed or stopped answering; the reason is for logs.
    SignalLost { reason: String },
    /// A peer connection failed; the reason is for logs.
    PeerFailed { reason: String },
    /// A subscribed track's media started arriving.
    RemoteTrack(ReceivedTrack),
    /// A subscribed track's media ended.
    RemoteTrackEnded { track_sid: String },
}

/// How many peer connections a session uses.
///
/// ```
/// use livekit_core::{PeerConnectionMode, RoomOptions};
/// let options = RoomOptions { peer_connection_mode: PeerConnectionMode::Dual, ..Default::default() };
/// assert_eq!(options.peer_connection_mode, PeerConnectionMode::Dual);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeerConnectionMode {
    /// One peer connection when the server offers it (`/rtc/v1`, livekit-server 1.9.10 and
    /// later), two on an older server: what the official SDKs do.
    #[default]
    Auto,
    /// One peer connection for publishing, subscribing and data; joining a server without it
    /// fails at once with `Error::Server`.
    Single,
    /// Two peer connections: a publisher offered by us and a subscriber offered by the server.
    Dual,
}

pub(crate) struct EngineOptions {
    pub auto_subscribe: bool,
    pub peer_connection_mode: PeerConnectionMode,
    pub connect_timeout: Duration,
    /// Further joins tried after one that timed out or lost its connection.
    pub join_retries: u32,
}

/// Why a reconnect attempt failed.
#[derive(Debug)]
pub(crate) enum AttemptFailure {
    /// The attempt failed with this error (unreachable, timed out, refused...).
    Refused(Error),
    /// The server answered with a `LeaveRequest`: `reconnect` when it allows another try.
    ServerLeave {
        /// The server allows another attempt (action RESUME or RECONNECT).
        reconnect: bool,
        /// The `DisconnectReason` it gave (protocol value).
        reason: i32,
    },
}

impl From<Error> for AttemptFailure {
    fn from(err: Error) -> Self {
        AttemptFailure::Refused(err)
    }
}

/// How long a resume may wait for both peer connections to prove they work again.
const RESUME_PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// Our reliable packets: numbered in order, and kept until the server surely has them.
#[derive(Default)]
struct ReliableSender {
    sequence: OutgoingSequence,
    sent: ResendBuffer,
}

pub(crate) struct Engine {
    session: RwLock<Arc<Session>>,
    /// Held across numbering and sending, so reliable packets leave in sequence order (a
    /// receiver drops a packet numbered below one it already has), and across a resume's
    /// resend, so new packets follow the resent ones.
    reliable: tokio::sync::Mutex<ReliableSender>,
    /// For the sessions a full reconnect opens. Taken on close: the room's dispatch task ends
    /// when the last sender goes, and with it the room (it holds the room).
    events: parking_lot::Mutex<Option<mpsc::UnboundedSender<EngineEvent>>>,
    options: EngineOptions,
    url: String,
    /// How often each peer connection's ICE had connected when the resume began.
    resume_marks: parking_lot::Mutex<(u64, u64)>,
}

impl Engine {
    /// Joins: signalling first, then both peer connections; returns once data can flow.
    pub async fn connect(
        url: &str,
        token: &str,
        mut options: EngineOptions,
    ) -> Result<(Self, proto::JoinResponse, mpsc::UnboundedReceiver<EngineEvent>)> {
        let (events, events_rx) = mpsc::unbounded_channel();
        let mut attempt = 0;
        let (session, join) = loop {
            match Session::connect(url, token, &options, events.clone()).await {
                Ok(joined) => break joined,
                Err(err) if attempt < options.join_retries && join_retry_may_help(&err) => {
                    attempt += 1;
                    log::warn!("joining failed ({err}); trying again ({attempt} of {})", options.join_retries);
                }
                Err(err) => return Err(err),
            }
        };
        // A server that answered 404 on `/rtc/v1` will again: full reconnects skip the question.
        if options.peer_connection_mode == PeerConnectionMode::Auto && !session.is_single_peer_connection() {
            options.peer_connection_mode = PeerConnectionMode::Dual;
        }
        let engine = Self {
            session: RwLock::new(Arc::new(session)),
            reliable: tokio::sync::Mutex::new(ReliableSender::default()),
            events: parking_lot::Mutex::new(Some(events)),
            options,
            url: url.to_string(),
            resume_marks: parking_lot::Mutex::new((0, 0)),
        };
        Ok((engine, join, events_rx))
    }

    fn session(&self) -> Arc<Session> {
        self.session.read().clone()
    }

    /// Whether the current session runs on one peer connection.
    pub fn is_single_peer_connection(&self) -> bool {
        self.session().is_single_peer_connection()
    }

    pub async fn send_signal(&self, message: proto::signal_request::Message) {
        self.session().signal.send(message).await;
    }

    pub fn next_request_id(&self) -> u32 {
        self.session().signal.next_request_id()
    }

    /// The latest token: the server refreshes it every few minutes, and a reconnect must use
    /// it once the one we joined with expired.
    pub fn token(&self) -> String {
        self.session().signal.token()
    }

    /// Sends a data packet. Reliable packets get the next sequence number, wait while the
    /// channel's queue is full, and are kept for a resume to send again; lossy packets go at once.
    pub async fn send_data(&self, mut packet: proto::DataPacket, kind: DataPacketKind) -> Result<()> {
        match kind {
            DataPacketKind::Reliable => {
                let mut reliable = self.reliable.lock().await;
                let session = self.session();
                session.reliable.wait_for_room().await;
                packet.sequence = reliable.sequence.next();
                let bytes = Bytes::from(packet.encode_to_vec());
                reliable.sent.push(packet.sequence, bytes.clone());
                let sent = session.reliable.send(bytes).await;
                let unacknowledged = session.reliable.buffered_amount().await;
                reliable.sent.trim(unacknowledged);
                sent
            }
            DataPacketKind::Lossy => self.session().send_lossy(Bytes::from(packet.encode_to_vec())).await,
        }
    }

    /// Adds an audio track to the publisher connection (msid track id `cid`, as RED when
    /// `red`) and renegotiates.
    pub async fn publish_audio(&self, cid: &str, red: bool) -> Result<Arc<AudioSender>> {
        self.session().publish_audio(cid, red).await
    }

    /// Adds a video track to the publisher connection (one encoding per rid, or one without a
    /// rid) and renegotiates; the server's feedback on each layer comes out of the receiver.
    pub async fn publish_video(
        &self,
        cid: &str,
        codec: VideoCodec,
        rids: &[&str],
    ) -> Result<(Arc<VideoSender>, mpsc::UnboundedReceiver<LayerFeedback>)> {
        self.session().publish_video(cid, codec, rids).await
    }

    /// The WebRTC statistics of the current session's peer connections.
    pub async fn stats(&self) -> crate::stats::SessionStats {
        let session = self.session();
        let publisher = session.publisher.stats().await;
        let subscriber = match &session.subscriber {
            Some(subscriber) => Some(subscriber.stats().await),
            None => None,
        };
        let clock = stats_report::Clock::read();
        crate::stats::SessionStats {
            publisher: stats_report::convert(publisher, clock),
            subscriber: subscriber.map(|report| stats_report::convert(report, clock)).unwrap_or_default(),
        }
    }

    /// Removes a published track from the publisher connection and renegotiates.
    pub async fn unpublish(&self, sender: &TrackSender) -> Result<()> {
        self.session().unpublish(sender).await
    }

    /// Leaves: lets queued reliable data go out, sends `LeaveRequest`, closes everything.
    pub async fn close(&self) {
        self.events.lock().take();
        self.session().close(true).await;
    }

    /// Closes the signalling connection on our side without reporting it as a break (the
    /// caller starts the reconnect: `SimulateScenario::SignalReconnect`).
    pub async fn drop_signal(&self) {
        self.session().close_signal_for_resume().await;
    }

    /// The first half of a resume: reopens signalling for the same session. The caller sends
    /// `SyncState` next, then calls `finish_resume`.
    pub async fn resume_signal(
        &self,
        reason: proto::ReconnectReason,
    ) -> Result<proto::ReconnectResponse, AttemptFailure> {
        let session = self.session();
        session.close_signal_for_resume().await;
        let publisher_before = session.publisher.ice_connects();
        let subscriber_before = session.subscriber.as_ref().map_or(0, |subscriber| subscriber.ice_connects());
        let response = session.signal.restart(reason).await.map_err(attempt_failure)?;
        *self.resume_marks.lock() = (publisher_before, subscriber_before);
        Ok(response)
    }

    /// The second half of a resume: waits until both peer connections prove they work, lets
    /// held signalling requests go, and sends again every reliable packet the server did not
    /// get. The server restarts the subscriber's ICE on every resume; a new ICE connection
    /// after that restart is the proof (ICE keeps reporting a dead path as connected for a
    /// while). The publisher's ICE is restarted only when it is not connected now: a
    /// signalling break alone leaves it working, and a path that died unnoticed fails within
    /// seconds and starts a new episode. With one peer connection the server restarts nothing,
    /// so we always restart it, for the same proof.
    pub async fn finish_resume(&self, last_message_seq: u32) -> Result<(), AttemptFailure> {
        let session = self.session();
        let (publisher_before, subscriber_before) = *self.resume_marks.lock();
        let restart_publisher = session.is_single_peer_connection() || !session.publisher.is_ice_connected();
        if restart_publisher {
            session.restart_publisher_ice().await?;
        }
        let reconnected = async {
            if restart_publisher {
                session.publisher.wait_ice_connects_after(publisher_before).await;
            }
            if let Some(subscriber) = &session.subscriber {
                subscriber.wait_ice_connects_after(subscriber_before).await;
            }
        };
        if tokio::time::timeout(RESUME_PEER_TIMEOUT, reconnected).await.is_err() {
            return Err(Error::timeout("the peer connections after an ICE restart", RESUME_PEER_TIMEOUT).into());
        }
        if !session.reliable.is_open() || !session.signal.is_connected().await {
            return Err(Error::Connection("the connection broke again while resuming".into()).into());
        }
        session.signal.set_reconnected().await;
        let reliable = self.reliable.lock().await;
        let (packets, gap) = reliable.sent.after(last_message_seq);
        if gap {
            log::warn!("resuming: some reliable packets after {last_message_seq} are no longer held");
        }
        if !packets.is_empty() {
            log::info!("resuming: sending {} reliable packets again", packets.len());
        }
        for packet in packets {
            session.reliable.send(packet).await?;
        }
        Ok(())
    }

    /// A full reconnect: joins again as a new session with the latest token, then closes the
    /// old one without a leave (the server replaces it). Reliable numbering starts over; the
    /// packets the old session's server never acknowledged go out again on the new one.
    pub async fn reconnect_full(&self) -> Result<proto::JoinResponse, AttemptFailure> {
        let old = self.session();
        old.close_signal_for_resume().await;
        let token = old.signal.token();
        let events = self.events.lock().clone().ok_or(AttemptFailure::Refused(Error::Disconnected))?;
        let (session, join) = Session::connect(&self.url, &token, &self.options, events).await?;
        let mut reliable = self.reliable.lock().await;
        let unacknowledged = old.reliable.buffered_amount().await;
        let pending = reliable.sent.unacknowledged(unacknowledged);
        *self.session.write() = Arc::new(session);
        old.close(false).await;
        *reliable = ReliableSender::default();
        let session = self.session();
        for (_, bytes) in pending {
            let Ok(mut packet) = proto::DataPacket::decode(bytes) else { continue };
            packet.sequence = reliable.sequence.next();
            packet.participant_sid.clear();
            let bytes = Bytes::from(packet.encode_to_vec());
            reliable.sent.push(packet.sequence, bytes.clone());
            session.reliable.send(bytes).await?;
        }
        Ok(join)
    }
}

/// The error of a signalling resume, as the reconnect policy needs it.
fn attempt_failure(err: SignalError) -> AttemptFailure {
    match err {
        SignalError::LeaveRequest { reason, action } => AttemptFailure::ServerLeave {
            reconnect: action != proto::leave_request::Action::Disconnect,
            reason: reason as i32,
        },
        other => AttemptFailure::Refused(crate::signal::map_signal_error(other)),
    }
}

/// A join that timed out or lost its connection may work on a second try (the official SDKs
/// try again too); a refused token, a bad URL or a server error will not.
fn join_retry_may_help(err: &Error) -> bool {
    matches!(err, Error::Timeout { .. } | Error::Connection(_))
}
