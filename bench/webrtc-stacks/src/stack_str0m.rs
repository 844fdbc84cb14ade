//! `str0m` 0.25.0: Sans-I/O, so this module is the I/O. One task owns both `Rtc` instances and
//! one UDP socket each on 127.0.0.1; it feeds packets, timeouts and commands in, and after every
//! mutation drains `poll_output` to the next timeout, as str0m requires.
//!
//! Media: the publisher writes Opus frames (frame mode, str0m packetizes); the subscriber runs
//! in RTP mode so every packet, retransmissions included, reaches us. Because we own the socket
//! loop we can count RTCP by type and drop outgoing RTP to test NACK.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{anyhow, Context};
use bytes::Bytes;
use std::time::Duration;

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId, Reliability};
use str0m::format::{Codec, CodecConfig};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::peers::{self, AudioPacket, CandidateInit, FromPeers, PeersEnds, PeersHandle, Role, ToPeers};

/// One peer connection: its `Rtc`, its socket and what the loop needs to remember.
struct Conn {
    role: Role,
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    deadline: Instant,
    /// Publisher: our `_reliable`. Subscriber: the server's, once it opened.
    reliable: Option<ChannelId>,
    /// Set once the connection failed; the loop reports it and stops.
    failed: Option<String>,
    /// Media (publisher): the audio m-line, and every `drop_every`th outgoing RTP dropped.
    audio: Option<Mid>,
    drop_every: u32,
    counts: Counts,
}

/// What crossed our sockets, from the unencrypted first bytes of each datagram (RFC 5761/3711:
/// an SRTCP packet's first header is in the clear, so its type is readable).
#[derive(Default)]
struct Counts {
    rtp_out: u64,
    rtp_dropped: u64,
    rtp_in: u64,
    /// Index: RTCP packet type - 200 (SR, RR, SDES, BYE, APP, RTPFB, PSFB), first packet only.
    rtcp_out: [u64; 7],
    rtcp_in: [u64; 7],
    write_errors: u64,
    last_egress: Option<String>,
    last_ingress: Option<String>,
    bwe: Option<String>,
}

enum Kind {
    Rtp,
    Rtcp(usize),
    Other,
}

fn classify(datagram: &[u8]) -> Kind {
    match datagram {
        [first, second, ..] if (128..192).contains(first) => match *second {
            200..=206 => Kind::Rtcp((*second - 200) as usize),
            192..=223 => Kind::Other,
            _ => Kind::Rtp,
        },
        _ => Kind::Other,
    }
}

