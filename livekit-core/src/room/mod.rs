//! The room: joins through the engine, keeps participants and room state, raises `RoomEvent`s.
//! `dispatch` turns engine events into state changes and events; this file holds the public API.

pub mod attribute_limits;
mod data_streams;
mod dispatch;
mod events;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod fuzz_support;
mod local_participant;
mod local_tracks;
mod local_video;
mod participant;
mod participant_state;
mod participant_streams;
mod reconnect;
mod reconnect_policy;
mod rpc;
mod session_metadata;
mod simulate;
mod speakers;
mod stats;
mod track_changes;
mod track_dispatch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, oneshot, watch};

use crate::data::streams::Streams;
pub use crate::engine::PeerConnectionMode;
use crate::engine::{DataPacketKind, Engine, EngineOptions};
use crate::error::{Error, Result};
pub use events::{ConnectionState, DisconnectReason, RoomEvent, TrackPublication};
use livekit_rpc::backend::{RpcClientManager, RpcServerManager};
pub use local_participant::{LocalParticipant, MAX_ATTRIBUTES_SIZE, MAX_METADATA_SIZE, MAX_NAME_LENGTH};
pub use participant::{Participant, RemoteParticipant};
use participant_state::ParticipantState;
pub use participant_state::{ParticipantKind, ParticipantPermissions};
pub use reconnect_policy::ReconnectPolicy;
pub use rpc::RpcHandlerFuture;
pub use simulate::SimulateScenario;

/// How long a signalling request (attributes, metadata, name) may wait for the server's answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for `Room::connect`. The default subscribes automatically, allows 15 s per join
/// attempt, with 3 more attempts after a timeout or a lost connection, and uses one peer
/// connection where the server has that mode.
#[derive(Clone, Debug)]
pub struct RoomOptions {
    /// Subscribe to every published track automatically. When false, choose tracks with
    /// `RemoteTrackPublication::set_subscribed`.
    pub auto_subscribe: bool,
    /// Limit for one join attempt: signalling, peer connections and data channels.
    pub connect_timeout: Duration,
    /// Joins tried again after one that timed out or lost its connection (3, as in the
    /// official SDKs); a refused token or a bad URL fails at once.
    pub join_retries: u32,
    /// How to reconnect when the connection to the server breaks (see `ReconnectPolicy`).
    pub reconnect_policy: ReconnectPolicy,
    /// One peer connection or two (see `PeerConnectionMode`).
    pub peer_connection_mode: PeerConnectionMode,
}

impl Default for RoomOptions {
    fn default() -> Self {
        Self {
            auto_subscribe: true,
            connect_timeout: Duration::from_secs(15),
            join_retries: 3,
            reconnect_policy: ReconnectPolicy::default(),
            peer_connection_mode: PeerConnectionMode::Auto,
        }
    }
}

/// A joined room. Cheap to clone; every clone is the same room. When the last clone is dropped
/// without `disconnect()`, the room leaves on its own, so a forgotten room does not stay joined.
#[derive(Clone)]
pub struct Room {
    inner: Arc<RoomInner>,
    _leave_on_drop: Arc<LeaveOnDrop>,
}

struct LeaveOnDrop(Arc<RoomInner>);

impl Drop for LeaveOnDrop {
    fn drop(&mut self) {
        let inner = self.0.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            crate::tasks::spawn_on(&runtime, async move { inner.close(DisconnectReason::ClientInitiated).await });
        }
    }
}

#[derive(Clone, Debug, Default)]
struct RoomInfo {
    sid: String,
    name: String,
    metadata: String,
}

