//! Media through the server: participant P publishes one Opus track, S (same stack, same
//! process) auto-subscribes. No encoder: each payload is an Opus TOC byte and a counter, which
//! the SFU forwards without decoding; S matches packets by that counter because the SFU rewrites
//! SSRC, sequence numbers and timestamps.
//!
//! One full run (publish, 500 clean packets, 500 with every 20th RTP dropped inside P's stack
//! and a loud audio level, a 2 s tail), then more pairs that only time publish → first RTP.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use livekit_protocol as proto;
use serde::{Deserialize, Serialize};

use crate::measure::{ms, rss_kib, Server};
use crate::peers::{AudioPacket, ToPeers};
use crate::report::Summary;
use crate::session::{MediaEvent, Participant};
use crate::stacks::Stack;

pub const PUBLISH_TRIES: usize = 5;
pub const PHASE_PACKETS: u32 = 500;
/// 5 % loss on P's outgoing RTP during the lossy phase.
pub const DROP_EVERY: u32 = 20;
/// 2 s of packets after the lossy phase, for retransmissions and speaker updates to arrive.
const TAIL_PACKETS: u32 = 100;
const PACKET_INTERVAL: Duration = Duration::from_millis(20);
const FIRST_RTP_TIMEOUT: Duration = Duration::from_secs(10);
const STATS_TIMEOUT: Duration = Duration::from_secs(2);
/// The server debounces subscriber offers by 150 ms when the connection negotiated less than
/// 150 ms ago (10 ms otherwise; livekit-server v1.13.5 pkg/rtc/transport.go:75-76, 1983), and
/// S's join ends right after its first negotiation. Publishing at once would measure that timer
/// (the figures then show ~160 ms); no event marks its expiry, so wait it out.
const SETTLE_AFTER_JOIN: Duration = Duration::from_millis(300);
/// Opus TOC: config 31 (CELT fullband 20 ms), mono, one frame.
const OPUS_TOC: u8 = 0xF8;
const PAYLOAD_LEN: usize = 40;
/// RFC 6464: 127 is silence; 10 means -10 dBov (the server counts <= 35 as active).
const QUIET: u8 = 127;
const LOUD: u8 = 10;

#[derive(Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub sent: u32,
    /// Distinct counters received.
    pub received: u32,
    /// Packets received more than once (a retransmission after the original got through).
    pub duplicates: u32,
    pub latency_ms: Summary,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MediaFigures {
    /// AddTrackRequest → `track_published`, per try.
    pub track_published_ms: Vec<f64>,
    /// AddTrackRequest → first RTP at S, per try.
    pub first_rtp_ms: Vec<f64>,
    /// Per try: when (ms after AddTrackRequest) each SDP went by and which counter came first;
    /// says where the publish time goes.
    pub timelines: Vec<String>,
    pub clean: Delivery,
    pub lossy: Delivery,
    /// `speakers_changed` naming P active while P sent level 127 (should be false).
    pub speaker_while_quiet: bool,
    /// Start of the loud phase → first `speakers_changed` naming P active.
    pub speaker_after_ms: Option<f64>,
    /// `connection_quality` updates: "<receiver>: <about> <quality> (<score>) at <s> s".
    pub quality: Vec<String>,
    /// RSS: fresh process, both joined (data channels only), and after the media run.
    pub rss_before_kib: u64,
    pub rss_pair_kib: u64,
    pub rss_media_kib: u64,
    /// What the stacks report (RTCP counts, NACKs, BWE), P's and S's.
    pub stats: Vec<(String, String)>,
    /// The negotiated audio lines (rtpmap/fmtp/rtcp-fb/extmap/msid) of each SDP.
    pub sdp: Vec<(String, Vec<String>)>,
}

