//! Retry policies as plain data, decided by pure functions.
//!
//! Nothing here sleeps or sends: a policy looks at what happened and says
//! what to do next, so every rule can be tested without a network or a
//! clock, and a queue can store the state between attempts.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use cti_client::policy::{Attempt, Decision, Idempotency, Outcome, RetryPolicy};
//!
//! let policy = RetryPolicy::default();
//! // A dispose carries its requestId: a 503 may be retried.
//! let d = policy.decide(&Attempt::new(1, Idempotency::Keyed, Outcome::Status(503)));
//! assert!(matches!(d, Decision::Retry { .. }));
//! // A dial without one: a timeout after sending is never retried.
//! let d = policy.decide(&Attempt::new(1, Idempotency::Unsafe, Outcome::Timeout));
//! assert_eq!(d, Decision::GiveUp);
//! ```

use std::time::Duration;

/// Whether sending a request twice is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Idempotency {
    /// A read (a voice-log download): sending it again changes nothing.
    Idempotent,
    /// A write that carries a caller-chosen `requestId`, which the server
    /// uses to recognise a repeat (dispose, dispose-and-dial). It may be
    /// retried with the same id.
    Keyed,
    /// A write without such an id (click-to-dial, the legacy dispose, SSO):
    /// retried only when the request certainly never left.
    Unsafe,
}

/// What one attempt ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The connection could not be made; nothing was sent.
    Connect,
    /// No answer in time; the server may have acted.
    Timeout,
    /// The connection broke after sending; the server may have acted.
    Interrupted,
    /// The server answered with this status.
    Status(u16),
}

/// One finished attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// How safe a repeat is.
    pub idempotency: Idempotency,
    /// What happened.
    pub outcome: Outcome,
}

impl Attempt {
    /// Attempt `number` (from 1) of a request of `idempotency`, which ended
    /// with `outcome`.
    #[must_use]
    pub fn new(number: u32, idempotency: Idempotency, outcome: Outcome) -> Self {
        Self {
            number,
            idempotency,
            outcome,
        }
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// Send it again after this delay.
    Retry {
        /// How long to wait first.
        after: Duration,
    },
    /// Report the failure.
    GiveUp,
}

/// The retry policy of the request/response clients: a bounded number of
/// attempts with exponential backoff.
///
/// | outcome | idempotent | keyed (`requestId`) | unsafe |
/// |---|---|---|---|
/// | connect error | retry | retry | retry |
/// | timeout, broken connection | retry | retry | give up |
/// | 429, 502, 503, 504 | retry | retry | give up |
/// | 500 | retry | give up | give up |
/// | any other status | give up | give up | give up |
///
/// A 500 from a write may mean the write happened and its answer failed; a
/// requestId makes a repeat harmless to the vendor's dedup, but a 500 is not
/// a transient sign, so it is not repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
    /// The delay before the second attempt.
    pub initial_backoff: Duration,
    /// The longest delay.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, 200 ms then 400 ms apart, at most 5 s.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// A policy of `max_attempts` attempts (at least 1) starting at
    /// `initial_backoff`.
    #[must_use]
    pub fn new(max_attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            initial_backoff,
            max_backoff: max_backoff.max(initial_backoff),
        }
    }

    /// No retries at all.
    #[must_use]
    pub fn never() -> Self {
        Self::new(1, Duration::ZERO, Duration::ZERO)
    }

    /// The decision after `attempt`.
    #[must_use]
    pub fn decide(&self, attempt: &Attempt) -> Decision {
        if attempt.number >= self.max_attempts {
            return Decision::GiveUp;
        }
        let transient_status = |s: u16| matches!(s, 429 | 502 | 503 | 504);
        let retry = match (attempt.idempotency, attempt.outcome) {
            (_, Outcome::Connect) => true,
            (Idempotency::Unsafe, _) => false,
            (_, Outcome::Timeout | Outcome::Interrupted) => true,
            (Idempotency::Idempotent, Outcome::Status(s)) => transient_status(s) || s == 500,
            (Idempotency::Keyed, Outcome::Status(s)) => transient_status(s),
        };
        if retry {
            Decision::Retry {
                after: self.backoff(attempt.number),
            }
        } else {
            Decision::GiveUp
        }
    }

    /// The delay after attempt `number`: `initial × 2^(number-1)`, capped.
    #[must_use]
    pub fn backoff(&self, number: u32) -> Duration {
        let factor = 1u32
            .checked_shl(number.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// The CCAI generic-API retry rule: a request answered with **400** is
/// sent again, less and less often (an exponential ramp-down), until a
/// week has passed since its first failure; any other error is final.
///
/// The delay after the `n`th failure is `first × 2^(n-1)`, capped at
/// `max`; the last retry is the one that still falls inside `window`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cti_client::policy::CcaiRetryRule;
///
/// let rule = CcaiRetryRule::default();
/// assert_eq!(rule.next_delay(400, 1, Duration::ZERO), Some(Duration::from_secs(60)));
/// assert_eq!(rule.next_delay(400, 2, Duration::from_secs(60)), Some(Duration::from_secs(120)));
/// assert_eq!(rule.next_delay(500, 1, Duration::ZERO), None);
/// // Nothing is scheduled past the week.
/// assert_eq!(rule.next_delay(400, 40, Duration::from_secs(7 * 86_400 - 10)), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CcaiRetryRule {
    /// The first delay.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
    /// How long after the first failure retries go on.
    pub window: Duration,
}

impl Default for CcaiRetryRule {
    /// One minute, doubling to at most twelve hours, for seven days.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(60),
            max: Duration::from_secs(12 * 3600),
            window: Duration::from_secs(7 * 86_400),
        }
    }
}

