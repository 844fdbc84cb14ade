//! Tracks the local participant publishes. A track is created from a source before it is
//! published; mute state lives on the track, so it holds before, during and after publishing.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;

use super::TrackSource;
use crate::media::AudioSource;

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
    pub(crate) inner: Arc<LocalAudioInner>,
}

pub(crate) struct LocalAudioInner {
    pub name: String,
    pub source: AudioSource,
    pub muted: watch::Sender<bool>,
    /// Set while published: told about mute changes so the server and the room hear of them.
    pub on_mute: Mutex<Option<MuteHook>>,
}

/// Told the new muted state when it changes.
pub(crate) type MuteHook = Box<dyn Fn(bool) + Send + Sync>;

impl LocalAudioTrack {
    /// A track named `name` (what others see) carrying what `source` captures.
    pub fn create(name: impl Into<String>, source: &AudioSource) -> Self {
        let inner = LocalAudioInner {
            name: name.into(),
            source: source.clone(),
            muted: watch::channel(false).0,
            on_mute: Mutex::new(None),
        };
        Self { inner: Arc::new(inner) }
    }

    /// The name given at creation.
    pub fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// The source feeding the track.
    pub fn source(&self) -> AudioSource {
        self.inner.source.clone()
    }

    /// Whether the track is muted.
    pub fn is_muted(&self) -> bool {
        *self.inner.muted.borrow()
    }

    /// Stops sending audio; subscribers see the track muted (`TrackMuted`).
    pub fn mute(&self) {
        self.set_muted(true);
    }

    /// Sends audio again; subscribers see `TrackUnmuted`.
    pub fn unmute(&self) {
        self.set_muted(false);
    }

    fn set_muted(&self, muted: bool) {
        if self.inner.muted.send_replace(muted) != muted {
            if let Some(on_mute) = self.inner.on_mute.lock().as_ref() {
                on_mute(muted);
            }
        }
    }
}

impl std::fmt::Debug for LocalAudioTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAudioTrack").field("name", &self.inner.name).field("muted", &self.is_muted()).finish()
    }
}

/// A track to publish.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LocalTrack {
    /// Audio from an `AudioSource`.
    Audio(LocalAudioTrack),
}

impl LocalTrack {
    /// The name given at creation.
    pub fn name(&self) -> String {
        match self {
            Self::Audio(track) => track.name(),
        }
    }

    /// Whether the track is muted.
    pub fn is_muted(&self) -> bool {
        match self {
            Self::Audio(track) => track.is_muted(),
        }
    }
}

/// How to publish a track.
#[derive(Clone, Debug)]
pub struct TrackPublishOptions {
    /// What the track carries; tokens may allow only some sources (`canPublishSources`).
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
}

impl Default for TrackPublishOptions {
    fn default() -> Self {
        Self { source: TrackSource::Microphone, stereo: false, audio_bitrate: None, dtx: true, red: true }
    }
}
