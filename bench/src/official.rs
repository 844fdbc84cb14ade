//! The official side: `official_bench.py` on the LiveKit Python SDK, one process per metric.

use std::path::PathBuf;

use serde_json::Value;
use tokio::process::Command;

use crate::child::run_json_process;
use crate::payload::TempFile;
use crate::{Group, Plan, ServerInfo};

fn script_path() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/official_bench.py"))
}

/// The interpreter is `$PYTHON`, else `python3`, as for the test harness's official peer.
fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs `official_bench.py <metric> <url> <key> <secret> <room> <count> <size> [file]`.
pub async fn measure(
    group: Group,
    info: &ServerInfo,
    room: &str,
    plan: Plan,
    file: Option<&TempFile>,
) -> anyhow::Result<Value> {
    let count = match group {
        Group::Connect => plan.connects,
        Group::Rtt => plan.echoes,
        Group::Throughput => plan.messages,
        Group::Memory => plan.participants,
        Group::Rpc => plan.rpc_calls,
        Group::Stream | Group::BigFile => 1,
        Group::AudioLatency => plan.marks,
        Group::AudioCpu => plan.cpu_seconds as usize,
        Group::AudioMemory => plan.audio_tracks,
        Group::ReconnectSignal => plan.cuts,
        Group::ReconnectRestart => plan.restarts,
        Group::Crowd => plan.crowd,
        Group::AudioCrowd => plan.audio_crowd,
    };
    let path = file.map(|f| f.path().to_string_lossy().into_owned());
    let command = command(group.name(), info, room, &count.to_string(), &plan.size.to_string(), path.as_deref());
    run_json_process(command, &format!("official_bench.py {}", group.name())).await
}

/// The script's command line for one metric, for callers that run it themselves.
pub fn command(metric: &str, info: &ServerInfo, room: &str, count: &str, size: &str, file: Option<&str>) -> Command {
    let mut command = Command::new(python());
    command.arg("-u").arg(script_path()).args([metric, &info.url, &info.key, &info.secret, room, count, size]);
    command.args(file);
    command
}

/// The SDK's version, for the report; `None` if the script cannot import it.
pub async fn sdk_version() -> Option<String> {
    let output = Command::new(python()).arg(script_path()).arg("version").output().await.ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}
