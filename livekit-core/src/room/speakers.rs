//! Active speakers: the server sends only the speakers whose state changed; this keeps the
//! whole list, loudest first. Pure: the room maps sids to participants and raises the event.

use std::collections::HashMap;

/// One speaker's reported state.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SpeakerLevel {
    pub sid: String,
    /// 0.0 (silent) to 1.0 (loudest), as the server computed it from the audio-level extension.
    pub level: f32,
    pub active: bool,
}

/// The current active speakers by participant sid.
#[derive(Default, Debug)]
pub(crate) struct ActiveSpeakers {
    levels: HashMap<String, f32>,
}

impl ActiveSpeakers {
    /// Merges a change; returns the whole list of active speakers, loudest first.
    pub fn apply(&mut self, updates: &[SpeakerLevel]) -> Vec<(String, f32)> {
        for update in updates {
            if update.active {
                self.levels.insert(update.sid.clone(), update.level);
            } else {
                self.levels.remove(&update.sid);
            }
        }
        self.ordered()
    }

    /// A participant left: it no longer speaks. Returns the list if it changed.
    pub fn forget(&mut self, sid: &str) -> Option<Vec<(String, f32)>> {
        self.levels.remove(sid).map(|_| self.ordered())
    }

    fn ordered(&self) -> Vec<(String, f32)> {
        let mut speakers: Vec<(String, f32)> = self.levels.iter().map(|(sid, level)| (sid.clone(), *level)).collect();
        // Loudest first; ties by sid so the order is stable between updates.
        speakers.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        speakers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speaker(sid: &str, level: f32, active: bool) -> SpeakerLevel {
        SpeakerLevel { sid: sid.into(), level, active }
    }

    fn sids(list: &[(String, f32)]) -> Vec<&str> {
        list.iter().map(|(sid, _)| sid.as_str()).collect()
    }

    #[test]
    fn updates_merge_into_a_list_ordered_by_level() {
        let mut speakers = ActiveSpeakers::default();
        assert_eq!(sids(&speakers.apply(&[speaker("PA_a", 0.3, true)])), ["PA_a"]);
        assert_eq!(sids(&speakers.apply(&[speaker("PA_b", 0.8, true)])), ["PA_b", "PA_a"]);
        assert_eq!(sids(&speakers.apply(&[speaker("PA_a", 0.9, true)])), ["PA_a", "PA_b"]);
        assert_eq!(sids(&speakers.apply(&[speaker("PA_a", 0.0, false)])), ["PA_b"]);
    }

    #[test]
    fn a_departed_speaker_leaves_the_list() {
        let mut speakers = ActiveSpeakers::default();
        speakers.apply(&[speaker("PA_a", 0.5, true), speaker("PA_b", 0.4, true)]);
        assert_eq!(speakers.forget("PA_a").map(|l| sids(&l).join(",")), Some("PA_b".to_string()));
        assert_eq!(speakers.forget("PA_a"), None);
    }

    #[test]
    fn nan_levels_do_not_break_the_order() {
        let mut speakers = ActiveSpeakers::default();
        let list = speakers.apply(&[speaker("PA_a", f32::NAN, true), speaker("PA_b", 0.5, true)]);
        assert_eq!(list.len(), 2);
    }
}
