//! Session stores: where bridge pages (and SSO sessions) live, so that
//! any server node can serve them.
//!
//! [`SessionStore`] is a small key/value contract with three properties
//! the bridge relies on:
//!
//! - **expiry**: every value has a time to live;
//! - **atomic updates**: each value has a version, and
//!   [`swap`](SessionStore::swap) writes only when the version is still
//!   the one read (compare-and-swap), so two nodes can never both claim a
//!   page; [`update_json`] wraps the read–modify–write loop;
//! - **pub/sub**: a message published on a channel reaches every
//!   subscriber on every node, which is how a command issued on one node
//!   reaches a browser connected to another.
//!
//! [`MemoryStore`] is the default, for one process. `RedisStore` (feature
//! `redis`) shares state between nodes.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq as _;
use tokio::sync::broadcast;

/// A stored value and its version.
#[derive(Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: Bytes,
    /// Its version: 1 when first written, one more at each swap.
    pub version: u64,
}

impl fmt::Debug for Versioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values hold session data; show only their size.
        f.debug_struct("Versioned")
            .field("bytes", &self.value.len())
            .field("version", &self.version)
            .finish()
    }
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or answered with an error.
    #[error("session store backend: {0}")]
    Backend(String),
    /// A stored value could not be decoded.
    #[error("stored value for `{key}` is not valid: {message}")]
    Corrupt {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// [`update_json`] lost the race too many times in a row.
    #[error("`{0}` is being updated by others; gave up after repeated conflicts")]
    Contended(String),
}

/// The key/value, expiry and pub/sub contract of a session store.
///
/// Implementations must be safe to share between tasks and nodes: every
/// method is atomic on its own.
pub trait SessionStore: Send + Sync + 'static {
    /// Reads `key`; `None` when absent or expired.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>>;

    /// Writes `key` at version 1 only when it is absent; `false` when it
    /// exists.
    fn insert_new<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Replaces `key` (or deletes it, for `None`) only when its version is
    /// still `expected`; the new value lives `ttl` from now. `false` when
    /// the key changed or vanished in between.
    fn swap<'a>(
        &'a self,
        key: &'a str,
        expected: u64,
        value: Option<Bytes>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Adds one to the counter at `key` and returns the new count and the
    /// time the counter has left. An absent or expired counter starts at 1
    /// and lives `ttl`; later increments do not extend it (a fixed
    /// window). Rate limits count with this.
    ///
    /// The default runs [`get`](Self::get) and [`swap`](Self::swap) in a
    /// loop, keeping the deadline in the value; the built-in stores do it
    /// in one atomic step.
    fn incr<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(u64, Duration), StoreError>> {
        Box::pin(incr_by_swap(self, key, ttl))
    }

    /// Publishes `message` to every current subscriber of `channel`.
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        message: Bytes,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Subscribes to `channel`. The stream ends when the store does.
    fn subscribe<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<BoxStream<'static, Bytes>, StoreError>>;
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Lost swaps in a row after which [`incr_by_swap`] gives up.
const INCR_ATTEMPTS: usize = 1024;

/// [`SessionStore::incr`] for stores without an atomic counter: the value
/// is `count:deadline_ms`. Gives up with [`StoreError::Contended`] only
/// after [`INCR_ATTEMPTS`] lost swaps in a row.
async fn incr_by_swap<S: SessionStore + ?Sized>(
    store: &S,
    key: &str,
    ttl: Duration,
) -> Result<(u64, Duration), StoreError> {
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    // Every lost swap means another increment went through, so the loop
    // always makes progress; a counter is a hot key by nature (rate limits,
    // replay counts), so it may take as many tries as there are concurrent
    // callers. Yielding after a loss lets the winner's task run on.
    for attempt in 0..INCR_ATTEMPTS {
        if attempt > 0 {
            tokio::task::yield_now().await;
        }
        let now = unix_ms();
        let current = store.get(key).await?;
        let parsed = current.as_ref().and_then(|v| {
            let text = std::str::from_utf8(&v.value).ok()?;
            let (n, until) = text.split_once(':')?;
            Some((n.parse::<u64>().ok()?, until.parse::<u64>().ok()?))
        });
        let (count, until) = match parsed {
            Some((n, until)) if until > now => (n.saturating_add(1), until),
            _ => (1, now.saturating_add(ttl_ms)),
        };
        let left = Duration::from_millis(until.saturating_sub(now).max(1));
        let value = Bytes::from(format!("{count}:{until}"));
        let done = match current {
            Some(v) => store.swap(key, v.version, Some(value), left).await?,
            None => store.insert_new(key, value, left).await?,
        };
        if done {
            return Ok((count, left));
        }
    }
    Err(StoreError::Contended(key.to_owned()))
}

