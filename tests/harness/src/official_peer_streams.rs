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
    /// `{"raise": "..."}` (a non-RPC exception) or `{"delay_ms": N, "then": <behaviour>}`.
    pub async fn register_rpc_method(&mut self, method: &str, behaviour: Value) -> Result<(), String> {
        self.request(json!({"cmd": "register_rpc_method", "method": method, "behaviour": behaviour})).await.map(drop)
    }

    pub async fn unregister_rpc_method(&mut self, method: &str) -> Result<(), String> {
        self.request(json!({"cmd": "unregister_rpc_method", "method": method})).await.map(drop)
    }

    /// The SHA-256 of `data` in lowercase hex, as the `sha256` field of `byte_stream_received`.
    pub fn sha256_hex(data: &[u8]) -> String {
        sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn stream_id(result: &Value) -> Result<String, String> {
    result["stream_id"].as_str().map(str::to_string).ok_or_else(|| format!("no stream_id in {result}"))
}

fn handle(result: &Value) -> Result<u64, String> {
    result["handle"].as_u64().ok_or_else(|| format!("no handle in {result}"))
}

/// A small SHA-256 (FIPS 180-4), so tests can check hashes without another dependency.
mod sha256 {
    /// The first 32 bits of the fractional part of `x`.
    fn frac32(x: f64) -> u32 {
        ((x - x.floor()) * 4_294_967_296.0) as u32
    }

    fn primes(n: usize) -> Vec<u32> {
        let mut found = Vec::with_capacity(n);
        let mut candidate = 2u32;
        while found.len() < n {
            if found.iter().all(|p| !candidate.is_multiple_of(*p)) {
                found.push(candidate);
            }
            candidate += 1;
        }
        found
    }

    pub fn digest(data: &[u8]) -> [u8; 32] {
        let primes = primes(64);
        // Round constants: cube roots of the first 64 primes; initial state: square roots of the first 8.
        let k: Vec<u32> = primes.iter().map(|&p| frac32(f64::from(p).cbrt())).collect();
        let mut h: Vec<u32> = primes[..8].iter().map(|&p| frac32(f64::from(p).sqrt())).collect();

        let mut message = data.to_vec();
        message.push(0x80);
        while message.len() % 64 != 56 {
            message.push(0);
        }
        message.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());

        for block in message.chunks_exact(64) {
            let mut w = [0u32; 64];
            for (i, word) in block.chunks_exact(4).enumerate() {
                w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
            }
            let mut v = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]];
            for i in 0..64 {
                let [a, b, c, d, e, f, g, hh] = v;
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let choose = (e & f) ^ (!e & g);
                let t1 = hh.wrapping_add(s1).wrapping_add(choose).wrapping_add(k[i]).wrapping_add(w[i]);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                let majority = (a & b) ^ (a & c) ^ (b & c);
                let t2 = s0.wrapping_add(majority);
                v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
            }
            for (state, add) in h.iter_mut().zip(v) {
                *state = state.wrapping_add(add);
            }
        }
        let mut out = [0u8; 32];
        for (i, word) in h.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn known_vectors() {
            let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
            assert_eq!(hex(super::digest(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
            assert_eq!(hex(super::digest(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
            let long = vec![b'a'; 1000];
            assert_eq!(hex(super::digest(&long)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
        }
    }
}