impl Conn {
    async fn new(role: Role) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let local = socket.local_addr()?;
        // Allow as much unacknowledged data as the other stacks' high-water mark (default 128 KiB).
        let mut builder = Rtc::builder().set_sctp_max_buffered_amount(peers::SEND_HIGH_WATER);
        builder = match role {
            _ if !peers::media_enabled() => builder,
            // Send-side BWE: needs TWCC negotiated; an estimate event says whether it runs.
            Role::Publisher => builder.enable_bwe(Some(Bitrate::kbps(300))),
            // Raw RTP out, so retransmitted packets are seen one by one.
            Role::Subscriber => builder.set_rtp_mode(true),
        };
        if peers::media_enabled() {
            // Media stats events (RR-derived loss/RTT, NACK counts) once a second.
            builder = builder.set_stats_interval(Some(Duration::from_secs(1)));
        }
        // str0m offers and answers `nack` for video only; this knob adds it to audio, to see
        // what the server and str0m then do (docs/webrtc-stacks.md).
        if std::env::var_os("PROBE_STR0M_AUDIO_NACK").is_some() {
            let mut params = builder.codec_config().params().to_vec();
            for p in params.iter_mut().filter(|p| p.spec().codec.is_audio()) {
                p.set_fb_nack(true);
            }
            *builder.codec_config() = CodecConfig::new_from_payload_params(params);
        }
        let mut rtc = builder.build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        Ok(Self {
            role,
            rtc,
            socket,
            local,
            deadline: Instant::now(),
            reliable: None,
            failed: None,
            audio: None,
            drop_every: 0,
            counts: Counts::default(),
        })
    }

    /// Drains `poll_output` to the next timeout: sends datagrams, reports events.
    fn drain(&mut self, from: &mpsc::UnboundedSender<FromPeers>) {
        loop {
            let output = match self.rtc.poll_output() {
                Ok(output) => output,
                Err(err) => {
                    self.failed = Some(format!("{:?} poll_output: {err}", self.role));
                    return;
                }
            };
            match output {
                Output::Timeout(at) => {
                    self.deadline = at;
                    return;
                }
                // UDP: a full socket buffer is a lost datagram, which SCTP recovers.
                Output::Transmit(t) if t.proto == Protocol::Udp => {
                    match classify(&t.contents) {
                        Kind::Rtp => {
                            self.counts.rtp_out += 1;
                            if self.drop_every > 0 && self.counts.rtp_out % self.drop_every as u64 == 0 {
                                self.counts.rtp_dropped += 1;
                                continue;
                            }
                        }
                        Kind::Rtcp(i) => self.counts.rtcp_out[i] += 1,
                        Kind::Other => {}
                    }
                    let _ = self.socket.try_send_to(&t.contents, t.destination);
                }
                Output::Transmit(_) => {}
                Output::Event(event) => self.on_event(event, from),
            }
        }
    }

    fn on_event(&mut self, event: Event, from: &mpsc::UnboundedSender<FromPeers>) {
        match (event, self.role) {
            (Event::ChannelOpen(id, _), Role::Publisher) if Some(id) == self.reliable => {
                let _ = from.send(FromPeers::PublisherReliableOpen);
            }
            (Event::ChannelOpen(id, label), Role::Subscriber) if label == peers::RELIABLE => {
                self.reliable = Some(id);
                let _ = from.send(FromPeers::SubscriberReliableOpen);
            }
            (Event::ChannelData(data), Role::Subscriber) if Some(data.id) == self.reliable => {
                let _ = from.send(FromPeers::Data(Bytes::from(data.data)));
            }
            (Event::RtpPacket(packet), Role::Subscriber) => {
                let payload = Bytes::copy_from_slice(&packet.payload);
                let _ = from.send(FromPeers::Rtp { payload, at: packet.timestamp });
            }
            (Event::MediaEgressStats(stats), _) => self.counts.last_egress = Some(format!("{stats:?}")),
            (Event::MediaIngressStats(stats), _) => self.counts.last_ingress = Some(format!("{stats:?}")),
            (Event::EgressBitrateEstimate(estimate), _) => {
                let text = match estimate {
                    BweKind::Twcc { estimate, .. } => format!("twcc {estimate}"),
                    BweKind::Remb { estimate, .. } => format!("remb {estimate}"),
                    other => format!("{other:?}"),
                };
                self.counts.bwe = Some(text);
            }
            (Event::IceConnectionStateChange(IceConnectionState::Disconnected), role) => {
                self.failed = Some(format!("{role:?} ICE disconnected"));
            }
            _ => {}
        }
    }

    /// Feeds the datagram just received, then whatever else the socket already holds, so a
    /// burst costs one wake-up instead of one per datagram.
    fn on_packets(&mut self, first: (usize, SocketAddr), buf: &mut [u8], from: &mpsc::UnboundedSender<FromPeers>) {
        let mut next = Some(first);
        let mut budget = 64;
        while let Some((len, source)) = next {
            match classify(&buf[..len]) {
                Kind::Rtp => self.counts.rtp_in += 1,
                Kind::Rtcp(i) => self.counts.rtcp_in[i] += 1,
                Kind::Other => {}
            }
            if let Ok(contents) = buf[..len].try_into() {
                let receive = Receive { proto: Protocol::Udp, source, destination: self.local, contents };
                if let Err(err) = self.rtc.handle_input(Input::Receive(Instant::now(), receive)) {
                    log::debug!("{:?} dropped a datagram: {err}", self.role);
                }
                self.drain(from);
            }
            budget -= 1;
            next = if budget > 0 { self.socket.try_recv_from(buf).ok() } else { None };
        }
    }

    fn on_timeout(&mut self, from: &mpsc::UnboundedSender<FromPeers>) {
        let now = Instant::now();
        if self.deadline <= now {
            if let Err(err) = self.rtc.handle_input(Input::Timeout(now)) {
                self.failed = Some(format!("{:?} timeout input: {err}", self.role));
            }
            self.drain(from);
        }
    }

    /// Adds a trickled candidate. TCP ones are skipped: this loop runs UDP sockets only.
    fn add_candidate(&mut self, json: &str, from: &mpsc::UnboundedSender<FromPeers>) -> anyhow::Result<()> {
        let init: CandidateInit = serde_json::from_str(json)?;
        if init.candidate.is_empty() {
            return Ok(());
        }
        let candidate = Candidate::from_sdp_string(&init.candidate).map_err(|e| anyhow!("{e}"))?;
        if candidate.proto() != Protocol::Udp {
            return Ok(());
        }
        self.rtc.add_remote_candidate(candidate);
        self.drain(from);
        Ok(())
    }
}