pub async fn media(server: &Server, stack: Stack) -> anyhow::Result<MediaFigures> {
    crate::peers::enable_media();
    let rss_before_kib = rss_kib()?;
    let mut track_published_ms = Vec::new();
    let mut first_rtp_ms = Vec::new();
    let mut timelines = Vec::new();
    let mut full = None;
    for attempt in 0..PUBLISH_TRIES {
        let room = format!("media-{}-{attempt}", stack.short());
        let (p, _) = server.join(stack, &room, "p").await?;
        let (s, _) = server.join(stack, &room, "s").await?;
        let rss_pair = rss_kib()?;
        tokio::time::sleep(SETTLE_AFTER_JOIN).await;
        let mut run = Run::new(p, s);
        run.publish().await.with_context(|| format!("try {attempt}"))?;
        track_published_ms.push(run.published_ms);
        first_rtp_ms.push(run.first_rtp_ms);
        timelines.push(run.timeline.join(", "));
        if attempt == 0 {
            let figures = run.full().await?;
            full = Some((figures, rss_pair, rss_kib()?));
        }
        run.p.leave().await;
        run.s.leave().await;
    }
    let (mut figures, rss_pair_kib, rss_media_kib) = full.expect("the first try runs in full");
    figures.track_published_ms = track_published_ms;
    figures.first_rtp_ms = first_rtp_ms;
    figures.timelines = timelines;
    figures.rss_before_kib = rss_before_kib;
    figures.rss_pair_kib = rss_pair_kib;
    figures.rss_media_kib = rss_media_kib;
    Ok(figures)
}

/// One pair and everything seen while P sends.
struct Run {
    p: Participant,
    s: Participant,
    started: Instant,
    published_ms: f64,
    first_rtp_ms: f64,
    /// Send instant of each counter.
    sent: Vec<Instant>,
    /// Counter → (first arrival, times received).
    arrived: HashMap<u32, (Instant, u32)>,
    level: u8,
    loud_since: Option<Instant>,
    speaker_while_quiet: bool,
    speaker_after: Option<Duration>,
    quality: Vec<String>,
    stats: Vec<(String, String)>,
    stats_replies: usize,
    sdp: Vec<(String, Vec<String>)>,
    timeline: Vec<String>,
    ticker: tokio::time::Interval,
}

