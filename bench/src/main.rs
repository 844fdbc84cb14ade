//! livekit-bench: our client against the official LiveKit Python SDK on one local server.
//!
//! ```text
//! livekit-bench [--quick] [--rounds N]
//!               [--only connect,rtt,throughput,memory,stream,rpc,bigfile,audio_latency,audio_cpu,audio_memory,
//!                       reconnect_signal,reconnect_restart,crowd,audio_crowd]
//!               [--crowd N] [--report PATH]
//! livekit-bench hold <url> <key> <secret> <room> <count>
//! livekit-bench send-file <url> <key> <secret> <room> <path>
//! livekit-bench audio-cpu <url> <key> <secret> <room> <seconds>
//! livekit-bench audio-sub <url> <key> <secret> <room> <count>
//! livekit-bench crowd <url> <key> <secret> <room> <count>
//! livekit-bench audio-crowd <url> <key> <secret> <room> <count>
//! ```
//! The first form starts a server, measures both sides metric by metric (ours, then theirs,
//! so a busy machine hurts both alike), prints a table and writes a markdown report.
//! `reconnect_restart` gets a second server of its own, which it kills and restarts.
//! `hold`, `send-file`, `audio-cpu`, `audio-sub`, `crowd` and `audio-crowd` are our side of the figures taken in a
//! process of their own, like the Python one.

mod audio;
mod audio_crowd;
mod bigfile;
mod child;
mod crowd;
mod hold;
mod official;
mod ours;
mod payload;
mod reconnect;
mod report;
mod streams;

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::Value;

/// How much work each metric does; the same numbers go to both sides.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub connects: usize,
    pub echoes: usize,
    pub messages: usize,
    /// Payload bytes of every echo and throughput message.
    pub size: usize,
    pub participants: usize,
    /// Bytes of the file sent as one byte stream.
    pub stream_bytes: u64,
    pub rpc_calls: usize,
    /// Bytes of the file whose sending must not grow the sender's memory much.
    pub bigfile_bytes: u64,
    /// Tone bursts timed for the audio latency (after `audio::WARMUP_MARKS`).
    pub marks: usize,
    /// The CPU window of the process that publishes and subscribes one audio track.
    pub cpu_seconds: u64,
    /// Audio tracks the memory subscriber reads.
    pub audio_tracks: usize,
    /// Signalling cuts timed per round and side.
    pub cuts: usize,
    /// Server restarts timed per round and side.
    pub restarts: usize,
    /// Data-only participants the crowd process holds (`--crowd` sets it).
    pub crowd: usize,
    /// Participants the audio crowd process holds, each reading one audio track.
    pub audio_crowd: usize,
}

impl Plan {
    const FULL: Plan = Plan {
        connects: 20,
        echoes: 1000,
        messages: 5000,
        size: 64,
        participants: 20,
        stream_bytes: 50 << 20,
        rpc_calls: 200,
        // Four times the 50 MB a sender holding the file would add; the receiver reads it as it
        // arrives, so our unread-bytes limit (64 MiB, docs/security.md) does not apply.
        bigfile_bytes: 200 << 20,
        marks: 20,
        cpu_seconds: 30,
        audio_tracks: 10,
        cuts: 5,
        restarts: 5,
        crowd: 20,
        audio_crowd: 50,
    };
    /// For checking the bench itself works; its figures mean little.
    const QUICK: Plan = Plan {
        connects: 5,
        echoes: 100,
        messages: 500,
        size: 64,
        participants: 5,
        stream_bytes: 5 << 20,
        rpc_calls: 50,
        bigfile_bytes: 20 << 20,
        marks: 5,
        cpu_seconds: 5,
        audio_tracks: 3,
        cuts: 2,
        restarts: 2,
        crowd: 5,
        audio_crowd: 5,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Connect,
    Rtt,
    Throughput,
    Memory,
    Stream,
    Rpc,
    BigFile,
    AudioLatency,
    AudioCpu,
    AudioMemory,
    ReconnectSignal,
    ReconnectRestart,
    Crowd,
    AudioCrowd,
}

impl Group {
    const ALL: [Group; 14] = [
        Group::Connect,
        Group::Rtt,
        Group::Throughput,
        Group::Memory,
        Group::Stream,
        Group::Rpc,
        Group::BigFile,
        Group::AudioLatency,
        Group::AudioCpu,
        Group::AudioMemory,
        Group::ReconnectSignal,
        Group::ReconnectRestart,
        Group::Crowd,
        Group::AudioCrowd,
    ];

