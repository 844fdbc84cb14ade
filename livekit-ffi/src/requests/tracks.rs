//! Track requests: create an audio track, publish and unpublish it, mute it, subscribe to
//! remote publications and say who may subscribe to ours.
//!
//! Order that the official SDK relies on: the publish callback goes out before the room's
//! `local_track_published` event (the SDK looks the publication up by sid when the event
//! comes), and the `local_track_unpublished` event before the unpublish callback. The core
//! raises both room events before its call returns, and a separate task forwards room events,
//! so each side waits for the other through `Order`.

use std::collections::HashSet;
use std::sync::LazyLock;
use std::time::Duration;

use livekit_core::{LocalTrack, ParticipantTrackPermission, TrackPublishOptions, TrackSource};
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::track_events::{core_source, local_track_info, owned_local_publication};
use crate::error::{FfiError, FfiResult};
use crate::handles::FfiHandle;
use crate::proto::{self, ffi_event, publish_track_callback};
use crate::server::server;

/// How long one side waits for the other before it goes on anyway (a room that closed meanwhile).
const ORDER_TIMEOUT: Duration = Duration::from_secs(5);

/// Marks that one side set and the other waits for: "the publish callback of this sid went
/// out", "the unpublished event of this sid went out".
pub struct Order {
    done: Mutex<HashSet<String>>,
    changed: Notify,
}

/// The order between track callbacks and room events, for every room.
pub static ORDER: LazyLock<Order> =
    LazyLock::new(|| Order { done: Mutex::new(HashSet::new()), changed: Notify::new() });

impl Order {
    /// Records that `key` happened.
    pub fn mark(&self, key: String) {
        self.done.lock().insert(key);
        self.changed.notify_waiters();
    }

    /// Waits until `key` happened (and forgets it), or until the timeout.
    pub async fn wait(&self, key: &str) {
        let _ = tokio::time::timeout(ORDER_TIMEOUT, async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if self.done.lock().remove(key) {
                    return;
                }
                changed.await;
            }
        })
        .await;
    }
}

/// The key of "the publish callback of `sid` went out".
pub fn published_key(sid: &str) -> String {
    format!("published {sid}")
}

/// The key of "the local_track_unpublished event of `sid` went out".
pub fn unpublished_key(sid: &str) -> String {
    format!("unpublished {sid}")
}

/// A local audio track carrying what the source captures (no sid until published).
pub fn create_audio_track(request: proto::CreateAudioTrackRequest) -> FfiResult<proto::CreateAudioTrackResponse> {
    let source = server().handles.audio_source(request.source_handle)?;
    let track = livekit_core::LocalAudioTrack::create(request.name.clone(), &source.source);
    let info = local_track_info(request.name, false);
    let handle = server().handles.insert(FfiHandle::LocalAudioTrack(track));
    Ok(proto::CreateAudioTrackResponse {
        track: proto::OwnedTrack { handle: proto::FfiOwnedHandle { id: handle }, info },
    })
}

/// The core's options: an unset source is `Unknown` (the protocol's default), a two-channel
/// source publishes stereo, DTX and RED default to on as in the official library; simulcast
/// and the stream name do not apply to audio.
fn publish_options(options: &proto::TrackPublishOptions, channels: u32) -> TrackPublishOptions {
    TrackPublishOptions {
        source: options.source.map(core_source).unwrap_or(TrackSource::Unknown),
        stereo: channels == 2,
        audio_bitrate: options.audio_encoding.as_ref().map(|e| e.max_bitrate.min(u32::MAX as u64) as u32),
        dtx: options.dtx.unwrap_or(true),
        red: options.red.unwrap_or(true),
        ..Default::default()
    }
}

/// Publishes a local audio track; the callback carries the publication.
pub fn publish_track(request: proto::PublishTrackRequest) -> FfiResult<proto::PublishTrackResponse> {
    let participant = server().handles.local_participant(request.local_participant_handle)?;
    let track = server().handles.local_audio_track(request.track_handle)?;
    let options = publish_options(&request.options, track.source().num_channels());
    let async_id = server().async_id(request.request_async_id);
    let publish = async move {
        match participant.publish_track(LocalTrack::Audio(track), options).await {
            Ok(publication) => {
                let sid = publication.sid();
                let owned = owned_local_publication(&publication);
                crate::events::send(publish_callback(async_id, publish_track_callback::Message::Publication(owned)));
                ORDER.mark(published_key(&sid));
                None
            }
            Err(error) => Some(publish_callback(async_id, publish_track_callback::Message::Error(error.to_string()))),
        }
    };
    server().spawn_optional_callback(async_id, publish, |async_id, error| {
        publish_callback(async_id, publish_track_callback::Message::Error(error))
    });
    Ok(proto::PublishTrackResponse { async_id })
}

