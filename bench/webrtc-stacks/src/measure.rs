//! The measurements, each run in a child process of its own so one stack's allocations and
//! threads never count against another's.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use livekit_api::access_token::{AccessToken, VideoGrants};
use tokio::sync::{mpsc, oneshot};

use crate::report::{ConnectFigures, DataFigures, MemoryFigures, Summary};
use crate::session::{signal_options, Participant, Received};
use crate::stacks::Stack;
use livekit_signaling::SignalClient;

pub const CONNECT_RUNS: usize = 10;
pub const RTT_WARMUP: usize = 20;
pub const RTT_SAMPLES: usize = 500;
pub const BULK_BYTES: usize = 20_000_000;
pub const BULK_PAYLOAD: usize = 15_000;
/// Throughput varies with whatever else the machine runs: five rounds, the median reported.
pub const BULK_ROUNDS: usize = 5;
pub const HOLD_PARTICIPANTS: usize = 10;

const ECHO_TIMEOUT: Duration = Duration::from_secs(5);
const BULK_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the server is; the parent passes it in the environment.
pub struct Server {
    pub url: String,
    pub api_key: String,
    pub api_secret: String,
}

impl Server {
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
        Ok(Self { url: var("PROBE_URL")?, api_key: var("PROBE_API_KEY")?, api_secret: var("PROBE_API_SECRET")? })
    }

    pub fn token(&self, room: &str, identity: &str) -> anyhow::Result<String> {
        let grants = VideoGrants {
            room_join: true,
            room: room.to_string(),
            can_publish: Some(true),
            can_subscribe: Some(true),
            can_publish_data: Some(true),
            ..Default::default()
        };
        Ok(AccessToken::with_api_key(&self.api_key, &self.api_secret)
            .with_identity(identity)
            .with_name(identity)
            .with_grants(grants)
            .to_jwt()?)
    }

    pub async fn join(
        &self,
        stack: Stack,
        room: &str,
        identity: &str,
    ) -> anyhow::Result<(Participant, mpsc::UnboundedReceiver<Received>)> {
        let token = self.token(room, identity)?;
        Participant::join(stack, &self.url, &token).await
    }
}

/// Connect time: ten joins one after the other, each left before the next.
pub async fn connect(server: &Server, stack: Stack) -> anyhow::Result<ConnectFigures> {
    let room = format!("connect-{}", stack.short());
    let (mut signal, mut publisher, mut subscriber) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..CONNECT_RUNS {
        let (participant, _data) = server.join(stack, &room, &format!("c{run}")).await?;
        signal.push(ms(participant.times.signal));
        publisher.push(ms(participant.times.publisher));
        subscriber.push(ms(participant.times.subscriber));
        participant.leave().await;
    }
    Ok(ConnectFigures {
        signal_ms: Summary::of(signal),
        publisher_ms: Summary::of(publisher.clone()),
        subscriber_ms: Summary::of(subscriber.clone()),
        publisher_runs_ms: publisher,
        subscriber_runs_ms: subscriber,
    })
}

