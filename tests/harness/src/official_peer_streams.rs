//! Data-stream and RPC commands of the official-SDK peer (see `official_peer_streams.py`
//! for the full protocol, including the optional fields these helpers leave out: pass
//! those through `OfficialPeer::request` directly).
//!
//! Receiving is event based: register a handler, then `wait_event` for `stream_opened`,
//! `byte_stream_received`, `text_stream_received` or `stream_error`; an RPC method
//! emits `rpc_invoked` (and `rpc_cancelled` when the SDK cancels a slow handler).

use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::OfficialPeer;

/// Time allowed for a whole file or stream to be sent.
const SEND_TIMEOUT: Duration = Duration::from_secs(120);
/// The SDK's total RPC timeout when none is given.
const RPC_DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Added to an RPC's timeout for the driver's own limit: the SDK may wait up to its 7 s
/// round-trip allowance before reporting an unreachable destination.
const RPC_MARGIN: Duration = Duration::from_secs(15);

impl OfficialPeer {
    /// Sends a file with the SDK's `send_file` (name = the file's base name, MIME type
    /// guessed from it). The result has `stream_id`, `name`, `mime_type`, `size`,
    /// `topic` and `attributes`. Empty `destinations` means everyone.
    pub async fn send_file(&mut self, path: &Path, topic: &str, destinations: &[&str]) -> Result<Value, String> {
        let path = path.to_str().ok_or_else(|| format!("path is not UTF-8: {}", path.display()))?;
        let cmd = json!({
            "cmd": "send_file",
            "path": path,
            "topic": topic,
            "destination_identities": destinations,
        });
        self.request_within(cmd, SEND_TIMEOUT).await
    }

