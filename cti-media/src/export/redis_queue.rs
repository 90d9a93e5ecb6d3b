//! The delivery queue on Redis: durable, shared by every node, leased.
//!
//! Layout, under the store's prefix: `{prefix}jobs` (a hash: job key →
//! job as JSON) and `{prefix}jobs:due` (a sorted set: job key → due time
//! in ms, or the lease end plus half a millisecond while claimed). Every
//! step is a Lua script, atomic on the server.

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;
use jiff::Timestamp;

use super::{DeliveryQueue, ExportError, Job, Lease};
use crate::shard::after;
use crate::store::RedisStore;

/// KEYS: jobs, due. ARGV: key, job, due ms.
const PUSH: &str = r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1";

/// KEYS: jobs, due. ARGV: now (ms + .5), lease score, limit.
const CLAIM: &str = r"
local keys = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, k in ipairs(keys) do
  local job = redis.call('HGET', KEYS[1], k)
  if job then
    redis.call('ZADD', KEYS[2], ARGV[2], k)
    out[#out + 1] = job
  else
    redis.call('ZREM', KEYS[2], k)
  end
end
return out";

/// KEYS: jobs, due. ARGV: key, lease score, job ('' to remove), due ms.
const SETTLE: &str = r"
local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
end
return 1";

/// A [`DeliveryQueue`] on the Redis store: jobs survive restarts and any
/// node may run them.
#[derive(Clone)]
pub struct RedisQueue {
    conn: redis::aio::ConnectionManager,
    jobs: String,
    due: String,
    push: redis::Script,
    claim: redis::Script,
    settle: redis::Script,
}

impl fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisQueue")
            .field("jobs", &self.jobs)
            .finish_non_exhaustive()
    }
}

fn queue_err(e: &dyn fmt::Display) -> ExportError {
    ExportError::Queue(e.to_string())
}

fn lease_score(at: Timestamp) -> String {
    format!("{}.5", at.as_millisecond())
}

impl RedisQueue {
    /// The queue kept beside `store`'s interactions (same connection,
    /// same prefix).
    #[must_use]
    pub fn new(store: &RedisStore) -> Self {
        Self {
            conn: store.connection(),
            jobs: format!("{}jobs", store.prefix()),
            due: format!("{}jobs:due", store.prefix()),
            push: redis::Script::new(PUSH),
            claim: redis::Script::new(CLAIM),
            settle: redis::Script::new(SETTLE),
        }
    }

    async fn settle(&self, lease: &Lease, job: Option<&Job>) -> Result<(), ExportError> {
        let text = match job {
            Some(j) => serde_json::to_string(j).map_err(|e| queue_err(&e))?,
            None => String::new(),
        };
        let due = job.map_or(0, |j| j.due.as_millisecond());
        let mut conn = self.conn.clone();
        let _: i64 = self
            .settle
            .key(&self.jobs)
            .key(&self.due)
            .arg(lease.job.key())
            .arg(lease_score(lease.lease_until))
            .arg(text)
            .arg(due)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| queue_err(&e))?;
        Ok(())
    }
}

impl DeliveryQueue for RedisQueue {
    fn push<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move {
            let text = serde_json::to_string(job).map_err(|e| queue_err(&e))?;
            let mut conn = self.conn.clone();
            let _: i64 = self
                .push
                .key(&self.jobs)
                .key(&self.due)
                .arg(job.key())
                .arg(text)
                .arg(job.due.as_millisecond())
                .invoke_async(&mut conn)
                .await
                .map_err(|e| queue_err(&e))?;
            Ok(())
        })
    }

    fn claim(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Lease>, ExportError>> {
        Box::pin(async move {
            let lease_until = after(now, lease);
            let mut conn = self.conn.clone();
            let texts: Vec<String> = self
                .claim
                .key(&self.jobs)
                .key(&self.due)
                .arg(lease_score(now))
                .arg(lease_score(lease_until))
                .arg(limit)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| queue_err(&e))?;
            texts
                .iter()
                .map(|t| {
                    serde_json::from_str::<Job>(t)
                        .map(|job| Lease { job, lease_until })
                        .map_err(|e| ExportError::Queue(format!("unreadable job: {e}")))
                })
                .collect()
        })
    }

    fn done<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(self.settle(lease, None))
    }

    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(self.settle(lease, Some(job)))
    }

    fn pending(&self) -> BoxFuture<'_, Result<usize, ExportError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            redis::cmd("HLEN")
                .arg(&self.jobs)
                .query_async(&mut conn)
                .await
                .map_err(|e| queue_err(&e))
        })
    }
}
