//! A driver for `tests/peer/official_peer.py`: the official LiveKit Python SDK as a peer.
//!
//! The script speaks JSON lines: we write commands with an `id` to its stdin, and it
//! writes results (`{"type":"result","id":N,"ok":..}`) and room events (no id) to
//! stdout. Events that arrive while a request waits for its result are kept in a
//! buffer, so `wait_event` sees them later. The child is killed when the peer is dropped.
//! Data-stream and RPC commands are in `official_peer_streams.rs`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};

/// How long a command may take before `request` gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the script may take to import the SDK and say it is ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How many of the script's stderr lines are kept for error messages.
const STDERR_TAIL: usize = 40;
const INSTALL_HINT: &str = "pip install livekit livekit-api";

/// A running `official_peer.py`, one LiveKit participant on the official Python SDK.
pub struct OfficialPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: mpsc::UnboundedReceiver<Value>,
    /// Events read while waiting for something else, oldest first.
    buffered: VecDeque<Value>,
    next_id: u64,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl OfficialPeer {
    /// Starts the script and waits until it has imported the SDK.
    ///
    /// The interpreter is `$PYTHON`, else `python3`. Set `LK_PEER_LOG=1` to echo the
    /// script's stderr (SDK logs) to ours.
    pub async fn spawn() -> Result<Self, String> {
        let script = script_path();
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(&python)
            .arg("-u")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {python} {}: {e} ({INSTALL_HINT})", script.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("child has no stdout")?;
        let stderr = child.stderr.take().ok_or("child has no stderr")?;
        let (tx, incoming) = mpsc::unbounded_channel();
        tokio::spawn(read_stdout(stdout, tx));
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        tokio::spawn(read_stderr(stderr, stderr_tail.clone()));
        let mut peer = Self { child, stdin, incoming, buffered: VecDeque::new(), next_id: 1, stderr_tail };
        peer.wait_ready().await?;
        Ok(peer)
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match timeout_at(deadline, self.incoming.recv()).await {
                Err(_) => return Err(self.failure(&format!("peer not ready within {STARTUP_TIMEOUT:?}"))),
                Ok(None) => return Err(self.failure(&format!("peer exited at start-up ({INSTALL_HINT}?)"))),
                Ok(Some(msg)) => match msg["type"].as_str() {
                    Some("ready") => return Ok(()),
                    Some("fatal") => return Err(format!("official peer: {}", msg["error"].as_str().unwrap_or("?"))),
                    _ => self.buffered.push_back(msg),
                },
            }
        }
    }

    /// Sends one command (an object with `cmd`), assigning its `id`, and waits up to 20 s
    /// for its result. Returns the result object when `ok` is true, else Err with the
    /// script's error. Events read meanwhile are buffered for `wait_event`.
    pub async fn request(&mut self, cmd: Value) -> Result<Value, String> {
        self.request_within(cmd, REQUEST_TIMEOUT).await
    }

    /// `request` with its own time limit, for commands that may take longer than 20 s.
    pub async fn request_within(&mut self, mut cmd: Value, limit: Duration) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let name = cmd["cmd"].as_str().unwrap_or("?").to_string();
        cmd.as_object_mut().ok_or("a command must be a JSON object")?.insert("id".into(), json!(id));
        self.write_line(&cmd).await?;
        let deadline = Instant::now() + limit;
        loop {
            let msg = match timeout_at(deadline, self.incoming.recv()).await {
                Err(_) => return Err(self.failure(&format!("no result for {name} within {limit:?}"))),
                Ok(None) => return Err(self.failure(&format!("peer exited while running {name}"))),
                Ok(Some(msg)) => msg,
            };
            if msg["type"] != "result" {
                self.buffered.push_back(msg);
            } else if msg["id"] == json!(id) {
                return if msg["ok"] == json!(true) {
                    Ok(msg)
                } else {
                    Err(format!("{name} failed: {}", msg["error"].as_str().unwrap_or("unknown error")))
                };
            }
            // A result for an earlier request that timed out: nobody waits for it any more.
        }
    }

    /// Connects to a room; the result has `identity`, `sid` (the room's),
    /// `participant_sid` and `participants` (remote participants already present).
    pub async fn connect(&mut self, url: &str, token: &str) -> Result<Value, String> {
        self.request(json!({"cmd": "connect", "url": url, "token": token})).await
    }

    /// Sets (merges) attributes of the local participant.
    pub async fn set_attributes<I, K, V>(&mut self, attributes: I) -> Result<(), String>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let map: serde_json::Map<String, Value> =
            attributes.into_iter().map(|(k, v)| (k.as_ref().to_string(), json!(v.as_ref()))).collect();
        self.request(json!({"cmd": "set_attributes", "attributes": map})).await.map(drop)
    }

    pub async fn set_metadata(&mut self, metadata: &str) -> Result<(), String> {
        self.request(json!({"cmd": "set_metadata", "metadata": metadata})).await.map(drop)
    }

    pub async fn set_name(&mut self, name: &str) -> Result<(), String> {
        self.request(json!({"cmd": "set_name", "name": name})).await.map(drop)
    }

    /// Publishes a user data packet; empty `destinations` means everyone.
    pub async fn publish_data(
        &mut self,
        payload: &[u8],
        reliable: bool,
        topic: Option<&str>,
        destinations: &[&str],
    ) -> Result<(), String> {
        let mut cmd = json!({
            "cmd": "publish_data",
            "payload_b64": BASE64.encode(payload),
            "reliable": reliable,
            "destination_identities": destinations,
        });
        if let Some(topic) = topic {
            cmd["topic"] = json!(topic);
        }
        self.request(cmd).await.map(drop)
    }

    pub async fn disconnect(&mut self) -> Result<(), String> {
        self.request(json!({"cmd": "disconnect"})).await.map(drop)
    }

    /// Returns the first event, buffered or new, that matches, removing it from the buffer.
    pub async fn wait_event(&mut self, timeout: Duration, predicate: impl Fn(&Value) -> bool) -> Result<Value, String> {
        if let Some(pos) = self.buffered.iter().position(&predicate) {
            return Ok(self.buffered.remove(pos).expect("position is in range"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match timeout_at(deadline, self.incoming.recv()).await {
                Err(_) => {
                    let seen: Vec<String> = self.buffered.iter().map(Value::to_string).collect();
                    return Err(self.failure(&format!(
                        "no matching event within {timeout:?}; unmatched events: [{}]",
                        seen.join(", ")
                    )));
                }
                Ok(None) => return Err(self.failure("peer exited while waiting for an event")),
                Ok(Some(msg)) if msg["type"] == "result" => {} // late result of a timed-out request
                Ok(Some(msg)) if predicate(&msg) => return Ok(msg),
                Ok(Some(msg)) => self.buffered.push_back(msg),
            }
        }
    }

    /// Waits out `duration` and fails if a matching event arrives (or was buffered).
    /// Non-matching events stay buffered.
    pub async fn assert_no_event(
        &mut self,
        duration: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Result<(), String> {
        if let Some(event) = self.buffered.iter().find(|e| predicate(e)) {
            return Err(format!("unexpected event: {event}"));
        }
        let deadline = Instant::now() + duration;
        loop {
            match timeout_at(deadline, self.incoming.recv()).await {
                Err(_) => return Ok(()),
                Ok(None) => return Err(self.failure("peer exited during assert_no_event")),
                Ok(Some(msg)) if msg["type"] == "result" => {}
                Ok(Some(msg)) if predicate(&msg) => return Err(format!("unexpected event: {msg}")),
                Ok(Some(msg)) => self.buffered.push_back(msg),
            }
        }
    }

    /// Decodes `payload_b64` of a `data_received` event.
    pub fn payload(event: &Value) -> Result<Vec<u8>, String> {
        let b64 = event["payload_b64"].as_str().ok_or_else(|| format!("no payload_b64 in {event}"))?;
        BASE64.decode(b64).map_err(|e| format!("bad payload_b64 in {event}: {e}"))
    }

    /// Closes stdin so the script disconnects and exits; waits up to 20 s for it.
    pub async fn close(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        match tokio::time::timeout(REQUEST_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(self.failure(&format!("peer exited with {status}"))),
            Ok(Err(e)) => Err(format!("waiting for the peer: {e}")),
            Err(_) => Err(self.failure("peer did not exit within 20 s of closing stdin")),
        }
    }

    /// The script's process id (to read its memory in /proc), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Every event received and not yet taken, oldest first, without waiting for more.
    pub fn take_events(&mut self) -> Vec<Value> {
        while let Ok(msg) = self.incoming.try_recv() {
            if msg["type"] != "result" {
                self.buffered.push_back(msg);
            }
        }
        self.buffered.drain(..).collect()
    }

    /// The script's last stderr lines, for diagnosing a failure.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    async fn write_line(&mut self, value: &Value) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("peer stdin already closed")?;
        let mut line = value.to_string();
        line.push('\n');
        let written = async {
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await
        };
        written.await.map_err(|e| self.failure(&format!("writing to the peer: {e}")))
    }

    fn failure(&self, what: &str) -> String {
        format!("official peer: {what}\n--- peer stderr (tail) ---\n{}", self.stderr_tail())
    }
}

fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("peer").join("official_peer.py")
}

/// Forwards each JSON line of the script's stdout; the channel closes at end of output.
async fn read_stdout(stdout: tokio::process::ChildStdout, tx: mpsc::UnboundedSender<Value>) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str::<Value>(&line) {
            Ok(value) => {
                if tx.send(value).is_err() {
                    return;
                }
            }
            Err(e) => eprintln!("official peer: ignoring non-JSON stdout line ({e}): {line}"),
        }
    }
}

/// Keeps the last stderr lines; echoes them when `LK_PEER_LOG` is set.
async fn read_stderr(stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) {
    let echo = std::env::var_os("LK_PEER_LOG").is_some();
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if echo {
            eprintln!("[official peer] {line}");
        }
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == STDERR_TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}
