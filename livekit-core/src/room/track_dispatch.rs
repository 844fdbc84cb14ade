//! Track-related signalling turned into publication state and events: published, muted and
//! unpublished tracks, active speakers, connection quality, stream states, subscription
//! permissions and failures. The pure bookkeeping is in `track_changes` and `speakers`.

use std::sync::Arc;

use livekit_protocol as proto;

use super::events::{RoomEvent, TrackPublication};
use super::participant::{Participant, RemoteParticipant};
use super::speakers::SpeakerLevel;
use super::track_changes::TrackChange;
use super::RoomInner;
use crate::engine::ReceivedTrack;
use crate::media::RequestKeyframe;
use crate::track::{
    ConnectionQuality, RemoteAudioTrack, RemoteTrack, RemoteTrackPublication, RemoteVideoTrack, StreamState,
    SubscriptionPermission,
};

/// Applies one change to a remote participant's tracks and raises its event.
pub(super) fn on_remote_track_change(room: &RoomInner, participant: &RemoteParticipant, change: TrackChange) {
    match change {
        TrackChange::Published(info) => {
            let sid = info.sid.clone();
            let publication = participant.add_publication(info);
            room.emit(RoomEvent::TrackPublished { publication: publication.clone(), participant: participant.clone() });
            attach_waiting_media(room, participant, &publication, &sid);
        }
        TrackChange::Unpublished(info) => {
            let Some(publication) = participant.publications.write().remove(&info.sid) else { return };
            detach_media(room, participant, &publication);
            room.emit(RoomEvent::TrackUnpublished { publication, participant: participant.clone() });
        }
        TrackChange::Muted(info) | TrackChange::Unmuted(info) | TrackChange::Updated(info) => {
            let Some(publication) = participant.track_publication(&info.sid) else { return };
            let muted = info.muted;
            let was_muted = std::mem::replace(&mut publication.state.write().info, info).muted;
            if muted != was_muted {
                let participant = Participant::Remote(participant.clone());
                let publication = TrackPublication::Remote(publication);
                room.emit(if muted {
                    RoomEvent::TrackMuted { participant, publication }
                } else {
                    RoomEvent::TrackUnmuted { participant, publication }
                });
            }
        }
    }
}

/// A remote track's media arrived. Its msid stream id is `PA_xxx|TR_xxx`; the publication
/// usually exists already, otherwise the media waits for the participant update.
pub(super) fn on_remote_track(room: &RoomInner, track: ReceivedTrack) {
    let (participant_sid, track_sid) = match track.stream_id.split_once('|') {
        Some((participant, sid)) if sid.starts_with("TR") => (participant.to_string(), sid.to_string()),
        Some((participant, _)) => (participant.to_string(), track.track_id.clone()),
        None => (track.stream_id.clone(), track.track_id.clone()),
    };
    match room.remote_publication(&participant_sid, &track_sid) {
        Some((participant, publication)) => attach_media(room, &participant, &publication, track),
        None => {
            log::debug!("media for {track_sid} arrived before its publication");
            room.waiting_media.lock().insert(track_sid, track);
        }
    }
}

/// Media of a track that ended: unsubscribed, unless a newer subscription replaced it.
pub(super) fn on_remote_track_ended(room: &RoomInner, track_sid: &str) {
    room.waiting_media.lock().remove(track_sid);
    let found = room
        .remotes
        .read()
        .values()
        .find_map(|p| p.track_publication(track_sid).map(|publication| (p.clone(), publication)));
    let Some((participant, publication)) = found else { return };
    let still_flowing = publication.track().is_some_and(|track| track.is_live());
    if !still_flowing {
        detach_media(room, &participant, &publication);
    }
}

fn attach_waiting_media(
    room: &RoomInner,
    participant: &RemoteParticipant,
    publication: &RemoteTrackPublication,
    sid: &str,
) {
    let waiting = room.waiting_media.lock().remove(sid);
    if let Some(track) = waiting {
        attach_media(room, participant, publication, track);
    }
}

fn attach_media(
    room: &RoomInner,
    participant: &RemoteParticipant,
    publication: &RemoteTrackPublication,
    track: ReceivedTrack,
) {
    let remote = match track.video {
        None => RemoteTrack::Audio(RemoteAudioTrack::new(publication.sid(), track.packets, track.stop)),
        Some((codec, keyframes)) => {
            if codec.is_none() {
                log::warn!("track {} arrives in a codec this build cannot decode", publication.sid());
            }
            let request_keyframe: RequestKeyframe = Arc::new(move || keyframes.request());
            RemoteTrack::Video(RemoteVideoTrack::new(
                publication.sid(),
                codec,
                track.packets,
                request_keyframe,
                track.stop,
            ))
        }
    };
    let replaced = publication.state.write().track.replace(remote.clone());
    if let Some(replaced) = replaced {
        // Media of the same track arrived again (a new receiver for it): the old reader stops,
        // so streams opened on it end instead of waiting forever, and the app hears why.
        log::debug!("track {} arrived again; the earlier media ends", publication.sid());
        replaced.end();
        room.emit(RoomEvent::TrackUnsubscribed {
            track: replaced,
            publication: publication.clone(),
            participant: participant.clone(),
        });
    }
    room.emit(RoomEvent::TrackSubscribed {
        track: remote,
        publication: publication.clone(),
        participant: participant.clone(),
    });
}

