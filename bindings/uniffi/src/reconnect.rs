//! Reconnection as Kotlin and Swift see it: the faults `Room.simulate_scenario` causes (the
//! core's `SimulateScenario`, variant for variant) and the reconnect policy's fields in
//! `RoomOptions`.

use std::time::Duration;

use livekit_core::room::{ReconnectPolicy, SimulateScenario as CoreScenario};

/// A fault for `Room.simulate_scenario` to cause; `Reconnecting` and `Reconnected` events
/// follow as for the real fault (`ServerLeave`: `Disconnected`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SimulateScenario {
    /// Our signalling connection drops: the room resumes the session (same sid).
    SignalReconnect,
    /// The room joins anew as a new session (a full reconnect): remote participants are
    /// reported disconnected, then connected again.
    FullReconnect,
    /// The server forgets our session: the resume is refused and the room reconnects fully.
    NodeFailure,
    /// The server moves us away (on a single server: as `NodeFailure`).
    Migration,
    /// The server says it is shutting down: the room disconnects (`ServerShutdown`).
    ServerLeave,
    /// The server reports us as the active speaker for `seconds`.
    Speaker { seconds: i32 },
    /// Our signalling drops and the server closes the resumed connection: the resume fails and
    /// the room reconnects fully.
    DisconnectSignalOnResume,
}

impl From<SimulateScenario> for CoreScenario {
    fn from(scenario: SimulateScenario) -> Self {
        match scenario {
            SimulateScenario::SignalReconnect => Self::SignalReconnect,
            SimulateScenario::FullReconnect => Self::FullReconnect,
            SimulateScenario::NodeFailure => Self::NodeFailure,
            SimulateScenario::Migration => Self::Migration,
            SimulateScenario::ServerLeave => Self::ServerLeave,
            SimulateScenario::Speaker { seconds } => Self::Speaker { seconds },
            SimulateScenario::DisconnectSignalOnResume => Self::DisconnectSignalOnResume,
        }
    }
}

/// The core's policy from the `RoomOptions` fields (see `ReconnectPolicy`).
pub(crate) fn policy(max_attempts: u32, initial_delay_ms: u64, max_delay_ms: u64) -> ReconnectPolicy {
    ReconnectPolicy {
        max_attempts,
        initial_delay: Duration::from_millis(initial_delay_ms),
        max_delay: Duration::from_millis(max_delay_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_defaults_are_the_cores() {
        // The defaults written in `RoomOptions`' uniffi attributes.
        assert_eq!(policy(10, 300, 7000), ReconnectPolicy::default());
    }

    #[test]
    fn scenarios_map_one_to_one() {
        assert_eq!(CoreScenario::from(SimulateScenario::Speaker { seconds: 4 }), CoreScenario::Speaker { seconds: 4 });
        assert_eq!(CoreScenario::from(SimulateScenario::FullReconnect), CoreScenario::FullReconnect);
    }
}
