//! The room's handling of signal responses without a room: the same pure parts the dispatch
//! uses (participant state and its diffs, track publications, speakers, the enum mappings),
//! keyed the same way, for the `signal_response` fuzz target (`fuzzing` feature only).

use std::collections::HashMap;

use livekit_protocol as proto;

use super::participant_state::ParticipantState;
use super::speakers::{ActiveSpeakers, SpeakerLevel};
use crate::track::{ConnectionQuality, StreamState, TrackPublicationInfo};

/// What a room keeps from the signal responses it has seen.
#[derive(Default)]
pub(crate) struct ServerModel {
    local: Option<ParticipantState>,
    remotes: HashMap<String, ParticipantState>,
    speakers: ActiveSpeakers,
    room_metadata: String,
}

impl ServerModel {
    /// Applies one message as `dispatch::on_signal` does.
    pub fn apply(&mut self, message: proto::signal_response::Message) {
        use proto::signal_response::Message as M;
        match message {
            M::Join(join) => {
                self.local = join.participant.as_ref().map(ParticipantState::from_info);
                for info in &join.other_participants {
                    self.on_participant_info(info);
                }
            }
            M::Update(update) => update.participants.iter().for_each(|info| self.on_participant_info(info)),
            M::RoomUpdate(update) => {
                if let Some(room) = update.room {
                    self.room_metadata = room.metadata;
                }
            }
            M::TrackPublished(response) => {
                let _ = response.track.as_ref().and_then(TrackPublicationInfo::from_proto);
            }
            M::SpeakersChanged(changed) => {
                let levels: Vec<SpeakerLevel> = changed
                    .speakers
                    .iter()
                    .map(|s| SpeakerLevel { sid: s.sid.clone(), level: s.level, active: s.active })
                    .collect();
                let ordered = self.speakers.apply(&levels);
                assert!(ordered.windows(2).all(|w| w[0].1 >= w[1].1 || w[0].1.is_nan() || w[1].1.is_nan()));
            }
            M::ConnectionQuality(update) => {
                for info in &update.updates {
                    let _ = ConnectionQuality::from_proto(info.quality);
                }
            }
            M::StreamStateUpdate(update) => {
                for info in &update.stream_states {
                    let _ = StreamState::from_proto(info.state);
                }
            }
            _ => {}
        }
    }

    fn on_participant_info(&mut self, info: &proto::ParticipantInfo) {
        if self.local.as_ref().is_some_and(|local| local.sid == info.sid) {
            if let Some(local) = self.local.as_mut() {
                local.apply(info);
            }
            return;
        }
        let departed = info.state == proto::participant_info::State::Disconnected as i32;
        match self.remotes.get_mut(&info.identity) {
            Some(known) if departed && known.sid == info.sid => {
                self.remotes.remove(&info.identity);
                self.speakers.forget(&info.sid);
            }
            Some(known) if known.sid == info.sid => {
                known.apply(info);
            }
            _ if departed => {}
            _ => {
                self.remotes.insert(info.identity.clone(), ParticipantState::from_info(info));
            }
        }
    }
}
