//! `webrtc` 0.21.1: the async layer over the Sans-I/O `rtc` core. Events come through one
//! handler trait and each data channel's `poll()`; sockets are bound on 127.0.0.1 explicitly
//! (a wildcard would skip loopback).
//!
//! Media: a MediaEngine with the default codecs plus the audio-level extension and NACK for
//! audio (0.21 registers NACK for video only), the default interceptors, and our `Tap`
//! interceptor next to the wire, which counts RTP/RTCP and drops RTP for the NACK test.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use rtc21::ice::mdns::MulticastDnsMode;
use rtc21::interceptor::{Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc21::media_stream::MediaStreamTrack;
use rtc21::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc21::peer_connection::configuration::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use rtc21::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc21::rtp::extension::HeaderExtension;
use rtc21::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability,
    RtpCodecKind,
};
use rtc21::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc21::sansio::Protocol;
use rtc21::statistics::report::RTCStatsReportEntry;
use rtc21::statistics::StatsSelector;
use tokio::sync::mpsc;
use webrtc21::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc21::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc21::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc21::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceCandidateInit,
    RTCIceServer, RTCPeerConnectionIceEvent, RTCSessionDescription, SettingEngineBuilder,
};

use crate::peers::{self, FromPeers, IceServer, PeersEnds, PeersHandle, Role, ToPeers};

type Pc = Arc<dyn PeerConnection>;

struct Handler {
    role: Role,
    from: mpsc::UnboundedSender<FromPeers>,
}

/// Counters the `Tap` shares with the command loop.
#[derive(Default)]
struct TapCounts {
    drop_every: AtomicU32,
    rtp_out: AtomicU64,
    rtp_dropped: AtomicU64,
    rtp_in: AtomicU64,
    /// Index: RTCP packet type - 200 (SR, RR, SDES, BYE, APP, RTPFB, PSFB).
    rtcp_out: [AtomicU64; 7],
    rtcp_in: [AtomicU64; 7],
}

/// An interceptor next to the wire: it sees every packet, retransmissions and generated RTCP
/// included, and drops every `drop_every`th outgoing RTP packet.
struct Tap {
    counts: Arc<TapCounts>,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

fn count_rtcp(counts: &[AtomicU64; 7], packets: &[Box<dyn rtc21::rtcp::Packet>]) {
    for packet in packets {
        let kind = packet.header().packet_type as u8;
        if (200..207).contains(&kind) {
            counts[(kind - 200) as usize].fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for Tap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc21::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        match &msg.message.packet {
            Packet::Rtp(_) => {
                self.counts.rtp_in.fetch_add(1, Ordering::Relaxed);
            }
            Packet::Rtcp(packets) => count_rtcp(&self.counts.rtcp_in, packets),
            _ => {}
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        match &msg.message.packet {
            Packet::Rtp(_) => {
                let n = self.counts.rtp_out.fetch_add(1, Ordering::Relaxed) + 1;
                let every = self.counts.drop_every.load(Ordering::Relaxed) as u64;
                if every > 0 && n % every == 0 {
                    self.counts.rtp_dropped.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
            }
            Packet::Rtcp(packets) => count_rtcp(&self.counts.rtcp_out, packets),
            _ => {}
        }
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for Tap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// Below `Slot::CongestionControl` (1_000), the wire-most default: nothing comes after us.
const TAP_SLOT: usize = 500;

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Some(json) = event.candidate.to_json().ok().and_then(|i| serde_json::to_string(&i).ok()) {
            let _ = self.from.send(FromPeers::LocalCandidate(self.role, json));
        }
    }

    /// The server's tracks on the subscriber connection.
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let from = self.from.clone();
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                    let _ = from.send(FromPeers::Rtp { payload: packet.payload, at: Instant::now() });
                }
            }
        });
    }

    /// The server's channels on the subscriber connection.
    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        // Off the driver: reading the label takes the core lock.
        tokio::spawn(read_remote_channel(dc, self.from.clone()));
    }
}

