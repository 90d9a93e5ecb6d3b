//! The Redis store.
//!
//! Layout, every name under a prefix (default `cti:media:`):
//! - `{prefix}i:{id}`: a hash `{v: version, d: interaction as JSON}`;
//! - `{prefix}timers`: a sorted set of `{timer}|{id}` scored by the due
//!   time in Unix milliseconds (a claimed timer is re-scored to its lease
//!   end);
//! - `{prefix}events`: the pub/sub channel of [`StoreEvent`]s as JSON.
//!
//! Create, compare-and-set, claim and finish are Lua scripts, so each is
//! atomic on the server: the version check, the write, the event and the
//! timer happen together. Commands share one multiplexed connection
//! (a `ConnectionManager`, which reconnects), so concurrent operations
//! are pipelined onto the socket.

use std::fmt;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use jiff::Timestamp;

use super::{
    Claim, EventStream, InteractionStore, StoreError, StoreEvent, Timer, Write, after,
    decode_interaction, millis,
};
use crate::interaction::{Interaction, InteractionId};

/// KEYS: interaction. ARGV: version, data, channel, event.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1";

/// KEYS: interaction, timers. ARGV: expected, next version, data,
/// channel, event, timer member ('' for none), timer score, retention ms
/// (0: keep).
const CAS: &str = r"
local cur = redis.call('HMGET', KEYS[1], 'v', 'd')
if not cur[1] then return 0 end
if cur[1] ~= ARGV[1] then return cur[2] end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
if ARGV[8] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[8]) end
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[2], ARGV[7], ARGV[6]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1";

/// KEYS: timers. ARGV: now ms, lease end ms, limit.
const CLAIM: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], m) end
return due";

/// KEYS: timers. ARGV: member, lease end ms.
const FINISH: &str = r"
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0";

fn backend(e: &redis::RedisError) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
        what: what.into(),
        why: e.to_string(),
    })
}

/// An [`InteractionStore`] on Redis: versioned compare-and-set in Lua,
/// pub/sub fan-out and leased timers, so several engine nodes share one
/// state and a node that dies loses nothing.
///
/// Every interaction that reaches a terminal state is kept for the
/// retention period (default 24 hours; [`Self::with_retention`]), then
/// Redis drops it.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), cti_media::store::StoreError> {
/// use cti_media::store::RedisStore;
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?.with_prefix("shop:");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    conn: redis::aio::ConnectionManager,
    prefix: String,
    retention: Option<Duration>,
    create: redis::Script,
    cas: redis::Script,
    claim: redis::Script,
    finish: redis::Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection info may hold a password: never printed.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://[user:password@]host:port/db`).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the URL is invalid or the server
    /// cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| backend(&e))?;
        let conn = redis::aio::ConnectionManager::new(client.clone())
            .await
            .map_err(|e| backend(&e))?;
        Ok(Self {
            client,
            conn,
            prefix: "cti:media:".into(),
            retention: Some(Duration::from_secs(24 * 3600)),
            create: redis::Script::new(CREATE),
            cas: redis::Script::new(CAS),
            claim: redis::Script::new(CLAIM),
            finish: redis::Script::new(FINISH),
        })
    }

    /// Puts every key and the channel under `prefix` (to share one Redis
    /// between deployments or test runs).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long an interaction is kept once terminal (`None`: forever).
    #[must_use]
    pub fn with_retention(mut self, retention: Option<Duration>) -> Self {
        self.retention = retention;
        self
    }

    fn key(&self, id: &InteractionId) -> String {
        format!("{}i:{}", self.prefix, id.as_str())
    }

    fn timers(&self) -> String {
        format!("{}timers", self.prefix)
    }

    fn channel(&self) -> String {
        format!("{}events", self.prefix)
    }
}

fn member(timer: Timer, id: &InteractionId) -> String {
    format!("{}|{}", timer.name(), id.as_str())
}

