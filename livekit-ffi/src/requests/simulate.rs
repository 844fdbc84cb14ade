//! `simulate_scenario`: the official protocol's fault injection for tests of reconnection, on
//! the core's `Room::simulate_scenario`. The callback comes once the fault was caused; the
//! room's `reconnecting` and `reconnected` events follow as for a real fault.

use livekit_core::room::SimulateScenario;

use crate::error::FfiResult;
use crate::proto::{self, ffi_event, SimulateScenarioKind as Kind};
use crate::server::server;

/// How long the server reports us speaking for `SIMULATE_SPEAKER` (the official library's
/// value: the protocol carries none).
const SPEAKER_SECONDS: i32 = 3;

/// The core's scenario for a protocol kind, or why there is none.
pub fn core_scenario(kind: i32) -> Result<SimulateScenario, String> {
    Ok(match Kind::try_from(kind) {
        Ok(Kind::SimulateSignalReconnect) => SimulateScenario::SignalReconnect,
        Ok(Kind::SimulateSpeaker) => SimulateScenario::Speaker { seconds: SPEAKER_SECONDS },
        Ok(Kind::SimulateNodeFailure) => SimulateScenario::NodeFailure,
        Ok(Kind::SimulateServerLeave) => SimulateScenario::ServerLeave,
        Ok(Kind::SimulateMigration) => SimulateScenario::Migration,
        Ok(Kind::SimulateFullReconnect) => SimulateScenario::FullReconnect,
        Ok(Kind::SimulateDisconnectSignalOnResume) => SimulateScenario::DisconnectSignalOnResume,
        Ok(other @ (Kind::SimulateForceTcp | Kind::SimulateForceTls)) => {
            return Err(format!(
                "simulate_scenario {} is not implemented by livekit-core (it has no ICE candidate \
                 protocol switch)",
                other.as_str_name()
            ))
        }
        Err(_) => return Err(format!("simulate_scenario: {kind} is not a SimulateScenarioKind")),
    })
}

pub fn simulate_scenario(request: proto::SimulateScenarioRequest) -> FfiResult<proto::SimulateScenarioResponse> {
    let room = server().handles.room(request.room_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let callback =
        |async_id, error| ffi_event::Message::SimulateScenario(proto::SimulateScenarioCallback { async_id, error });
    let scenario = core_scenario(request.scenario);
    let simulate = async move {
        let outcome = match scenario {
            Ok(scenario) => room.room.simulate_scenario(scenario).await.map_err(|error| error.to_string()),
            Err(error) => Err(error),
        };
        callback(async_id, outcome.err())
    };
    server().spawn_callback(async_id, simulate, move |async_id, error| callback(async_id, Some(error)));
    Ok(proto::SimulateScenarioResponse { async_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_or_is_named_in_the_error() {
        assert_eq!(core_scenario(Kind::SimulateSignalReconnect as i32), Ok(SimulateScenario::SignalReconnect));
        assert_eq!(core_scenario(Kind::SimulateFullReconnect as i32), Ok(SimulateScenario::FullReconnect));
        assert_eq!(core_scenario(Kind::SimulateSpeaker as i32), Ok(SimulateScenario::Speaker { seconds: 3 }));
        let tcp = core_scenario(Kind::SimulateForceTcp as i32).unwrap_err();
        assert!(tcp.contains("SIMULATE_FORCE_TCP") && tcp.contains("not implemented by livekit-core"), "{tcp}");
        let tls = core_scenario(Kind::SimulateForceTls as i32).unwrap_err();
        assert!(tls.contains("SIMULATE_FORCE_TLS"), "{tls}");
        assert!(core_scenario(99).unwrap_err().contains("99"));
    }
}