    /// Opens a byte stream with `stream_bytes()`, writes each chunk, then closes it, or
    /// aborts it with `abort_reason`. The result has `stream_id`, `size` and `aborted`.
    pub async fn send_bytes_stream<I, B>(
        &mut self,
        topic: &str,
        chunks: I,
        abort_reason: Option<&str>,
    ) -> Result<Value, String>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let chunks: Vec<String> = chunks.into_iter().map(|c| BASE64.encode(c.as_ref())).collect();
        let mut cmd = json!({"cmd": "send_bytes_stream", "topic": topic, "chunks_b64": chunks});
        if let Some(reason) = abort_reason {
            cmd["abort_reason"] = json!(reason);
        }
        self.request_within(cmd, SEND_TIMEOUT).await
    }

    /// Sends a text with the SDK's `send_text`; returns the stream id.
    pub async fn send_text(&mut self, text: &str, topic: &str, destinations: &[&str]) -> Result<String, String> {
        let cmd = json!({"cmd": "send_text", "text": text, "topic": topic, "destination_identities": destinations});
        let result = self.request_within(cmd, SEND_TIMEOUT).await?;
        stream_id(&result)
    }

    /// Writes `parts` through a `stream_text()` writer, then closes it or aborts it with
    /// `abort_reason`. The result has `stream_id` and `aborted`.
    pub async fn stream_text(
        &mut self,
        topic: &str,
        parts: &[&str],
        abort_reason: Option<&str>,
    ) -> Result<Value, String> {
        let mut cmd = json!({"cmd": "stream_text", "topic": topic, "parts": parts});
        if let Some(reason) = abort_reason {
            cmd["abort_reason"] = json!(reason);
        }
        self.request_within(cmd, SEND_TIMEOUT).await
    }

    /// Opens a byte stream and leaves it open; returns the handle for `write_chunk` and
    /// `close_stream`.
    pub async fn open_byte_stream(
        &mut self,
        topic: &str,
        name: Option<&str>,
        total_length: Option<u64>,
    ) -> Result<u64, String> {
        let mut cmd = json!({"cmd": "open_byte_stream", "topic": topic});
        if let Some(name) = name {
            cmd["name"] = json!(name);
        }
        if let Some(total) = total_length {
            cmd["total_length"] = json!(total);
        }
        handle(&self.request(cmd).await?)
    }

    /// Opens a text stream and leaves it open; write to it with `write_text`.
    pub async fn open_text_stream(&mut self, topic: &str) -> Result<u64, String> {
        handle(&self.request(json!({"cmd": "open_text_stream", "topic": topic})).await?)
    }

    /// Writes one chunk to a byte stream opened with `open_byte_stream`.
    pub async fn write_chunk(&mut self, handle: u64, chunk: &[u8]) -> Result<(), String> {
        let cmd = json!({"cmd": "write_chunk", "handle": handle, "chunk_b64": BASE64.encode(chunk)});
        self.request(cmd).await.map(drop)
    }

    /// Writes text to a stream opened with `open_text_stream`.
    pub async fn write_text(&mut self, handle: u64, text: &str) -> Result<(), String> {
        self.request(json!({"cmd": "write_chunk", "handle": handle, "text": text})).await.map(drop)
    }

    /// Closes an open stream; a `reason` aborts it (the reader sees
    /// "stream closed abnormally: <reason>").
    pub async fn close_stream(&mut self, handle: u64, reason: Option<&str>) -> Result<(), String> {
        let mut cmd = json!({"cmd": "close_stream", "handle": handle});
        if let Some(reason) = reason {
            cmd["reason"] = json!(reason);
        }
        self.request(cmd).await.map(drop)
    }

    /// Reads every byte stream on `topic`, hashing it, and saving it into `save_dir` if given.
    pub async fn register_byte_stream_handler(&mut self, topic: &str, save_dir: Option<&Path>) -> Result<(), String> {
        let mut cmd = json!({"cmd": "register_byte_stream_handler", "topic": topic});
        if let Some(dir) = save_dir {
            let dir = dir.to_str().ok_or_else(|| format!("save_dir is not UTF-8: {}", dir.display()))?;
            cmd["save_dir"] = json!(dir);
        }
        self.request(cmd).await.map(drop)
    }

    /// Reads every text stream on `topic`.
    pub async fn register_text_stream_handler(&mut self, topic: &str) -> Result<(), String> {
        self.request(json!({"cmd": "register_text_stream_handler", "topic": topic})).await.map(drop)
    }

    /// Calls an RPC method. Ok holds the result object: `{"response": ..}` on success or
    /// `{"rpc_error": {"code", "message", "data"}}` when the call failed with an RPC error
    /// (an expected outcome), plus `elapsed_ms`. Err means the driver itself failed.
    /// `response_timeout` None uses the SDK's default.
    pub async fn perform_rpc(
        &mut self,
        destination: &str,
        method: &str,
        payload: &str,
        response_timeout: Option<Duration>,
    ) -> Result<Value, String> {
        let mut cmd = json!({"cmd": "perform_rpc", "destination": destination, "method": method, "payload": payload});
        if let Some(timeout) = response_timeout {
            cmd["response_timeout_ms"] = json!(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        }
        let limit = response_timeout.unwrap_or(RPC_DEFAULT_TIMEOUT).saturating_add(RPC_MARGIN);
        self.request_within(cmd, limit).await
    }

    /// Registers an RPC method whose handler follows `behaviour`: `{"echo": true}`,
    /// `{"response": "..."}`, `{"response_size": N}`, `{"error": {"code", "message", "data"}}`,
    /// `{"raise": "..."}` (a non-RPC exception) or `{"never_answer": true}` (a handler that hangs).
    pub async fn register_rpc_method(&mut self, method: &str, behaviour: Value) -> Result<(), String> {
        self.request(json!({"cmd": "register_rpc_method", "method": method, "behaviour": behaviour})).await.map(drop)
    }

    pub async fn unregister_rpc_method(&mut self, method: &str) -> Result<(), String> {
        self.request(json!({"cmd": "unregister_rpc_method", "method": method})).await.map(drop)
    }

    /// The SHA-256 of `data` in lowercase hex, as the `sha256` field of `byte_stream_received`.
    pub fn sha256_hex(data: &[u8]) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn stream_id(result: &Value) -> Result<String, String> {
    result["stream_id"].as_str().map(str::to_string).ok_or_else(|| format!("no stream_id in {result}"))
}

fn handle(result: &Value) -> Result<u64, String> {
    result["handle"].as_u64().ok_or_else(|| format!("no handle in {result}"))
}