impl CcaiRetryRule {
    /// A rule starting at `first`, doubling to at most `max`, for `window`.
    #[must_use]
    pub fn new(first: Duration, max: Duration, window: Duration) -> Self {
        Self {
            first,
            max: max.max(first),
            window,
        }
    }

    /// The delay before the next try after failure number `failures`
    /// (from 1) with `status`, `since_first` after the first failure; `None`
    /// when the request is not to be retried.
    #[must_use]
    pub fn next_delay(
        &self,
        status: u16,
        failures: u32,
        since_first: Duration,
    ) -> Option<Duration> {
        if status != 400 || failures == 0 {
            return None;
        }
        let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
        let delay = self
            .first
            .checked_mul(factor)
            .unwrap_or(self.max)
            .min(self.max);
        (since_first.saturating_add(delay) <= self.window).then_some(delay)
    }

    /// Every delay of a request that keeps failing with 400, in order.
    #[must_use]
    pub fn schedule(&self) -> Vec<Duration> {
        let mut out = Vec::new();
        let mut elapsed = Duration::ZERO;
        let mut n = 1;
        while let Some(d) = self.next_delay(400, n, elapsed) {
            out.push(d);
            elapsed += d;
            n += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let p = RetryPolicy::default();
        let retry = |i, o| matches!(p.decide(&Attempt::new(1, i, o)), Decision::Retry { .. });
        use Idempotency::*;
        use Outcome::*;
        for i in [Idempotent, Keyed, Unsafe] {
            assert!(retry(i, Connect));
            assert!(!retry(i, Status(400)));
            assert!(!retry(i, Status(404)));
        }
        assert!(retry(Idempotent, Status(500)));
        assert!(!retry(Keyed, Status(500)));
        assert!(retry(Keyed, Status(503)));
        assert!(!retry(Unsafe, Status(503)));
        assert!(!retry(Unsafe, Timeout));
        assert!(retry(Keyed, Timeout));
        assert_eq!(
            p.decide(&Attempt::new(3, Idempotent, Connect)),
            Decision::GiveUp
        );
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(400));
        assert_eq!(p.backoff(60), Duration::from_secs(5));
    }

    #[test]
    fn ccai_week() {
        let rule = CcaiRetryRule::default();
        let s = rule.schedule();
        let total: Duration = s.iter().sum();
        assert!(total <= rule.window);
        assert!(total > rule.window - rule.max, "{total:?}");
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(s[0], Duration::from_secs(60));
        assert_eq!(*s.last().unwrap(), rule.max);
    }
}
