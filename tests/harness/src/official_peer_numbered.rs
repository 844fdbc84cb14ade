//! Numbered reliable messages through the official-SDK peer (`official_peer_numbered.py`),
//! for tests that count loss, duplicates and order across reconnects.

use std::time::Duration;

use serde_json::{json, Value};

use crate::OfficialPeer;

impl OfficialPeer {
    /// Starts recording the numbered packets that arrive on `topic`; the peer raises a
    /// `numbered_complete` event when `expect` of them arrived.
    pub async fn count_numbered(&mut self, topic: &str, expect: u64) -> Result<(), String> {
        self.request(json!({"cmd": "count_numbered", "topic": topic, "expect": expect})).await.map(|_| ())
    }

    /// The numbers received on `topic` so far, in arrival order.
    pub async fn numbered_report(&mut self, topic: &str) -> Result<Vec<u64>, String> {
        let result = self.request(json!({"cmd": "numbered_report", "topic": topic})).await?;
        let numbers = result["numbers"].as_array().ok_or("numbered_report without numbers")?;
        Ok(numbers.iter().filter_map(Value::as_u64).collect())
    }

    /// Sends `first..first+count` reliably on `topic` at about `per_second`; resolves when all
    /// are handed to the SDK.
    pub async fn send_numbered(&mut self, topic: &str, first: u64, count: u64, per_second: f64) -> Result<(), String> {
        let limit = Duration::from_secs_f64(count as f64 / per_second + 60.0);
        let cmd =
            json!({"cmd": "send_numbered", "topic": topic, "first": first, "count": count, "per_second": per_second});
        self.request_within(cmd, limit).await.map(|_| ())
    }
}