/// Every channel must be polled: the driver holds undelivered events and stops reading SCTP.
async fn read_remote_channel(dc: Arc<dyn DataChannel>, from: mpsc::UnboundedSender<FromPeers>) {
    let reliable = dc.label().await.map(|l| l == peers::RELIABLE).unwrap_or(false);
    while let Some(event) = dc.poll().await {
        match event {
            DataChannelEvent::OnOpen if reliable => {
                let _ = from.send(FromPeers::SubscriberReliableOpen);
            }
            DataChannelEvent::OnMessage(msg) if reliable => {
                let _ = from.send(FromPeers::Data(msg.data.freeze()));
            }
            _ => {}
        }
    }
}

fn media_engine() -> anyhow::Result<(MediaEngine, Registry)> {
    let mut engine = MediaEngine::default();
    engine.register_default_codecs()?;
    let level = RTCRtpHeaderExtensionCapability { uri: rtc21::sdp::extmap::AUDIO_LEVEL_URI.to_owned() };
    engine.register_header_extension(level, RtpCodecKind::Audio, None)?;
    // LiveKit offers `nack` for audio; 0.21's defaults register it for video only.
    engine.register_feedback(RTCPFeedback { typ: "nack".into(), parameter: String::new() }, RtpCodecKind::Audio);
    let registry = register_default_interceptors(Registry::new(), &mut engine)?;
    Ok((engine, registry))
}