pub(crate) struct RoomInner {
    engine: Engine,
    info: RwLock<RoomInfo>,
    local: LocalParticipant,
    /// Bumped each time the server updates our own state or the room's, for calls that wait
    /// for the server to echo their change.
    state_changed: watch::Sender<u64>,
    remotes: RwLock<HashMap<String, RemoteParticipant>>,
    /// Sessions (sids) that left. Stream packets travel on the data channel and departures on
    /// the signalling connection, so a stream header can arrive after its sender left; packets
    /// from these sessions are dropped instead of opening a stream that could never end.
    departed_sids: Mutex<std::collections::HashSet<String>>,
    listeners: Mutex<Vec<mpsc::UnboundedSender<RoomEvent>>>,
    pending_requests: Mutex<HashMap<u32, oneshot::Sender<proto::RequestResponse>>>,
    state: watch::Sender<ConnectionState>,
    /// The server URL and the latest token (the server refreshes it), for the server API.
    url: String,
    token: RwLock<String>,
    server_version: String,
    streams: Streams,
    rpc_client: RpcClientManager,
    rpc_server: RpcServerManager,
    /// Limits incoming RPC requests handled at once (`data/rpc_guard.rs`).
    rpc_guard: Arc<Mutex<crate::data::rpc_guard::RpcGuard>>,
    auto_subscribe: bool,
    speakers: Mutex<speakers::ActiveSpeakers>,
    /// `AddTrackRequest`s waiting for the server's answer, by cid.
    pending_publishes: Mutex<HashMap<String, local_tracks::PublishAnswer>>,
    /// Our published tracks by sid.
    local_tracks: Mutex<HashMap<String, local_tracks::PublishedTrack>>,
    /// Remote media that arrived before its publication, by track sid.
    waiting_media: Mutex<HashMap<String, crate::engine::ReceivedTrack>>,
    reconnect_policy: ReconnectPolicy,
    /// The reconnect episode under way, if any (`reconnect.rs`).
    reconnect: Mutex<Option<reconnect_policy::Episode>>,
    /// Cuts an episode's wait short (the server asked us to reconnect at once).
    reconnect_wake: tokio::sync::Notify,
    /// Subscriptions chosen by hand, kept across a full reconnect, by track sid.
    wanted_subscriptions: Mutex<HashMap<String, bool>>,
    /// Bumped by each full reconnect (a new session with the server).
    session_epoch: std::sync::atomic::AtomicU64,
}

impl Room {
    /// Joins the room; returns once data can flow, with a receiver whose first event is
    /// `Connected`. Late joiners see everyone's current state in `remote_participants()`.
    pub async fn connect(
        url: &str,
        token: &str,
        options: RoomOptions,
    ) -> Result<(Room, mpsc::UnboundedReceiver<RoomEvent>)> {
        let engine_options = EngineOptions {
            auto_subscribe: options.auto_subscribe,
            connect_timeout: options.connect_timeout,
            join_retries: options.join_retries,
            peer_connection_mode: options.peer_connection_mode,
        };
        let (engine, join, engine_events) = Engine::connect(url, token, engine_options).await?;
        let room_info = join.room.clone().unwrap_or_default();
        let local_info = join.participant.clone().unwrap_or_default();
        let (streams, stream_packets, opened_streams) = Streams::start();
        let inner = Arc::new_cyclic(|weak: &std::sync::Weak<RoomInner>| RoomInner {
            engine,
            info: RwLock::new(RoomInfo { sid: room_info.sid, name: room_info.name, metadata: room_info.metadata }),
            local: LocalParticipant {
                state: Arc::new(RwLock::new(ParticipantState::from_local_info(&local_info))),
                room: weak.clone(),
            },
            state_changed: watch::channel(0).0,
            remotes: RwLock::new(
                join.other_participants
                    .iter()
                    .map(|info| {
                        let state = ParticipantState::from_info(info);
                        (info.identity.clone(), RemoteParticipant::new(state, weak.clone(), options.auto_subscribe))
                    })
                    .collect(),
            ),
            departed_sids: Mutex::new(std::collections::HashSet::new()),
            listeners: Mutex::new(Vec::new()),
            pending_requests: Mutex::new(HashMap::new()),
            state: watch::channel(ConnectionState::Connected).0,
            url: url.to_string(),
            token: RwLock::new(token.to_string()),
            server_version: join.server_version.clone(),
            streams,
            rpc_client: RpcClientManager::new(),
            rpc_server: RpcServerManager::new(),
            rpc_guard: Arc::default(),
            auto_subscribe: options.auto_subscribe,
            speakers: Mutex::new(speakers::ActiveSpeakers::default()),
            pending_publishes: Mutex::new(HashMap::new()),
            local_tracks: Mutex::new(HashMap::new()),
            waiting_media: Mutex::new(HashMap::new()),
            reconnect_policy: options.reconnect_policy,
            reconnect: Mutex::new(None),
            reconnect_wake: tokio::sync::Notify::new(),
            wanted_subscriptions: Mutex::new(HashMap::new()),
            session_epoch: std::sync::atomic::AtomicU64::new(0),
        });
        let room = Room { inner: inner.clone(), _leave_on_drop: Arc::new(LeaveOnDrop(inner.clone())) };
        let events = room.subscribe();
        inner.emit(RoomEvent::Connected);
        crate::tasks::spawn(data_streams::send_stream_packets(Arc::downgrade(&inner), stream_packets));
        crate::tasks::spawn(data_streams::route_opened_streams(Arc::downgrade(&inner), opened_streams));
        crate::tasks::spawn(dispatch::run(inner, engine_events));
        Ok((room, events))
    }

