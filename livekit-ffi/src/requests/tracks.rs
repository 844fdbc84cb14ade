//! Track requests: create an audio or video track, publish and unpublish it, mute it,
//! subscribe to remote publications, pause them or ask for a size or quality, and say who may
//! subscribe to ours.
//!
//! Order that the official SDK relies on: the publish callback goes out before the room's
//! `local_track_published` event (the SDK looks the publication up by sid when the event
//! comes), and the `local_track_unpublished` event before the unpublish callback. The core
//! raises both room events before its call returns, and a separate task forwards room events,
//! so each side waits for the other through `Order`.

use std::collections::HashSet;
use std::sync::LazyLock;
use std::time::Duration;

use livekit_core::{
    LocalTrack, ParticipantTrackPermission, RemoteTrackPublication, TrackKind, TrackPublishOptions, TrackSource,
    VideoCodec, VideoQuality,
};
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
    let info = local_track_info(request.name, TrackKind::Audio, false);
    let handle = server().handles.insert(FfiHandle::LocalTrack(LocalTrack::Audio(track)));
    Ok(proto::CreateAudioTrackResponse {
        track: proto::OwnedTrack { handle: proto::FfiOwnedHandle { id: handle }, info },
    })
}

/// A local video track carrying what the source captures (no sid until published).
pub fn create_video_track(request: proto::CreateVideoTrackRequest) -> FfiResult<proto::CreateVideoTrackResponse> {
    let source = server().handles.video_source(request.source_handle)?;
    let track = livekit_core::LocalVideoTrack::create(request.name.clone(), &source);
    let info = local_track_info(request.name, TrackKind::Video, false);
    let handle = server().handles.insert(FfiHandle::LocalTrack(LocalTrack::Video(track)));
    Ok(proto::CreateVideoTrackResponse {
        track: proto::OwnedTrack { handle: proto::FfiOwnedHandle { id: handle }, info },
    })
}

/// The core's options: an unset source is `Unknown` (the protocol's default). Audio: a
/// two-channel source publishes stereo, DTX and RED default to on as in the official library.
/// Video: the codec (VP8 or H.264; VP8 by default), `video_encoding` (a 0 keeps the core's
/// default bitrate or frame rate) and `simulcast` (on by default as in the official library;
/// the core publishes one layer either way). The stream name and the preconnect buffer are not
/// used.
fn publish_options(options: &proto::TrackPublishOptions, track: &LocalTrack) -> FfiResult<TrackPublishOptions> {
    let mut core = TrackPublishOptions {
        source: options.source.map(core_source).unwrap_or(TrackSource::Unknown),
        dtx: options.dtx.unwrap_or(true),
        red: options.red.unwrap_or(true),
        ..Default::default()
    };
    match track {
        LocalTrack::Audio(track) => {
            core.stereo = track.source().num_channels() == 2;
            core.audio_bitrate = options.audio_encoding.as_ref().map(|e| e.max_bitrate.min(u32::MAX as u64) as u32);
        }
        _ => {
            core.video_codec = match options.video_codec.map(proto::VideoCodec::try_from) {
                None | Some(Ok(proto::VideoCodec::Vp8)) => VideoCodec::Vp8,
                Some(Ok(proto::VideoCodec::H264)) => VideoCodec::H264,
                Some(Ok(other)) => {
                    return Err(FfiError::InvalidArgument(format!(
                        "publish_track: video codec {} is not supported by livekit-core (VP8 and H264 are)",
                        other.as_str_name()
                    )))
                }
                Some(Err(_)) => return Err(FfiError::InvalidArgument("publish_track: unknown video codec".into())),
            };
            if let Some(encoding) = &options.video_encoding {
                if encoding.max_bitrate > 0 {
                    core.max_bitrate = Some(encoding.max_bitrate.min(u32::MAX as u64) as u32);
                }
                if encoding.max_framerate > 0.0 {
                    core.max_framerate = encoding.max_framerate;
                }
            }
            core.simulcast = options.simulcast.unwrap_or(true);
        }
    }
    Ok(core)
}