async fn new_pc(
    role: Role,
    ice_servers: &[IceServer],
    from: &mpsc::UnboundedSender<FromPeers>,
    counts: Arc<TapCounts>,
) -> anyhow::Result<Pc> {
    let config = RTCConfigurationBuilder::new()
        .with_ice_servers(
            ice_servers
                .iter()
                .map(|s| RTCIceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone(),
                    credential: s.credential.clone(),
                })
                .collect(),
        )
        .build();
    let mut settings = SettingEngineBuilder::new().with_multicast_dns_mode(MulticastDnsMode::Disabled);
    // Writes queued by internal events (DTLS start, DCEP open) wait for the next ICE timer tick;
    // this knob shortens the tick to show that cost (docs/webrtc-stacks.md).
    if let Some(ms) = std::env::var("PROBE_WEBRTC21_CHECK_INTERVAL_MS").ok().and_then(|v| v.parse().ok()) {
        settings = settings.with_ice_connection_attempts(Some(Duration::from_millis(ms)), None);
    }
    let settings = settings.build();
    let mut builder = PeerConnectionBuilder::new();
    if peers::media_enabled() {
        let (engine, registry) = media_engine()?;
        let tap = Tap { counts, read: VecDeque::new(), write: VecDeque::new() };
        builder = builder.with_media_engine(engine).with_interceptor_registry(registry.with(Slot::from(TAP_SLOT), tap));
    }
    let pc = builder
        .with_configuration(config)
        .with_setting_engine(settings)
        .with_handler(Arc::new(Handler { role, from: from.clone() }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        // `send` then blocks above the high-water mark: the back-pressure we need.
        .with_data_channel_send_buffer_limit(peers::SEND_HIGH_WATER)
        .build()
        .await?;
    Ok(Arc::new(pc))
}

pub async fn start(ice_servers: &[IceServer]) -> anyhow::Result<PeersHandle> {
    let (handle, ends) = peers::channels();
    let media = Media::default();
    let publisher = new_pc(Role::Publisher, ice_servers, &ends.from, media.publisher.clone()).await?;
    let subscriber = new_pc(Role::Subscriber, ice_servers, &ends.from, media.subscriber.clone()).await?;

    let reliable = publisher.create_data_channel(peers::RELIABLE, Some(RTCDataChannelInit::default())).await?;
    let lossy_init = RTCDataChannelInit { ordered: false, max_retransmits: Some(0), ..Default::default() };
    let lossy = publisher.create_data_channel(peers::LOSSY, Some(lossy_init)).await?;

    let offer = publisher.create_offer(None).await?;
    publisher.set_local_description(offer.clone()).await?;
    let _ = ends.from.send(FromPeers::LocalOffer(offer.sdp));

    let PeersEnds { to, from, send } = ends;
    tokio::spawn(watch_own_channel(reliable.clone(), Some(from.clone())));
    tokio::spawn(watch_own_channel(lossy, None));
    tokio::spawn(send_loop(reliable, send));
    tokio::spawn(command_loop(publisher, subscriber, media, to, from));
    Ok(handle)
}

/// Reports our `_reliable` opening (when `open_tx` is given) and drains the other events.
async fn watch_own_channel(dc: Arc<dyn DataChannel>, open_tx: Option<mpsc::UnboundedSender<FromPeers>>) {
    while let Some(event) = dc.poll().await {
        if let (DataChannelEvent::OnOpen, Some(tx)) = (&event, &open_tx) {
            let _ = tx.send(FromPeers::PublisherReliableOpen);
        }
    }
}

async fn send_loop(dc: Arc<dyn DataChannel>, mut send: mpsc::Receiver<Bytes>) {
    while let Some(message) = send.recv().await {
        if dc.send(BytesMut::from(&message[..])).await.is_err() {
            return;
        }
    }
}

async fn command_loop(
    publisher: Pc,
    subscriber: Pc,
    mut media: Media,
    mut to: mpsc::UnboundedReceiver<ToPeers>,
    from: mpsc::UnboundedSender<FromPeers>,
) {
    while let Some(command) = to.recv().await {
        if let Err(err) = apply(&publisher, &subscriber, &mut media, command, &from).await {
            let _ = from.send(FromPeers::Failed(format!("{err:#}")));
        }
    }
    let _ = publisher.close().await;
    let _ = subscriber.close().await;
}

async fn apply(
    publisher: &Pc,
    subscriber: &Pc,
    media: &mut Media,
    command: ToPeers,
    from: &mpsc::UnboundedSender<FromPeers>,
) -> anyhow::Result<()> {
    match command {
        ToPeers::Answer(sdp) => {
            publisher.set_remote_description(RTCSessionDescription::answer(sdp)?).await.context("publisher answer")?
        }
        ToPeers::Offer(sdp) => {
            subscriber.set_remote_description(RTCSessionDescription::offer(sdp)?).await.context("subscriber offer")?;
            let answer = subscriber.create_answer(None).await?;
            subscriber.set_local_description(answer.clone()).await?;
            let _ = from.send(FromPeers::LocalAnswer(answer.sdp));
        }
        ToPeers::PublishAudio { track_id } => {
            let codec = RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            };
            let encoding = RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(media.ssrc), ..Default::default() },
                codec,
                ..Default::default()
            };
            let track = MediaStreamTrack::new(
                "probe-stream".into(),
                track_id,
                "mic".into(),
                RtpCodecKind::Audio,
                vec![encoding],
            );
            let track = Arc::new(TrackLocalStaticRTP::new(track));
            let init = RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, ..Default::default() };
            publisher.add_transceiver_from_track(track.clone(), Some(init)).await?;
            media.track = Some(track);
            let offer = publisher.create_offer(None).await?;
            publisher.set_local_description(offer.clone()).await?;
            let _ = from.send(FromPeers::LocalOffer(offer.sdp));
        }
        ToPeers::Audio(packet) => {
            let Some(track) = &media.track else { return Ok(()) };
            let rtp = rtc21::rtp::Packet {
                header: rtc21::rtp::Header {
                    version: 2,
                    payload_type: 111,
                    sequence_number: (packet.counter as u16).wrapping_add(media.first_sequence),
                    timestamp: packet.counter.wrapping_mul(960),
                    ssrc: media.ssrc,
                    ..Default::default()
                },
                payload: packet.payload,
            };
            let level = HeaderExtension::AudioLevel(AudioLevelExtension { level: packet.level, voice: packet.voice });
            // Fails until the answer binds the track; the sender counts how many went out.
            if track.write_rtp_with_extensions(rtp, &[level]).await.is_err() {
                media.write_errors += 1;
            }
        }
        ToPeers::DropEvery(n) => media.publisher.drop_every.store(n, Ordering::Relaxed),
        ToPeers::Stats => {
            let mut lines = media.lines();
            for (who, pc) in [("pub", publisher), ("sub", subscriber)] {
                lines.extend(stats_lines(who, pc).await);
            }
            let _ = from.send(FromPeers::MediaStats(lines));
        }
        ToPeers::Candidate(role, json) => {
            let init: RTCIceCandidateInit = serde_json::from_str(&json)?;
            let pc = if role == Role::Publisher { publisher } else { subscriber };
            // Not fatal: one unusable candidate (TCP, say) leaves the others.
            if let Err(err) = pc.add_ice_candidate(init).await {
                log::debug!("{role:?}: remote candidate refused: {err}");
            }
        }
    }
    Ok(())
}