impl InteractionStore for RedisStore {
    fn create<'a>(&'a self, interaction: &'a Interaction) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let id = interaction.id();
            let data = encode(id.as_str(), interaction)?;
            let event = encode(
                "event",
                &StoreEvent::Created {
                    interaction: Box::new(interaction.clone()),
                },
            )?;
            let mut conn = self.conn.clone();
            let done: i64 = self
                .create
                .key(self.key(id))
                .arg(interaction.version())
                .arg(data)
                .arg(self.channel())
                .arg(event)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            if done == 1 {
                Ok(())
            } else {
                Err(StoreError::Exists(id.clone()))
            }
        })
    }

    fn load<'a>(
        &'a self,
        id: &'a InteractionId,
    ) -> BoxFuture<'a, Result<Option<Interaction>, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let data: Option<Vec<u8>> = redis::cmd("HGET")
                .arg(self.key(id))
                .arg("d")
                .query_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            data.map(|d| decode_interaction(id.as_str(), &d))
                .transpose()
        })
    }

    fn compare_and_set<'a>(&'a self, write: Write<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            write.check()?;
            let id = write.next.id();
            let data = encode(id.as_str(), write.next)?;
            let event = encode(
                "event",
                &StoreEvent::Changed {
                    id: id.clone(),
                    version: write.next.version(),
                    changes: write.changes.to_vec(),
                },
            )?;
            let (timer, score) = match write.schedule {
                Some((timer, at)) => (member(timer, id), millis(at)),
                None => (String::new(), 0),
            };
            let retention = match self.retention {
                Some(r) if write.next.state().is_terminal() => {
                    u64::try_from(r.as_millis()).unwrap_or(u64::MAX).max(1)
                }
                _ => 0,
            };
            let mut conn = self.conn.clone();
            let answer: redis::Value = self
                .cas
                .key(self.key(id))
                .key(self.timers())
                .arg(write.expected)
                .arg(write.next.version())
                .arg(data)
                .arg(self.channel())
                .arg(event)
                .arg(timer)
                .arg(score)
                .arg(retention)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            match answer {
                redis::Value::Int(1) => Ok(()),
                redis::Value::Int(0) => Err(StoreError::NotFound(id.clone())),
                redis::Value::BulkString(current) => Err(StoreError::Conflict {
                    current: Box::new(decode_interaction(id.as_str(), &current)?),
                }),
                other => Err(StoreError::Backend(format!(
                    "unexpected compare-and-set answer {other:?}"
                ))),
            }
        })
    }

    fn publish<'a>(&'a self, event: &'a StoreEvent) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let data = encode("event", event)?;
            let mut conn = self.conn.clone();
            let _: i64 = redis::cmd("PUBLISH")
                .arg(self.channel())
                .arg(data)
                .query_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            Ok(())
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<EventStream, StoreError>> {
        Box::pin(async move {
            let mut pubsub = self
                .client
                .get_async_pubsub()
                .await
                .map_err(|e| backend(&e))?;
            let channel = self.channel();
            pubsub.subscribe(&channel).await.map_err(|e| backend(&e))?;
            let stream = pubsub.into_on_message().map(move |m| {
                serde_json::from_slice::<StoreEvent>(m.get_payload_bytes()).map_err(|e| {
                    StoreError::Corrupt {
                        what: channel.clone(),
                        why: e.to_string(),
                    }
                })
            });
            Ok(Box::pin(stream) as EventStream)
        })
    }

    fn claim_due(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Claim>, StoreError>> {
        Box::pin(async move {
            let lease_until = after(now, lease);
            let mut conn = self.conn.clone();
            let due: Vec<String> = self
                .claim
                .key(self.timers())
                .arg(millis(now))
                .arg(millis(lease_until))
                .arg(limit)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            due.into_iter()
                .map(|m| {
                    let parsed = m
                        .split_once('|')
                        .and_then(|(t, id)| Some((Timer::from_name(t)?, id)));
                    match parsed {
                        Some((timer, id)) => Ok(Claim {
                            id: InteractionId::new(id),
                            timer,
                            lease_until,
                        }),
                        None => Err(StoreError::Corrupt {
                            what: self.timers(),
                            why: format!("timer member {m:?} is not `timer|id`"),
                        }),
                    }
                })
                .collect()
        })
    }

    fn finish<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let _: i64 = self
                .finish
                .key(self.timers())
                .arg(member(claim.timer, &claim.id))
                .arg(millis(claim.lease_until))
                .invoke_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            Ok(())
        })
    }
}
