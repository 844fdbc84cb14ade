//! Tracks and publications: local tracks made from a source (mute lives on the track), the
//! options they are published with, and the remote tracks and publications events carry.
//! Each object wraps the core's handle; nothing is decided here.

use std::sync::Arc;

use livekit_core::{ConnectionQuality, StreamState, SubscriptionPermission, TrackKind, TrackSource};

use crate::error::{LiveKitError, Result};
use crate::media::{AudioSource, VideoSource};

/// Whether a track carries audio or video.
#[uniffi::remote(Enum)]
pub enum TrackKind {
    Audio,
    Video,
}

/// What a track carries; tokens may allow only some sources (`canPublishSources`).
#[uniffi::remote(Enum)]
pub enum TrackSource {
    Unknown,
    Camera,
    Microphone,
    ScreenShare,
    ScreenShareAudio,
}

/// Whether the server forwards a subscribed track now (`Paused`: bandwidth or not visible).
#[uniffi::remote(Enum)]
pub enum StreamState {
    Unknown,
    Active,
    Paused,
}

/// The server's score of a participant's connection.
#[uniffi::remote(Enum)]
pub enum ConnectionQuality {
    Unknown,
    Poor,
    Good,
    Excellent,
    Lost,
}

/// Whether a publisher lets us subscribe to one of its tracks.
#[uniffi::remote(Enum)]
pub enum SubscriptionPermission {
    Allowed,
    NotAllowed,
}

/// The codec video is sent in (the core's `VideoCodec`; VP9 is received only).
#[derive(uniffi::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    /// VP8, which every official client decodes (the default).
    Vp8,
    /// H.264 constrained baseline.
    H264,
    /// VP9 profile 0: publishing it fails (received only).
    Vp9,
}

impl From<VideoCodec> for livekit_core::VideoCodec {
    fn from(codec: VideoCodec) -> Self {
        match codec {
            VideoCodec::Vp8 => Self::Vp8,
            VideoCodec::H264 => Self::H264,
            VideoCodec::Vp9 => Self::Vp9,
        }
    }
}

/// How to publish a track (the core's `TrackPublishOptions`, same defaults).
#[derive(uniffi::Record, Clone, Debug)]
pub struct TrackPublishOptions {
    /// What the track carries (no default: say it); tokens may allow only some sources.
    pub source: TrackSource,
    /// Ask subscribers' decoders for stereo (the audio source must have two channels).
    #[uniffi(default = false)]
    pub stereo: bool,
    /// Opus bitrate in bits per second (6000..=510000); null keeps the encoder's default.
    #[uniffi(default = None)]
    pub audio_bitrate: Option<u32>,
    /// Discontinuous transmission: almost nothing is sent during silence.
    #[uniffi(default = true)]
    pub dtx: bool,
    /// Redundant audio (RFC 2198): each packet also carries the two before it.
    #[uniffi(default = true)]
    pub red: bool,
    /// The codec video is sent in; null is VP8, which every official client decodes.
    #[uniffi(default = None)]
    pub video_codec: Option<VideoCodec>,
    /// The highest video bitrate in bits per second; null picks one from the resolution.
    #[uniffi(default = None)]
    pub max_bitrate: Option<u32>,
    /// The highest video frame rate; faster captures are skipped.
    #[uniffi(default = 30.0)]
    pub max_framerate: f64,
    /// Send video in several qualities at once (see the core's `TrackPublishOptions`).
    #[uniffi(default = false)]
    pub simulcast: bool,
}

impl From<TrackPublishOptions> for livekit_core::TrackPublishOptions {
    fn from(options: TrackPublishOptions) -> Self {
        // Every field named: a field added to the core's options must be mapped here.
        Self {
            source: options.source,
            stereo: options.stereo,
            audio_bitrate: options.audio_bitrate,
            dtx: options.dtx,
            red: options.red,
            video_codec: options.video_codec.map_or(Self::default().video_codec, Into::into),
            max_bitrate: options.max_bitrate,
            max_framerate: options.max_framerate,
            simulcast: options.simulcast,
        }
    }
}

/// A track of ours, audio or video, made from a source. Mute state lives on the track: it
/// holds before, during and after publishing.
#[derive(uniffi::Object)]
pub struct LocalTrack(pub(crate) livekit_core::LocalTrack);

#[uniffi::export]
impl LocalTrack {
    /// An audio track named `name` (what others see) carrying what `source` captures.
    #[uniffi::constructor]
    pub fn create_audio_track(name: String, source: Arc<AudioSource>) -> Arc<Self> {
        let track = livekit_core::LocalAudioTrack::create(name, &source.0);
        Arc::new(Self(livekit_core::LocalTrack::Audio(track)))
    }

    /// A video track named `name` carrying the pictures `source` captures.
    #[uniffi::constructor]
    pub fn create_video_track(name: String, source: Arc<VideoSource>) -> Arc<Self> {
        let track = livekit_core::LocalVideoTrack::create(name, &source.0);
        Arc::new(Self(livekit_core::LocalTrack::Video(track)))
    }

