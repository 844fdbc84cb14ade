//! The room's WebRTC statistics: the whole session's, or the entries of one track.

use super::Room;
use crate::error::{Error, Result};
use crate::stats::{RtcStats, SessionStats};

impl Room {
    /// The WebRTC statistics of the session's peer connections: RTP streams sent and
    /// received, the ICE path, the data channels (see [`crate::stats`]).
    ///
    /// ```no_run
    /// # async fn demo(room: livekit_core::Room) -> livekit_core::Result<()> {
    /// let stats = room.stats().await?;
    /// println!("{} entries on the publisher connection", stats.publisher.len());
    /// # Ok(()) }
    /// ```
    pub async fn stats(&self) -> Result<SessionStats> {
        self.inner.ensure_connected()?;
        Ok(self.inner.engine.stats().await)
    }

    /// The RTP streams of one track, by sid: what we send of one of ours (one entry per
    /// simulcast layer), or what we receive of a subscribed one. Fails with
    /// [`Error::InvalidArgument`] for a sid that is neither published by us nor subscribed.
    ///
    /// ```no_run
    /// # async fn demo(room: livekit_core::Room, sid: &str) -> livekit_core::Result<()> {
    /// use livekit_core::stats::RtcStats;
    /// for entry in room.track_stats(sid).await? {
    ///     if let RtcStats::InboundRtp(rtp) = entry {
    ///         println!("{} packets received", rtp.packets_received);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn track_stats(&self, track_sid: &str) -> Result<Vec<RtcStats>> {
        self.inner.ensure_connected()?;
        let ours = self.inner.published_cid(track_sid);
        let subscribed = self
            .inner
            .remotes
            .read()
            .values()
            .any(|p| p.track_publication(track_sid).is_some_and(|publication| publication.is_subscribed()));
        if ours.is_none() && !subscribed {
            return Err(Error::InvalidArgument(format!("track {track_sid} is neither published by us nor subscribed")));
        }
        let stats = self.inner.engine.stats().await;
        let entries = stats.publisher.into_iter().chain(stats.subscriber);
        Ok(entries
            .filter(|entry| match (entry, &ours) {
                (RtcStats::OutboundRtp(rtp), Some(cid)) => rtp.track_identifier == *cid,
                (RtcStats::InboundRtp(rtp), None) => rtp.track_identifier == track_sid,
                _ => false,
            })
            .collect())
    }
}
