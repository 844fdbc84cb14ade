//! Track publications: what a participant published, as handles that share live state. The
//! room updates the state from the server's participant updates; handles only read it, apart
//! from the subscription calls a remote publication sends through the room.

use std::sync::{Arc, Weak};

use livekit_protocol as proto;
use parking_lot::RwLock;

use super::{LocalTrack, RemoteTrack, StreamState, SubscriptionPermission, TrackKind, TrackSource};
use crate::error::{Error, Result};
use crate::room::RoomInner;

/// What the server says about a published track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackPublicationInfo {
    /// The server's id of the track (`TR_...`).
    pub sid: String,
    /// The name the publisher gave it.
    pub name: String,
    /// Audio or video.
    pub kind: TrackKind,
    /// What it carries (microphone, camera...).
    pub source: TrackSource,
    /// Whether the publisher muted it.
    pub muted: bool,
    /// The codec, e.g. `audio/opus` (empty until the server knows it).
    pub mime_type: String,
    /// Whether the publisher sends several layers (video).
    pub simulcasted: bool,
    /// Width and height of video, as published (0 for audio).
    pub dimensions: (u32, u32),
}

impl TrackPublicationInfo {
    /// `None` for a track of a kind this client does not know (e.g. a future type).
    pub(crate) fn from_proto(info: &proto::TrackInfo) -> Option<Self> {
        Some(Self {
            sid: info.sid.clone(),
            name: info.name.clone(),
            kind: TrackKind::from_proto(info.r#type)?,
            source: TrackSource::from_proto(info.source),
            muted: info.muted,
            mime_type: info.mime_type.clone(),
            #[allow(deprecated)] // still the flag the server sets
            simulcasted: info.simulcast,
            dimensions: (info.width, info.height),
        })
    }
}

/// The live state of a remote publication.
#[derive(Debug)]
pub(crate) struct RemotePublicationState {
    pub info: TrackPublicationInfo,
    /// What the local participant asked for (auto-subscribe asks for every track).
    pub wants_subscription: bool,
    /// The track while its media reaches us.
    pub track: Option<RemoteTrack>,
    pub stream_state: StreamState,
    pub permission: SubscriptionPermission,
    /// What we asked the server to send of this track (`UpdateTrackSettings`).
    pub settings: TrackSettings,
}

/// What a subscriber asks the server to send of a video track: whether at all, and at what
/// size or quality (the server picks the layer; a single-layer track is sent as it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TrackSettings {
    pub enabled: bool,
    pub dimensions: Option<(u32, u32)>,
    pub quality: Option<VideoQuality>,
}

impl Default for TrackSettings {
    fn default() -> Self {
        Self { enabled: true, dimensions: None, quality: None }
    }
}

/// A quality layer of a simulcast video track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoQuality {
    /// The smallest layer.
    Low,
    /// The middle layer.
    Medium,
    /// The full-size layer.
    High,
}

impl VideoQuality {
    fn to_proto(self) -> proto::VideoQuality {
        match self {
            Self::Low => proto::VideoQuality::Low,
            Self::Medium => proto::VideoQuality::Medium,
            Self::High => proto::VideoQuality::High,
        }
    }
}

/// A track another participant published. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct RemoteTrackPublication {
    pub(crate) state: Arc<RwLock<RemotePublicationState>>,
    participant_sid: String,
    room: Weak<RoomInner>,
}

impl RemoteTrackPublication {
    pub(crate) fn new(
        info: TrackPublicationInfo,
        participant_sid: String,
        auto_subscribe: bool,
        room: Weak<RoomInner>,
    ) -> Self {
        let state = RemotePublicationState {
            info,
            wants_subscription: auto_subscribe,
            track: None,
            stream_state: StreamState::Unknown,
            permission: SubscriptionPermission::Allowed,
            settings: TrackSettings::default(),
        };
        Self { state: Arc::new(RwLock::new(state)), participant_sid, room }
    }

    /// The server's id of the track (`TR_...`).
    pub fn sid(&self) -> String {
        self.state.read().info.sid.clone()
    }

