//! Tracks in the protocol: the infos of tracks and publications, and the room events about
//! them (published, subscribed, muted, speakers, quality). The room's forwarder calls
//! `TrackEvents::convert` for every event it does not convert itself.
//!
//! The core's `TrackStreamStateChanged` and `TrackSubscriptionPermissionChanged` have no
//! counterpart in the official protocol's `RoomEvent`, so they are not sent.

use std::collections::{BTreeMap, BTreeSet};

use livekit_core::room::TrackPublication;
use livekit_core::{
    ConnectionQuality, LocalTrackPublication, Participant, RemoteParticipant, RemoteTrackPublication, RoomEvent,
    StreamState, TrackKind, TrackPublicationInfo, TrackSource,
};

use crate::handles::{FfiHandle, FfiRemoteTrack};
use crate::proto::{self, room_event::Message as Event};
use crate::server::server;

/// What the forwarder of one room remembers about tracks, so the client never hears of a
/// publication twice, nor of one it does not know, and hears of the end of each it knows.
#[derive(Default)]
pub struct TrackEvents {
    /// The local participant's identity (speakers and mutes may name it).
    pub local_identity: String,
    /// The remote publications the client was given, by sid.
    pub announced: BTreeMap<String, Announced>,
    /// The sids of our publications the client was told of (`local_track_published`).
    local: BTreeSet<String>,
}

/// A remote publication the client knows.
pub struct Announced {
    /// Who publishes it.
    pub identity: String,
    /// Whether the client was told it is subscribed.
    pub subscribed: bool,
}

impl TrackEvents {
    /// Nothing known yet, in the room `local_identity` joined.
    pub fn new(local_identity: String) -> Self {
        Self { local_identity, ..Default::default() }
    }