/// Read-modify-write of a JSON value, retried on conflicts (at most 16
/// times). `f` sees the current value (or `None`) and returns the new one
/// (`None` deletes), or an error of its own that stops the update.
///
/// Returns the value written.
///
/// # Errors
///
/// The store's errors, [`StoreError::Corrupt`] for a value that is not
/// a `T`, [`StoreError::Contended`] after 16 conflicts, or `f`'s error
/// (as `Ok(Err(..))`).
pub async fn update_json<T, E, F>(
    store: &dyn SessionStore,
    key: &str,
    ttl: Duration,
    mut f: F,
) -> Result<Result<Option<T>, E>, StoreError>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(Option<T>) -> Result<Option<T>, E>,
{
    for _ in 0..16 {
        let current = store.get(key).await?;
        let (version, value) = match &current {
            Some(v) => (
                Some(v.version),
                Some(
                    serde_json::from_slice::<T>(&v.value).map_err(|e| StoreError::Corrupt {
                        key: key.to_owned(),
                        message: e.to_string(),
                    })?,
                ),
            ),
            None => (None, None),
        };
        let next = match f(value) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        let bytes = match &next {
            Some(n) => Some(Bytes::from(serde_json::to_vec(n).map_err(|e| {
                StoreError::Corrupt {
                    key: key.to_owned(),
                    message: e.to_string(),
                }
            })?)),
            None => None,
        };
        let done = match (version, bytes) {
            (Some(v), b) => store.swap(key, v, b, ttl).await?,
            (None, Some(b)) => store.insert_new(key, b, ttl).await?,
            (None, None) => true,
        };
        if done {
            return Ok(Ok(next));
        }
    }
    Err(StoreError::Contended(key.to_owned()))
}

/// Reads a JSON value.
///
/// # Errors
///
/// The store's errors, or [`StoreError::Corrupt`].
pub async fn get_json<T: DeserializeOwned>(
    store: &dyn SessionStore,
    key: &str,
) -> Result<Option<(T, u64)>, StoreError> {
    match store.get(key).await? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v.value)
            .map(|t| Some((t, v.version)))
            .map_err(|e| StoreError::Corrupt {
                key: key.to_owned(),
                message: e.to_string(),
            }),
    }
}

struct Entry {
    value: Bytes,
    version: u64,
    expires: Instant,
}

#[derive(Default)]
struct Memory {
    entries: HashMap<String, Entry>,
    channels: HashMap<String, broadcast::Sender<Bytes>>,
    writes: u64,
}

impl Memory {
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|e| e.expires <= now) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    /// Sweeps expired entries once the writes since the last sweep reach
    /// the map's size (and at least 1,024), so memory stays within about
    /// twice what is live, and each write pays O(1) for sweeping however
    /// large the map grows (a fixed interval would cost O(n) per sweep and
    /// make heavy use quadratic).
    fn after_write(&mut self, now: Instant) {
        self.writes += 1;
        if self.writes >= self.entries.len().max(1024) as u64 {
            self.writes = 0;
            self.entries.retain(|_, e| e.expires > now);
            self.channels.retain(|_, tx| tx.receiver_count() > 0);
        }
    }
}

