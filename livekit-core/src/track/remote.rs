//! Tracks of other participants whose media reaches us.

use std::sync::Arc;

use tokio::sync::{broadcast, Notify};

use crate::error::{Error, Result};
use crate::media::{AudioStream, RequestKeyframe, RtpPacket, VideoCodec, VideoFormat, VideoStream};

/// Another participant's audio, as received. Read it with [`AudioStream`]:
///
/// ```no_run
/// # async fn demo(track: livekit_core::RemoteAudioTrack) -> livekit_core::Result<()> {
/// use livekit_core::AudioStream;
/// let mut stream = AudioStream::new(&track, 48_000, 2)?; // resampled and remixed to this
/// while let Some(frame) = stream.recv().await {
///     assert_eq!(frame.samples_per_channel(), 480); // 10 ms
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteAudioTrack {
    sid: String,
    packets: broadcast::WeakSender<RtpPacket>,
    stop: Arc<Notify>,
}

impl RemoteAudioTrack {
    pub(crate) fn new(sid: String, packets: broadcast::WeakSender<RtpPacket>, stop: Arc<Notify>) -> Self {
        Self { sid, packets, stop }
    }

    /// The server's id of the track (`TR_...`).
    pub fn sid(&self) -> String {
        self.sid.clone()
    }

    /// Whether media still flows (the track has not ended).
    pub(crate) fn is_live(&self) -> bool {
        self.packets.upgrade().is_some()
    }

    /// Packets from now on; fails once the track has ended.
    pub(crate) fn subscribe_packets(&self) -> Result<broadcast::Receiver<RtpPacket>> {
        let sender = self.packets.upgrade().ok_or_else(|| {
            Error::InvalidArgument(format!("track {} has ended (unsubscribed or unpublished)", self.sid))
        })?;
        Ok(sender.subscribe())
    }
}

impl std::fmt::Debug for RemoteAudioTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteAudioTrack").field("sid", &self.sid).finish()
    }
}

/// Another participant's video, as received. Read it with [`VideoStream`]:
///
/// ```no_run
/// # async fn demo(track: livekit_core::RemoteVideoTrack) -> livekit_core::Result<()> {
/// use livekit_core::media::{VideoFormat, VideoStream};
/// let mut stream = VideoStream::new(&track, VideoFormat::Rgba)?;
/// while let Some(frame) = stream.recv().await {
///     println!("{}x{} at {} µs", frame.width(), frame.height(), frame.timestamp_us);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteVideoTrack {
    sid: String,
    codec: Option<VideoCodec>,
    packets: broadcast::WeakSender<RtpPacket>,
    request_keyframe: RequestKeyframe,
    stop: Arc<Notify>,
}

impl RemoteVideoTrack {
    pub(crate) fn new(
        sid: String,
        codec: Option<VideoCodec>,
        packets: broadcast::WeakSender<RtpPacket>,
        request_keyframe: RequestKeyframe,
        stop: Arc<Notify>,
    ) -> Self {
        Self { sid, codec, packets, request_keyframe, stop }
    }

    /// The server's id of the track (`TR_...`).
    pub fn sid(&self) -> String {
        self.sid.clone()
    }

    /// The codec the track arrives in; `None` for one this build cannot decode.
    pub fn codec(&self) -> Option<VideoCodec> {
        self.codec
    }

    pub(crate) fn is_live(&self) -> bool {
        self.packets.upgrade().is_some()
    }
}

impl std::fmt::Debug for RemoteVideoTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteVideoTrack").field("sid", &self.sid).field("codec", &self.codec).finish()
    }
}

impl VideoStream {
    /// Decoded pictures of a remote track in `format` (I420 is the cheapest: no conversion).
    /// Fails when the track has ended or arrives in a codec this build cannot decode.
    pub fn new(track: &RemoteVideoTrack, format: VideoFormat) -> Result<Self> {
        let codec = track.codec.ok_or_else(|| {
            Error::InvalidArgument(format!("track {} arrives in a codec this build cannot decode", track.sid))
        })?;
        let sender = track.packets.upgrade().ok_or_else(|| {
            Error::InvalidArgument(format!("track {} has ended (unsubscribed or unpublished)", track.sid))
        })?;
        Self::from_packets(sender.subscribe(), codec, track.request_keyframe.clone(), format)
    }
}

/// A remote track whose media reaches us.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RemoteTrack {
    /// Audio.
    Audio(RemoteAudioTrack),
    /// Video.
    Video(RemoteVideoTrack),
}

impl RemoteTrack {
    /// The server's id of the track.
    pub fn sid(&self) -> String {
        match self {
            Self::Audio(track) => track.sid(),
            Self::Video(track) => track.sid(),
        }
    }

    /// Whether media still flows (the track has not ended).
    pub(crate) fn is_live(&self) -> bool {
        match self {
            Self::Audio(track) => track.is_live(),
            Self::Video(track) => track.is_live(),
        }
    }

    /// Whether both are the same subscription (a track subscribed again keeps its sid but is
    /// a new instance).
    pub(crate) fn same_instance(&self, other: &RemoteTrack) -> bool {
        match (self, other) {
            (Self::Audio(a), Self::Audio(b)) => Arc::ptr_eq(&a.stop, &b.stop),
            (Self::Video(a), Self::Video(b)) => Arc::ptr_eq(&a.stop, &b.stop),
            _ => false,
        }
    }

    /// Stops receiving the track: every stream of it ends (after what it holds, for audio).
    pub(crate) fn end(&self) {
        let stop = match self {
            Self::Audio(track) => &track.stop,
            Self::Video(track) => &track.stop,
        };
        // A stored permit: the reader stops even if it is not waiting at this moment.
        stop.notify_one();
    }
}

impl AudioStream {
    /// Decoded audio of a remote track: continuous 10 ms frames at `sample_rate` (8..48 kHz)
    /// and `num_channels` (1 or 2), whatever the publisher sent; lost packets are rebuilt from
    /// in-band FEC or concealed. Ends when the track ends.
    pub fn new(track: &RemoteAudioTrack, sample_rate: u32, num_channels: u32) -> Result<Self> {
        Self::from_packets(track.subscribe_packets()?, sample_rate, num_channels)
    }
}
