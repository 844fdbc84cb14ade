//! The room object: connect, the one event stream (`next_event`), state, session metadata,
//! stream handlers, simulated faults and disconnect. Every call goes straight to the core's
//! `Room`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use livekit_core::room::ConnectionState;
use livekit_core::RoomEvent as CoreEvent;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::drop_in_runtime::DropInRuntime;
use crate::error::Result;
use crate::events::RoomEvent;
use crate::participant::{LocalParticipant, Participant};
use crate::readers::{ByteStreamReader, TextStreamReader};
use crate::reconnect::{self, SimulateScenario};
use crate::streams::{ByteStreamHandler, TextStreamHandler};

/// How to join a room: subscriptions, the join's time limit and reconnection.
#[derive(uniffi::Record)]
pub struct RoomOptions {
    /// Subscribe to every published track automatically (tracks come later).
    #[uniffi(default = true)]
    pub auto_subscribe: bool,
    /// Limit for the whole join: signalling, peer connections and data channels.
    #[uniffi(default = 15000)]
    pub connect_timeout_ms: u64,
    /// Reconnect attempts after the connection broke before the room disconnects with
    /// `ConnectionLost`; 0 turns reconnection off.
    #[uniffi(default = 10)]
    pub reconnect_max_attempts: u32,
    /// The longest wait before the second attempt (the first goes at once); it doubles for each
    /// attempt after it, with random jitter.
    #[uniffi(default = 300)]
    pub reconnect_initial_delay_ms: u64,
    /// The longest wait between two attempts.
    #[uniffi(default = 7000)]
    pub reconnect_max_delay_ms: u64,
    /// One peer connection where the server has that mode (livekit-server 1.9.10 and later),
    /// two otherwise; false always uses two (publisher and subscriber).
    #[uniffi(default = true)]
    pub single_peer_connection: bool,
}

#[derive(uniffi::Object)]
pub struct Room {
    /// A room dropped without `disconnect()` leaves on its own, which needs the runtime.
    room: DropInRuntime<livekit_core::Room>,
    events: tokio::sync::Mutex<UnboundedReceiver<CoreEvent>>,
    /// Set once `Disconnected` was handed out: the core sends nothing after it.
    ended: AtomicBool,
}

#[uniffi::export(async_runtime = "tokio")]
impl Room {
    /// Joins the room; returns once data can flow. The first event is `Connected`.
    #[uniffi::constructor]
    pub async fn connect(url: String, token: String, options: RoomOptions) -> Result<Arc<Self>> {
        let options = livekit_core::RoomOptions {
            auto_subscribe: options.auto_subscribe,
            connect_timeout: Duration::from_millis(options.connect_timeout_ms),
            reconnect_policy: reconnect::policy(
                options.reconnect_max_attempts,
                options.reconnect_initial_delay_ms,
                options.reconnect_max_delay_ms,
            ),
            peer_connection_mode: if options.single_peer_connection {
                livekit_core::PeerConnectionMode::Auto
            } else {
                livekit_core::PeerConnectionMode::Dual
            },
            ..livekit_core::RoomOptions::default()
        };
        let (room, events) = livekit_core::Room::connect(&url, &token, options).await?;
        Ok(Arc::new(Self {
            room: DropInRuntime::new(room),
            events: tokio::sync::Mutex::new(events),
            ended: AtomicBool::new(false),
        }))
    }

    /// The next event, in order; None after `Disconnected` was returned. One reader at a time.
    pub async fn next_event(&self) -> Option<RoomEvent> {
        let mut events = self.events.lock().await;
        while !self.ended.load(Ordering::Acquire) {
            let event = events.recv().await?;
            if matches!(event, CoreEvent::Disconnected { .. }) {
                self.ended.store(true, Ordering::Release);
            }
            if let Some(event) = RoomEvent::from_core(event) {
                return Some(event);
            }
        }
        None
    }

    pub fn sid(&self) -> String {
        self.room.sid()
    }

    pub fn name(&self) -> String {
        self.room.name()
    }

    pub fn metadata(&self) -> String {
        self.room.metadata()
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.room.connection_state()
    }

    pub fn local_participant(&self) -> Arc<LocalParticipant> {
        Arc::new(LocalParticipant(self.room.local_participant()))
    }

    /// Remote participants by identity.
    pub fn remote_participants(&self) -> HashMap<String, Arc<Participant>> {
        self.room.remote_participants().into_iter().map(|(id, p)| (id, Participant::remote(p))).collect()
    }

    /// The metadata of the current session (the room metadata).
    pub fn session_metadata(&self) -> String {
        self.room.session_metadata()
    }

    /// Sets the session metadata; the token must hold `roomAdmin` for this room.
    pub async fn set_session_metadata(&self, value: String) -> Result<()> {
        Ok(self.room.set_session_metadata(&value).await?)
    }

    /// Byte streams on `topic` go to `handler`, in the order the sender opened them.
    pub fn register_byte_stream_handler(&self, topic: String, handler: Arc<dyn ByteStreamHandler>) -> Result<()> {
        Ok(self.room.register_byte_stream_handler(&topic, move |reader, identity| {
            handler.on_stream(ByteStreamReader::new(reader), identity)
        })?)
    }

    /// Text streams on `topic` go to `handler`, in the order the sender opened them.
    pub fn register_text_stream_handler(&self, topic: String, handler: Arc<dyn TextStreamHandler>) -> Result<()> {
        Ok(self.room.register_text_stream_handler(&topic, move |reader, identity| {
            handler.on_stream(TextStreamReader::new(reader), identity)
        })?)
    }

    pub fn unregister_byte_stream_handler(&self, topic: String) {
        self.room.unregister_byte_stream_handler(&topic)
    }

    pub fn unregister_text_stream_handler(&self, topic: String) {
        self.room.unregister_text_stream_handler(&topic)
    }

    /// Causes a fault the room must survive, for tests: `Reconnecting` and `Reconnected` events
    /// follow as for the real fault.
    pub async fn simulate_scenario(&self, scenario: SimulateScenario) -> Result<()> {
        Ok(self.room.simulate_scenario(scenario.into()).await?)
    }

    /// Leaves the room; later calls fail with `Disconnected`. The last event is `Disconnected`.
    pub async fn disconnect(&self) -> Result<()> {
        Ok(self.room.disconnect().await?)
    }
}