/// The publisher's track and both connections' tap counters.
struct Media {
    track: Option<Arc<TrackLocalStaticRTP>>,
    ssrc: u32,
    first_sequence: u16,
    write_errors: u64,
    publisher: Arc<TapCounts>,
    subscriber: Arc<TapCounts>,
}

impl Default for Media {
    fn default() -> Self {
        // Any values do; the SFU rewrites them. Different per process run.
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        Self {
            track: None,
            ssrc: seed | 1,
            first_sequence: (seed >> 7) as u16,
            write_errors: 0,
            publisher: Arc::default(),
            subscriber: Arc::default(),
        }
    }
}

impl Media {
    fn lines(&self) -> Vec<(String, String)> {
        const NAMES: [&str; 7] = ["SR", "RR", "SDES", "BYE", "APP", "RTPFB", "PSFB"];
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let rtcp = |counts: &[AtomicU64; 7]| {
            let named: Vec<String> = counts
                .iter()
                .zip(NAMES)
                .filter(|(n, _)| load(n) > 0)
                .map(|(n, name)| format!("{name} {}", load(n)))
                .collect();
            named.join(", ")
        };
        let mut lines = Vec::new();
        for (who, c) in [("pub", &self.publisher), ("sub", &self.subscriber)] {
            let rtp = format!("{} / {} / {}", load(&c.rtp_out), load(&c.rtp_dropped), load(&c.rtp_in));
            lines.push((format!("{who} RTP out / dropped / in"), rtp));
            lines.push((format!("{who} RTCP out (per packet)"), rtcp(&c.rtcp_out)));
            lines.push((format!("{who} RTCP in (per packet)"), rtcp(&c.rtcp_in)));
        }
        if self.write_errors > 0 {
            lines.push(("pub write errors (before the answer bound the track)".into(), self.write_errors.to_string()));
        }
        lines
    }
}

/// The stack's own RTP statistics, as it prints them (shortened).
async fn stats_lines(who: &str, pc: &Pc) -> Vec<(String, String)> {
    let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
    let mut lines = Vec::new();
    for entry in report.iter() {
        let (name, text) = match entry {
            RTCStatsReportEntry::InboundRtp(s) => ("inbound-rtp", format!("{s:?}")),
            RTCStatsReportEntry::OutboundRtp(s) => ("outbound-rtp", format!("{s:?}")),
            RTCStatsReportEntry::RemoteInboundRtp(s) => ("remote-inbound-rtp", format!("{s:?}")),
            RTCStatsReportEntry::RemoteOutboundRtp(s) => ("remote-outbound-rtp", format!("{s:?}")),
            _ => continue,
        };
        lines.push((format!("{who} {name}"), text.chars().take(700).collect()));
    }
    lines
}
