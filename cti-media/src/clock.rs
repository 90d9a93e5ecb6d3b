//! Time for the engine: the system clock in production, a manual clock in
//! tests, so that hours of ring, wrap-up and metadata timers run in
//! milliseconds.
//!
//! The engine never sleeps itself: it keeps its timers as deadlines and
//! fires those that are due when asked ([`Engine::run_due`]). In
//! production a driver task sleeps until the next deadline
//! ([`Engine::drive`]); in tests you [`advance`](ManualClock::advance) a
//! [`ManualClock`] and call `run_due`.
//!
//! [`Engine::run_due`]: crate::engine::Engine::run_due
//! [`Engine::drive`]: crate::engine::Engine::drive
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use cti_media::clock::{Clock, ManualClock};
//!
//! let clock = ManualClock::starting_at(jiff::Timestamp::UNIX_EPOCH);
//! clock.advance(Duration::from_secs(15 * 60));
//! assert_eq!(clock.now().as_second(), 900);
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told; clones share the same time.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

impl ManualClock {
    /// A clock reading `start`.
    #[must_use]
    pub fn starting_at(start: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let step = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        *now = now.checked_add(step).unwrap_or(Timestamp::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