impl Run {
    fn new(p: Participant, s: Participant) -> Self {
        let mut ticker = tokio::time::interval(PACKET_INTERVAL);
        // Keep 50 packets/s on average even if the loop falls behind.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        Self {
            p,
            s,
            started: Instant::now(),
            published_ms: f64::NAN,
            first_rtp_ms: f64::NAN,
            sent: Vec::new(),
            arrived: HashMap::new(),
            level: QUIET,
            loud_since: None,
            speaker_while_quiet: false,
            speaker_after: None,
            quality: Vec::new(),
            stats: Vec::new(),
            stats_replies: 0,
            sdp: Vec::new(),
            timeline: Vec::new(),
            ticker,
        }
    }

    /// AddTrackRequest, `track_published`, the new offer, then packets until S has the first.
    async fn publish(&mut self) -> anyhow::Result<()> {
        const CID: &str = "probe-mic";
        self.started = Instant::now();
        self.p.add_audio_track(CID).await;
        let deadline = tokio::time::Instant::now() + FIRST_RTP_TIMEOUT;
        loop {
            let event = tokio::time::timeout_at(deadline, self.p.media.recv())
                .await
                .context("no track_published within 10 s")?
                .context("P's session ended")?;
            if let MediaEvent::TrackPublished(published) = event {
                if published.cid != CID {
                    bail!("track_published for cid {:?}, not {CID:?}", published.cid);
                }
                break;
            }
            self.on_event(event, true);
        }
        self.published_ms = ms(self.started.elapsed());
        self.p.media_command(ToPeers::PublishAudio { track_id: CID.into() })?;
        self.ticker.reset();
        while self.arrived.is_empty() {
            if tokio::time::Instant::now() > deadline {
                bail!("S received no RTP within {FIRST_RTP_TIMEOUT:?} of AddTrackRequest ({} sent)", self.sent.len());
            }
            self.step(deadline).await?;
        }
        let (counter, (first, _)) = self.arrived.iter().min_by_key(|(_, (at, _))| *at).expect("one arrived");
        self.first_rtp_ms = ms(*first - self.started);
        let sent_at = ms(self.sent[*counter as usize] - self.started);
        self.timeline.push(format!("first RTP {:.0} (packet {counter}, sent at {sent_at:.0})", self.first_rtp_ms));
        Ok(())
    }

    /// Clean phase, lossy + loud phase, tail, then the stacks' own statistics.
    async fn full(&mut self) -> anyhow::Result<MediaFigures> {
        let clean_from = self.sent.len() as u32;
        self.send_until(clean_from + PHASE_PACKETS).await?;
        let lossy_from = self.sent.len() as u32;
        self.p.media_command(ToPeers::DropEvery(DROP_EVERY))?;
        self.level = LOUD;
        self.loud_since = Some(Instant::now());
        self.send_until(lossy_from + PHASE_PACKETS).await?;
        self.p.media_command(ToPeers::DropEvery(0))?;
        let tail_from = self.sent.len() as u32;
        self.send_until(tail_from + TAIL_PACKETS).await?;

        self.p.media_command(ToPeers::Stats)?;
        self.s.media_command(ToPeers::Stats)?;
        let deadline = tokio::time::Instant::now() + STATS_TIMEOUT;
        while self.stats_replies < 2 && tokio::time::Instant::now() < deadline {
            // Packets keep flowing meanwhile; the deadline error is not a failure here.
            if self.step(deadline).await.is_err() {
                break;
            }
        }
        Ok(MediaFigures {
            track_published_ms: Vec::new(),
            first_rtp_ms: Vec::new(),
            timelines: Vec::new(),
            clean: self.delivery(clean_from..lossy_from),
            lossy: self.delivery(lossy_from..tail_from),
            speaker_while_quiet: self.speaker_while_quiet,
            speaker_after_ms: self.speaker_after.map(ms),
            quality: std::mem::take(&mut self.quality),
            rss_before_kib: 0,
            rss_pair_kib: 0,
            rss_media_kib: 0,
            stats: std::mem::take(&mut self.stats),
            sdp: std::mem::take(&mut self.sdp),
        })
    }

    async fn send_until(&mut self, counter: u32) -> anyhow::Result<()> {
        let limit = tokio::time::Instant::now() + PACKET_INTERVAL * (counter - self.sent.len() as u32) * 2;
        while (self.sent.len() as u32) < counter {
            self.step(limit).await?;
        }
        Ok(())
    }

    /// One event: a packet to send, or something from P's or S's session.
    async fn step(&mut self, deadline: tokio::time::Instant) -> anyhow::Result<()> {
        tokio::select! {
            _ = self.ticker.tick() => {
                let counter = self.sent.len() as u32;
                let mut payload = vec![0x55u8; PAYLOAD_LEN];
                payload[0] = OPUS_TOC;
                payload[1..5].copy_from_slice(&counter.to_be_bytes());
                let packet = AudioPacket { counter, payload: Bytes::from(payload), level: self.level, voice: self.level != QUIET };
                self.sent.push(Instant::now());
                self.p.media_command(ToPeers::Audio(packet))?;
            }
            event = self.p.media.recv() => self.on_event(event.context("P's session ended")?, true),
            event = self.s.media.recv() => self.on_event(event.context("S's session ended")?, false),
            _ = tokio::time::sleep_until(deadline) => bail!("timed out ({} packets sent)", self.sent.len()),
        }
        Ok(())
    }

    fn on_event(&mut self, event: MediaEvent, from_p: bool) {
        let receiver = if from_p { "P" } else { "S" };
        match event {
            MediaEvent::Rtp { payload, at } => {
                if payload.len() >= 5 && payload[0] == OPUS_TOC {
                    let counter = u32::from_be_bytes(payload[1..5].try_into().expect("4 bytes"));
                    self.arrived.entry(counter).and_modify(|(_, n)| *n += 1).or_insert((at, 1));
                }
            }
            MediaEvent::Speakers(changed) => {
                let p_active = changed.speakers.iter().any(|s| s.sid == self.p.sid && s.active);
                match self.loud_since {
                    _ if !p_active => {}
                    None => self.speaker_while_quiet = true,
                    Some(since) => {
                        self.speaker_after.get_or_insert_with(|| since.elapsed());
                    }
                }
            }
            MediaEvent::Quality(update) => {
                for info in update.updates {
                    let about = if info.participant_sid == self.p.sid { "P" } else { "S" };
                    let quality = proto::ConnectionQuality::try_from(info.quality)
                        .map(|q| q.as_str_name().to_string())
                        .unwrap_or_else(|_| info.quality.to_string());
                    let at = self.started.elapsed().as_secs_f64();
                    self.quality.push(format!("{receiver}: {about} {quality} ({:.0}) at {at:.1} s", info.score));
                }
            }
            MediaEvent::Stats(lines) => {
                self.stats_replies += 1;
                self.stats.extend(lines.into_iter().map(|(k, v)| (format!("{receiver}-side {k}"), v)));
            }
            MediaEvent::Sdp(what, sdp) => {
                self.timeline.push(format!("{what} {:.0}", ms(self.started.elapsed())));
                self.sdp.push((what.to_string(), audio_lines(&sdp)));
            }
            MediaEvent::TrackPublished(_) => {}
        }
    }

    fn delivery(&self, counters: std::ops::Range<u32>) -> Delivery {
        let mut latencies = Vec::new();
        let mut duplicates = 0;
        for counter in counters.clone() {
            if let Some((at, n)) = self.arrived.get(&counter) {
                latencies.push(ms(at.saturating_duration_since(self.sent[counter as usize])));
                duplicates += n - 1;
            }
        }
        Delivery {
            sent: counters.len() as u32,
            received: latencies.len() as u32,
            duplicates,
            latency_ms: Summary::of(latencies),
        }
    }
}

