//! Tracks of other participants whose media reaches us.

use tokio::sync::broadcast;

use crate::error::{Error, Result};
use crate::media::{AudioStream, RtpPacket};

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
}

impl RemoteAudioTrack {
    pub(crate) fn new(sid: String, packets: broadcast::WeakSender<RtpPacket>) -> Self {
        Self { sid, packets }
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

/// A remote track whose media reaches us.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RemoteTrack {
    /// Audio.
    Audio(RemoteAudioTrack),
}

impl RemoteTrack {
    /// The server's id of the track.
    pub fn sid(&self) -> String {
        match self {
            Self::Audio(track) => track.sid(),
        }
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