    /// The name the publisher gave the track.
    pub fn name(&self) -> String {
        self.state.read().info.name.clone()
    }

    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        self.state.read().info.kind
    }

    /// What the track carries.
    pub fn source(&self) -> TrackSource {
        self.state.read().info.source
    }

    /// Whether the publisher muted the track.
    pub fn is_muted(&self) -> bool {
        self.state.read().info.muted
    }

    /// The codec, e.g. `audio/opus`.
    pub fn mime_type(&self) -> String {
        self.state.read().info.mime_type.clone()
    }

    /// Whether the track's media reaches this participant.
    pub fn is_subscribed(&self) -> bool {
        self.state.read().track.is_some()
    }

    /// The track, while subscribed.
    pub fn track(&self) -> Option<RemoteTrack> {
        self.state.read().track.clone()
    }

    /// Whether this participant asked to receive the track (auto-subscribe asks for all).
    pub fn is_desired(&self) -> bool {
        self.state.read().wants_subscription
    }

    /// Whether the server forwards the track's media now.
    pub fn stream_state(&self) -> StreamState {
        self.state.read().stream_state
    }

    /// Whether the publisher allows this participant to subscribe.
    pub fn subscription_permission(&self) -> SubscriptionPermission {
        self.state.read().permission
    }

    /// Everything the server said about the track, at once.
    pub fn info(&self) -> TrackPublicationInfo {
        self.state.read().info.clone()
    }

    /// Asks the server to start (true) or stop (false) sending this track, for rooms joined
    /// with `auto_subscribe: false` or to drop a track not needed. `TrackSubscribed` or
    /// `TrackUnsubscribed` follows; a refusal comes as `TrackSubscriptionFailed`.
    pub async fn set_subscribed(&self, subscribed: bool) -> Result<()> {
        let room = self.room.upgrade().ok_or(Error::Disconnected)?;
        let sid = self.sid();
        if !room.has_remote_publication(&sid) {
            return Err(Error::InvalidArgument(format!("track {sid} is no longer published")));
        }
        self.state.write().wants_subscription = subscribed;
        let update = proto::UpdateSubscription {
            track_sids: vec![sid.clone()],
            subscribe: subscribed,
            participant_tracks: vec![proto::ParticipantTracks {
                participant_sid: self.participant_sid.clone(),
                track_sids: vec![sid],
            }],
        };
        room.send_signal(proto::signal_request::Message::Subscription(update)).await
    }

    /// Pauses (false) or resumes (true) the media of a subscribed track without
    /// unsubscribing: while disabled the server sends nothing, which saves bandwidth for a
    /// video that is not on screen. `TrackStreamStateChanged` follows for video.
    pub async fn set_enabled(&self, enabled: bool) -> Result<()> {
        self.update_settings(|settings| settings.enabled = enabled).await
    }

    /// Tells the server how large the video is shown, so it can send the closest simulcast
    /// layer (a single-layer track is sent as it is).
    pub async fn set_video_dimensions(&self, width: u32, height: u32) -> Result<()> {
        self.update_settings(|settings| settings.dimensions = Some((width, height))).await
    }

    /// Asks for a simulcast layer by quality (a single-layer track is sent as it is).
    pub async fn set_video_quality(&self, quality: VideoQuality) -> Result<()> {
        self.update_settings(|settings| settings.quality = Some(quality)).await
    }

    /// Whether the media is enabled (see [`set_enabled`](Self::set_enabled)).
    pub fn is_enabled(&self) -> bool {
        self.state.read().settings.enabled
    }

    async fn update_settings(&self, change: impl FnOnce(&mut TrackSettings)) -> Result<()> {
        let room = self.room.upgrade().ok_or(Error::Disconnected)?;
        let sid = self.sid();
        if !room.has_remote_publication(&sid) {
            return Err(Error::InvalidArgument(format!("track {sid} is no longer published")));
        }
        let settings = {
            let mut state = self.state.write();
            change(&mut state.settings);
            state.settings
        };
        let (width, height) = settings.dimensions.unwrap_or_default();
        let update = proto::UpdateTrackSettings {
            track_sids: vec![sid],
            disabled: !settings.enabled,
            quality: settings.quality.map_or(proto::VideoQuality::High, VideoQuality::to_proto) as i32,
            width,
            height,
            ..Default::default()
        };
        room.send_signal(proto::signal_request::Message::TrackSetting(update)).await
    }
}

impl std::fmt::Debug for RemoteTrackPublication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.read();
        f.debug_struct("RemoteTrackPublication")
            .field("sid", &state.info.sid)
            .field("kind", &state.info.kind)
            .field("muted", &state.info.muted)
            .field("subscribed", &state.track.is_some())
            .finish()
    }
}

/// A track the local participant published. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct LocalTrackPublication {
    pub(crate) info: Arc<RwLock<TrackPublicationInfo>>,
    track: LocalTrack,
}

impl LocalTrackPublication {
    pub(crate) fn new(info: TrackPublicationInfo, track: LocalTrack) -> Self {
        Self { info: Arc::new(RwLock::new(info)), track }
    }

    /// The published track.
    pub fn track(&self) -> LocalTrack {
        self.track.clone()
    }

    /// The server's id of the track (`TR_...`).
    pub fn sid(&self) -> String {
        self.info.read().sid.clone()
    }

    /// The name given at publish time.
    pub fn name(&self) -> String {
        self.info.read().name.clone()
    }

    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        self.info.read().kind
    }

    /// What the track carries.
    pub fn source(&self) -> TrackSource {
        self.info.read().source
    }

    /// Whether the track is muted.
    pub fn is_muted(&self) -> bool {
        self.track.is_muted()
    }

    /// The codec the server negotiated, e.g. `audio/opus`.
    pub fn mime_type(&self) -> String {
        self.info.read().mime_type.clone()
    }

    /// Everything the server said about the track, at once.
    pub fn info(&self) -> TrackPublicationInfo {
        self.info.read().clone()
    }
}

impl std::fmt::Debug for LocalTrackPublication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let info = self.info.read();
        f.debug_struct("LocalTrackPublication").field("sid", &info.sid).field("muted", &info.muted).finish()
    }
}
