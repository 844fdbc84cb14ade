//! webrtc-rs statistics reports turned into the library's own types (`crate::stats`), so the
//! public API does not carry the WebRTC stack's. Entries the public types do not cover
//! (codecs, candidates, certificates, the remote side's RTCP reports) are left out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use webrtc::data_channel::data_channel_state::RTCDataChannelState;
use webrtc::ice::candidate::CandidatePairState as IcePairState;
use webrtc::stats::{
    DataChannelStats as RtcDataChannel, ICECandidatePairStats, ICETransportStats, InboundRTPStats, OutboundRTPStats,
    PeerConnectionStats as RtcPeerConnection, StatsReport, StatsReportType,
};

use crate::stats::{
    CandidatePairState, CandidatePairStats, DataChannelState, DataChannelStats, InboundRtpStats, OutboundRtpStats,
    PeerConnectionStats, RtcStats, TransportStats,
};

/// A monotonic instant and the wall clock read at the same moment, to date the report's
/// instants.
#[derive(Clone, Copy)]
pub(crate) struct Clock {
    pub now: Instant,
    pub wall: SystemTime,
}

impl Clock {
    pub fn read() -> Self {
        Self { now: Instant::now(), wall: SystemTime::now() }
    }

    /// Milliseconds since the Unix epoch of `at`.
    fn epoch_ms(&self, at: Instant) -> i64 {
        let wall = match self.now.checked_duration_since(at) {
            Some(ago) => self.wall.checked_sub(ago),
            None => self.wall.checked_add(at.duration_since(self.now)),
        };
        wall.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_millis() as i64)
    }
}

fn system_ms(at: SystemTime) -> Option<f64> {
    at.duration_since(UNIX_EPOCH).ok().as_ref().map(Duration::as_secs_f64).map(|s| s * 1000.0)
}

/// The entries of `report` the library reports, ordered by id (the report is a map).
pub(crate) fn convert(report: StatsReport, clock: Clock) -> Vec<RtcStats> {
    let mut entries: Vec<RtcStats> =
        report.reports.into_values().filter_map(|entry| convert_one(entry, clock)).collect();
    entries.sort_by(|a, b| a.id().cmp(b.id()));
    entries
}

fn convert_one(entry: StatsReportType, clock: Clock) -> Option<RtcStats> {
    Some(match entry {
        StatsReportType::InboundRTP(s) => RtcStats::InboundRtp(inbound(s, clock)),
        StatsReportType::OutboundRTP(s) => RtcStats::OutboundRtp(outbound(s, clock)),
        StatsReportType::CandidatePair(s) => RtcStats::CandidatePair(candidate_pair(s, clock)),
        StatsReportType::Transport(s) | StatsReportType::SCTPTransport(s) => RtcStats::Transport(transport(s, clock)),
        StatsReportType::DataChannel(s) => RtcStats::DataChannel(data_channel(s, clock)),
        StatsReportType::PeerConnection(s) => RtcStats::PeerConnection(peer_connection(s, clock)),
        _ => return None,
    })
}

fn inbound(s: InboundRTPStats, clock: Clock) -> InboundRtpStats {
    InboundRtpStats {
        timestamp_ms: clock.epoch_ms(s.timestamp),
        id: s.id,
        ssrc: s.ssrc,
        kind: s.kind,
        track_identifier: s.track_identifier,
        mid: s.mid.to_string(),
        packets_received: s.packets_received,
        bytes_received: s.bytes_received,
        header_bytes_received: s.header_bytes_received,
        nack_count: s.nack_count,
        fir_count: s.fir_count.unwrap_or(0),
        pli_count: s.pli_count.unwrap_or(0),
        last_packet_received_timestamp_ms: s.last_packet_received_timestamp.and_then(system_ms),
    }
}

fn outbound(s: OutboundRTPStats, clock: Clock) -> OutboundRtpStats {
    OutboundRtpStats {
        timestamp_ms: clock.epoch_ms(s.timestamp),
        id: s.id,
        ssrc: s.ssrc,
        kind: s.kind,
        track_identifier: s.track_identifier,
        mid: s.mid.to_string(),
        rid: s.rid.map(|rid| rid.to_string()).unwrap_or_default(),
        packets_sent: s.packets_sent,
        bytes_sent: s.bytes_sent,
        header_bytes_sent: s.header_bytes_sent,
        nack_count: s.nack_count,
        fir_count: s.fir_count.unwrap_or(0),
        pli_count: s.pli_count.unwrap_or(0),
    }
}

