//! livekit-core: a pure-Rust LiveKit client core on tokio and a pure-Rust WebRTC stack.
//!
//! ```no_run
//! # async fn demo() -> livekit_core::Result<()> {
//! use livekit_core::{Room, RoomOptions, RoomEvent, DataOptions};
//! let (room, mut events) = Room::connect("ws://127.0.0.1:7880", "<token>", RoomOptions::default()).await?;
//! room.local_participant().set_attributes([("status".to_string(), "ready".to_string())].into()).await?;
//! room.local_participant().publish_data(b"hello".to_vec(), DataOptions::reliable().with_topic("chat")).await?;
//! while let Some(event) = events.recv().await {
//!     if let RoomEvent::DataReceived { payload, topic, .. } = event {
//!         println!("{topic:?}: {}", String::from_utf8_lossy(&payload));
//!     }
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod api;
pub mod data;
mod engine;
mod error;
// Also in unit tests, which replay the fuzz targets' regression corpora on stable.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod media;
pub mod room;
mod signal;
pub mod stats;
// Shared with livekit-ffi, whose tasks go through the same boxed type.
#[doc(hidden)]
pub mod tasks;
pub mod track;

pub use data::DataOptions;
pub use engine::{DataPacketKind, PeerConnectionMode};
pub use error::{Error, Result};
pub use media::AudioFrame;
pub use media::{
    AudioResampler, AudioSource, AudioStream, VideoCodec, VideoFormat, VideoFrame, VideoSource, VideoStream,
};
pub use room::{
    ConnectionState, DisconnectReason, LocalParticipant, Participant, ParticipantKind, ParticipantPermissions,
    RemoteParticipant, Room, RoomEvent, RoomOptions, TrackPublication,
};
pub use track::{
    ConnectionQuality, LocalAudioTrack, LocalTrack, LocalTrackPublication, LocalVideoTrack, ParticipantTrackPermission,
    RemoteAudioTrack, RemoteTrack, RemoteTrackPublication, RemoteVideoTrack, StreamState, SubscriptionPermission,
    TrackKind, TrackPublicationInfo, TrackPublishOptions, TrackSource, VideoQuality,
};
