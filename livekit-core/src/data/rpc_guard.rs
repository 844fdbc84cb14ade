//! A limit on incoming RPC requests being handled at once, checked before a request reaches the
//! official `livekit-rpc` server.
//!
//! Why: each request runs the app's handler in its own task, for as long as the handler takes
//! (the caller chooses the response timeout, and the server side does not enforce it), so a
//! flood of requests would grow tasks and memory without bound. Requests over the limit are
//! dropped with a log line: no acknowledgement is sent, so the caller's call fails with 1501
//! (connection timeout) as if we were unreachable, and a flood gets no traffic back from us.
//! The official SDKs have no error code for "too busy".

use std::collections::HashMap;

/// Requests from one sender being handled at once; more are dropped.
pub const MAX_PENDING_RPC_PER_SENDER: usize = 16;

/// Requests from all senders being handled at once; more are dropped.
pub const MAX_PENDING_RPC: usize = 128;

/// Counts requests being handled, per sender and in total.
#[derive(Default)]
pub struct RpcGuard {
    pending: HashMap<String, usize>,
    total: usize,
    /// Requests dropped per sender since its last accepted one, so a flood logs its first drop and
    /// then one line per 1000.
    dropped: HashMap<String, u64>,
}

impl RpcGuard {
    /// A guard with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests being handled now.
    pub fn pending(&self) -> usize {
        self.total
    }

    /// Whether a request from `sender` may be handled; if so, `end` must follow once it is.
    pub fn try_begin(&mut self, sender: &str, method: &str) -> bool {
        let from_sender = self.pending.get(sender).copied().unwrap_or(0);
        if from_sender >= MAX_PENDING_RPC_PER_SENDER || self.total >= MAX_PENDING_RPC {
            // Bounded like `pending`: only senders with a request in flight are counted.
            if !self.dropped.contains_key(sender) && self.dropped.len() >= MAX_PENDING_RPC {
                self.dropped.clear();
            }
            let count = self.dropped.entry(sender.to_string()).or_default();
            *count += 1;
            if *count % 1000 == 1 {
                log::warn!(
                    "dropping RPC request {method:?} from {sender}: {from_sender} of its requests and {} in all \
                     are being handled (limits {MAX_PENDING_RPC_PER_SENDER} and {MAX_PENDING_RPC}); {count} dropped",
                    self.total
                );
            }
            return false;
        }
        *self.pending.entry(sender.to_string()).or_default() += 1;
        self.total += 1;
        true
    }

    /// A request from `sender` that `try_begin` let through has been answered (or given up).
    pub fn end(&mut self, sender: &str) {
        let Some(count) = self.pending.get_mut(sender) else { return };
        *count -= 1;
        self.total -= 1;
        if *count == 0 {
            self.pending.remove(sender);
            self.dropped.remove(sender);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_limited_per_sender_and_in_total() {
        let mut guard = RpcGuard::new();
        for _ in 0..MAX_PENDING_RPC_PER_SENDER {
            assert!(guard.try_begin("eve", "m"));
        }
        assert!(!guard.try_begin("eve", "m"));
        assert!(guard.try_begin("bob", "m"), "eve's flood does not hold bob back");
        guard.end("eve");
        assert!(guard.try_begin("eve", "m"), "an answered request makes room");

        let mut guard = RpcGuard::new();
        for s in 0..MAX_PENDING_RPC / MAX_PENDING_RPC_PER_SENDER {
            for _ in 0..MAX_PENDING_RPC_PER_SENDER {
                assert!(guard.try_begin(&format!("p{s}"), "m"));
            }
        }
        assert!(!guard.try_begin("newcomer", "m"));
        assert_eq!(guard.pending(), MAX_PENDING_RPC);
    }

    #[test]
    fn a_flood_keeps_the_guard_small_and_ending_unknown_senders_is_harmless() {
        let mut guard = RpcGuard::new();
        for i in 0..100_000 {
            guard.try_begin(&format!("eve{}", i % 1000), "m");
        }
        assert!(guard.pending.len() <= MAX_PENDING_RPC && guard.dropped.len() <= MAX_PENDING_RPC);
        guard.end("nobody");
        for s in 0..1000 {
            for _ in 0..MAX_PENDING_RPC_PER_SENDER {
                guard.end(&format!("eve{s}"));
            }
        }
        assert_eq!(guard.pending(), 0);
        assert!(guard.pending.is_empty());
    }
}
