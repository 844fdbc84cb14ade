//! When and how to try again after the connection to the server broke: the decisions of a
//! reconnect episode, apart from the I/O that carries them out (`reconnect.rs`). Time and
//! randomness are passed in, so the tests need no network and no clock.

use std::time::Duration;

use super::events::DisconnectReason;
use crate::error::Error;

/// How a room tries to reconnect after its connection to the server broke: up to
/// `max_attempts` attempts, the first at once, then each after a random wait of up to
/// `initial_delay · 2^(n-1)`, capped at `max_delay` ("full jitter", so many clients cut off
/// together do not come back in step). The default matches the official SDKs: 10 attempts,
/// 300 ms doubling to at most 7 s, about 45 s of waiting in the worst case.
///
/// ```
/// use std::time::Duration;
/// use livekit_core::room::ReconnectPolicy;
///
/// let policy = ReconnectPolicy { max_attempts: 3, ..ReconnectPolicy::default() };
/// assert_eq!(policy.delay_before(1, 0.5), Duration::ZERO, "the first attempt goes at once");
/// assert!(policy.delay_before(3, 1.0) <= Duration::from_millis(600));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Attempts before the room gives up and raises `Disconnected { reason: ConnectionLost }`.
    /// 0 turns reconnection off: the first break disconnects.
    pub max_attempts: u32,
    /// The longest wait before the second attempt; it doubles for each attempt after it.
    pub initial_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self { max_attempts: 10, initial_delay: Duration::from_millis(300), max_delay: Duration::from_secs(7) }
    }
}

impl ReconnectPolicy {
    /// The wait before attempt `attempt` (counted from 1), for a uniform random `unit` in
    /// [0, 1]. The first attempt goes at once.
    pub fn delay_before(&self, attempt: u32, unit: f64) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let doublings = (attempt - 2).min(30);
        let ceiling = self.initial_delay.saturating_mul(1u32 << doublings).min(self.max_delay);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// What broke, and what the server asked for when it was the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// The signalling connection closed or stopped answering pings.
    SignalLost,
    /// A peer connection failed.
    PeerFailed,
    /// The server's `LeaveRequest` asked us to resume the session.
    ServerResume,
    /// The server's `LeaveRequest` asked for a new session (a full reconnect).
    ServerReconnect,
    /// `Room::simulate_scenario` asked for a resume or a full reconnect.
    Simulated {
        /// A full reconnect rather than a resume.
        full: bool,
    },
}

impl Trigger {
    fn wants_full(self) -> bool {
        matches!(self, Trigger::ServerReconnect | Trigger::Simulated { full: true })
    }

    /// The server asked for it: the first attempt need not wait.
    fn retry_now(self) -> bool {
        matches!(self, Trigger::ServerResume | Trigger::ServerReconnect)
    }
}

/// What the episode does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Reopen signalling with the same session, restart ICE, send our state.
    Resume,
    /// Join again as a new session and restore our state on it.
    FullReconnect,
    /// Stop: the room disconnects with this reason.
    GiveUp(DisconnectReason),
}

/// One reconnect episode: from the first break to `Reconnected` or `Disconnected`.
#[derive(Debug)]
pub(crate) struct Episode {
    policy: ReconnectPolicy,
    attempts_made: u32,
    /// Sticky: once a resume failed, or the server asked for a new session, every later
    /// attempt joins anew (the session the server knew may be gone).
    full: bool,
    retry_now: bool,
}

impl Episode {
    pub fn new(policy: ReconnectPolicy, trigger: Trigger) -> Self {
        Self { policy, attempts_made: 0, full: trigger.wants_full(), retry_now: trigger.retry_now() }
    }

    /// Another break while the episode runs: a resume in flight cannot be trusted any more.
    pub fn on_trigger(&mut self, trigger: Trigger) {
        self.full = true;
        self.retry_now |= trigger.retry_now();
    }

    /// Whether a full reconnect is due (for the events a full reconnect raises first).
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// The next attempt and how long to wait before it (`unit` is uniform in [0, 1]).
    pub fn next_step(&mut self, unit: f64) -> (Step, Duration) {
        if self.attempts_made >= self.policy.max_attempts {
            return (Step::GiveUp(DisconnectReason::ConnectionLost), Duration::ZERO);
        }
        self.attempts_made += 1;
        let delay = if std::mem::take(&mut self.retry_now) {
            Duration::ZERO
        } else {
            self.policy.delay_before(self.attempts_made, unit)
        };
        let step = if self.full { Step::FullReconnect } else { Step::Resume };
        (step, delay)
    }

