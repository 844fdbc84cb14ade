//! Turns both sides' raw JSON into figures, ratios and verdicts, and renders the report.
//! Both sides' raw numbers go through the same functions here, so the statistics match.

use anyhow::Context;
use serde_json::Value;

use crate::{ours::WARMUP_ECHOES, Group, Plan};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    Connect,
    Rtt,
    Throughput,
    RssPerParticipant,
    RssDelta,
    RssTotal,
    Stream,
    Rpc,
    BigFileGrowth,
    AudioLatency,
    AudioLatencyP95,
    AudioCpu,
    AudioMemory,
    ReconnectSignal,
    ReconnectRestart,
    /// The server's own restart inside each `ReconnectRestart` figure.
    ServerBack,
    CrowdJoined,
    CrowdJoinSeconds,
    CrowdRss,
    CrowdThreads,
    CrowdFds,
    CrowdIdleCpu,
    CrowdBusyCpu,
    CrowdFanout,
    AudioCrowdCpu,
    AudioCrowdRss,
}

/// What a metric must meet: a bound on ours/theirs (at most or at least), or on ours alone.
#[derive(Clone, Copy, Debug)]
enum Target {
    RatioAtMost(f64),
    RatioAtLeast(f64),
    /// Ours below this, whatever theirs is; the worst round counts.
    Below(f64, &'static str),
    /// Shown beside another row, with no bound of its own; says which.
    Info(&'static str),
}

/// 50 MB (decimal) in MiB, the unit the memory rows use.
const BIGFILE_LIMIT_MIB: f64 = 50e6 / 1048576.0;

impl Metric {
    const ALL: [Metric; 26] = [
        Metric::Connect,
        Metric::Rtt,
        Metric::Throughput,
        Metric::RssPerParticipant,
        Metric::RssDelta,
        Metric::RssTotal,
        Metric::Stream,
        Metric::Rpc,
        Metric::BigFileGrowth,
        Metric::AudioLatency,
        Metric::AudioLatencyP95,
        Metric::AudioCpu,
        Metric::AudioMemory,
        Metric::ReconnectSignal,
        Metric::ReconnectRestart,
        Metric::ServerBack,
        Metric::CrowdJoined,
        Metric::CrowdJoinSeconds,
        Metric::CrowdRss,
        Metric::CrowdThreads,
        Metric::CrowdFds,
        Metric::CrowdIdleCpu,
        Metric::CrowdBusyCpu,
        Metric::CrowdFanout,
        Metric::AudioCrowdCpu,
        Metric::AudioCrowdRss,
    ];

    fn label(self) -> &'static str {
        match self {
            Metric::Connect => "connect time, median (ms)",
            Metric::Rtt => "reliable data round trip, median (ms)",
            Metric::Throughput => "reliable messages one way (msg/s)",
            Metric::RssDelta => "RSS of the participants, minus baseline (MiB)",
            Metric::RssPerParticipant => "RSS each participant after the first adds (KiB)",
            Metric::RssTotal => "RSS of the holder process, total (MiB)",
            Metric::Stream => "byte stream, send_file to read by B (MiB/s)",
            Metric::Rpc => "RPC round trip, median (ms)",
            Metric::BigFileGrowth => "sender RSS growth while sending the big file (MiB)",
            Metric::AudioLatency => "audio latency, capture to decoded frame, median (ms)",
            Metric::AudioLatencyP95 => "audio latency, capture to decoded frame, p95 (ms)",
            Metric::AudioCpu => "CPU of a process publishing + decoding one audio track (s per 30 s)",
            Metric::AudioMemory => "RSS per subscribed audio track, read by an AudioStream (KiB)",
            Metric::ReconnectSignal => "signalling connection cut to Reconnected, median (ms)",
            Metric::ReconnectRestart => "server SIGKILL to Reconnected, median (ms)",
            Metric::ServerBack => "server SIGKILL to the restarted server answering, median (ms)",
            Metric::CrowdJoined => "crowd: participants joined in one process",
            Metric::CrowdJoinSeconds => "crowd: time until all had joined (s)",
            Metric::CrowdRss => "crowd: RSS per participant (MiB)",
            Metric::CrowdThreads => "crowd: threads of the process",
            Metric::CrowdFds => "crowd: open file descriptors",
            Metric::CrowdIdleCpu => "crowd: CPU while idle (% of one core)",
            Metric::CrowdBusyCpu => "crowd: CPU, each sending 1 message/s (% of one core)",
            Metric::CrowdFanout => "crowd: one sender to all, slowest receipt (ms)",
            Metric::AudioCrowdCpu => "audio crowd: CPU, each reading one audio track (% of one core)",
            Metric::AudioCrowdRss => "audio crowd: RSS of the subscribers above baseline (MiB)",
        }
    }

    /// The bound for this metric.
    fn target(self) -> Target {
        match self {
            Metric::Connect => Target::RatioAtMost(0.4),
            Metric::Rtt | Metric::Rpc => Target::RatioAtMost(1.0),
            Metric::Throughput => Target::RatioAtLeast(1.0),
            Metric::RssPerParticipant | Metric::RssTotal => Target::RatioAtMost(0.25),
            Metric::RssDelta => Target::Info("(the first participant's one-time costs included)"),
            Metric::Stream => Target::RatioAtLeast(1.5),
            Metric::BigFileGrowth => Target::Below(BIGFILE_LIMIT_MIB, "MiB (50 MB)"),
            Metric::AudioLatency => Target::RatioAtMost(1.0),
            Metric::AudioLatencyP95 => Target::Info("(see the median)"),
            Metric::AudioCpu | Metric::AudioMemory => Target::RatioAtMost(0.5),
            Metric::ReconnectSignal => Target::RatioAtMost(0.5),
            Metric::ReconnectRestart => Target::RatioAtMost(1.0),
            Metric::ServerBack => Target::Info("(part of the row above)"),
            Metric::CrowdJoined | Metric::CrowdRss | Metric::CrowdThreads | Metric::CrowdFds => Target::Info("(crowd)"),
            Metric::CrowdBusyCpu => Target::Info("(crowd)"),
            Metric::CrowdJoinSeconds => Target::Below(120.0, "s"),
            Metric::CrowdIdleCpu => Target::Below(10.0, "%"),
            Metric::CrowdFanout => Target::Below(1000.0, "ms"),
            Metric::AudioCrowdCpu | Metric::AudioCrowdRss => Target::RatioAtMost(0.5),
        }
    }

    fn format(self, value: f64) -> String {
        match self {
            Metric::Connect | Metric::Rtt | Metric::Rpc | Metric::AudioCpu => format!("{value:.2}"),
            Metric::Throughput | Metric::AudioMemory | Metric::RssPerParticipant => format!("{value:.0}"),
            Metric::AudioLatency | Metric::AudioLatencyP95 => format!("{value:.1}"),
            Metric::ReconnectSignal | Metric::ReconnectRestart | Metric::ServerBack => format!("{value:.1}"),
            Metric::RssDelta | Metric::RssTotal | Metric::Stream | Metric::BigFileGrowth => format!("{value:.1}"),
            Metric::CrowdJoined | Metric::CrowdThreads | Metric::CrowdFds | Metric::CrowdFanout => {
                format!("{value:.0}")
            }
            Metric::CrowdJoinSeconds | Metric::CrowdIdleCpu | Metric::CrowdBusyCpu => format!("{value:.1}"),
            Metric::CrowdRss => format!("{value:.2}"),
            Metric::AudioCrowdCpu | Metric::AudioCrowdRss => format!("{value:.1}"),
        }
    }
}

/// One figure of one side in one round, with how it was spread for the details section.
#[derive(Clone, Debug)]
pub struct Figure {
    metric: Metric,
    value: f64,
    detail: String,
}

impl Figure {
    pub fn new(metric: Metric, value: f64, detail: String) -> Figure {
        Figure { metric, value, detail }
    }
}

#[derive(Default)]
pub struct Round {
    pub ours: Vec<Figure>,
    pub theirs: Vec<Figure>,
    /// Anything that went wrong on the way, such as a child run twice.
    pub notes: Vec<String>,
}

/// Reads a side's JSON for one metric group (the shapes `ours.rs` and the script share).
pub fn figures(group: Group, raw: &Value) -> anyhow::Result<Vec<Figure>> {
    let number = |key: &str| raw[key].as_f64().with_context(|| format!("no {key:?} in {raw}"));
    Ok(match group {
        Group::Connect | Group::Rtt | Group::Rpc => {
            let mut samples: Vec<f64> =
                raw["samples_ms"].as_array().context("no samples_ms")?.iter().filter_map(Value::as_f64).collect();
            anyhow::ensure!(!samples.is_empty(), "no samples in {raw}");
            samples.sort_by(f64::total_cmp);
            let mut detail = format!(
                "n={}, min {:.2}, p10 {:.2}, p90 {:.2}, max {:.2} ms",
                samples.len(),
                samples[0],
                percentile(&samples, 0.1),
                percentile(&samples, 0.9),
                samples[samples.len() - 1]
            );
            if let Some(first) = raw["first_echo_ms"].as_f64() {
                detail += &format!("; first echo right after both joined {first:.2} ms");
            }
            if let Some(first) = raw["first_call_ms"].as_f64() {
                detail += &format!("; first call right after both joined {first:.2} ms");
            }
            let metric = match group {
                Group::Connect => Metric::Connect,
                Group::Rtt => Metric::Rtt,
                _ => Metric::Rpc,
            };
            vec![Figure { metric, value: median(&samples), detail }]
        }
        Group::Throughput => {
            let (messages, seconds) = (number("messages")?, number("seconds")?);
            let detail = format!(
                "{messages} x {} B received in {seconds:.3} s; the sends returned after {:.3} s",
                number("size")?,
                number("send_seconds")?
            );
            vec![Figure { metric: Metric::Throughput, value: messages / seconds, detail }]
        }
        Group::Crowd => crate::crowd::figures(raw)?,
        Group::AudioCrowd => crate::audio_crowd::figures(raw)?,
        Group::Memory => {
            let mib = |kb: f64| kb / 1024.0;
            let (baseline, total, peak) = (number("baseline_kb")?, number("total_kb")?, number("peak_kb")?);
            let detail = format!(
                "{} participants: baseline {:.1}, after the first {:.1}, total {:.1} (heap and stacks {:.1}, code and files {:.1}), \
                 peak {:.1} MiB",
                number("participants")?,
                mib(baseline),
                mib(number("first_kb")?),
                mib(total),
                mib(number("anon_kb")?),
                mib(number("file_kb")?),
                mib(peak)
            );
            let others = number("participants")? - 1.0;
            let per_participant = (total - number("first_kb")?) / others.max(1.0);
            vec![
                Figure { metric: Metric::RssPerParticipant, value: per_participant, detail: detail.clone() },
                Figure { metric: Metric::RssDelta, value: mib(total - baseline), detail: detail.clone() },
                Figure { metric: Metric::RssTotal, value: mib(total), detail },
            ]
        }
        Group::Stream => {
            let (bytes, seconds) = (number("bytes")?, number("seconds")?);
            let detail = format!(
                "{:.1} MiB read by B {seconds:.3} s after the send call; send_file returned after {:.3} s",
                bytes / 1048576.0,
                number("send_seconds")?
            );
            vec![Figure { metric: Metric::Stream, value: bytes / 1048576.0 / seconds, detail }]
        }
        Group::BigFile => {
            let mib = |kb: f64| kb / 1024.0;
            let (baseline, hwm, sampled) = (number("baseline_kb")?, number("hwm_kb")?, number("sampled_peak_kb")?);
            let detail = format!(
                "{:.0} MiB file: RSS before the send {:.1}, peak during it {:.1} (VmHWM after a reset; \
                 sampled every 10 ms {:.1}), after it {:.1} MiB; send_file returned after {:.2} s, \
                 B had read all after {:.2} s",
                number("file_bytes")? / 1048576.0,
                mib(baseline),
                mib(hwm),
                mib(sampled),
                mib(number("end_kb")?),
                number("send_seconds")?,
                number("done_seconds")?
            );
            vec![Figure { metric: Metric::BigFileGrowth, value: mib(hwm.max(sampled) - baseline), detail }]
        }
        Group::AudioLatency => {
            let mut samples: Vec<f64> =
                raw["samples_ms"].as_array().context("no samples_ms")?.iter().filter_map(Value::as_f64).collect();
            anyhow::ensure!(!samples.is_empty(), "no latency samples in {raw}");
            samples.sort_by(f64::total_cmp);
            let detail = format!(
                "n={}, {} marks missed, {} onsets detected; min {:.1}, p10 {:.1}, p90 {:.1}, max {:.1} ms",
                samples.len(),
                number("missed")?,
                number("onsets")?,
                samples[0],
                percentile(&samples, 0.1),
                percentile(&samples, 0.9),
                samples[samples.len() - 1]
            );
            vec![
                Figure { metric: Metric::AudioLatency, value: median(&samples), detail: detail.clone() },
                Figure { metric: Metric::AudioLatencyP95, value: percentile(&samples, 0.95), detail },
            ]
        }
        Group::AudioCpu => {
            let (user, system, seconds) = (number("user")?, number("system")?, number("seconds")?);
            let detail = format!(
                "user {user:.2} s + system {system:.2} s over {seconds:.2} s ({:.1}% of one core); \
                 {} frames decoded in the window; RSS at the end {:.1} MiB",
                (user + system) / seconds * 100.0,
                number("frames")?,
                number("rss_kb")? / 1024.0
            );
            vec![Figure { metric: Metric::AudioCpu, value: user + system, detail }]
        }
        Group::AudioMemory => {
            let tracks = number("tracks")?;
            let (baseline, total) = (number("baseline_kb")?, number("total_kb")?);
            let anon = number("anon_kb")? - number("baseline_anon_kb")?;
            let detail = format!(
                "{tracks} tracks: RSS before {:.1}, after {:.1} MiB (heap and stacks +{:.1} MiB), peak {:.1} MiB",
                baseline / 1024.0,
                total / 1024.0,
                anon / 1024.0,
                number("peak_kb")? / 1024.0
            );
            vec![Figure { metric: Metric::AudioMemory, value: (total - baseline) / tracks, detail }]
        }
        Group::ReconnectSignal | Group::ReconnectRestart => reconnect_figures(group, raw)?,
    })
}

/// Each break's time to `Reconnected`; for restarts also the server's own share.
fn reconnect_figures(group: Group, raw: &Value) -> anyhow::Result<Vec<Figure>> {
    let list = |key: &str| -> anyhow::Result<Vec<f64>> {
        Ok(raw[key]
            .as_array()
            .with_context(|| format!("no {key} in {raw}"))?
            .iter()
            .filter_map(Value::as_f64)
            .collect())
    };
    let each = |values: &[f64]| values.iter().map(|v| format!("{v:.1}")).collect::<Vec<_>>().join(", ");
    let samples = list("samples_ms")?;
    anyhow::ensure!(!samples.is_empty(), "no samples in {raw}");
    let reconnecting = list("reconnecting_ms")?;
    let mut detail = format!(
        "{} breaks, Reconnected after {} ms; Reconnecting after {} ms",
        samples.len(),
        each(&samples),
        each(&reconnecting)
    );
    let metric = if group == Group::ReconnectSignal { Metric::ReconnectSignal } else { Metric::ReconnectRestart };
    let mut figures = vec![];
    if raw.get("server_back_ms").is_some() {
        let back = list("server_back_ms")?;
        detail += &format!("; the server answered again after {} ms", each(&back));
        figures.push(Figure { metric: Metric::ServerBack, value: median(&back), detail: detail.clone() });
    }
    figures.insert(0, Figure { metric, value: median(&samples), detail });
    Ok(figures)
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64) * p).floor() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// One metric across rounds: each round's figure for both sides.
struct Row {
    metric: Metric,
    ours: Vec<f64>,
    theirs: Vec<f64>,
}

