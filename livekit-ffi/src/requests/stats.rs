//! `get_stats` (one track) and `get_session_stats` (the room's peer connections): the core's
//! statistics in the official `RtcStats` messages. Only the fields the core has are set; the
//! rest of the official schema's required fields go out as 0 or empty (docs/stats.md).

use livekit_core::stats::{self as core, RtcStats};
use livekit_core::{LocalTrack, Room};

use crate::error::FfiResult;
use crate::proto::{self, ffi_event, get_session_stats_callback, rtc_stats};
use crate::server::server;

/// The RTP streams of one of our tracks or of a subscribed one.
pub fn get_stats(request: proto::GetStatsRequest) -> FfiResult<proto::GetStatsResponse> {
    let track = server().handles.track_for_stats(request.track_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let answer = async move {
        let callback = match track_stats(track).await {
            Ok(stats) => proto::GetStatsCallback { async_id, error: None, stats },
            Err(error) => proto::GetStatsCallback { async_id, error: Some(error), stats: Vec::new() },
        };
        ffi_event::Message::GetStats(callback)
    };
    server().spawn_callback(async_id, answer, |async_id, error| {
        ffi_event::Message::GetStats(proto::GetStatsCallback { async_id, error: Some(error), stats: Vec::new() })
    });
    Ok(proto::GetStatsResponse { async_id })
}

async fn track_stats(track: Result<LocalTrack, String>) -> Result<Vec<proto::RtcStats>, String> {
    let (room, sid) = match track {
        Ok(local) => room_publishing(&local).ok_or("the track is not published")?,
        Err(sid) => {
            let room = room_subscribed_to(&sid).ok_or_else(|| format!("track {sid} is not subscribed"))?;
            (room, sid)
        }
    };
    let stats = room.track_stats(&sid).await.map_err(|e| e.to_string())?;
    Ok(stats.iter().map(rtc_stats).collect())
}

/// The room one of whose publications is `track`, and the publication's sid.
fn room_publishing(track: &LocalTrack) -> Option<(Room, String)> {
    server().handles.rooms().into_iter().find_map(|held| {
        let publications = held.room.local_participant().track_publications();
        let sid = publications.into_iter().find(|(_, publication)| publication.track() == *track)?.0;
        Some((held.room.clone(), sid))
    })
}

/// The room in which a remote participant publishes the track `sid`.
fn room_subscribed_to(sid: &str) -> Option<Room> {
    server().handles.rooms().into_iter().find_map(|held| {
        let publishes = held.room.remote_participants().values().any(|p| p.track_publication(sid).is_some());
        publishes.then(|| held.room.clone())
    })
}

/// The statistics of the room's peer connections.
pub fn get_session_stats(request: proto::GetSessionStatsRequest) -> FfiResult<proto::GetSessionStatsResponse> {
    let room = server().handles.room(request.room_handle)?.room.clone();
    let async_id = server().async_id(request.request_async_id);
    let callback = |async_id, message| {
        ffi_event::Message::GetSessionStats(proto::GetSessionStatsCallback { async_id, message: Some(message) })
    };
    let answer = async move {
        let message = match room.stats().await {
            Ok(stats) => get_session_stats_callback::Message::Result(get_session_stats_callback::Result {
                publisher_stats: stats.publisher.iter().map(rtc_stats).collect(),
                subscriber_stats: stats.subscriber.iter().map(rtc_stats).collect(),
            }),
            Err(error) => get_session_stats_callback::Message::Error(error.to_string()),
        };
        callback(async_id, message)
    };
    server().spawn_callback(async_id, answer, move |async_id, error| {
        callback(async_id, get_session_stats_callback::Message::Error(error))
    });
    Ok(proto::GetSessionStatsResponse { async_id })
}

fn data(id: &str, timestamp_ms: i64) -> proto::RtcStatsData {
    proto::RtcStatsData { id: id.to_owned(), timestamp: timestamp_ms }
}

fn rtp_stream(ssrc: u32, kind: &str) -> proto::RtpStreamStats {
    proto::RtpStreamStats { ssrc, kind: kind.to_owned(), ..Default::default() }
}

/// One entry in the official message.
pub(crate) fn rtc_stats(entry: &RtcStats) -> proto::RtcStats {
    let stats = match entry {
        RtcStats::InboundRtp(s) => rtc_stats::Stats::InboundRtp(rtc_stats::InboundRtp {
            rtc: data(&s.id, s.timestamp_ms),
            stream: rtp_stream(s.ssrc, &s.kind),
            received: proto::ReceivedRtpStreamStats { packets_received: s.packets_received, ..Default::default() },
            inbound: proto::InboundRtpStreamStats {
                track_identifier: s.track_identifier.clone(),
                mid: s.mid.clone(),
                last_packet_received_timestamp: s.last_packet_received_timestamp_ms.unwrap_or_default(),
                header_bytes_received: s.header_bytes_received,
                bytes_received: s.bytes_received,
                nack_count: saturating(s.nack_count),
                fir_count: saturating(s.fir_count),
                pli_count: saturating(s.pli_count),
                ..Default::default()
            },
        }),
        RtcStats::OutboundRtp(s) => rtc_stats::Stats::OutboundRtp(rtc_stats::OutboundRtp {
            rtc: data(&s.id, s.timestamp_ms),
            stream: rtp_stream(s.ssrc, &s.kind),
            sent: proto::SentRtpStreamStats { packets_sent: s.packets_sent, bytes_sent: s.bytes_sent },
            outbound: proto::OutboundRtpStreamStats {
                mid: s.mid.clone(),
                rid: s.rid.clone(),
                header_bytes_sent: s.header_bytes_sent,
                nack_count: saturating(s.nack_count),
                fir_count: saturating(s.fir_count),
                pli_count: saturating(s.pli_count),
                active: true,
                ..Default::default()
            },
        }),
        RtcStats::CandidatePair(s) => rtc_stats::Stats::CandidatePair(rtc_stats::CandidatePair {
            rtc: data(&s.id, s.timestamp_ms),
            candidate_pair: proto::CandidatePairStats {
                local_candidate_id: s.local_candidate_id.clone(),
                remote_candidate_id: s.remote_candidate_id.clone(),
                state: Some(pair_state(s.state) as i32),
                nominated: s.nominated,
                ..Default::default()
            },
        }),
        RtcStats::Transport(s) => rtc_stats::Stats::Transport(rtc_stats::Transport {
            rtc: data(&s.id, s.timestamp_ms),
            transport: proto::TransportStats {
                bytes_sent: s.bytes_sent,
                bytes_received: s.bytes_received,
                dtls_role: proto::DtlsRole::DtlsUnknown as i32,
                ..Default::default()
            },
        }),
        RtcStats::DataChannel(s) => rtc_stats::Stats::DataChannel(rtc_stats::DataChannel {
            rtc: data(&s.id, s.timestamp_ms),
            dc: proto::DataChannelStats {
                label: s.label.clone(),
                protocol: s.protocol.clone(),
                data_channel_identifier: s.data_channel_identifier.into(),
                state: Some(channel_state(s.state) as i32),
                messages_sent: saturating(s.messages_sent),
                bytes_sent: s.bytes_sent,
                messages_received: saturating(s.messages_received),
                bytes_received: s.bytes_received,
            },
        }),
        RtcStats::PeerConnection(s) => rtc_stats::Stats::PeerConnection(rtc_stats::PeerConnection {
            rtc: data(&s.id, s.timestamp_ms),
            pc: proto::PeerConnectionStats {
                data_channels_opened: s.data_channels_opened,
                data_channels_closed: s.data_channels_closed,
            },
        }),
        // A kind the core may add later, without a member here yet: sent empty.
        _ => return proto::RtcStats { stats: None },
    };
    proto::RtcStats { stats: Some(stats) }
}

fn saturating(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn pair_state(state: core::CandidatePairState) -> proto::IceCandidatePairState {
    match state {
        core::CandidatePairState::Waiting => proto::IceCandidatePairState::PairWaiting,
        core::CandidatePairState::InProgress => proto::IceCandidatePairState::PairInProgress,
        core::CandidatePairState::Failed => proto::IceCandidatePairState::PairFailed,
        core::CandidatePairState::Succeeded => proto::IceCandidatePairState::PairSucceeded,
    }
}

fn channel_state(state: core::DataChannelState) -> proto::DataChannelState {
    match state {
        core::DataChannelState::Connecting => proto::DataChannelState::DcConnecting,
        core::DataChannelState::Open => proto::DataChannelState::DcOpen,
        core::DataChannelState::Closing => proto::DataChannelState::DcClosing,
        core::DataChannelState::Closed => proto::DataChannelState::DcClosed,
    }
}