    /// The name given at creation.
    pub fn name(&self) -> String {
        self.0.name()
    }

    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        match &self.0 {
            livekit_core::LocalTrack::Video(_) => TrackKind::Video,
            _ => TrackKind::Audio,
        }
    }

    /// Whether the track is muted.
    pub fn is_muted(&self) -> bool {
        self.0.is_muted()
    }

    /// Stops sending media; when published, every participant sees `TrackMuted` (this room
    /// raises it at once).
    pub fn mute(&self) {
        self.set_muted(true)
    }

    /// Sends media again; every participant sees `TrackUnmuted`.
    pub fn unmute(&self) {
        self.set_muted(false)
    }
}

impl LocalTrack {
    fn set_muted(&self, muted: bool) {
        match (&self.0, muted) {
            (livekit_core::LocalTrack::Audio(track), true) => track.mute(),
            (livekit_core::LocalTrack::Audio(track), false) => track.unmute(),
            (livekit_core::LocalTrack::Video(track), true) => track.mute(),
            (livekit_core::LocalTrack::Video(track), false) => track.unmute(),
            // The core's enum is non-exhaustive; it has no other kind today.
            _ => log::warn!("mute: a local track of a kind this binding does not know"),
        }
    }
}

/// One of our published tracks, as `LocalParticipant.publish_track` returns it.
#[derive(uniffi::Object)]
pub struct LocalTrackPublication(pub(crate) livekit_core::LocalTrackPublication);

#[uniffi::export]
impl LocalTrackPublication {
    /// The server's id of the track (`TR_...`); `unpublish_track` takes it.
    pub fn sid(&self) -> String {
        self.0.sid()
    }

    /// The track's name.
    pub fn name(&self) -> String {
        self.0.name()
    }

    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        self.0.kind()
    }

    /// What the track carries.
    pub fn source(&self) -> TrackSource {
        self.0.source()
    }

    /// Whether the track is muted.
    pub fn is_muted(&self) -> bool {
        self.0.is_muted()
    }

    /// The codec's media type ("audio/opus", "video/VP8", ...).
    pub fn mime_type(&self) -> String {
        self.0.mime_type()
    }

    /// The published track (mute and unmute it there).
    pub fn track(&self) -> Arc<LocalTrack> {
        Arc::new(LocalTrack(self.0.track()))
    }
}

/// Another participant's track whose media reaches us; read it with `AudioStream` or
/// `VideoStream`.
#[derive(uniffi::Object)]
pub struct RemoteTrack(pub(crate) livekit_core::RemoteTrack);

#[uniffi::export]
impl RemoteTrack {
    /// The server's id of the track (`TR_...`).
    pub fn sid(&self) -> String {
        self.0.sid()
    }

    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        match &self.0 {
            livekit_core::RemoteTrack::Video(_) => TrackKind::Video,
            _ => TrackKind::Audio,
        }
    }
}

impl RemoteTrack {
    pub(crate) fn audio(&self) -> Result<&livekit_core::RemoteAudioTrack> {
        match &self.0 {
            livekit_core::RemoteTrack::Audio(track) => Ok(track),
            _ => Err(LiveKitError::InvalidArgument { reason: format!("track {} is not audio", self.0.sid()) }),
        }
    }

    pub(crate) fn video(&self) -> Result<&livekit_core::RemoteVideoTrack> {
        match &self.0 {
            livekit_core::RemoteTrack::Video(track) => Ok(track),
            _ => Err(LiveKitError::InvalidArgument { reason: format!("track {} is not video", self.0.sid()) }),
        }
    }
}

/// A track another participant published, subscribed or not.
#[derive(uniffi::Object)]
pub struct RemoteTrackPublication(pub(crate) livekit_core::RemoteTrackPublication);

#[uniffi::export(async_runtime = "tokio")]
impl RemoteTrackPublication {
    /// The server's id of the track (`TR_...`).
    pub fn sid(&self) -> String {
        self.0.sid()
    }

    /// The track's name.
    pub fn name(&self) -> String {
        self.0.name()
    }

    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        self.0.kind()
    }

    /// What the track carries.
    pub fn source(&self) -> TrackSource {
        self.0.source()
    }

    /// Whether the publisher muted it.
    pub fn is_muted(&self) -> bool {
        self.0.is_muted()
    }

    /// The codec's media type.
    pub fn mime_type(&self) -> String {
        self.0.mime_type()
    }

    /// Whether its media reaches us.
    pub fn is_subscribed(&self) -> bool {
        self.0.is_subscribed()
    }

    /// The track while subscribed.
    pub fn track(&self) -> Option<Arc<RemoteTrack>> {
        self.0.track().map(|track| Arc::new(RemoteTrack(track)))
    }

    /// Subscribes or unsubscribes (with `auto_subscribe` off, tracks wait for this).
    pub async fn set_subscribed(&self, subscribed: bool) -> Result<()> {
        Ok(self.0.set_subscribed(subscribed).await?)
    }
}

/// A publication of either side, as mute events carry them.
#[derive(uniffi::Enum)]
pub enum TrackPublication {
    /// One of ours.
    Local { publication: Arc<LocalTrackPublication> },
    /// Another participant's.
    Remote { publication: Arc<RemoteTrackPublication> },
}

impl From<livekit_core::TrackPublication> for TrackPublication {
    fn from(publication: livekit_core::TrackPublication) -> Self {
        match publication {
            livekit_core::TrackPublication::Local(p) => Self::Local { publication: Arc::new(LocalTrackPublication(p)) },
            livekit_core::TrackPublication::Remote(p) => {
                Self::Remote { publication: Arc::new(RemoteTrackPublication(p)) }
            }
        }
    }
}