pub async fn start(_ice_servers: &[peers::IceServer]) -> anyhow::Result<PeersHandle> {
    let (handle, ends) = peers::channels();
    let mut publisher = Conn::new(Role::Publisher).await?;
    let subscriber = Conn::new(Role::Subscriber).await?;

    let mut api = publisher.rtc.sdp_api();
    let reliable = api.add_channel_with_config(ChannelConfig { label: peers::RELIABLE.into(), ..Default::default() });
    api.add_channel_with_config(ChannelConfig {
        label: peers::LOSSY.into(),
        ordered: false,
        reliability: Reliability::MaxRetransmits { retransmits: 0 },
        ..Default::default()
    });
    let (offer, pending) = api.apply().context("str0m produced no offer")?;
    publisher.reliable = Some(reliable);
    publisher.drain(&ends.from);
    let _ = ends.from.send(FromPeers::LocalOffer(offer.to_sdp_string()));

    tokio::spawn(run(publisher, subscriber, pending, ends));
    Ok(handle)
}

/// The loop: one input at a time, each followed by a drain of the `Rtc` it went to.
async fn run(mut publisher: Conn, mut subscriber: Conn, pending: SdpPendingOffer, ends: PeersEnds) {
    let PeersEnds { mut to, from, mut send } = ends;
    let mut pending_offer = Some(pending);
    // A message the channel did not accept yet (its buffer was full).
    let mut held: Option<Bytes> = None;
    let mut pub_buf = vec![0u8; 2000];
    let mut sub_buf = vec![0u8; 2000];
    let mut open = false;

    loop {
        let deadline = publisher.deadline.min(subscriber.deadline);
        tokio::select! {
            received = publisher.socket.recv_from(&mut pub_buf) => {
                if let Ok(first) = received {
                    publisher.on_packets(first, &mut pub_buf, &from);
                }
                // Acknowledgements free buffer space: retry a held message.
                if let Some(message) = held.take() {
                    held = write(&mut publisher, message, &from);
                }
            }
            received = subscriber.socket.recv_from(&mut sub_buf) => {
                if let Ok(first) = received {
                    subscriber.on_packets(first, &mut sub_buf, &from);
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                publisher.on_timeout(&from);
                subscriber.on_timeout(&from);
            }
            command = to.recv() => {
                let Some(command) = command else { break };
                let result = match command {
                    ToPeers::Answer(sdp) => accept_answer(&mut publisher, pending_offer.take(), &sdp, &from),
                    ToPeers::Offer(sdp) => answer_offer(&mut subscriber, &sdp, &from),
                    ToPeers::PublishAudio { track_id } => {
                        publish_audio(&mut publisher, track_id, &mut pending_offer, &from);
                        Ok(())
                    }
                    ToPeers::Audio(packet) => {
                        write_audio(&mut publisher, packet, &from);
                        Ok(())
                    }
                    ToPeers::DropEvery(n) => {
                        publisher.drop_every = n;
                        Ok(())
                    }
                    ToPeers::Stats => {
                        let _ = from.send(FromPeers::MediaStats(stats(&publisher, &subscriber)));
                        Ok(())
                    }
                    ToPeers::Candidate(role, json) => {
                        let conn = if role == Role::Publisher { &mut publisher } else { &mut subscriber };
                        // Not fatal: one unusable candidate leaves the others.
                        if let Err(err) = conn.add_candidate(&json, &from) {
                            log::debug!("{role:?}: remote candidate refused: {err:#}");
                        }
                        Ok(())
                    }
                };
                if let Err(err) = result {
                    let _ = from.send(FromPeers::Failed(format!("{err:#}")));
                }
            }
            message = send.recv(), if held.is_none() && open => {
                let Some(message) = message else { break };
                held = write(&mut publisher, message, &from);
            }
        }
        // Take messages only once connected; a write before that would only be held.
        open = open || publisher.rtc.is_connected();
        if let Some(reason) = publisher.failed.take().or_else(|| subscriber.failed.take()) {
            let _ = from.send(FromPeers::Failed(reason));
            break;
        }
    }
    publisher.rtc.disconnect();
    subscriber.rtc.disconnect();
}

/// Writes one message; returns it when the channel's buffer is full, to retry later.
fn write(conn: &mut Conn, message: Bytes, from: &mpsc::UnboundedSender<FromPeers>) -> Option<Bytes> {
    let id = conn.reliable?;
    let accepted = match conn.rtc.channel(id) {
        Some(mut channel) => channel.write(true, &message).unwrap_or(false),
        None => false,
    };
    conn.drain(from);
    (!accepted).then_some(message)
}

fn accept_answer(
    conn: &mut Conn,
    pending: Option<SdpPendingOffer>,
    sdp: &str,
    from: &mpsc::UnboundedSender<FromPeers>,
) -> anyhow::Result<()> {
    let pending = pending.context("a second publisher answer")?;
    let answer = SdpAnswer::from_sdp_string(sdp).context("parsing the publisher answer")?;
    conn.rtc.sdp_api().accept_answer(pending, answer).context("publisher answer")?;
    conn.drain(from);
    Ok(())
}

fn answer_offer(conn: &mut Conn, sdp: &str, from: &mpsc::UnboundedSender<FromPeers>) -> anyhow::Result<()> {
    let offer = SdpOffer::from_sdp_string(sdp).context("parsing the subscriber offer")?;
    let answer = conn.rtc.sdp_api().accept_offer(offer).context("subscriber offer")?;
    conn.drain(from);
    let _ = from.send(FromPeers::LocalAnswer(answer.to_sdp_string()));
    Ok(())
}

/// Adds a sendonly audio m-line with msid `<stream> <track_id>` and sends the new offer.
fn publish_audio(
    conn: &mut Conn,
    track_id: String,
    pending: &mut Option<SdpPendingOffer>,
    from: &mpsc::UnboundedSender<FromPeers>,
) {
    let mut api = conn.rtc.sdp_api();
    let mid = api.add_media(MediaKind::Audio, Direction::SendOnly, Some("probe-stream".into()), Some(track_id), None);
    match api.apply() {
        Some((offer, next)) => {
            conn.audio = Some(mid);
            *pending = Some(next);
            conn.drain(from);
            let _ = from.send(FromPeers::LocalOffer(offer.to_sdp_string()));
        }
        None => {
            let _ = from.send(FromPeers::Failed("str0m made no offer for the audio m-line".into()));
        }
    }
}

/// Writes one Opus frame (one RTP packet) with the audio-level extension.
fn write_audio(conn: &mut Conn, packet: AudioPacket, from: &mpsc::UnboundedSender<FromPeers>) {
    let Some(mid) = conn.audio else { return };
    let written = conn.rtc.writer(mid).and_then(|writer| {
        let pt = writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt())?;
        let time = MediaTime::new(packet.counter as u64 * 960, Frequency::FORTY_EIGHT_KHZ);
        // str0m takes the level as -dBov.
        let writer = writer.audio_level(-(packet.level as i8), packet.voice);
        writer.write(pt, Instant::now(), time, packet.payload.to_vec()).ok()
    });
    if written.is_none() {
        conn.counts.write_errors += 1;
    }
    conn.drain(from);
}