    /// Another receiver of this room's events, from now on.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<RoomEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner.listeners.lock().push(tx);
        rx
    }

    /// The server's id of the room (`RM_...`), as the server gave it when we joined.
    pub fn sid(&self) -> String {
        self.inner.info.read().sid.clone()
    }

    /// The room's name.
    pub fn name(&self) -> String {
        self.inner.info.read().name.clone()
    }

    /// The room's metadata, as the server last reported it (see `RoomMetadataChanged`).
    pub fn metadata(&self) -> String {
        self.inner.info.read().metadata.clone()
    }

    /// Ourselves in the room.
    pub fn local_participant(&self) -> LocalParticipant {
        self.inner.local.clone()
    }

    /// Remote participants by identity.
    pub fn remote_participants(&self) -> HashMap<String, RemoteParticipant> {
        self.inner.remotes.read().clone()
    }

    /// Whether the room is joined, reconnecting or gone.
    pub fn connection_state(&self) -> ConnectionState {
        *self.inner.state.borrow()
    }

    /// Whether the current session runs on one peer connection: `PeerConnectionMode::Single`,
    /// or `Auto` on a server that has it. A full reconnect may change it.
    ///
    /// ```no_run
    /// # fn report(room: &livekit_core::Room) {
    /// if !room.is_single_peer_connection() {
    ///     println!("an older server (before 1.9.10): publishing and subscribing use two connections");
    /// }
    /// # }
    /// ```
    pub fn is_single_peer_connection(&self) -> bool {
        self.inner.engine.is_single_peer_connection()
    }

    /// Leaves the room. Later calls on the room or its participants fail with `Disconnected`.
    pub async fn disconnect(&self) -> Result<()> {
        self.inner.close(DisconnectReason::ClientInitiated).await;
        Ok(())
    }
}

impl RoomInner {
    pub(crate) fn emit(&self, event: RoomEvent) {
        self.listeners.lock().retain(|tx| tx.send(event.clone()).is_ok());
    }

    /// The local participant or a remote one, by session id.
    pub(crate) fn participant_by_sid(&self, sid: &str) -> Option<Participant> {
        if self.local.state.read().sid == sid {
            return Some(Participant::Local(self.local.clone()));
        }
        self.remote_by_sid(sid).map(Participant::Remote)
    }

    pub(crate) fn remote_by_sid(&self, sid: &str) -> Option<RemoteParticipant> {
        self.remotes.read().values().find(|p| p.state.read().sid == sid).cloned()
    }

    /// A remote participant's publication, by the participant's and the track's sids.
    pub(crate) fn remote_publication(
        &self,
        participant_sid: &str,
        track_sid: &str,
    ) -> Option<(RemoteParticipant, crate::track::RemoteTrackPublication)> {
        let participant = self.remote_by_sid(participant_sid)?;
        let publication = participant.track_publication(track_sid)?;
        Some((participant, publication))
    }