/// The lines of the audio m-section that say what was negotiated for media.
fn audio_lines(sdp: &str) -> Vec<String> {
    const KEEP: [&str; 7] = ["m=audio", "a=rtpmap", "a=fmtp", "a=rtcp-fb", "a=extmap:", "a=msid", "a=sendonly"];
    let mut in_audio = false;
    let mut lines = Vec::new();
    for line in sdp.lines() {
        if line.starts_with("m=") {
            in_audio = line.starts_with("m=audio");
        }
        let keep = KEEP.iter().any(|k| line.starts_with(k)) || line == "a=recvonly" || line == "a=sendrecv";
        if in_audio && keep && !lines.iter().any(|l: &String| l == line) {
            lines.push(line.to_string());
        }
    }
    lines
}

/// Prints the media table and, per stack, what its stacks and SDPs said.
pub fn print_report(results: &[(&str, crate::report::Outcome<MediaFigures>)]) {
    use crate::report::Outcome;
    println!(
        "| stack | AddTrack → track_published ms (median) | AddTrack → first RTP at S ms (median; tries) | clean: received / sent; latency ms median / p95 | every {DROP_EVERY}th RTP dropped: received / sent, duplicates; latency p95 | speakers_changed after loud ms (while quiet?) | RSS KiB: pair joined / + audio (from fresh) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (stack, outcome) in results {
        let Outcome::Ok(m) = outcome else {
            println!("| {stack} | failed | | | | | |");
            continue;
        };
        let tries: Vec<String> = m.first_rtp_ms.iter().map(|t| format!("{t:.0}")).collect();
        println!(
            "| {stack} | {:.1} | {:.0} ({}) | {} / {}; {:.2} / {:.2} | {} / {}, {}; {:.1} | {} ({}) | {} / +{} |",
            Summary::of(m.track_published_ms.clone()).median,
            Summary::of(m.first_rtp_ms.clone()).median,
            tries.join(", "),
            m.clean.received,
            m.clean.sent,
            m.clean.latency_ms.median,
            m.clean.latency_ms.p95,
            m.lossy.received,
            m.lossy.sent,
            m.lossy.duplicates,
            m.lossy.latency_ms.p95,
            m.speaker_after_ms.map(|t| format!("{t:.0}")).unwrap_or_else(|| "none".into()),
            if m.speaker_while_quiet { "yes" } else { "no" },
            m.rss_pair_kib.saturating_sub(m.rss_before_kib),
            m.rss_media_kib.saturating_sub(m.rss_pair_kib),
        );
    }
    for (stack, outcome) in results {
        match outcome {
            Outcome::Err(err) => println!("\n{stack} media failed: {err}"),
            Outcome::Ok(m) => {
                println!("\n{stack}:");
                for (i, timeline) in m.timelines.iter().enumerate() {
                    println!("- publish {i}, ms after AddTrackRequest: {timeline}");
                }
                println!(
                    "- connection_quality: {}",
                    if m.quality.is_empty() { "none".into() } else { m.quality.join("; ") }
                );
                for (name, value) in &m.stats {
                    println!("- {name}: {value}");
                }
                for (what, lines) in &m.sdp {
                    println!("- {what}: {}", lines.join(" | "));
                }
            }
        }
    }
}