fn candidate_pair(s: ICECandidatePairStats, clock: Clock) -> CandidatePairStats {
    CandidatePairStats {
        timestamp_ms: clock.epoch_ms(s.timestamp),
        id: s.id,
        local_candidate_id: s.local_candidate_id,
        remote_candidate_id: s.remote_candidate_id,
        state: match s.state {
            IcePairState::InProgress => CandidatePairState::InProgress,
            IcePairState::Failed => CandidatePairState::Failed,
            IcePairState::Succeeded => CandidatePairState::Succeeded,
            _ => CandidatePairState::Waiting,
        },
        nominated: s.nominated,
    }
}

fn transport(s: ICETransportStats, clock: Clock) -> TransportStats {
    TransportStats {
        timestamp_ms: clock.epoch_ms(s.timestamp),
        id: s.id,
        bytes_sent: s.bytes_sent as u64,
        bytes_received: s.bytes_received as u64,
    }
}

fn data_channel(s: RtcDataChannel, clock: Clock) -> DataChannelStats {
    DataChannelStats {
        timestamp_ms: clock.epoch_ms(s.timestamp),
        id: s.id,
        label: s.label,
        protocol: s.protocol,
        data_channel_identifier: s.data_channel_identifier,
        state: match s.state {
            RTCDataChannelState::Open => DataChannelState::Open,
            RTCDataChannelState::Closing => DataChannelState::Closing,
            RTCDataChannelState::Closed => DataChannelState::Closed,
            _ => DataChannelState::Connecting,
        },
        messages_sent: s.messages_sent as u64,
        bytes_sent: s.bytes_sent as u64,
        messages_received: s.messages_received as u64,
        bytes_received: s.bytes_received as u64,
    }
}

fn peer_connection(s: RtcPeerConnection, clock: Clock) -> PeerConnectionStats {
    PeerConnectionStats {
        timestamp_ms: clock.epoch_ms(s.timestamp),
        id: s.id,
        data_channels_opened: s.data_channels_opened,
        data_channels_closed: s.data_channels_closed,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use webrtc::stats::RTCStatsType;

    use super::*;

    fn clock() -> Clock {
        Clock { now: Instant::now(), wall: UNIX_EPOCH + Duration::from_secs(1_000_000) }
    }

    #[test]
    fn instants_are_dated_on_the_wall_clock() {
        let clock = clock();
        assert_eq!(clock.epoch_ms(clock.now), 1_000_000_000);
        assert_eq!(clock.epoch_ms(clock.now - Duration::from_millis(250)), 999_999_750);
        assert_eq!(clock.epoch_ms(clock.now + Duration::from_millis(5)), 1_000_000_005);
    }

    #[test]
    fn rtp_streams_keep_their_counters_and_the_rest_is_left_out() {
        let clock = clock();
        let outbound = OutboundRTPStats {
            timestamp: clock.now,
            stats_type: RTCStatsType::OutboundRTP,
            id: "RTCOutboundRTPVideoStream_7".into(),
            ssrc: 7,
            kind: "video".into(),
            packets_sent: 120,
            bytes_sent: 96_000,
            track_identifier: "TR_local".into(),
            mid: "1".into(),
            rid: Some("f".into()),
            header_bytes_sent: 1_440,
            nack_count: 2,
            fir_count: None,
            pli_count: Some(3),
        };
        let inbound = InboundRTPStats {
            timestamp: clock.now,
            stats_type: RTCStatsType::InboundRTP,
            id: "RTCInboundRTPAudioStream_9".into(),
            ssrc: 9,
            kind: "audio".into(),
            packets_received: 50,
            track_identifier: "TR_remote".into(),
            mid: "2".into(),
            last_packet_received_timestamp: Some(UNIX_EPOCH + Duration::from_millis(1_500)),
            header_bytes_received: 600,
            bytes_received: 4_000,
            nack_count: 1,
            fir_count: None,
            pli_count: None,
        };
        let report = StatsReport {
            reports: HashMap::from([
                (outbound.id.clone(), StatsReportType::OutboundRTP(outbound)),
                (inbound.id.clone(), StatsReportType::InboundRTP(inbound)),
            ]),
        };
        let entries = convert(report, clock);
        let [RtcStats::InboundRtp(inbound), RtcStats::OutboundRtp(outbound)] = entries.as_slice() else {
            panic!("one inbound and one outbound stream, ordered by id: {entries:?}");
        };
        assert_eq!((inbound.ssrc, inbound.kind.as_str(), inbound.track_identifier.as_str()), (9, "audio", "TR_remote"));
        assert_eq!((inbound.packets_received, inbound.bytes_received, inbound.nack_count), (50, 4_000, 1));
        assert_eq!(inbound.last_packet_received_timestamp_ms, Some(1_500.0));
        assert_eq!((outbound.rid.as_str(), outbound.packets_sent, outbound.bytes_sent), ("f", 120, 96_000));
        assert_eq!((outbound.fir_count, outbound.pli_count), (0, 3));
        assert_eq!(outbound.timestamp_ms, 1_000_000_000);
    }
}