fn detach_media(room: &RoomInner, participant: &RemoteParticipant, publication: &RemoteTrackPublication) {
    let Some(track) = publication.state.write().track.take() else { return };
    track.end();
    room.emit(RoomEvent::TrackUnsubscribed {
        track,
        publication: publication.clone(),
        participant: participant.clone(),
    });
}

/// The server's speaker changes (only the speakers that changed): levels on the participants,
/// and the whole active list, loudest first.
pub(super) fn on_speakers_changed(room: &RoomInner, speakers: &[proto::SpeakerInfo]) {
    let updates: Vec<SpeakerLevel> =
        speakers.iter().map(|s| SpeakerLevel { sid: s.sid.clone(), level: s.level, active: s.active }).collect();
    for update in &updates {
        if let Some(participant) = room.participant_by_sid(&update.sid) {
            let mut state = participant.state().write();
            state.live.is_speaking = update.active;
            state.live.audio_level = if update.active { update.level } else { 0.0 };
        }
    }
    let active = room.speakers.lock().apply(&updates);
    emit_active_speakers(room, active);
}

/// A participant left: it stops speaking, and the list is raised again if it was in it.
pub(super) fn forget_speaker(room: &RoomInner, sid: &str) {
    let changed = room.speakers.lock().forget(sid);
    if let Some(active) = changed {
        emit_active_speakers(room, active);
    }
}

fn emit_active_speakers(room: &RoomInner, active: Vec<(String, f32)>) {
    let speakers = active.iter().filter_map(|(sid, _)| room.participant_by_sid(sid)).collect();
    room.emit(RoomEvent::ActiveSpeakersChanged { speakers });
}

pub(super) fn on_connection_quality(room: &RoomInner, update: &proto::ConnectionQualityUpdate) {
    for info in &update.updates {
        let Some(participant) = room.participant_by_sid(&info.participant_sid) else { continue };
        let quality = ConnectionQuality::from_proto(info.quality);
        let old = std::mem::replace(&mut participant.state().write().live.connection_quality, quality);
        if old != quality {
            room.emit(RoomEvent::ConnectionQualityChanged { participant, quality });
        }
    }
}

pub(super) fn on_stream_state(room: &RoomInner, update: &proto::StreamStateUpdate) {
    for info in &update.stream_states {
        let Some((participant, publication)) = room.remote_publication(&info.participant_sid, &info.track_sid) else {
            continue;
        };
        let stream_state = StreamState::from_proto(info.state);
        let old = std::mem::replace(&mut publication.state.write().stream_state, stream_state);
        if old != stream_state {
            room.emit(RoomEvent::TrackStreamStateChanged { participant, publication, stream_state });
        }
    }
}

pub(super) fn on_subscription_permission(room: &RoomInner, update: &proto::SubscriptionPermissionUpdate) {
    let Some((participant, publication)) = room.remote_publication(&update.participant_sid, &update.track_sid) else {
        return;
    };
    let permission = if update.allowed { SubscriptionPermission::Allowed } else { SubscriptionPermission::NotAllowed };
    let old = std::mem::replace(&mut publication.state.write().permission, permission);
    if old != permission {
        room.emit(RoomEvent::TrackSubscriptionPermissionChanged { participant, publication, permission });
    }
}

/// The server could not subscribe us (unsupported codec, track gone).
pub(super) fn on_subscription_response(room: &RoomInner, response: &proto::SubscriptionResponse) {
    use proto::SubscriptionError as E;
    let error = match E::try_from(response.err) {
        Ok(E::SeCodecUnsupported) => "the track's codec is not supported by this client",
        Ok(E::SeTrackNotfound) => "the track is no longer published",
        _ => "the server could not subscribe to the track",
    };
    let participant =
        room.remotes.read().values().find(|p| p.track_publication(&response.track_sid).is_some()).cloned();
    let Some(participant) = participant else {
        log::warn!("subscription to {} failed: {error}", response.track_sid);
        return;
    };
    room.emit(RoomEvent::TrackSubscriptionFailed {
        participant,
        track_sid: response.track_sid.clone(),
        error: error.to_string(),
    });
}
