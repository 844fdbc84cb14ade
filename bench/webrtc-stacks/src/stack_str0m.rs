//! `str0m` 0.25.0: Sans-I/O, so this module is the I/O. One task owns both `Rtc` instances and
//! one UDP socket each on 127.0.0.1; it feeds packets, timeouts and commands in, and after every
//! mutation drains `poll_output` to the next timeout, as str0m requires.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{anyhow, Context};
use bytes::Bytes;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId, Reliability};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::peers::{self, CandidateInit, FromPeers, PeersEnds, PeersHandle, Role, ToPeers};

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
}

impl Conn {
    async fn new(role: Role) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let local = socket.local_addr()?;
        // Allow as much unacknowledged data as the other stacks' high-water mark (default 128 KiB).
        let mut rtc = Rtc::builder().set_sctp_max_buffered_amount(peers::SEND_HIGH_WATER).build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        Ok(Self { role, rtc, socket, local, deadline: Instant::now(), reliable: None, failed: None })
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