    /// The protocol events for one core event; empty for an event the client must not see.
    /// `knows` says whether the client knows a remote participant, by identity.
    pub fn convert(&mut self, event: RoomEvent, knows: impl Fn(&str) -> bool) -> Vec<Event> {
        if let RoomEvent::TrackUnsubscribed { publication, .. } | RoomEvent::TrackUnpublished { publication, .. } =
            &event
        {
            super::video_streams::track_ended(&publication.sid());
        }
        match event {
            RoomEvent::TrackPublished { publication, participant } => {
                let identity = participant.identity();
                if !knows(&identity) || self.announced.contains_key(&publication.sid()) {
                    return Vec::new();
                }
                self.announced.insert(publication.sid(), Announced { identity: identity.clone(), subscribed: false });
                let publication = owned_remote_publication(&publication);
                vec![Event::TrackPublished(proto::TrackPublished { participant_identity: identity, publication })]
            }
            RoomEvent::TrackUnpublished { publication, participant } => {
                if self.announced.remove(&publication.sid()).is_none() {
                    return Vec::new();
                }
                vec![Event::TrackUnpublished(proto::TrackUnpublished {
                    participant_identity: participant.identity(),
                    publication_sid: publication.sid(),
                })]
            }
            RoomEvent::TrackSubscribed { track, publication, participant } => {
                let Some(announced) = self.announced.get_mut(&publication.sid()) else { return Vec::new() };
                announced.subscribed = true;
                let info = remote_track_info(&publication);
                let handle = server()
                    .handles
                    .insert(FfiHandle::RemoteTrack(FfiRemoteTrack { track, publication: publication.clone() }));
                vec![Event::TrackSubscribed(proto::TrackSubscribed {
                    participant_identity: participant.identity(),
                    track: proto::OwnedTrack { handle: proto::FfiOwnedHandle { id: handle }, info },
                })]
            }
            RoomEvent::TrackUnsubscribed { publication, participant, .. } => {
                match self.announced.get_mut(&publication.sid()) {
                    Some(announced) if announced.subscribed => announced.subscribed = false,
                    _ => return Vec::new(),
                }
                vec![Event::TrackUnsubscribed(proto::TrackUnsubscribed {
                    participant_identity: participant.identity(),
                    track_sid: publication.sid(),
                })]
            }
            RoomEvent::TrackSubscriptionFailed { participant, track_sid, error } => {
                vec![Event::TrackSubscriptionFailed(proto::TrackSubscriptionFailed {
                    participant_identity: participant.identity(),
                    track_sid,
                    error,
                })]
            }
            RoomEvent::TrackMuted { participant, publication } => self
                .mute_target(&participant, &publication)
                .map(|(participant_identity, track_sid)| {
                    Event::TrackMuted(proto::TrackMuted { participant_identity, track_sid })
                })
                .into_iter()
                .collect(),
            RoomEvent::TrackUnmuted { participant, publication } => self
                .mute_target(&participant, &publication)
                .map(|(participant_identity, track_sid)| {
                    Event::TrackUnmuted(proto::TrackUnmuted { participant_identity, track_sid })
                })
                .into_iter()
                .collect(),
            RoomEvent::LocalTrackPublished { publication, .. } => {
                self.local.insert(publication.sid());
                vec![Event::LocalTrackPublished(proto::LocalTrackPublished { track_sid: publication.sid() })]
            }
            RoomEvent::LocalTrackUnpublished { publication } => {
                if !self.local.remove(&publication.sid()) {
                    return Vec::new();
                }
                vec![Event::LocalTrackUnpublished(proto::LocalTrackUnpublished { publication_sid: publication.sid() })]
            }
            RoomEvent::LocalTrackSubscribed { track_sid } => {
                vec![Event::LocalTrackSubscribed(proto::LocalTrackSubscribed { track_sid })]
            }
            RoomEvent::ActiveSpeakersChanged { speakers } => {
                let participant_identities = speakers
                    .iter()
                    .map(Participant::identity)
                    .filter(|identity| *identity == self.local_identity || knows(identity))
                    .collect();
                vec![Event::ActiveSpeakersChanged(proto::ActiveSpeakersChanged { participant_identities })]
            }
            RoomEvent::ConnectionQualityChanged { participant, quality } => match connection_quality(quality) {
                Some(quality) => vec![Event::ConnectionQualityChanged(proto::ConnectionQualityChanged {
                    participant_identity: participant.identity(),
                    quality: quality as i32,
                })],
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// A remote participant left: the end of each of its tracks the client knows (unsubscribed,
    /// then unpublished), as the official library reports them before `participant_disconnected`.
    pub fn participant_left(&mut self, identity: &str) -> Vec<Event> {
        let sids: Vec<String> =
            self.announced.iter().filter(|(_, a)| a.identity == identity).map(|(sid, _)| sid.clone()).collect();
        let mut events = Vec::new();
        for sid in sids {
            super::video_streams::track_ended(&sid);
            let Some(announced) = self.announced.remove(&sid) else { continue };
            if announced.subscribed {
                events.push(Event::TrackUnsubscribed(proto::TrackUnsubscribed {
                    participant_identity: identity.to_string(),
                    track_sid: sid.clone(),
                }));
            }
            events.push(Event::TrackUnpublished(proto::TrackUnpublished {
                participant_identity: identity.to_string(),
                publication_sid: sid,
            }));
        }
        events
    }

    /// We are leaving the room: the end of each of our publications the client knows, as the
    /// official library reports them when it disconnects.
    pub fn leaving(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.local)
            .into_iter()
            .map(|publication_sid| Event::LocalTrackUnpublished(proto::LocalTrackUnpublished { publication_sid }))
            .collect()
    }

    /// `local_track_republished` when a full reconnect published again (under a new sid) a
    /// track that was `previous_sid` for the client; None when the client never knew it.
    pub fn republished(&mut self, publication: &LocalTrackPublication, previous_sid: &str) -> Option<Event> {
        if !self.local.remove(previous_sid) {
            return None;
        }
        self.local.insert(publication.sid());
        let owned = owned_local_publication(publication);
        Some(Event::LocalTrackRepublished(proto::LocalTrackRepublished {
            publication_handle: owned.handle.id,
            previous_sid: previous_sid.to_string(),
            info: owned.info,
        }))
    }

    /// Who and which track a mute event names, if the client knows the publication.
    fn mute_target(&self, participant: &Participant, publication: &TrackPublication) -> Option<(String, String)> {
        let sid = publication.sid();
        let known = match publication {
            TrackPublication::Local(_) => true,
            TrackPublication::Remote(_) => self.announced.contains_key(&sid),
        };
        known.then(|| (participant.identity(), sid))
    }
}

/// A remote participant's current publications as handles, for the connect callback; they go
/// into `announced` (not subscribed yet: `track_subscribed` follows for those we receive).
pub fn owned_publications(
    participant: &RemoteParticipant,
    announced: &mut BTreeMap<String, Announced>,
) -> Vec<proto::OwnedTrackPublication> {
    let mut publications: Vec<_> = participant.track_publications().into_values().collect();
    publications.sort_by_key(RemoteTrackPublication::sid);
    let mut owned = Vec::new();
    for publication in publications {
        if announced.contains_key(&publication.sid()) {
            continue;
        }
        let entry = Announced { identity: participant.identity(), subscribed: false };
        announced.insert(publication.sid(), entry);
        owned.push(owned_remote_publication(&publication));
    }
    owned
}

fn owned_remote_publication(publication: &RemoteTrackPublication) -> proto::OwnedTrackPublication {
    let info = publication_info(&publication.info(), true);
    let handle = server().handles.insert(FfiHandle::RemotePublication(publication.clone()));
    proto::OwnedTrackPublication { handle: proto::FfiOwnedHandle { id: handle }, info }
}

/// One of our publications as a handle, for the publish callback.
pub fn owned_local_publication(publication: &LocalTrackPublication) -> proto::OwnedTrackPublication {
    let mut info = publication_info(&publication.info(), false);
    info.muted = publication.is_muted();
    let handle = server().handles.insert(FfiHandle::LocalPublication(publication.clone()));
    proto::OwnedTrackPublication { handle: proto::FfiOwnedHandle { id: handle }, info }
}

fn publication_info(info: &TrackPublicationInfo, remote: bool) -> proto::TrackPublicationInfo {
    proto::TrackPublicationInfo {
        sid: info.sid.clone(),
        name: info.name.clone(),
        kind: track_kind(info.kind) as i32,
        source: proto_source(info.source) as i32,
        simulcasted: info.simulcasted,
        width: info.dimensions.0,
        height: info.dimensions.1,
        mime_type: info.mime_type.clone(),
        muted: info.muted,
        remote,
        encryption_type: proto::EncryptionType::None as i32,
        audio_features: Vec::new(),
    }
}

fn remote_track_info(publication: &RemoteTrackPublication) -> proto::TrackInfo {
    let info = publication.info();
    proto::TrackInfo {
        sid: info.sid,
        name: info.name,
        kind: track_kind(info.kind) as i32,
        // The server reports pauses only: a track just subscribed, with no report yet, flows
        // (the official library says active here too).
        stream_state: match publication.stream_state() {
            StreamState::Unknown => proto::StreamState::StateActive,
            state => stream_state(state),
        } as i32,
        muted: info.muted,
        remote: true,
    }
}

/// A local track's info before it is published: no sid yet.
pub fn local_track_info(name: String, kind: TrackKind, muted: bool) -> proto::TrackInfo {
    proto::TrackInfo {
        sid: String::new(),
        name,
        kind: track_kind(kind) as i32,
        stream_state: proto::StreamState::StateActive as i32,
        muted,
        remote: false,
    }
}

fn track_kind(kind: TrackKind) -> proto::TrackKind {
    match kind {
        TrackKind::Audio => proto::TrackKind::KindAudio,
        TrackKind::Video => proto::TrackKind::KindVideo,
    }
}

fn stream_state(state: StreamState) -> proto::StreamState {
    match state {
        StreamState::Active => proto::StreamState::StateActive,
        StreamState::Paused => proto::StreamState::StatePaused,
        StreamState::Unknown => proto::StreamState::StateUnknown,
    }
}

/// The official enum has no "unknown": a participant not scored yet is not reported.
fn connection_quality(quality: ConnectionQuality) -> Option<proto::ConnectionQuality> {
    match quality {
        ConnectionQuality::Unknown => None,
        ConnectionQuality::Poor => Some(proto::ConnectionQuality::QualityPoor),
        ConnectionQuality::Good => Some(proto::ConnectionQuality::QualityGood),
        ConnectionQuality::Excellent => Some(proto::ConnectionQuality::QualityExcellent),
        ConnectionQuality::Lost => Some(proto::ConnectionQuality::QualityLost),
    }
}

/// A track source as the protocol numbers it.
pub fn proto_source(source: TrackSource) -> proto::TrackSource {
    match source {
        TrackSource::Unknown => proto::TrackSource::SourceUnknown,
        TrackSource::Camera => proto::TrackSource::SourceCamera,
        TrackSource::Microphone => proto::TrackSource::SourceMicrophone,
        TrackSource::ScreenShare => proto::TrackSource::SourceScreenshare,
        TrackSource::ScreenShareAudio => proto::TrackSource::SourceScreenshareAudio,
    }
}

/// A protocol track source in the core's terms (an unknown number is `Unknown`).
pub fn core_source(source: i32) -> TrackSource {
    match proto::TrackSource::try_from(source) {
        Ok(proto::TrackSource::SourceCamera) => TrackSource::Camera,
        Ok(proto::TrackSource::SourceMicrophone) => TrackSource::Microphone,
        Ok(proto::TrackSource::SourceScreenshare) => TrackSource::ScreenShare,
        Ok(proto::TrackSource::SourceScreenshareAudio) => TrackSource::ScreenShareAudio,
        _ => TrackSource::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip() {
        for source in [
            TrackSource::Unknown,
            TrackSource::Camera,
            TrackSource::Microphone,
            TrackSource::ScreenShare,
            TrackSource::ScreenShareAudio,
        ] {
            assert_eq!(core_source(proto_source(source) as i32), source);
        }
        assert_eq!(core_source(99), TrackSource::Unknown);
    }

    #[test]
    fn a_leaving_participant_ends_its_known_tracks_first() {
        let mut tracks = TrackEvents::new("me".into());
        let announce = |identity: &str, subscribed| Announced { identity: identity.into(), subscribed };
        tracks.announced.insert("TR_a".into(), announce("alice", true));
        tracks.announced.insert("TR_b".into(), announce("alice", false));
        tracks.announced.insert("TR_c".into(), announce("carol", true));
        let events = tracks.participant_left("alice");
        let names: Vec<_> = events
            .iter()
            .map(|event| match event {
                Event::TrackUnsubscribed(e) => format!("unsubscribed {}", e.track_sid),
                Event::TrackUnpublished(e) => format!("unpublished {}", e.publication_sid),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["unsubscribed TR_a", "unpublished TR_a", "unpublished TR_b"]);
        assert_eq!(tracks.announced.keys().collect::<Vec<_>>(), ["TR_c"]);
        assert!(tracks.participant_left("alice").is_empty());
    }

    #[test]
    fn leaving_the_room_unpublishes_our_known_tracks_once() {
        let mut tracks = TrackEvents::new("me".into());
        tracks.local.insert("TR_mine".into());
        assert!(matches!(&tracks.leaving()[..], [Event::LocalTrackUnpublished(e)] if e.publication_sid == "TR_mine"));
        assert!(tracks.leaving().is_empty());
    }

    #[test]
    fn an_unscored_connection_is_not_reported() {
        assert_eq!(connection_quality(ConnectionQuality::Unknown), None);
        assert_eq!(connection_quality(ConnectionQuality::Lost), Some(proto::ConnectionQuality::QualityLost));
    }
}