/// An in-process [`SessionStore`]: a map behind a mutex, with lazy expiry
/// and periodic sweeps, and pub/sub over broadcast channels.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cti_server_kit::store::{MemoryStore, SessionStore};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let store = MemoryStore::new();
/// assert!(store.insert_new("k", "v1".into(), Duration::from_secs(60)).await?);
/// let v = store.get("k").await?.map(|v| v.version);
/// assert_eq!(v, Some(1));
/// assert!(store.swap("k", 1, Some("v2".into()), Duration::from_secs(60)).await?);
/// assert!(!store.swap("k", 1, Some("v3".into()), Duration::from_secs(60)).await?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore(Arc<Mutex<Memory>>);

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .0
            .lock()
            .map(|m| m.entries.len())
            .unwrap_or_else(|p| p.into_inner().entries.len());
        f.debug_struct("MemoryStore").field("entries", &n).finish()
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Memory) -> T) -> T {
        // A panic elsewhere while holding the lock leaves the map in a
        // consistent state (every write is a single insert), so go on.
        let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

impl SessionStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        let now = Instant::now();
        let out = self.with(|m| {
            m.live(key, now).map(|e| Versioned {
                value: e.value.clone(),
                version: e.version,
            })
        });
        Box::pin(async move { Ok(out) })
    }

    fn insert_new<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let now = Instant::now();
        let done = self.with(|m| {
            if m.live(key, now).is_some() {
                return false;
            }
            m.entries.insert(
                key.to_owned(),
                Entry {
                    value,
                    version: 1,
                    expires: now + ttl,
                },
            );
            m.after_write(now);
            true
        });
        Box::pin(async move { Ok(done) })
    }

    fn incr<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(u64, Duration), StoreError>> {
        let now = Instant::now();
        let result = self.with(|m| {
            if let Some(e) = m.live(key, now) {
                let n = std::str::from_utf8(&e.value)
                    .ok()
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(0)
                    .saturating_add(1);
                e.value = Bytes::from(n.to_string());
                e.version += 1;
                return (n, e.expires.saturating_duration_since(now));
            }
            m.entries.insert(
                key.to_owned(),
                Entry {
                    value: Bytes::from_static(b"1"),
                    version: 1,
                    expires: now + ttl,
                },
            );
            m.after_write(now);
            (1, ttl)
        });
        Box::pin(async move { Ok(result) })
    }

    fn swap<'a>(
        &'a self,
        key: &'a str,
        expected: u64,
        value: Option<Bytes>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let now = Instant::now();
        let done = self.with(|m| {
            let Some(e) = m.live(key, now) else {
                return false;
            };
            if e.version != expected {
                return false;
            }
            match value {
                Some(v) => {
                    e.value = v;
                    e.version += 1;
                    e.expires = now + ttl;
                }
                None => {
                    m.entries.remove(key);
                }
            }
            m.after_write(now);
            true
        });
        Box::pin(async move { Ok(done) })
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        message: Bytes,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.with(|m| {
            if let Some(tx) = m.channels.get(channel) {
                // No receivers is not an error: nobody listens.
                let _ = tx.send(message);
            }
        });
        Box::pin(async { Ok(()) })
    }

    fn subscribe<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<BoxStream<'static, Bytes>, StoreError>> {
        let rx = self.with(|m| {
            m.channels
                .entry(channel.to_owned())
                .or_insert_with(|| broadcast::channel(1024).0)
                .subscribe()
        });
        let channel = channel.to_owned();
        let stream = futures_util::stream::unfold((rx, channel), |(mut rx, channel)| async move {
            loop {
                match rx.recv().await {
                    Ok(msg) => return Some((msg, (rx, channel))),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(%channel, missed = n, "subscriber fell behind; messages dropped");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Box::pin(async move { Ok(Box::pin(stream) as BoxStream<'static, Bytes>) })
    }
}

#[cfg(feature = "redis")]
pub use self::redis_store::RedisStore;

#[cfg(feature = "redis")]
mod redis_store {
    use super::{BoxFuture, BoxStream, Bytes, Duration, SessionStore, StoreError, Versioned};
    use futures_util::StreamExt as _;
    use redis::AsyncCommands as _;
    use std::fmt;

    const INSERT_NEW: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'n', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1";

    const SWAP: &str = r"
local n = redis.call('HGET', KEYS[1], 'n')
if not n or tonumber(n) ~= tonumber(ARGV[1]) then return 0 end
if ARGV[2] == 'del' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[3], 'n', tonumber(n) + 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1";

    const INCR: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}";

    fn backend(e: redis::RedisError) -> StoreError {
        StoreError::Backend(e.to_string())
    }

    fn millis(ttl: Duration) -> u64 {
        u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
    }

    /// A [`SessionStore`] on Redis: each value is a hash `{v, n}` (value
    /// and version) with a `PEXPIRE`; inserts and swaps are Lua scripts,
    /// so they are atomic on the server; pub/sub is Redis `PUBLISH` and
    /// `SUBSCRIBE`. Every key and channel is prefixed (default `cti:`).
    ///
    /// Commands go through a `ConnectionManager`, which reconnects after a
    /// failure; each subscription holds a connection of its own.
    #[derive(Clone)]
    pub struct RedisStore {
        client: redis::Client,
        conn: redis::aio::ConnectionManager,
        prefix: String,
        insert_new: redis::Script,
        swap: redis::Script,
        incr: redis::Script,
    }

    impl fmt::Debug for RedisStore {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // The connection info may hold a password.
            f.debug_struct("RedisStore")
                .field("prefix", &self.prefix)
                .finish_non_exhaustive()
        }
    }

    impl RedisStore {
        /// Connects to `url` (`redis://host:port/db`).
        ///
        /// # Errors
        ///
        /// [`StoreError::Backend`] when the URL is invalid or the server
        /// cannot be reached.
        pub async fn connect(url: &str) -> Result<Self, StoreError> {
            let client = redis::Client::open(url).map_err(backend)?;
            let conn = redis::aio::ConnectionManager::new(client.clone())
                .await
                .map_err(backend)?;
            Ok(Self {
                client,
                conn,
                prefix: "cti:".into(),
                insert_new: redis::Script::new(INSERT_NEW),
                swap: redis::Script::new(SWAP),
                incr: redis::Script::new(INCR),
            })
        }

        /// Uses `prefix` for every key and channel (to share a Redis
        /// between applications or test runs).
        #[must_use]
        pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
            self.prefix = prefix.into();
            self
        }

        fn key(&self, key: &str) -> String {
            format!("{}{key}", self.prefix)
        }
    }

    impl SessionStore for RedisStore {
        fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
            Box::pin(async move {
                let mut conn = self.conn.clone();
                let (v, n): (Option<Vec<u8>>, Option<u64>) = redis::cmd("HMGET")
                    .arg(self.key(key))
                    .arg("v")
                    .arg("n")
                    .query_async(&mut conn)
                    .await
                    .map_err(backend)?;
                Ok(match (v, n) {
                    (Some(v), Some(n)) => Some(Versioned {
                        value: Bytes::from(v),
                        version: n,
                    }),
                    _ => None,
                })
            })
        }

        fn insert_new<'a>(
            &'a self,
            key: &'a str,
            value: Bytes,
            ttl: Duration,
        ) -> BoxFuture<'a, Result<bool, StoreError>> {
            Box::pin(async move {
                let mut conn = self.conn.clone();
                let done: i64 = self
                    .insert_new
                    .key(self.key(key))
                    .arg(value.as_ref())
                    .arg(millis(ttl))
                    .invoke_async(&mut conn)
                    .await
                    .map_err(backend)?;
                Ok(done == 1)
            })
        }

        fn incr<'a>(
            &'a self,
            key: &'a str,
            ttl: Duration,
        ) -> BoxFuture<'a, Result<(u64, Duration), StoreError>> {
            Box::pin(async move {
                let mut conn = self.conn.clone();
                let (n, left): (u64, i64) = self
                    .incr
                    .key(self.key(&format!("n:{key}")))
                    .arg(millis(ttl))
                    .invoke_async(&mut conn)
                    .await
                    .map_err(backend)?;
                let left = u64::try_from(left).unwrap_or(0).max(1);
                Ok((n, Duration::from_millis(left)))
            })
        }

        fn swap<'a>(
            &'a self,
            key: &'a str,
            expected: u64,
            value: Option<Bytes>,
            ttl: Duration,
        ) -> BoxFuture<'a, Result<bool, StoreError>> {
            Box::pin(async move {
                let mut conn = self.conn.clone();
                let mut inv = self.swap.key(self.key(key));
                inv.arg(expected);
                match &value {
                    Some(v) => {
                        inv.arg("set").arg(v.as_ref()).arg(millis(ttl));
                    }
                    None => {
                        inv.arg("del").arg("").arg(0);
                    }
                }
                let done: i64 = inv.invoke_async(&mut conn).await.map_err(backend)?;
                Ok(done == 1)
            })
        }

        fn publish<'a>(
            &'a self,
            channel: &'a str,
            message: Bytes,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                let mut conn = self.conn.clone();
                let _: i64 = conn
                    .publish(self.key(channel), message.as_ref())
                    .await
                    .map_err(backend)?;
                Ok(())
            })
        }

        fn subscribe<'a>(
            &'a self,
            channel: &'a str,
        ) -> BoxFuture<'a, Result<BoxStream<'static, Bytes>, StoreError>> {
            Box::pin(async move {
                let mut pubsub = self.client.get_async_pubsub().await.map_err(backend)?;
                pubsub.subscribe(self.key(channel)).await.map_err(backend)?;
                let stream = pubsub
                    .into_on_message()
                    .map(|m| Bytes::copy_from_slice(m.get_payload_bytes()));
                Ok(Box::pin(stream) as BoxStream<'static, Bytes>)
            })
        }
    }
}