    /// The name on the command line, in room names and in the Python script's arguments.
    pub fn name(self) -> &'static str {
        match self {
            Group::Connect => "connect",
            Group::Rtt => "rtt",
            Group::Throughput => "throughput",
            Group::Memory => "hold",
            Group::Stream => "stream",
            Group::Rpc => "rpc",
            Group::BigFile => "bigfile",
            Group::AudioLatency => "audio_latency",
            Group::AudioCpu => "audio_cpu",
            Group::AudioMemory => "audio_memory",
            Group::ReconnectSignal => "reconnect_signal",
            Group::ReconnectRestart => "reconnect_restart",
            Group::Crowd => "crowd",
            Group::AudioCrowd => "audio_crowd",
        }
    }

    fn parse(text: &str) -> anyhow::Result<Group> {
        match text {
            "connect" => Ok(Group::Connect),
            "rtt" => Ok(Group::Rtt),
            "throughput" => Ok(Group::Throughput),
            "memory" | "hold" => Ok(Group::Memory),
            "stream" => Ok(Group::Stream),
            "rpc" => Ok(Group::Rpc),
            "bigfile" => Ok(Group::BigFile),
            "audio_latency" => Ok(Group::AudioLatency),
            "audio_cpu" => Ok(Group::AudioCpu),
            "audio_memory" => Ok(Group::AudioMemory),
            "reconnect_signal" => Ok(Group::ReconnectSignal),
            "reconnect_restart" => Ok(Group::ReconnectRestart),
            "crowd" => Ok(Group::Crowd),
            "audio_crowd" => Ok(Group::AudioCrowd),
            "audio" => bail!("use audio_latency,audio_cpu,audio_memory"),
            other => bail!(
                "unknown metric {other:?}: use connect, rtt, throughput, memory, stream, rpc, bigfile, \
                 audio_latency, audio_cpu, audio_memory, reconnect_signal, reconnect_restart, crowd or audio_crowd"
            ),
        }
    }
}

/// Where and as whom both sides connect.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    pub url: String,
    pub key: String,
    pub secret: String,
}

struct Options {
    plan: Plan,
    rounds: usize,
    groups: Vec<Group>,
    report_path: PathBuf,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut options =
            Options { plan: Plan::FULL, rounds: 1, groups: Group::ALL.to_vec(), report_path: default_report_path() };
        let mut crowd = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--quick" => options.plan = Plan::QUICK,
                "--rounds" => options.rounds = value()?.parse().context("--rounds takes a number")?,
                "--only" => options.groups = value()?.split(',').map(Group::parse).collect::<anyhow::Result<_>>()?,
                "--report" => options.report_path = PathBuf::from(value()?),
                "--crowd" => crowd = Some(value()?.parse().context("--crowd takes a number")?),
                other => bail!("unknown argument {other:?}"),
            }
        }
        // After the loop, so `--quick` does not undo it.
        if let Some(crowd) = crowd {
            options.plan.crowd = crowd;
        }
        if options.rounds == 0 {
            bail!("--rounds must be at least 1");
        }
        Ok(options)
    }
}