impl Row {
    /// `None` when a side has no figure (it failed; the notes say how).
    fn ratio(&self) -> Option<f64> {
        (!self.ours.is_empty() && !self.theirs.is_empty()).then(|| median(&self.ours) / median(&self.theirs))
    }

    fn passes(&self) -> bool {
        let Some(ratio) = self.ratio() else { return false };
        match self.metric.target() {
            Target::RatioAtMost(bound) => ratio <= bound,
            Target::RatioAtLeast(bound) => ratio >= bound,
            Target::Below(bound, _) => self.ours.iter().all(|&v| v < bound),
            Target::Info(_) => true,
        }
    }

    /// The median over rounds, with each round's figure when there were several.
    fn cell(&self, values: &[f64]) -> String {
        if values.is_empty() {
            return "no figure (see the notes)".into();
        }
        let middle = self.metric.format(median(values));
        if values.len() < 2 {
            return middle;
        }
        let each: Vec<String> = values.iter().map(|v| self.metric.format(*v)).collect();
        format!("{middle} ({})", each.join(", "))
    }
}

pub struct Summary {
    rows: Vec<Row>,
}

impl Summary {
    pub fn new(rounds: &[Round]) -> Summary {
        let pick = |figures: &[Figure], metric| figures.iter().find(|f| f.metric == metric).map(|f| f.value);
        let rows = Metric::ALL
            .into_iter()
            .filter_map(|metric| {
                let ours: Vec<f64> = rounds.iter().filter_map(|r| pick(&r.ours, metric)).collect();
                let theirs: Vec<f64> = rounds.iter().filter_map(|r| pick(&r.theirs, metric)).collect();
                // A row needs one side: a reconnect group may have failed on the other.
                (!ours.is_empty() || !theirs.is_empty()).then_some(Row { metric, ours, theirs })
            })
            .collect();
        Summary { rows }
    }

