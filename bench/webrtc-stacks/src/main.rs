//! livekit-stack-probe: measures WebRTC stacks against one real livekit-server on loopback.
//!
//!     cargo run --release -p livekit-stack-probe [-- --stacks webrtc17,webrtc21,str0m]
//!     cargo run --release -p livekit-stack-probe -- --media [--stacks ...]   (RTP audio)
//!
//! Starts the server (tests/harness), then for each stack runs three child processes of itself
//! (connect, data, memory) so no stack's threads or allocations count against another's, and
//! prints a Markdown table. See docs/webrtc-stacks.md.

mod measure;
mod media;
mod peers;
mod report;
mod session;
mod stack_str0m;
mod stack_webrtc17;
mod stack_webrtc21;
mod stacks;
mod tap17;

use std::process::{ExitCode, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use livekit_test_harness::TestServer;
use serde::de::DeserializeOwned;
use serde::Serialize;

use report::{Outcome, StackResult};
use stacks::Stack;

/// How long one child (one measurement of one stack) may take before it is killed.
const CHILD_LIMIT: Duration = Duration::from_secs(300);

fn main() -> ExitCode {
    env_logger::Builder::from_default_env().format_timestamp_micros().init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("child") => return child(&args[1..]),
        Some("-h" | "--help") => {
            println!("usage: livekit-stack-probe [--media] [--stacks webrtc17,webrtc21,str0m]");
            return ExitCode::SUCCESS;
        }
        Some("--media") => parse_stacks(&args[1..]).and_then(|stacks| orchestrate_media(&stacks)),
        _ => parse_stacks(&args).and_then(|stacks| orchestrate(&stacks)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("livekit-stack-probe: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_stacks(args: &[String]) -> anyhow::Result<Vec<Stack>> {
    match args {
        [] => Ok(Stack::ALL.to_vec()),
        [flag, list] if flag == "--stacks" => {
            list.split(',').map(|name| Stack::parse(name).with_context(|| format!("unknown stack {name:?}"))).collect()
        }
        _ => bail!("unexpected arguments {args:?} (try --help)"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime")
}

/// Starts the server and runs every child for every stack, one at a time.
fn orchestrate(stacks: &[Stack]) -> anyhow::Result<()> {
    let server = TestServer::start().map_err(|e| anyhow::anyhow!("starting livekit-server: {e}"))?;
    let exe = std::env::current_exe()?;
    let rt = runtime();
    let mut results = Vec::new();
    for &stack in stacks {
        let command = |kind: &str| {
            eprintln!("[probe] {} {kind}...", stack.name());
            child_command(&exe, &server, kind, stack.short())
        };
        let connect = rt.block_on(run_child(command("connect"), CHILD_LIMIT));
        let data = rt.block_on(run_child(command("data"), CHILD_LIMIT));
        let memory = rt.block_on(run_child(command("memory"), CHILD_LIMIT));
        results.push(StackResult { stack: stack.name(), connect, data, memory });
    }
    eprintln!("[probe] signalling alone, memory...");
    let signal_only = rt.block_on(run_child(child_command(&exe, &server, "memory-signal", "none"), CHILD_LIMIT));
    report::print_table(&results, &signal_only);
    Ok(())
}

/// `--media`: one `media` child per stack against one server.
fn orchestrate_media(stacks: &[Stack]) -> anyhow::Result<()> {
    let server = TestServer::start().map_err(|e| anyhow::anyhow!("starting livekit-server: {e}"))?;
    let exe = std::env::current_exe()?;
    let rt = runtime();
    let mut results = Vec::new();
    for &stack in stacks {
        eprintln!("[probe] {} media...", stack.name());
        let outcome = rt.block_on(run_child(child_command(&exe, &server, "media", stack.short()), CHILD_LIMIT));
        results.push((stack.name(), outcome));
    }
    media::print_report(&results);
    Ok(())
}

fn child_command(exe: &std::path::Path, server: &TestServer, kind: &str, stack: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(exe);
    command
        .args(["child", kind, stack])
        .env("PROBE_URL", server.url())
        .env("PROBE_API_KEY", server.api_key())
        .env("PROBE_API_SECRET", server.api_secret())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

/// Runs one child; its last stdout line is its `Outcome` as JSON.
async fn run_child<T: DeserializeOwned>(mut command: tokio::process::Command, limit: Duration) -> Outcome<T> {
    let child = match command.spawn() {
        Ok(child) => child,
        Err(err) => return Outcome::Err(format!("could not start the child: {err}")),
    };
    // On timeout the future is dropped and `kill_on_drop` ends the child.
    let output = match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => return Outcome::Err(format!("waiting for the child: {err}")),
        Err(_) => return Outcome::Err(format!("killed after {limit:?}")),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last().map(serde_json::from_str::<Outcome<T>>) {
        Some(Ok(outcome)) => outcome,
        _ => Outcome::Err(format!("the child exited ({}) without a result", output.status)),
    }
}

/// `child <connect|data|memory> <stack>`: one measurement, printed as one JSON line.
fn child(args: &[String]) -> ExitCode {
    let (Some(kind), Some(stack_name)) = (args.first(), args.get(1)) else {
        eprintln!("usage: livekit-stack-probe child <connect|data|memory|media|memory-signal> <stack|none>");
        return ExitCode::FAILURE;
    };
    let stack = Stack::parse(stack_name);
    if stack.is_none() && kind != "memory-signal" {
        eprintln!("unknown stack {stack_name:?}");
        return ExitCode::FAILURE;
    }
    let server = match measure::Server::from_env() {
        Ok(server) => server,
        Err(err) => {
            eprintln!("{err:#}");
            return ExitCode::FAILURE;
        }
    };
    let rt = runtime();
    match (kind.as_str(), stack) {
        ("connect", Some(stack)) => emit(rt.block_on(measure::connect(&server, stack))),
        ("data", Some(stack)) => emit(rt.block_on(measure::data(&server, stack))),
        ("memory", Some(stack)) => emit(rt.block_on(measure::hold(&server, stack))),
        ("media", Some(stack)) => emit(rt.block_on(media::media(&server, stack))),
        ("memory-signal", _) => emit(rt.block_on(measure::hold_signal_only(&server))),
        (other, _) => {
            eprintln!("unknown child kind {other:?}");
            return ExitCode::FAILURE;
        }
    }
    // Leave connection teardown to the OS: some stacks keep tasks alive after close.
    rt.shutdown_background();
    ExitCode::SUCCESS
}

fn emit<T: Serialize>(result: anyhow::Result<T>) {
    let outcome = match result {
        Ok(value) => Outcome::Ok(value),
        Err(err) => Outcome::Err(format!("{err:#}")),
    };
    println!("{}", serde_json::to_string(&outcome).expect("figures serialise"));
}