    /// An attempt failed. Returns the reason to give up with when the failure is final.
    pub fn on_failure(&mut self, failure: &AttemptFailure) -> Option<DisconnectReason> {
        self.full = true;
        match failure {
            AttemptFailure::Refused(err @ Error::Unauthorized { .. }) => {
                log::warn!("reconnecting: the server refused the token ({err}); giving up");
                Some(DisconnectReason::JoinFailure)
            }
            AttemptFailure::ServerLeave { reconnect: false, reason } => Some(*reason),
            AttemptFailure::ServerLeave { reconnect: true, .. } => {
                self.retry_now = true;
                None
            }
            AttemptFailure::Refused(_) => None,
        }
    }
}

/// Why an attempt failed.
#[derive(Debug)]
pub(crate) enum AttemptFailure {
    /// The attempt failed with this error (unreachable, timed out, refused...).
    Refused(Error),
    /// The server answered with a `LeaveRequest`: `reconnect` when it allows another try.
    ServerLeave {
        /// The server allows another attempt (action RESUME or RECONNECT).
        reconnect: bool,
        /// The reason it gave.
        reason: DisconnectReason,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_attempts: u32) -> ReconnectPolicy {
        ReconnectPolicy { max_attempts, ..ReconnectPolicy::default() }
    }

    #[test]
    fn delays_double_from_the_second_attempt_and_stop_at_the_cap() {
        let p = ReconnectPolicy::default();
        let ceilings: Vec<u128> = (1..=8).map(|n| p.delay_before(n, 1.0).as_millis()).collect();
        assert_eq!(ceilings, vec![0, 300, 600, 1200, 2400, 4800, 7000, 7000]);
        assert_eq!(p.delay_before(4, 0.5), Duration::from_millis(600), "full jitter scales the ceiling");
        assert_eq!(p.delay_before(u32::MAX, 1.0), Duration::from_secs(7), "no overflow far out");
    }

    #[test]
    fn a_signal_loss_resumes_first_and_escalates_after_a_failure() {
        let mut episode = Episode::new(policy(10), Trigger::SignalLost);
        assert_eq!(episode.next_step(0.0), (Step::Resume, Duration::ZERO));
        assert_eq!(episode.on_failure(&AttemptFailure::Refused(Error::Connection("refused".into()))), None);
        assert_eq!(episode.next_step(1.0), (Step::FullReconnect, Duration::from_millis(300)));
        assert_eq!(episode.next_step(1.0).0, Step::FullReconnect, "escalation is sticky");
    }

    #[test]
    fn the_server_asking_for_a_new_session_goes_full_at_once() {
        let mut episode = Episode::new(policy(10), Trigger::ServerReconnect);
        assert_eq!(episode.next_step(1.0), (Step::FullReconnect, Duration::ZERO));
        let mut episode = Episode::new(policy(10), Trigger::ServerResume);
        assert_eq!(episode.next_step(1.0), (Step::Resume, Duration::ZERO));
    }

    #[test]
    fn a_break_during_an_attempt_makes_the_next_one_full() {
        let mut episode = Episode::new(policy(10), Trigger::PeerFailed);
        episode.next_step(0.0);
        episode.on_trigger(Trigger::SignalLost);
        assert!(episode.is_full());
        assert_eq!(episode.next_step(1.0).0, Step::FullReconnect);
    }

    #[test]
    fn attempts_run_out_with_connection_lost() {
        let mut episode = Episode::new(policy(2), Trigger::SignalLost);
        assert_eq!(episode.next_step(0.0).0, Step::Resume);
        episode.on_failure(&AttemptFailure::Refused(Error::Connection("x".into())));
        assert_eq!(episode.next_step(0.0).0, Step::FullReconnect);
        episode.on_failure(&AttemptFailure::Refused(Error::Connection("x".into())));
        assert_eq!(episode.next_step(0.0).0, Step::GiveUp(DisconnectReason::ConnectionLost));
        let mut never = Episode::new(policy(0), Trigger::SignalLost);
        assert_eq!(never.next_step(0.0).0, Step::GiveUp(DisconnectReason::ConnectionLost));
    }

    #[test]
    fn refused_tokens_and_server_disconnects_are_final() {
        let mut episode = Episode::new(policy(10), Trigger::SignalLost);
        let refused = AttemptFailure::Refused(Error::Unauthorized { reason: "expired".into() });
        assert_eq!(episode.on_failure(&refused), Some(DisconnectReason::JoinFailure));
        let leave = AttemptFailure::ServerLeave { reconnect: false, reason: DisconnectReason::RoomDeleted };
        assert_eq!(episode.on_failure(&leave), Some(DisconnectReason::RoomDeleted));
    }

    #[test]
    fn a_server_leave_that_allows_reconnecting_retries_at_once() {
        let mut episode = Episode::new(policy(10), Trigger::SignalLost);
        episode.next_step(0.0);
        let leave = AttemptFailure::ServerLeave { reconnect: true, reason: DisconnectReason::StateMismatch };
        assert_eq!(episode.on_failure(&leave), None);
        assert_eq!(episode.next_step(1.0), (Step::FullReconnect, Duration::ZERO));
    }
}
