//! Tracks the local participant publishes. A track is created from a source before it is
//! published; mute state lives on the track, so it holds before, during and after publishing.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;

use super::TrackSource;
use crate::media::{AudioSource, VideoCodec, VideoSource};

/// An audio track fed by an [`AudioSource`]. Cheap to clone; clones are the same track.
///
/// ```no_run
/// # async fn demo(room: livekit_core::Room) -> livekit_core::Result<()> {
/// use livekit_core::{AudioSource, LocalAudioTrack, LocalTrack, TrackPublishOptions, TrackSource};
/// let source = AudioSource::new(48_000, 1, 100)?;
/// let track = LocalAudioTrack::create("microphone", &source);
/// let options = TrackPublishOptions { source: TrackSource::Microphone, ..Default::default() };
/// let publication = room.local_participant().publish_track(LocalTrack::Audio(track.clone()), options).await?;
/// track.mute(); // the server and every subscriber see it muted
/// room.local_participant().unpublish_track(&publication.sid()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LocalAudioTrack {
    pub(crate) inner: Arc<LocalTrackInner<AudioSource>>,
}

/// A video track fed by a [`VideoSource`] (a camera or a screen). Cheap to clone; clones
/// are the same track.
///
/// ```no_run
/// # async fn demo(room: livekit_core::Room) -> livekit_core::Result<()> {
/// use livekit_core::{LocalTrack, LocalVideoTrack, TrackPublishOptions, TrackSource};
/// use livekit_core::media::VideoSource;
/// let source = VideoSource::new(1280, 720, true)?;
/// let track = LocalVideoTrack::create("screen", &source);
/// let options = TrackPublishOptions { source: TrackSource::ScreenShare, ..Default::default() };
/// room.local_participant().publish_track(LocalTrack::Video(track.clone()), options).await?;
/// track.mute(); // no pictures are sent; subscribers see it muted
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LocalVideoTrack {
    pub(crate) inner: Arc<LocalTrackInner<VideoSource>>,
}

/// What a local track of either kind holds: its name, source and mute state.
pub(crate) struct LocalTrackInner<S> {
    pub name: String,
    pub source: S,
    pub muted: watch::Sender<bool>,
    /// Set while published: told about mute changes so the server and the room hear of them.
    pub on_mute: Mutex<Option<MuteHook>>,
}

/// Told the new muted state when it changes.
pub(crate) type MuteHook = Box<dyn Fn(bool) + Send + Sync>;

impl<S: Clone> LocalTrackInner<S> {
    fn new(name: String, source: &S) -> Arc<Self> {
        Arc::new(Self { name, source: source.clone(), muted: watch::channel(false).0, on_mute: Mutex::new(None) })
    }

    fn is_muted(&self) -> bool {
        *self.muted.borrow()
    }

    fn set_muted(&self, muted: bool) {
        if self.muted.send_replace(muted) != muted {
            if let Some(on_mute) = self.on_mute.lock().as_ref() {
                on_mute(muted);
            }
        }
    }
}

/// The methods both local track kinds share.
macro_rules! local_track_methods {
    ($track:ident, $source:ty, $what:literal) => {
        impl $track {
            #[doc = concat!("A track named `name` (what others see) carrying what `source` captures.")]
            pub fn create(name: impl Into<String>, source: &$source) -> Self {
                Self { inner: LocalTrackInner::new(name.into(), source) }
            }

            /// The name given at creation.
            pub fn name(&self) -> String {
                self.inner.name.clone()
            }

            /// The source feeding the track.
            pub fn source(&self) -> $source {
                self.inner.source.clone()
            }

            /// Whether the track is muted.
            pub fn is_muted(&self) -> bool {
                self.inner.is_muted()
            }

            #[doc = concat!("Stops sending ", $what, "; subscribers see the track muted (`TrackMuted`).")]
            pub fn mute(&self) {
                self.inner.set_muted(true);
            }

            #[doc = concat!("Sends ", $what, " again; subscribers see `TrackUnmuted`.")]
            pub fn unmute(&self) {
                self.inner.set_muted(false);
            }
        }

        impl std::fmt::Debug for $track {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($track))
                    .field("name", &self.inner.name)
                    .field("muted", &self.is_muted())
                    .finish()
            }
        }
    };
}

local_track_methods!(LocalAudioTrack, AudioSource, "audio");
local_track_methods!(LocalVideoTrack, VideoSource, "pictures");

/// A track to publish.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LocalTrack {
    /// Audio from an `AudioSource`.
    Audio(LocalAudioTrack),
    /// Video from a `VideoSource`.
    Video(LocalVideoTrack),
}

impl LocalTrack {
    /// The name given at creation.
    pub fn name(&self) -> String {
        match self {
            Self::Audio(track) => track.name(),
            Self::Video(track) => track.name(),
        }
    }

    /// Whether the track is muted.
    pub fn is_muted(&self) -> bool {
        match self {
            Self::Audio(track) => track.is_muted(),
            Self::Video(track) => track.is_muted(),
        }
    }
}

/// Equal when both are the same track (clones of one another), as a publication's
/// [`track`](crate::LocalTrackPublication::track) is the track that was published.
impl PartialEq for LocalTrack {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Audio(a), Self::Audio(b)) => Arc::ptr_eq(&a.inner, &b.inner),
            (Self::Video(a), Self::Video(b)) => Arc::ptr_eq(&a.inner, &b.inner),
            _ => false,
        }
    }
}

/// How to publish a track.
#[derive(Clone, Debug)]
pub struct TrackPublishOptions {
    /// What the track carries; tokens may allow only some sources (`canPublishSources`).
    /// A video track left at the default (`Microphone`) is published as `Camera`.
    pub source: TrackSource,
    /// Ask subscribers' decoders for stereo (the source must have two channels).
    pub stereo: bool,
    /// Opus bitrate in bits per second (6000..=510000); `None` keeps the encoder's default.
    pub audio_bitrate: Option<u32>,
    /// Discontinuous transmission: during silence almost nothing is sent (a short refresh
    /// about every 400 ms), which saves bandwidth and battery; subscribers conceal the pauses.
    /// On by default, as in the official SDKs.
    pub dtx: bool,
    /// Redundant audio (RFC 2198): each packet also carries the two before it, so the server
    /// rebuilds a lost packet from the next ones, for every subscriber. Costs about twice the
    /// audio bitrate. On by default, as in the official SDKs.
    pub red: bool,
    /// The codec video is sent in; VP8 by default, which every official client decodes.
    pub video_codec: VideoCodec,
    /// The highest video bitrate in bits per second; `None` picks one from the source's
    /// resolution (360p 450 kbps, 720p 1.7 Mbps, 1080p 3 Mbps). The sender goes lower when the
    /// server reports loss, never higher.
    pub max_bitrate: Option<u32>,
    /// The highest video frame rate; pictures captured faster are skipped. 30 by default.
    pub max_framerate: f64,
    /// Send video in several qualities at once, so the server can give each subscriber the
    /// one its bandwidth and window allow: quarter, half and full size when the source's
    /// smaller side is at least 360 pixels, half and full from 180, one layer below. Costs
    /// the encoding of each layer. Off by default.
    pub simulcast: bool,
}

impl Default for TrackPublishOptions {
    fn default() -> Self {
        Self {
            source: TrackSource::Microphone,
            stereo: false,
            audio_bitrate: None,
            dtx: true,
            red: true,
            video_codec: VideoCodec::Vp8,
            max_bitrate: None,
            max_framerate: 30.0,
            simulcast: false,
        }
    }
}
