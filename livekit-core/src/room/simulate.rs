//! `Room::simulate_scenario`: the faults the reconnect logic handles, on demand, for tests and
//! for users who want to see their app survive them. Some act on our side, the others ask the
//! server (livekit-server honours `SimulateScenario` from any participant).

use livekit_protocol as proto;
use proto::simulate_scenario::Scenario;

use super::reconnect;
use super::reconnect_policy::Trigger;
use super::Room;
use crate::error::Result;

/// A fault for `Room::simulate_scenario` to cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimulateScenario {
    /// Our signalling connection drops: the room resumes the session.
    SignalReconnect,
    /// The room joins anew, as when the server has lost our session (full reconnect).
    FullReconnect,
    /// The server forgets our session without telling us, as when its node dies: the resume
    /// is refused and the room reconnects fully.
    NodeFailure,
    /// The server moves us away (on a single server: as `NodeFailure`).
    Migration,
    /// The server tells us it is shutting down: the room disconnects (`ServerShutdown`).
    ServerLeave,
    /// The server reports us as the active speaker for this many seconds.
    Speaker {
        /// How long we are reported speaking.
        seconds: i32,
    },
    /// Our signalling drops, and the server closes the resumed connection right after its
    /// answer: the resume fails and the room reconnects fully.
    DisconnectSignalOnResume,
}

impl Room {
    /// Causes a fault the room must survive (or, for `ServerLeave`, report), as the official
    /// SDKs' `simulate_scenario` does. Events follow as for the real fault.
    ///
    /// ```no_run
    /// # async fn run(room: livekit_core::Room) -> livekit_core::Result<()> {
    /// use livekit_core::room::SimulateScenario;
    /// room.simulate_scenario(SimulateScenario::SignalReconnect).await?;
    /// // RoomEvent::Reconnecting, then RoomEvent::Reconnected, follow.
    /// # Ok(()) }
    /// ```
    pub async fn simulate_scenario(&self, scenario: SimulateScenario) -> Result<()> {
        let room = &self.inner;
        room.ensure_connected()?;
        let server_side = match scenario {
            SimulateScenario::SignalReconnect => {
                room.engine.drop_signal().await;
                reconnect::start(room, Trigger::SignalLost);
                return Ok(());
            }
            SimulateScenario::FullReconnect => {
                reconnect::start(room, Trigger::Simulated { full: true });
                return Ok(());
            }
            SimulateScenario::NodeFailure => Scenario::NodeFailure(true),
            SimulateScenario::Migration => Scenario::Migration(true),
            SimulateScenario::ServerLeave => Scenario::ServerLeave(true),
            SimulateScenario::Speaker { seconds } => Scenario::SpeakerUpdate(seconds),
            SimulateScenario::DisconnectSignalOnResume => Scenario::DisconnectSignalOnResume(true),
        };
        let message = proto::SimulateScenario { scenario: Some(server_side) };
        room.send_signal(proto::signal_request::Message::Simulate(message)).await?;
        if scenario == SimulateScenario::DisconnectSignalOnResume {
            room.engine.drop_signal().await;
            reconnect::start(room, Trigger::SignalLost);
        }
        Ok(())
    }
}