    /// Whether any remote participant still publishes the track.
    pub(crate) fn has_remote_publication(&self, track_sid: &str) -> bool {
        self.remotes.read().values().any(|p| p.publications.read().contains_key(track_sid))
    }

    /// Sends a signalling message that expects no answer.
    pub(crate) async fn send_signal(&self, message: proto::signal_request::Message) -> Result<()> {
        self.wait_connected().await?;
        self.engine.send_signal(message).await;
        Ok(())
    }

    /// Fails once the room is gone; a room that is reconnecting passes (what it sends waits).
    fn ensure_connected(&self) -> Result<()> {
        match *self.state.borrow() {
            ConnectionState::Disconnected => Err(Error::Disconnected),
            ConnectionState::Connected | ConnectionState::Reconnecting => Ok(()),
        }
    }

    /// Returns at once when connected; while reconnecting, waits for the episode to end (the
    /// policy bounds it), so what is sent meanwhile goes out on the restored connection.
    async fn wait_connected(&self) -> Result<()> {
        let mut state = self.state.subscribe();
        loop {
            match *state.borrow_and_update() {
                ConnectionState::Connected => return Ok(()),
                ConnectionState::Disconnected => return Err(Error::Disconnected),
                ConnectionState::Reconnecting if reconnect::is_restoring() => return Ok(()),
                ConnectionState::Reconnecting => {}
            }
            state.changed().await.map_err(|_| Error::Disconnected)?;
        }
    }

    /// Sends a signalling request carrying a fresh request id and waits for its answer.
    pub(crate) async fn request(
        &self,
        build: impl FnOnce(u32) -> proto::signal_request::Message,
    ) -> Result<proto::RequestResponse> {
        self.wait_connected().await?;
        let id = self.engine.next_request_id();
        let (tx, rx) = oneshot::channel();
        self.pending_requests.lock().insert(id, tx);
        self.engine.send_signal(build(id)).await;
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, rx).await;
        self.pending_requests.lock().remove(&id);
        match outcome {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(Error::Disconnected),
            Err(_) => Err(Error::timeout("the server's answer to the request", REQUEST_TIMEOUT)),
        }
    }

    pub(crate) fn resolve_request(&self, response: proto::RequestResponse) {
        if let Some(tx) = self.pending_requests.lock().remove(&response.request_id) {
            let _ = tx.send(response);
        }
    }

    /// Waits until `applied` holds for the room, or `timeout` passes (the server applied the
    /// change either way; this only orders the caller's return after the echo).
    pub(crate) async fn wait_until(&self, applied: impl Fn(&RoomInner) -> bool, timeout: Duration) {
        let mut version = self.state_changed.subscribe();
        let wait = async {
            loop {
                if applied(self) {
                    return;
                }
                if version.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(timeout, wait).await.is_err() {
            log::warn!("the server applied the update but did not echo it within {timeout:?}");
        }
    }

    pub(crate) async fn send_data(&self, packet: proto::DataPacket, kind: DataPacketKind) -> Result<()> {
        self.wait_connected().await?;
        self.engine.send_data(packet, kind).await
    }

    /// Marks the room disconnected (once), closes the engine and tells the listeners.
    pub(crate) async fn close(&self, reason: DisconnectReason) {
        if self.state.send_replace(ConnectionState::Disconnected) == ConnectionState::Disconnected {
            return;
        }
        self.reconnect_wake.notify_one();
        self.pending_requests.lock().clear();
        self.pending_publishes.lock().clear();
        self.stop_local_tracks();
        self.streams.abort_all();
        self.rpc_client.fail_all_pending();
        self.engine.close().await;
        self.emit(RoomEvent::ConnectionStateChanged(ConnectionState::Disconnected));
        self.emit(RoomEvent::Disconnected { reason });
    }
}
