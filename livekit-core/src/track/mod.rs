//! Tracks as the room sees them: kinds, sources, publication info and the per-track states the
//! server reports (muted, stream state, subscription permission). Pure data: the room keeps
//! these up to date; media itself lives in `media/` and moves through the engine.

pub(crate) mod local;
mod publication;
mod remote;

use livekit_protocol as proto;
pub use local::{LocalAudioTrack, LocalTrack, LocalVideoTrack, TrackPublishOptions};
pub use publication::{LocalTrackPublication, RemoteTrackPublication, TrackPublicationInfo, VideoQuality};
pub use remote::{RemoteAudioTrack, RemoteTrack, RemoteVideoTrack};

/// Audio or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// A microphone, a screen's sound, or any other audio.
    Audio,
    /// A camera, a screen, or any other video.
    Video,
}

impl TrackKind {
    pub(crate) fn from_proto(kind: i32) -> Option<Self> {
        match proto::TrackType::try_from(kind) {
            Ok(proto::TrackType::Audio) => Some(Self::Audio),
            Ok(proto::TrackType::Video) => Some(Self::Video),
            _ => None,
        }
    }

    pub(crate) fn to_proto(self) -> proto::TrackType {
        match self {
            Self::Audio => proto::TrackType::Audio,
            Self::Video => proto::TrackType::Video,
        }
    }
}

/// What a track carries, as the publisher declared it. Tokens can limit which sources a
/// participant may publish (`canPublishSources`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TrackSource {
    /// Not declared.
    #[default]
    Unknown,
    /// A camera.
    Camera,
    /// A microphone.
    Microphone,
    /// A shared screen or window.
    ScreenShare,
    /// The sound of a shared screen.
    ScreenShareAudio,
}

impl TrackSource {
    pub(crate) fn from_proto(source: i32) -> Self {
        match proto::TrackSource::try_from(source) {
            Ok(proto::TrackSource::Camera) => Self::Camera,
            Ok(proto::TrackSource::Microphone) => Self::Microphone,
            Ok(proto::TrackSource::ScreenShare) => Self::ScreenShare,
            Ok(proto::TrackSource::ScreenShareAudio) => Self::ScreenShareAudio,
            _ => Self::Unknown,
        }
    }

    pub(crate) fn to_proto(self) -> proto::TrackSource {
        match self {
            Self::Unknown => proto::TrackSource::Unknown,
            Self::Camera => proto::TrackSource::Camera,
            Self::Microphone => proto::TrackSource::Microphone,
            Self::ScreenShare => proto::TrackSource::ScreenShare,
            Self::ScreenShareAudio => proto::TrackSource::ScreenShareAudio,
        }
    }
}

/// Whether the server forwards a subscribed track's media; it pauses a track when the
/// subscriber's bandwidth cannot carry it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StreamState {
    /// Not known yet (no report from the server).
    #[default]
    Unknown,
    /// Media flows.
    Active,
    /// The server paused the track.
    Paused,
}

impl StreamState {
    pub(crate) fn from_proto(state: i32) -> Self {
        match proto::StreamState::try_from(state) {
            Ok(proto::StreamState::Active) => Self::Active,
            Ok(proto::StreamState::Paused) => Self::Paused,
            Err(_) => Self::Unknown,
        }
    }
}

/// How well a participant's media gets through, as the server scores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConnectionQuality {
    /// Not scored yet.
    #[default]
    Unknown,
    /// Heavy loss or delay: media is hardly usable.
    Poor,
    /// Some loss or delay.
    Good,
    /// No noticeable loss or delay.
    Excellent,
    /// The server receives nothing from the participant.
    Lost,
}

impl ConnectionQuality {
    pub(crate) fn from_proto(quality: i32) -> Self {
        match proto::ConnectionQuality::try_from(quality) {
            Ok(proto::ConnectionQuality::Poor) => Self::Poor,
            Ok(proto::ConnectionQuality::Good) => Self::Good,
            Ok(proto::ConnectionQuality::Excellent) => Self::Excellent,
            Ok(proto::ConnectionQuality::Lost) => Self::Lost,
            Err(_) => Self::Unknown,
        }
    }
}

/// Whether the local participant may subscribe to a remote track (the publisher's
/// `set_track_subscription_permissions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubscriptionPermission {
    /// The publisher allows it.
    Allowed,
    /// The publisher does not allow it: a subscription is refused or ended.
    NotAllowed,
}

/// One participant's permission to subscribe to the local participant's tracks, for
/// `LocalParticipant::set_track_subscription_permissions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParticipantTrackPermission {
    /// Who the permission is for.
    pub participant_identity: String,
    /// Every track, present and future.
    pub allow_all: bool,
    /// The tracks allowed when `allow_all` is false.
    pub allowed_track_sids: Vec<String>,
}

impl ParticipantTrackPermission {
    pub(crate) fn to_proto(&self) -> proto::TrackPermission {
        proto::TrackPermission {
            participant_identity: self.participant_identity.clone(),
            all_tracks: self.allow_all,
            track_sids: self.allowed_track_sids.clone(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_sources_round_trip_through_the_protocol() {
        for kind in [TrackKind::Audio, TrackKind::Video] {
            assert_eq!(TrackKind::from_proto(kind.to_proto() as i32), Some(kind));
        }
        for source in [
            TrackSource::Unknown,
            TrackSource::Camera,
            TrackSource::Microphone,
            TrackSource::ScreenShare,
            TrackSource::ScreenShareAudio,
        ] {
            assert_eq!(TrackSource::from_proto(source.to_proto() as i32), source);
        }
    }

    #[test]
    fn unknown_protocol_values_map_to_unknown_not_a_panic() {
        assert_eq!(TrackKind::from_proto(99), None);
        assert_eq!(TrackSource::from_proto(-1), TrackSource::Unknown);
        assert_eq!(StreamState::from_proto(7), StreamState::Unknown);
        assert_eq!(ConnectionQuality::from_proto(42), ConnectionQuality::Unknown);
        assert_eq!(
            ConnectionQuality::from_proto(proto::ConnectionQuality::Excellent as i32),
            ConnectionQuality::Excellent
        );
    }
}