/// SSO sessions on a [`SessionStore`]: the `crmSessionId`s a CRM hands out
/// at SSO login (Ameyo's contract) and checks on every later request.
///
/// Ids are 256 random bits; the store keeps only SHA-256 digests of each
/// (one as the key, one compared in constant time after the lookup), so a
/// leaked store dump cannot be replayed as sessions. Sessions expire
/// after their time to live, which each [`resolve`](Self::resolve)
/// renews (sliding expiry).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cti_server_kit::store::{MemoryStore, SsoSessions};
/// use secrecy::ExposeSecret as _;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let sessions = SsoSessions::new(MemoryStore::new(), Duration::from_secs(8 * 3600));
/// let id = sessions.login("agent7").await?;
/// assert_eq!(sessions.resolve(id.expose_secret()).await?.as_deref(), Some("agent7"));
/// assert!(sessions.logout(id.expose_secret()).await?);
/// assert_eq!(sessions.resolve(id.expose_secret()).await?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SsoSessions {
    store: Arc<dyn SessionStore>,
    ttl: Duration,
}

impl fmt::Debug for SsoSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoSessions")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SsoRecord {
    user: String,
    /// A second digest of the id, compared in constant time after the
    /// lookup by the first.
    check: String,
}

fn sso_check(id: &str) -> String {
    crate::secret::sha256_hex(&format!("check:{id}"))
}