    /// The markdown table, also what the console shows.
    pub fn table(&self) -> String {
        let mut out = String::from("| Metric | Ours | Theirs (Python SDK) | Ours/theirs | Target | Result |\n");
        out += "|---|---:|---:|---:|---|---|\n";
        for row in &self.rows {
            let target = match row.metric.target() {
                Target::RatioAtMost(bound) => format!("<= {bound}x"),
                Target::RatioAtLeast(bound) => format!(">= {bound}x"),
                Target::Below(bound, unit) => format!("ours < {bound:.1} {unit}, every round"),
                Target::Info(text) => text.into(),
            };
            let verdict = match row.metric.target() {
                Target::Info(_) => "-",
                _ if row.ratio().is_none() => "no ratio",
                _ if row.passes() => "pass",
                _ => "MISS",
            };
            let ratio = row.ratio().map_or("-".into(), |r| format!("{r:.3}"));
            out += &format!(
                "| {} | {} | {} | {ratio} | {target} | {verdict} |\n",
                row.metric.label(),
                row.cell(&row.ours),
                row.cell(&row.theirs),
            );
        }
        out
    }

    pub fn markdown(&self, command: &str, machine: &Machine, plan: Plan, rounds: &[Round]) -> String {
        let mut out = String::from("# livekit-bench: livekit-core against the official LiveKit Python SDK\n\n");
        out += &format!("- Command: `{command}` (made by `cargo run --release -p livekit-bench`)\n");
        out += &format!("- Date: {}\n", machine.date);
        out += &format!("- Machine: nproc {}, {}, Linux {}\n", machine.nproc, machine.cpu, machine.kernel);
        out += &format!("- Load average when the bench started: {}\n", machine.load);
        out += &format!("- Ours: livekit-core, {} build. Theirs: livekit (Python) {}.\n", machine.build, machine.sdk);
        out += &format!(
            "- Work per round: {} connects; {} echoes of {} B (after {WARMUP_ECHOES} warm-up ones); \
             {} messages of {} B one way; {} participants held; a {} MiB file streamed; {} RPC calls \
             (after {WARMUP_ECHOES} warm-up ones); a {} MiB file sent by a sender process; {} audio marks \
             (after {} warm-up ones); {} s of audio CPU; {} subscribed audio tracks; {} signalling cuts; \
             {} server restarts. Rounds: {}.\n\n",
            plan.connects,
            plan.echoes,
            plan.size,
            plan.messages,
            plan.size,
            plan.participants,
            plan.stream_bytes >> 20,
            plan.rpc_calls,
            plan.bigfile_bytes >> 20,
            plan.marks,
            crate::audio::WARMUP_MARKS,
            plan.cpu_seconds,
            plan.audio_tracks,
            plan.cuts,
            plan.restarts,
            rounds.len()
        );
        out += &self.table();
        out += "\nWith several rounds a cell shows the median over rounds, then each round's figure.\n";
        out += "\n## Details\n\n";
        for (i, round) in rounds.iter().enumerate() {
            out += &format!("Round {}:\n\n", i + 1);
            for (side, figures) in [("ours", &round.ours), ("theirs", &round.theirs)] {
                for figure in figures
                    .iter()
                    .filter(|f| !matches!(f.metric, Metric::RssTotal | Metric::AudioLatencyP95 | Metric::ServerBack))
                {
                    out += &format!("- {side}, {}: {}\n", figure.metric.label(), figure.detail);
                }
            }
            for note in &round.notes {
                out += &format!("- note: {note}\n");
            }
            out += "\n";
        }
        out += METHOD;
        out
    }
}

