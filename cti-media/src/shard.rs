//! Small shared pieces: sharded locks, poison-tolerant locking and
//! saturating time arithmetic, used by the engine, the memory store and
//! the node cache.

use std::hash::{BuildHasher as _, Hash, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// Locks `m`. A poisoned lock only means a panic elsewhere mid-update of
/// plain maps; each entry is still whole, so keep going.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `at + by`, saturating at the largest timestamp.
pub(crate) fn after(at: Timestamp, by: Duration) -> Timestamp {
    SignedDuration::try_from(by)
        .ok()
        .and_then(|d| at.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

/// `n` values, each behind its own lock, picked by a key's hash.
pub(crate) struct Shards<T> {
    shards: Box<[Mutex<T>]>,
    hasher: RandomState,
}

impl<T: Default> Shards<T> {
    /// `n` shards (at least one).
    pub(crate) fn new(n: usize) -> Self {
        Self {
            shards: (0..n.max(1)).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl<T> Shards<T> {
    /// The shard that holds `key`.
    pub(crate) fn of(&self, key: &impl Hash) -> &Mutex<T> {
        let n = self.shards.len() as u64;
        let i = usize::try_from(self.hasher.hash_one(key) % n).unwrap_or(0);
        &self.shards[i]
    }

    /// Every shard.
    pub(crate) fn all(&self) -> &[Mutex<T>] {
        &self.shards
    }
}