fn sso_key(id: &str) -> String {
    format!("sso:{}", crate::secret::sha256_hex(id))
}

/// Ids longer than this were never issued; they are refused unhashed.
const MAX_SSO_ID: usize = 128;

impl SsoSessions {
    /// Sessions in `store` that live `ttl` after their last use.
    pub fn new(store: impl SessionStore, ttl: Duration) -> Self {
        Self {
            store: Arc::new(store),
            ttl,
        }
    }

    /// The same, on a store already shared.
    pub fn with_store(store: Arc<dyn SessionStore>, ttl: Duration) -> Self {
        Self { store, ttl }
    }

    /// Starts a session for `user` and returns its `crmSessionId`.
    ///
    /// # Errors
    ///
    /// The store's errors, or [`StoreError::Backend`] when the system has
    /// no randomness.
    pub async fn login(&self, user: &str) -> Result<secrecy::SecretString, StoreError> {
        let id = crate::secret::random_token(32).map_err(|e| StoreError::Backend(e.to_string()))?;
        let record = serde_json::to_vec(&SsoRecord {
            user: user.to_owned(),
            check: sso_check(&id),
        })
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        if !self
            .store
            .insert_new(&sso_key(&id), Bytes::from(record), self.ttl)
            .await?
        {
            return Err(StoreError::Backend("session id collision".into()));
        }
        Ok(secrecy::SecretString::from(id))
    }

    /// The user of a live session (and renews it), or `None`.
    ///
    /// # Errors
    ///
    /// The store's errors.
    pub async fn resolve(&self, crm_session_id: &str) -> Result<Option<String>, StoreError> {
        if crm_session_id.is_empty() || crm_session_id.len() > MAX_SSO_ID {
            return Ok(None);
        }
        let key = sso_key(crm_session_id);
        let check = sso_check(crm_session_id);
        let renewed = update_json::<SsoRecord, (), _>(&*self.store, &key, self.ttl, |r| match r {
            Some(r) if bool::from(r.check.as_bytes().ct_eq(check.as_bytes())) => Ok(Some(r)),
            _ => Err(()),
        })
        .await?;
        Ok(renewed.ok().flatten().map(|r| r.user))
    }

    /// Ends a session; `false` when there was none.
    ///
    /// # Errors
    ///
    /// The store's errors.
    pub async fn logout(&self, crm_session_id: &str) -> Result<bool, StoreError> {
        if crm_session_id.is_empty() || crm_session_id.len() > MAX_SSO_ID {
            return Ok(false);
        }
        let key = sso_key(crm_session_id);
        let check = sso_check(crm_session_id);
        let ended = update_json::<SsoRecord, (), _>(&*self.store, &key, self.ttl, |r| match r {
            Some(r) if bool::from(r.check.as_bytes().ct_eq(check.as_bytes())) => Ok(None),
            _ => Err(()),
        })
        .await?;
        Ok(ended.is_ok())
    }
}
