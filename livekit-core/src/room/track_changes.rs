//! What changed in a participant's published tracks between two `ParticipantInfo` versions.
//! Pure: the room turns each change into publication state and events.

use crate::track::TrackPublicationInfo;

/// One change to a participant's tracks, in the order events are raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TrackChange {
    /// The publisher muted the track.
    Muted(TrackPublicationInfo),
    /// The publisher unmuted the track.
    Unmuted(TrackPublicationInfo),
    /// Other details changed (codec known, new dimensions...): no event, new state.
    Updated(TrackPublicationInfo),
    /// The track is gone.
    Unpublished(TrackPublicationInfo),
    /// A new track.
    Published(TrackPublicationInfo),
}

/// The changes from `old` to `new`: mute changes and updates of kept tracks first (in `new`'s
/// order), then unpublished tracks, then new ones, as the official clients raise them.
pub(crate) fn diff_tracks(old: &[TrackPublicationInfo], new: &[TrackPublicationInfo]) -> Vec<TrackChange> {
    let find = |tracks: &[TrackPublicationInfo], sid: &str| tracks.iter().position(|t| t.sid == sid);
    let mut changes = Vec::new();
    for track in new {
        let Some(index) = find(old, &track.sid) else { continue };
        let before = &old[index];
        if before.muted != track.muted {
            changes.push(if track.muted {
                TrackChange::Muted(track.clone())
            } else {
                TrackChange::Unmuted(track.clone())
            });
        } else if before != track {
            changes.push(TrackChange::Updated(track.clone()));
        }
    }
    for track in old.iter().filter(|t| find(new, &t.sid).is_none()) {
        changes.push(TrackChange::Unpublished(track.clone()));
    }
    for track in new.iter().filter(|t| find(old, &t.sid).is_none()) {
        changes.push(TrackChange::Published(track.clone()));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::{TrackKind, TrackSource};

    fn track(sid: &str, muted: bool) -> TrackPublicationInfo {
        TrackPublicationInfo {
            sid: sid.into(),
            name: "mic".into(),
            kind: TrackKind::Audio,
            source: TrackSource::Microphone,
            muted,
            mime_type: "audio/opus".into(),
            simulcasted: false,
            dimensions: (0, 0),
        }
    }

    #[test]
    fn nothing_changed_gives_no_change() {
        let tracks = [track("TR_a", false), track("TR_b", true)];
        assert!(diff_tracks(&tracks, &tracks).is_empty());
    }

    #[test]
    fn mutes_come_before_unpublishes_and_publishes() {
        let old = [track("TR_gone", false), track("TR_kept", false), track("TR_quiet", true)];
        let new = [track("TR_new", false), track("TR_kept", true), track("TR_quiet", false)];
        assert_eq!(
            diff_tracks(&old, &new),
            vec![
                TrackChange::Muted(track("TR_kept", true)),
                TrackChange::Unmuted(track("TR_quiet", false)),
                TrackChange::Unpublished(track("TR_gone", false)),
                TrackChange::Published(track("TR_new", false)),
            ]
        );
    }

    #[test]
    fn other_details_are_an_update_without_an_event() {
        let old = [TrackPublicationInfo { mime_type: String::new(), ..track("TR_a", false) }];
        let new = [track("TR_a", false)];
        assert_eq!(diff_tracks(&old, &new), vec![TrackChange::Updated(track("TR_a", false))]);
    }
}
