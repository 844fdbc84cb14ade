//! WebRTC statistics of a room's peer connections: what was sent and received per RTP stream,
//! over the ICE path and on each data channel. A subset of the W3C `getStats()` report (the
//! counters the WebRTC stack keeps); [`Room::stats`](crate::Room::stats) gives a session's,
//! [`Room::track_stats`](crate::Room::track_stats) one track's.
//!
//! ```no_run
//! # async fn demo(room: livekit_core::Room) -> livekit_core::Result<()> {
//! use livekit_core::stats::RtcStats;
//! let stats = room.stats().await?;
//! for entry in stats.publisher.iter().chain(&stats.subscriber) {
//!     if let RtcStats::OutboundRtp(rtp) = entry {
//!         println!("{} {}: {} packets, {} bytes", rtp.kind, rtp.ssrc, rtp.packets_sent, rtp.bytes_sent);
//!     }
//! }
//! # Ok(()) }
//! ```

/// The statistics of a session's peer connections. With one peer connection (the default on
/// livekit-server 1.9.10 and later) everything is in `publisher` and `subscriber` is empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionStats {
    /// The connection we offer: publishing, data, and in single mode subscribing too.
    pub publisher: Vec<RtcStats>,
    /// The server's connection, in dual mode.
    pub subscriber: Vec<RtcStats>,
}

/// One entry of a statistics report. More kinds may come; match with a wildcard arm.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RtcStats {
    /// An RTP stream we receive.
    InboundRtp(InboundRtpStats),
    /// An RTP stream we send (one per simulcast layer).
    OutboundRtp(OutboundRtpStats),
    /// An ICE candidate pair.
    CandidatePair(CandidatePairStats),
    /// The ICE transport (and the SCTP transport of the data channels).
    Transport(TransportStats),
    /// A data channel.
    DataChannel(DataChannelStats),
    /// The peer connection.
    PeerConnection(PeerConnectionStats),
}

impl RtcStats {
    /// The entry's id, unique within its report.
    pub fn id(&self) -> &str {
        match self {
            RtcStats::InboundRtp(s) => &s.id,
            RtcStats::OutboundRtp(s) => &s.id,
            RtcStats::CandidatePair(s) => &s.id,
            RtcStats::Transport(s) => &s.id,
            RtcStats::DataChannel(s) => &s.id,
            RtcStats::PeerConnection(s) => &s.id,
        }
    }

    /// When the entry's figures were taken, in milliseconds since the Unix epoch (as the
    /// browser's `getStats()` gives them).
    pub fn timestamp_ms(&self) -> i64 {
        match self {
            RtcStats::InboundRtp(s) => s.timestamp_ms,
            RtcStats::OutboundRtp(s) => s.timestamp_ms,
            RtcStats::CandidatePair(s) => s.timestamp_ms,
            RtcStats::Transport(s) => s.timestamp_ms,
            RtcStats::DataChannel(s) => s.timestamp_ms,
            RtcStats::PeerConnection(s) => s.timestamp_ms,
        }
    }
}

/// An RTP stream we receive (`inbound-rtp`). Packets count once the track is read, which
/// the library does from the moment it is subscribed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InboundRtpStats {
    /// The entry's id.
    pub id: String,
    /// When the figures were taken (milliseconds since the Unix epoch).
    pub timestamp_ms: i64,
    /// The stream's SSRC.
    pub ssrc: u32,
    /// `audio` or `video`.
    pub kind: String,
    /// The track's id in the SDP (the track sid, `TR_...`).
    pub track_identifier: String,
    /// The media section it arrives on.
    pub mid: String,
    /// RTP packets received.
    pub packets_received: u64,
    /// Payload bytes received (headers not counted).
    pub bytes_received: u64,
    /// RTP header bytes received.
    pub header_bytes_received: u64,
    /// NACKs we sent for lost packets.
    pub nack_count: u64,
    /// Full intra requests we sent (video).
    pub fir_count: u64,
    /// Picture loss indications we sent (video).
    pub pli_count: u64,
    /// When the last packet arrived (milliseconds since the Unix epoch), if one did.
    pub last_packet_received_timestamp_ms: Option<f64>,
}

/// An RTP stream we send (`outbound-rtp`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutboundRtpStats {
    /// The entry's id.
    pub id: String,
    /// When the figures were taken (milliseconds since the Unix epoch).
    pub timestamp_ms: i64,
    /// The stream's SSRC.
    pub ssrc: u32,
    /// `audio` or `video`.
    pub kind: String,
    /// The track's id in the SDP (the cid the track was published with).
    pub track_identifier: String,
    /// The media section it leaves on.
    pub mid: String,
    /// The simulcast layer (`q`, `h`, `f`), empty without simulcast.
    pub rid: String,
    /// RTP packets sent.
    pub packets_sent: u64,
    /// Payload bytes sent (headers not counted).
    pub bytes_sent: u64,
    /// RTP header bytes sent.
    pub header_bytes_sent: u64,
    /// NACKs the receiver sent us.
    pub nack_count: u64,
    /// Full intra requests the receiver sent us (video).
    pub fir_count: u64,
    /// Picture loss indications the receiver sent us (video).
    pub pli_count: u64,
}

/// The state of an ICE candidate pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CandidatePairState {
    /// Not checked yet.
    #[default]
    Waiting,
    /// A check is under way.
    InProgress,
    /// The checks failed.
    Failed,
    /// A check succeeded: the pair can carry media.
    Succeeded,
}

/// An ICE candidate pair (`candidate-pair`). The WebRTC stack keeps no per-pair counters
/// (packets, bytes, round-trip times): the transport's bytes are in [`TransportStats`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CandidatePairStats {
    /// The entry's id.
    pub id: String,
    /// When the figures were taken (milliseconds since the Unix epoch).
    pub timestamp_ms: i64,
    /// The local candidate's id.
    pub local_candidate_id: String,
    /// The remote candidate's id.
    pub remote_candidate_id: String,
    /// Where its checks stand.
    pub state: CandidatePairState,
    /// Whether ICE chose it.
    pub nominated: bool,
}

/// A transport: the ICE path, or the SCTP association the data channels use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransportStats {
    /// The entry's id (`ice_transport` or `sctp_transport`).
    pub id: String,
    /// When the figures were taken (milliseconds since the Unix epoch).
    pub timestamp_ms: i64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
}

/// The state of a data channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataChannelState {
    /// Opening.
    #[default]
    Connecting,
    /// Open: messages flow.
    Open,
    /// Closing.
    Closing,
    /// Closed.
    Closed,
}

/// A data channel (`data-channel`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataChannelStats {
    /// The entry's id.
    pub id: String,
    /// When the figures were taken (milliseconds since the Unix epoch).
    pub timestamp_ms: i64,
    /// Its label (`_reliable`, `_lossy`).
    pub label: String,
    /// Its subprotocol.
    pub protocol: String,
    /// Its SCTP stream id.
    pub data_channel_identifier: u16,
    /// Its state.
    pub state: DataChannelState,
    /// Messages sent.
    pub messages_sent: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
}

/// The peer connection (`peer-connection`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeerConnectionStats {
    /// The entry's id.
    pub id: String,
    /// When the figures were taken (milliseconds since the Unix epoch).
    pub timestamp_ms: i64,
    /// Data channels that opened.
    pub data_channels_opened: u32,
    /// Data channels that closed.
    pub data_channels_closed: u32,
}