/// How each figure is taken: the markdown report's method section.
const METHOD: &str = include_str!("method.md");

/// Facts about the machine and builds that the report names.
pub struct Machine {
    nproc: usize,
    cpu: String,
    kernel: String,
    load: String,
    date: String,
    build: &'static str,
    sdk: String,
}

impl Machine {
    pub async fn probe() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default().trim().to_string();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_string()))
            .unwrap_or_else(|| "unknown CPU".into());
        let date = tokio::process::Command::new("date")
            .arg("-u")
            .output()
            .await
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        Machine {
            nproc: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            cpu,
            kernel: read("/proc/sys/kernel/osrelease"),
            load: read("/proc/loadavg"),
            date,
            build: if cfg!(debug_assertions) { "DEBUG" } else { "release" },
            sdk: crate::official::sdk_version().await.unwrap_or_else(|| "(version unknown)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_and_median() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&sorted, 0.0), 1.0);
        assert_eq!(percentile(&sorted, 0.9), 4.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
    }

    #[test]
    fn lower_is_better_ratio_passes_at_the_bound() {
        let row = Row { metric: Metric::Connect, ours: vec![40.0], theirs: vec![100.0] };
        assert!(row.passes());
        let row = Row { metric: Metric::Throughput, ours: vec![90.0], theirs: vec![100.0] };
        assert!(!row.passes());
    }

    #[test]
    fn a_side_without_figures_has_no_ratio_and_does_not_pass() {
        let row = Row { metric: Metric::ReconnectRestart, ours: vec![500.0], theirs: vec![] };
        assert_eq!(row.ratio(), None);
        assert!(!row.passes());
        assert_eq!(row.cell(&row.theirs), "no figure (see the notes)");
    }

    #[test]
    fn absolute_bound_counts_the_worst_round_and_ignores_theirs() {
        let row = Row { metric: Metric::BigFileGrowth, ours: vec![2.0, 3.0], theirs: vec![1.0, 1.0] };
        assert!(row.passes());
        let row = Row { metric: Metric::BigFileGrowth, ours: vec![2.0, 48.0, 3.0], theirs: vec![100.0] };
        assert!(!row.passes());
    }
}