/// Publishes a local audio or video track; the callback carries the publication.
pub fn publish_track(request: proto::PublishTrackRequest) -> FfiResult<proto::PublishTrackResponse> {
    let participant = server().handles.local_participant(request.local_participant_handle)?;
    let track = server().handles.local_track(request.track_handle)?;
    let options = publish_options(&request.options, &track)?;
    let async_id = server().async_id(request.request_async_id);
    let publish = async move {
        match participant.publish_track(track, options).await {
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
    let track = server().handles.local_track(request.track_handle)?;
    match (&track, request.mute) {
        (LocalTrack::Audio(track), true) => track.mute(),
        (LocalTrack::Audio(track), false) => track.unmute(),
        (LocalTrack::Video(track), true) => track.mute(),
        (LocalTrack::Video(track), false) => track.unmute(),
        _ => return Err(FfiError::InvalidArgument("local_track_mute: a track of an unknown kind".into())),
    }
    Ok(proto::LocalTrackMuteResponse { muted: track.is_muted() })
}

/// Pauses or resumes a subscribed remote track through its publication (the server stops or
/// starts sending it); answered at once with the asked state, the change goes to the server
/// in the background.
pub fn enable_remote_track(request: proto::EnableRemoteTrackRequest) -> FfiResult<proto::EnableRemoteTrackResponse> {
    let (_, publication) = server().handles.remote_track(request.track_handle)?;
    let enabled = request.enabled;
    in_background(publication, "set_enabled", move |p| async move { p.set_enabled(enabled).await });
    Ok(proto::EnableRemoteTrackResponse { enabled })
}

/// `enable_remote_track` by publication.
pub fn enable_remote_track_publication(
    request: proto::EnableRemoteTrackPublicationRequest,
) -> FfiResult<proto::EnableRemoteTrackPublicationResponse> {
    let publication = server().handles.remote_publication(request.track_publication_handle)?;
    let enabled = request.enabled;
    in_background(publication, "set_enabled", move |p| async move { p.set_enabled(enabled).await });
    Ok(proto::EnableRemoteTrackPublicationResponse {})
}

/// Tells the server how large the video is shown (it picks the closest layer).
pub fn update_remote_track_publication_dimension(
    request: proto::UpdateRemoteTrackPublicationDimensionRequest,
) -> FfiResult<proto::UpdateRemoteTrackPublicationDimensionResponse> {
    let publication = server().handles.remote_publication(request.track_publication_handle)?;
    let (width, height) = (request.width, request.height);
    in_background(
        publication,
        "set_video_dimensions",
        move |p| async move { p.set_video_dimensions(width, height).await },
    );
    Ok(proto::UpdateRemoteTrackPublicationDimensionResponse {})
}

/// Asks the server for a simulcast layer by quality.
pub fn set_remote_track_publication_quality(
    request: proto::SetRemoteTrackPublicationQualityRequest,
) -> FfiResult<proto::SetRemoteTrackPublicationQualityResponse> {
    let publication = server().handles.remote_publication(request.track_publication_handle)?;
    let quality = match request.quality() {
        proto::VideoQuality::Low => VideoQuality::Low,
        proto::VideoQuality::Medium => VideoQuality::Medium,
        proto::VideoQuality::High => VideoQuality::High,
    };
    in_background(publication, "set_video_quality", move |p| async move { p.set_video_quality(quality).await });
    Ok(proto::SetRemoteTrackPublicationQualityResponse {})
}

/// Runs a publication setting in the background (the protocol has no callback for it); a
/// failure is logged.
fn in_background<F, Fut>(publication: RemoteTrackPublication, what: &'static str, change: F)
where
    F: FnOnce(RemoteTrackPublication) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = livekit_core::Result<()>> + Send,
{
    server().spawn(async move {
        let sid = publication.sid();
        if let Err(error) = change(publication).await {
            log::error!("{what} on track {sid} failed: {error}");
        }
    });
}

/// Sent in the background, as the protocol has no callback for it; a failure is logged.
pub fn set_subscribed(request: proto::SetSubscribedRequest) -> FfiResult<proto::SetSubscribedResponse> {
    let publication = server().handles.remote_publication(request.publication_handle)?;
    let subscribe = request.subscribe;
    server().spawn(async move {
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
    server().spawn(async move {
        if let Err(error) = participant.set_track_subscription_permissions(all, permissions).await {
            log::error!("set_track_subscription_permissions failed: {error}");
        }
    });
    Ok(proto::SetTrackSubscriptionPermissionsResponse {})
}