/// RTT and throughput between two participants of the same stack, through the server.
pub async fn data(server: &Server, stack: Stack) -> anyhow::Result<DataFigures> {
    let room = format!("data-{}", stack.short());
    let (mut a, mut a_rx) = server.join(stack, &room, "a").await?;
    let (b, b_rx) = server.join(stack, &room, "b").await?;
    let bulk_packets = BULK_BYTES.div_ceil(BULK_PAYLOAD);
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel();
    let peer = tokio::spawn(echo_and_count(b, b_rx, bulk_packets, arrived_tx, stopped));

    let mut rtts = Vec::with_capacity(RTT_SAMPLES);
    for i in 0..RTT_WARMUP + RTT_SAMPLES {
        let sent = Instant::now();
        a.send_to("b", "ping", (i as u64).to_be_bytes().to_vec()).await?;
        let pong = tokio::time::timeout(ECHO_TIMEOUT, a_rx.recv())
            .await
            .with_context(|| format!("no echo for ping {i} within {ECHO_TIMEOUT:?}"))?
            .context("a's data stream ended")?;
        if pong.topic != "pong" || pong.payload != (i as u64).to_be_bytes() {
            bail!("unexpected echo for ping {i} (topic {:?} from {:?})", pong.topic, pong.from);
        }
        if i >= RTT_WARMUP {
            rtts.push(ms(sent.elapsed()));
        }
    }

    let mut rounds = Vec::new();
    let cpu_before = cpu_seconds()?;
    for round in 0..BULK_ROUNDS {
        let started = Instant::now();
        for _ in 0..bulk_packets {
            a.send_to("b", "bulk", vec![0x5a; BULK_PAYLOAD]).await?;
        }
        let Ok(Some(done)) = tokio::time::timeout(BULK_TIMEOUT, arrived.recv()).await else {
            bail!("bulk round {round}: not all {bulk_packets} packets arrived within {BULK_TIMEOUT:?}");
        };
        rounds.push((bulk_packets * BULK_PAYLOAD) as f64 / (done - started).as_secs_f64() / 1e6);
    }
    // Sender, receiver and both stacks share this process: CPU per MB is the cost of both ends.
    let bulk_cpu_s_per_mb = (cpu_seconds()? - cpu_before) / (BULK_ROUNDS * bulk_packets * BULK_PAYLOAD) as f64 * 1e6;
    let _ = stop.send(());
    let b = peer.await?;
    a.leave().await;
    b.leave().await;
    Ok(DataFigures {
        rtt_ms: Summary::of(rtts),
        throughput_mb_s: Summary::of(rounds.clone()),
        throughput_rounds: rounds,
        bulk_cpu_ms_per_mb: bulk_cpu_s_per_mb * 1e3,
    })
}

/// B's side: echoes pings to A and reports when each full round of bulk packets has arrived.
async fn echo_and_count(
    mut b: Participant,
    mut rx: mpsc::UnboundedReceiver<Received>,
    per_round: usize,
    arrived: mpsc::UnboundedSender<Instant>,
    mut stop: oneshot::Receiver<()>,
) -> Participant {
    let mut received = 0;
    loop {
        let packet = tokio::select! {
            packet = rx.recv() => match packet {
                Some(packet) => packet,
                None => return b,
            },
            _ = &mut stop => return b,
        };
        match packet.topic.as_str() {
            "ping" => {
                let echoed = b.send_to("a", "pong", packet.payload).await;
                if echoed.is_err() {
                    return b;
                }
            }
            "bulk" => {
                received += 1;
                if received % per_round == 0 {
                    let _ = arrived.send(Instant::now());
                }
            }
            _ => {}
        }
    }
}

/// Memory: RSS before any join, after the first, and with all participants connected.
pub async fn hold(server: &Server, stack: Stack) -> anyhow::Result<MemoryFigures> {
    let room = format!("memory-{}", stack.short());
    let before = rss_kib()?;
    let mut held = Vec::new();
    let mut after_first = 0;
    for i in 0..HOLD_PARTICIPANTS {
        held.push(server.join(stack, &room, &format!("m{i}")).await?);
        if i == 0 {
            after_first = rss_kib()?;
        }
    }
    let after_all = rss_kib()?;
    for (participant, _) in held {
        participant.leave().await;
    }
    Ok(MemoryFigures { before_kib: before, after_first_kib: after_first, after_all_kib: after_all })
}

/// The same, holding only the signalling connections: what every stack's figure includes.
pub async fn hold_signal_only(server: &Server) -> anyhow::Result<MemoryFigures> {
    let before = rss_kib()?;
    let mut held = Vec::new();
    let mut after_first = 0;
    for i in 0..HOLD_PARTICIPANTS {
        let token = server.token("memory-signal-only", &format!("s{i}"))?;
        let (client, _join, events) = SignalClient::connect(&server.url, &token, signal_options(), None)
            .await
            .map_err(|e| anyhow::anyhow!("signalling: {e}"))?;
        held.push((client, events));
        if i == 0 {
            after_first = rss_kib()?;
        }
    }
    let after_all = rss_kib()?;
    for (client, _) in held {
        client.close().await;
    }
    Ok(MemoryFigures { before_kib: before, after_first_kib: after_first, after_all_kib: after_all })
}

/// User plus system CPU time of this process so far, from /proc (in clock ticks of 1/100 s,
/// the value on Linux x86-64).
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').context("bad /proc/self/stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// Resident set size of this process, from /proc.
pub fn rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS in /proc/self/status")?;
    Ok(line.split_whitespace().nth(1).context("bad VmRSS line")?.parse()?)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