/// `target/bench-report.md` at the workspace root, wherever the bench is started from.
fn default_report_path() -> PathBuf {
    let bench_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    bench_dir.parent().unwrap_or(bench_dir).join("target").join("bench-report.md")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    env_logger::init();
    let runtime = tokio::runtime::Runtime::new()?;
    match args.first().map(String::as_str) {
        Some("hold") => return runtime.block_on(hold::run_holder(&args[1..])),
        Some("send-file") => return runtime.block_on(bigfile::run_sender(&args[1..])),
        Some("audio-cpu") => return runtime.block_on(audio::run_cpu_peer(&args[1..])),
        Some("audio-sub") => return runtime.block_on(audio::run_subscriber(&args[1..])),
        Some("crowd") => return runtime.block_on(crowd::run_crowd(&args[1..])),
        Some("audio-crowd") => return runtime.block_on(audio_crowd::run(&args[1..])),
        _ => {}
    }
    let options = Options::parse(&args)?;
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for figures that mean anything");
    }
    let machine = report::Machine::probe().await;
    // Written once and shared by both sides and every round; removed when `run` returns.
    let wants = |group| options.groups.contains(&group);
    let stream_file =
        wants(Group::Stream).then(|| payload::TempFile::random("stream", options.plan.stream_bytes)).transpose()?;
    let big_file =
        wants(Group::BigFile).then(|| payload::TempFile::random("bigfile", options.plan.bigfile_bytes)).transpose()?;
    let server = livekit_test_harness::TestServer::start().map_err(anyhow::Error::msg)?;
    let info = ServerInfo { url: server.url(), key: server.api_key().into(), secret: server.api_secret().into() };
    let breakers = Breakers::start(&options.groups, &info)?;
    let mut rounds = Vec::new();
    for round in 1..=options.rounds {
        let mut result = report::Round::default();
        for &group in &options.groups {
            let room = format!("{}-r{round}", group.name());
            let file = match group {
                Group::Stream => stream_file.as_ref(),
                Group::BigFile => big_file.as_ref(),
                _ => None,
            };
            if let Some((breaker, server)) = breakers.get(group) {
                measure_reconnects(group, breaker, server, &room, round, options.plan, &mut result).await?;
                continue;
            }
            eprintln!("round {round}: {} (ours)", group.name());
            let ours = measure_ours(group, &info, &format!("ours-{room}"), options.plan, file).await?;
            result.ours.extend(report::figures(group, &ours)?);
            eprintln!("round {round}: {} (official)", group.name());
            let theirs_room = format!("official-{room}");
            if group == Group::Crowd {
                match crowd::theirs(&info, &theirs_room, options.plan, &mut result.notes).await {
                    Some(theirs) => result.theirs.extend(report::figures(group, &theirs)?),
                    None => result.notes.push("crowd, theirs: no figure at any count".into()),
                }
                continue;
            }
            let theirs = match measure_theirs(group, &info, &theirs_room, options.plan, file).await {
                // The SDK's native library has aborted now and then; that is no figure, so once
                // more in a fresh room, and the report says so.
                Err(err) if err.downcast_ref::<child::Crashed>().is_some() => {
                    eprintln!("round {round}: {} (official) crashed; running it once more:\n{err}", group.name());
                    let first_line =
                        err.to_string().lines().next().unwrap_or_default().trim_end_matches(':').to_string();
                    result.notes.push(format!("{first_line}; ran it once more in a fresh room"));
                    measure_theirs(group, &info, &format!("{theirs_room}-again"), options.plan, file).await?
                }
                other => other?,
            };
            result.theirs.extend(report::figures(group, &theirs)?);
        }
        rounds.push(result);
    }
    drop(breakers);
    drop(server);

    let summary = report::Summary::new(&rounds);
    println!("{}", summary.table());
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let markdown = summary.markdown(&command, &machine, options.plan, &rounds);
    if let Some(dir) = options.report_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&options.report_path, markdown)
        .with_context(|| format!("write {}", options.report_path.display()))?;
    eprintln!("report written to {}", options.report_path.display());
    Ok(())
}

async fn measure_theirs(
    group: Group,
    info: &ServerInfo,
    room: &str,
    plan: Plan,
    file: Option<&payload::TempFile>,
) -> anyhow::Result<Value> {
    match (group, file) {
        (Group::BigFile, Some(file)) => bigfile::measure(true, info, room, file).await,
        (Group::AudioCpu, _) => {
            let command = official::command("audio_cpu", info, room, &plan.cpu_seconds.to_string(), "0", None);
            audio::cpu(info, room, command, "official_bench.py audio_cpu").await
        }
        (Group::AudioCrowd, _) => {
            let command = official::command("audio_crowd", info, room, &plan.audio_crowd.to_string(), "0", None);
            audio::cpu(info, room, command, "official_bench.py audio_crowd").await
        }
        (Group::AudioMemory, _) => {
            let command = official::command("audio_memory", info, room, &plan.audio_tracks.to_string(), "0", None);
            audio::memory(info, room, plan, command, "official_bench.py audio_memory").await
        }
        _ => official::measure(group, info, room, plan, file).await,
    }
}