fn publish_callback(async_id: u64, message: publish_track_callback::Message) -> ffi_event::Message {
    ffi_event::Message::PublishTrack(proto::PublishTrackCallback { async_id, message: Some(message) })
}

/// Unpublishes one of our tracks by sid; the callback comes after `local_track_unpublished`.
pub fn unpublish_track(request: proto::UnpublishTrackRequest) -> FfiResult<proto::UnpublishTrackResponse> {
    let participant = server().handles.local_participant(request.local_participant_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let sid = request.track_sid;
    let unpublish = async move {
        // The core raises the event for a track it published, even when telling the server
        // fails; wait until the event went out.
        let was_published = participant.track_publications().contains_key(&sid);
        let error = participant.unpublish_track(&sid).await.err().map(|error| error.to_string());
        if was_published {
            ORDER.wait(&unpublished_key(&sid)).await;
        }
        unpublish_callback(async_id, error)
    };
    server().spawn_callback(async_id, unpublish, |async_id, error| unpublish_callback(async_id, Some(error)));
    Ok(proto::UnpublishTrackResponse { async_id })
}

fn unpublish_callback(async_id: u64, error: Option<String>) -> ffi_event::Message {
    ffi_event::Message::UnpublishTrack(proto::UnpublishTrackCallback { async_id, error })
}

/// Mutes or unmutes a local track; answers the state it is in now.
pub fn local_track_mute(request: proto::LocalTrackMuteRequest) -> FfiResult<proto::LocalTrackMuteResponse> {
    let track = server().handles.local_audio_track(request.track_handle)?;
    if request.mute {
        track.mute();
    } else {
        track.unmute();
    }
    Ok(proto::LocalTrackMuteResponse { muted: track.is_muted() })
}

/// livekit-core receives every subscribed track: enabling is what already happens, disabling
/// (pausing a subscribed track without unsubscribing) is not implemented.
pub fn enable_remote_track(request: proto::EnableRemoteTrackRequest) -> FfiResult<proto::EnableRemoteTrackResponse> {
    server().handles.remote_audio_track(request.track_handle)?;
    if !request.enabled {
        return Err(FfiError::NotImplemented {
            name: "enable_remote_track with enabled = false",
            number: 18,
            why: " (a subscribed track is always received: unsubscribe with set_subscribed instead)",
        });
    }
    Ok(proto::EnableRemoteTrackResponse { enabled: true })
}

/// Sent in the background, as the protocol has no callback for it; a failure is logged.
pub fn set_subscribed(request: proto::SetSubscribedRequest) -> FfiResult<proto::SetSubscribedResponse> {
    let publication = server().handles.remote_publication(request.publication_handle)?;
    let subscribe = request.subscribe;
    server().runtime().spawn(async move {
        if let Err(error) = publication.set_subscribed(subscribe).await {
            log::error!("set_subscribed({subscribe}) on track {} failed: {error}", publication.sid());
        }
    });
    Ok(proto::SetSubscribedResponse {})
}

/// Sent in the background, as the protocol has no callback for it; a failure is logged.
pub fn set_track_subscription_permissions(
    request: proto::SetTrackSubscriptionPermissionsRequest,
) -> FfiResult<proto::SetTrackSubscriptionPermissionsResponse> {
    let participant = server().handles.local_participant(request.local_participant_handle)?;
    let permissions: Vec<_> = request
        .permissions
        .into_iter()
        .map(|p| ParticipantTrackPermission {
            participant_identity: p.participant_identity,
            allow_all: p.allow_all.unwrap_or(false),
            allowed_track_sids: p.allowed_track_sids,
        })
        .collect();
    if permissions.iter().any(|p| p.participant_identity.is_empty()) {
        return Err(FfiError::InvalidArgument("a track permission needs a participant identity".into()));
    }
    let all = request.all_participants_allowed;
    server().runtime().spawn(async move {
        if let Err(error) = participant.set_track_subscription_permissions(all, permissions).await {
            log::error!("set_track_subscription_permissions failed: {error}");
        }
    });
    Ok(proto::SetTrackSubscriptionPermissionsResponse {})
}
