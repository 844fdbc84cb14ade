//! The official side: `official_bench.py` on the LiveKit Python SDK, one process per metric.

use std::path::PathBuf;

use serde_json::Value;
use tokio::process::Command;

use crate::child::run_json_process;
use crate::{Group, Plan, ServerInfo};

fn script_path() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/official_bench.py"))
}

/// The interpreter is `$PYTHON`, else `python3`, as for the test harness's official peer.
fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs `official_bench.py <metric> <url> <key> <secret> <room> <count> <size>`.
pub async fn measure(group: Group, info: &ServerInfo, room: &str, plan: Plan) -> anyhow::Result<Value> {
    let count = match group {
        Group::Connect => plan.connects,
        Group::Rtt => plan.echoes,
        Group::Throughput => plan.messages,
        Group::Memory => plan.participants,
    };
    let mut command = Command::new(python());
    command
        .arg("-u")
        .arg(script_path())
        .args([group.name(), &info.url, &info.key, &info.secret, room])
        .arg(count.to_string())
        .arg(plan.size.to_string());
    run_json_process(command, &format!("official_bench.py {}", group.name())).await
}

/// The SDK's version, for the report; `None` if the script cannot import it.
pub async fn sdk_version() -> Option<String> {
    let output = Command::new(python()).arg(script_path()).arg("version").output().await.ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}