async fn measure_ours(
    group: Group,
    info: &ServerInfo,
    room: &str,
    plan: Plan,
    file: Option<&payload::TempFile>,
) -> anyhow::Result<Value> {
    let file = || file.context("no file for this metric");
    match group {
        Group::Connect => ours::connect_times(info, room, plan).await,
        Group::Rtt => ours::round_trips(info, room, plan).await,
        Group::Throughput => ours::throughput(info, room, plan).await,
        Group::Memory => hold::spawn_holder(info, room, plan).await,
        Group::Crowd => {
            child::run_json_process(our_command("crowd", info, room, plan.crowd as u64)?, "our crowd").await
        }
        Group::AudioCrowd => {
            let command = our_command("audio-crowd", info, room, plan.audio_crowd as u64)?;
            audio::cpu(info, room, command, "our audio-crowd").await
        }
        Group::Stream => streams::stream(info, room, file()?).await,
        Group::Rpc => streams::rpc(info, room, plan).await,
        Group::BigFile => bigfile::measure(false, info, room, file()?).await,
        Group::AudioLatency => audio::latency(info, room, plan).await,
        Group::AudioCpu => {
            audio::cpu(info, room, our_command("audio-cpu", info, room, plan.cpu_seconds)?, "our audio-cpu").await
        }
        Group::AudioMemory => {
            let command = our_command("audio-sub", info, room, plan.audio_tracks as u64)?;
            audio::memory(info, room, plan, command, "our audio-sub").await
        }
        Group::ReconnectSignal | Group::ReconnectRestart => bail!("the reconnect groups have measure_reconnects"),
    }
}

/// What the reconnect groups break, each with the server its clients join: a proxy in front of
/// the shared server, and a server of their own to kill, so the restarts cannot affect the
/// other groups.
struct Breakers {
    signal: Option<(reconnect::Breaker, ServerInfo)>,
    restart: Option<(reconnect::Breaker, ServerInfo)>,
}

impl Breakers {
    fn start(groups: &[Group], info: &ServerInfo) -> anyhow::Result<Breakers> {
        let signal = match groups.contains(&Group::ReconnectSignal) {
            true => Some((reconnect::Breaker::proxy(info)?, info.clone())),
            false => None,
        };
        let restart = match groups.contains(&Group::ReconnectRestart) {
            true => {
                let server = livekit_test_harness::TestServer::start().map_err(anyhow::Error::msg)?;
                let info =
                    ServerInfo { url: server.url(), key: server.api_key().into(), secret: server.api_secret().into() };
                Some((reconnect::Breaker::Server(std::sync::Arc::new(std::sync::Mutex::new(server))), info))
            }
            false => None,
        };
        Ok(Breakers { signal, restart })
    }

    fn get(&self, group: Group) -> Option<&(reconnect::Breaker, ServerInfo)> {
        match group {
            Group::ReconnectSignal => self.signal.as_ref(),
            Group::ReconnectRestart => self.restart.as_ref(),
            _ => None,
        }
    }
}

/// One round of a reconnect group, ours then theirs. A side that fails (an SDK that never
/// reconnects) leaves a note instead of a figure, and the run goes on.
async fn measure_reconnects(
    group: Group,
    breaker: &reconnect::Breaker,
    info: &ServerInfo,
    room: &str,
    round: usize,
    plan: Plan,
    result: &mut report::Round,
) -> anyhow::Result<()> {
    let count = if group == Group::ReconnectSignal { plan.cuts } else { plan.restarts };
    eprintln!("round {round}: {} (ours)", group.name());
    match reconnect::ours(breaker, info, &format!("ours-{room}"), count).await {
        Ok(raw) => result.ours.extend(report::figures(group, &raw)?),
        Err(err) => result.notes.push(format!("{}, ours: no figure: {err:#}", group.name())),
    }
    eprintln!("round {round}: {} (official)", group.name());
    let client_info = breaker.info(info);
    let command =
        official::command(group.name(), &client_info, &format!("official-{room}"), &count.to_string(), "0", None);
    let what = format!("official_bench.py {}", group.name());
    match reconnect::theirs(breaker, command, &what).await {
        Ok(raw) => result.theirs.extend(report::figures(group, &raw)?),
        Err(err) => result.notes.push(format!("{}, theirs: no figure: {err:#}", group.name())),
    }
    Ok(())
}

/// `livekit-bench <subcommand> <url> <key> <secret> <room> <n>`: this binary as a child.
fn our_command(subcommand: &str, info: &ServerInfo, room: &str, n: u64) -> anyhow::Result<tokio::process::Command> {
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command.args([subcommand, &info.url, &info.key, &info.secret, room, &n.to_string()]);
    Ok(command)
}