fn stats(publisher: &Conn, subscriber: &Conn) -> Vec<(String, String)> {
    const NAMES: [&str; 7] = ["SR", "RR", "SDES", "BYE", "APP", "RTPFB", "PSFB"];
    let rtcp = |counts: &[u64; 7]| {
        let named: Vec<String> =
            counts.iter().zip(NAMES).filter(|(n, _)| **n > 0).map(|(n, name)| format!("{name} {n}")).collect();
        named.join(", ")
    };
    let mut lines = Vec::new();
    for (who, conn) in [("pub", publisher), ("sub", subscriber)] {
        let c = &conn.counts;
        lines.push((
            format!("{who} RTP out / dropped / in"),
            format!("{} / {} / {}", c.rtp_out, c.rtp_dropped, c.rtp_in),
        ));
        lines.push((format!("{who} RTCP out (first packet type)"), rtcp(&c.rtcp_out)));
        lines.push((format!("{who} RTCP in (first packet type)"), rtcp(&c.rtcp_in)));
        if c.write_errors > 0 {
            lines.push((format!("{who} write errors"), c.write_errors.to_string()));
        }
        for (what, value) in [("egress stats", &c.last_egress), ("ingress stats", &c.last_ingress), ("BWE", &c.bwe)] {
            if let Some(value) = value {
                lines.push((format!("{who} {what}"), value.clone()));
            }
        }
    }
    lines
}
