//! The Redis store.
//!
//! Layout, every name under a prefix (default `cti:media:`):
//! - `{prefix}i:{id}`: a hash `{v: version, d: interaction as JSON}`;
//! - `{prefix}timers`: a sorted set of `{timer}|{id}` scored by the due
//!   time in Unix milliseconds (a claimed timer is re-scored to its lease
//!   end);
//! - `{prefix}events`: the pub/sub channel of [`StoreEvent`]s as JSON;
//! - routing: `{prefix}q:{queue}` (a hash: the skills it needs, as a JSON
//!   array) and the set `{prefix}queues`; `{prefix}ag:{agent}` (a hash:
//!   `state`, `idle` ms, `cur` interaction, `queues` and `skills` as JSON
//!   arrays) and `{prefix}members:{queue}` (the agents serving a queue);
//!   `{prefix}wait:{queue}` (waiting interactions by queue time) and
//!   `{prefix}idle:{queue}` (available eligible agents by idle time), two
//!   sorted sets; `{prefix}as:{id}` (a hash: where a routed interaction
//!   stands).
//!
//! Every step is a Lua script, so each is atomic on the server: the
//! version check, the write, the routing, the event and the timer happen
//! together. The routing scripts name keys they derive from stored data,
//! so the store needs one Redis primary (not Redis Cluster). Commands
//! share one multiplexed connection (a `ConnectionManager`, which
//! reconnects), so concurrent operations are pipelined onto the socket.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use cti_protocol::types::Str;

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use jiff::Timestamp;

use super::{
    AgentRecord, Assignment, Claim, EventStream, InteractionStore, RingMissed, StoreError,
    StoreEvent, Timer, Write, after, decode_interaction, millis, offered_at,
};
use crate::engine::{AgentId, AgentState, QueueId};
use crate::interaction::{Interaction, InteractionId};

/// Shared by the routing scripts. ARGV[1] is the key prefix, ARGV[2] the
/// event channel.
const PRELUDE: &str = r"
local P, CH = ARGV[1], ARGV[2]
local function list(s)
  if not s or s == '' then return {} end
  local ok, v = pcall(cjson.decode, s)
  if ok and type(v) == 'table' then return v end
  return {}
end
local function idle_add(aid, queues, skills, at)
  local have = {}
  for _, s in ipairs(skills) do have[s] = true end
  for _, q in ipairs(queues) do
    local need = redis.call('HGET', P..'q:'..q, 'skills')
    if need then
      local ok = true
      for _, s in ipairs(list(need)) do if not have[s] then ok = false break end end
      if ok then redis.call('ZADD', P..'idle:'..q, at, aid) end
    end
  end
end
local function set_state(aid, state, now, cur)
  local k = P..'ag:'..aid
  local a = redis.call('HMGET', k, 'state', 'queues', 'skills', 'idle')
  if not a[1] then return end
  local queues = list(a[2])
  if a[1] == 'available' then
    for _, q in ipairs(queues) do redis.call('ZREM', P..'idle:'..q, aid) end
  end
  local at = a[4]
  if state == 'available' then
    at = now
    idle_add(aid, queues, list(a[3]), now)
  end
  redis.call('HSET', k, 'state', state, 'idle', at)
  if cur then redis.call('HSET', k, 'cur', cur) end
  if a[1] ~= state then
    redis.call('PUBLISH', CH, cjson.encode({event = 'agent', agent = aid, state = state}))
  end
end
local function holds(aid, id)
  return aid and aid ~= '' and redis.call('HGET', P..'ag:'..aid, 'cur') == id
end
";

/// ARGV: queue, skills.
const PUT_QUEUE: &str = r"
local q = ARGV[3]
redis.call('HSET', P..'q:'..q, 'skills', ARGV[4])
redis.call('SADD', P..'queues', q)
redis.call('DEL', P..'idle:'..q)
for _, aid in ipairs(redis.call('SMEMBERS', P..'members:'..q)) do
  local a = redis.call('HMGET', P..'ag:'..aid, 'state', 'skills', 'idle')
  if a[1] == 'available' then idle_add(aid, {q}, list(a[2]), a[3]) end
end
return 1";

/// ARGV: agent, queues, skills, now.
const PUT_AGENT: &str = r"
local aid = ARGV[3]
local k = P..'ag:'..aid
local a = redis.call('HMGET', k, 'state', 'queues', 'idle')
for _, q in ipairs(list(a[2])) do
  redis.call('SREM', P..'members:'..q, aid)
  redis.call('ZREM', P..'idle:'..q, aid)
end
local queues = list(ARGV[4])
for _, q in ipairs(queues) do redis.call('SADD', P..'members:'..q, aid) end
if not a[1] then
  redis.call('HSET', k, 'state', 'offline', 'idle', ARGV[6], 'cur', '', 'queues', ARGV[4], 'skills', ARGV[5])
else
  redis.call('HSET', k, 'queues', ARGV[4], 'skills', ARGV[5])
  if a[1] == 'available' then idle_add(aid, queues, list(ARGV[5]), a[3]) end
end
return 1";

/// ARGV: agent, state, now.
const SET_STATE: &str = r"
local a = redis.call('HMGET', P..'ag:'..ARGV[3], 'state', 'cur')
if not a[1] then return 'unknown' end
if a[2] and a[2] ~= '' then return 'busy' end
set_state(ARGV[3], ARGV[4], ARGV[5], nil)
return 'ok'";

/// ARGV: id, version, data, queue, now, give-up, created event.
const ENQUEUE: &str = r"
local id, q = ARGV[3], ARGV[6]
if not redis.call('HGET', P..'q:'..q, 'skills') then return 'no_queue' end
if redis.call('EXISTS', P..'i:'..id) == 1 then return 'exists' end
redis.call('HSET', P..'i:'..id, 'v', ARGV[4], 'd', ARGV[5])
redis.call('HSET', P..'as:'..id, 'q', q, 'a', '', 'ring', '0', 'until', '', 'give', ARGV[8], 'since', ARGV[7], 'out', '0')
redis.call('ZADD', P..'wait:'..q, ARGV[7], id)
redis.call('ZADD', P..'timers', ARGV[8], 'queue_wait|'..id)
redis.call('PUBLISH', CH, ARGV[9])
redis.call('PUBLISH', CH, cjson.encode({event = 'queued', id = id, queue = q}))
return 'ok'";

/// ARGV: id, version, data, queue, agent, now, ring end, created event.
const DIAL: &str = r"
local id, q, aid = ARGV[3], ARGV[6], ARGV[7]
if not redis.call('HGET', P..'q:'..q, 'skills') then return 'no_queue' end
local a = redis.call('HMGET', P..'ag:'..aid, 'state', 'cur')
if not a[1] then return 'no_agent' end
if a[1] ~= 'available' or (a[2] and a[2] ~= '') then return 'busy' end
if redis.call('EXISTS', P..'i:'..id) == 1 then return 'exists' end
redis.call('HSET', P..'i:'..id, 'v', ARGV[4], 'd', ARGV[5])
redis.call('HSET', P..'as:'..id, 'q', q, 'a', aid, 'ring', '1', 'until', ARGV[9], 'give', ARGV[9], 'since', ARGV[8], 'out', '1')
redis.call('PUBLISH', CH, ARGV[10])
set_state(aid, 'busy', ARGV[8], id)
redis.call('ZADD', P..'timers', ARGV[9], 'ring|'..id)
redis.call('PUBLISH', CH, cjson.encode({event = 'offered', id = id, agent = aid}))
return 'ok'";

/// ARGV: now, ring end, limit. Every turn removes a waiting entry or a
/// stale idle one, so the loops end.
const ROUTE: &str = r"
local now, ru, limit = ARGV[3], ARGV[4], tonumber(ARGV[5])
local out = {}
local qs = redis.call('SMEMBERS', P..'queues')
table.sort(qs)
for _, q in ipairs(qs) do
  while #out < 2 * limit do
    local w = redis.call('ZRANGE', P..'wait:'..q, 0, 0)
    if #w == 0 then break end
    local ag = redis.call('ZRANGE', P..'idle:'..q, 0, 0)
    if #ag == 0 then break end
    local id, aid = w[1], ag[1]
    local st = redis.call('HMGET', P..'ag:'..aid, 'state', 'cur')
    if st[1] ~= 'available' or (st[2] and st[2] ~= '') then
      redis.call('ZREM', P..'idle:'..q, aid)
    else
      redis.call('ZREM', P..'wait:'..q, id)
      local as = P..'as:'..id
      if redis.call('HGET', as, 'a') == '' then
        redis.call('HSET', as, 'a', aid, 'ring', '1', 'until', ru)
        set_state(aid, 'busy', now, id)
        redis.call('ZREM', P..'timers', 'queue_wait|'..id)
        redis.call('ZADD', P..'timers', ru, 'ring|'..id)
        redis.call('PUBLISH', CH, cjson.encode({event = 'offered', id = id, agent = aid}))
        out[#out + 1] = id
        out[#out + 1] = aid
      end
    end
  end
end
return out";

/// ARGV: id, now.
const RING_MISSED: &str = r"
local id, now = ARGV[3], tonumber(ARGV[4])
local as = P..'as:'..id
local a = redis.call('HMGET', as, 'a', 'ring', 'until', 'q', 'give', 'since', 'out')
local due = tonumber(a[3])
if not a[1] or a[1] == '' or a[2] ~= '1' or not due or due > now then return {'nothing'} end
local aid = a[1]
if a[7] == '1' then return {'outbound', aid} end
redis.call('HSET', as, 'a', '', 'ring', '0', 'until', '')
redis.call('ZADD', P..'wait:'..a[4], a[6], id)
if holds(aid, id) then set_state(aid, 'offline', ARGV[4], '') end
local give = tonumber(a[5]) or now
if now > give then give = now end
redis.call('ZADD', P..'timers', give, 'queue_wait|'..id)
redis.call('PUBLISH', CH, cjson.encode({event = 'offer_missed', id = id, agent = aid}))
return {'requeued', aid}";

/// KEYS: interaction. ARGV: version, data, channel, event.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1";

/// KEYS: interaction, timers. ARGV (after the prelude's): expected, next
/// version, data, event, timer member ('' for none), timer score,
/// retention ms (0: keep), routing step ('' for none), now, id.
const CAS: &str = r"
local cur = redis.call('HMGET', KEYS[1], 'v', 'd')
if not cur[1] then return 0 end
if cur[1] ~= ARGV[3] then return cur[2] end
local step, now, id = ARGV[10], ARGV[11], ARGV[12]
local as = P..'as:'..id
local a = {false}
if step ~= '' then a = redis.call('HMGET', as, 'a', 'ring', 'q') end
if a[1] then
  if (step == 'answer' or step == 'decline') and (a[1] == '' or a[2] ~= '1') then return {'queued'} end
  if step == 'abandon' and a[1] ~= '' then return {'ringing'} end
end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'd', ARGV[5])
if ARGV[9] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[9]) end
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[2], ARGV[8], ARGV[7]) end
redis.call('PUBLISH', CH, ARGV[6])
if a[1] then
  local aid = a[1]
  if step == 'answer' then
    redis.call('HSET', as, 'ring', '0', 'until', '')
    redis.call('ZREM', KEYS[2], 'ring|'..id)
  elseif step == 'decline' or step == 'release' then
    redis.call('DEL', as)
    redis.call('ZREM', KEYS[2], 'ring|'..id)
    if holds(aid, id) then set_state(aid, 'available', now, '') end
  elseif step == 'abandon' then
    redis.call('DEL', as)
    redis.call('ZREM', P..'wait:'..a[3], id)
    redis.call('ZREM', KEYS[2], 'queue_wait|'..id)
  elseif step == 'wrap_up' then
    if holds(aid, id) then set_state(aid, 'wrap_up', now, nil) end
  end
end
return 1";

/// KEYS: timers. ARGV: now ms, lease end ms (with half a millisecond
/// added, so a lease never equals a due time), limit. A lease that ran
/// out by `now` is due again.
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
    put_queue: redis::Script,
    put_agent: redis::Script,
    set_state: redis::Script,
    enqueue: redis::Script,
    dial: redis::Script,
    route: redis::Script,
    ring_missed: redis::Script,
}

fn routing_script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{PRELUDE}{body}"))
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
            cas: routing_script(CAS),
            claim: redis::Script::new(CLAIM),
            finish: redis::Script::new(FINISH),
            put_queue: routing_script(PUT_QUEUE),
            put_agent: routing_script(PUT_AGENT),
            set_state: routing_script(SET_STATE),
            enqueue: routing_script(ENQUEUE),
            dial: routing_script(DIAL),
            route: routing_script(ROUTE),
            ring_missed: routing_script(RING_MISSED),
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

    /// The shared connection (other queues on this Redis use it).
    pub(crate) fn connection(&self) -> redis::aio::ConnectionManager {
        self.conn.clone()
    }

    /// The key prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
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

    /// A routing script's invocation with the prelude's two arguments.
    fn invoke<'s>(&self, script: &'s redis::Script) -> redis::ScriptInvocation<'s> {
        let mut call = script.prepare_invoke();
        call.arg(&self.prefix).arg(self.channel());
        call
    }

    /// A script storing a new interaction: the prelude's arguments, then
    /// the id, version and record.
    fn new_record<'s>(
        &self,
        script: &'s redis::Script,
        interaction: &Interaction,
    ) -> Result<redis::ScriptInvocation<'s>, StoreError> {
        let id = interaction.id();
        let mut call = self.invoke(script);
        call.arg(id.as_str())
            .arg(interaction.version())
            .arg(encode(id.as_str(), interaction)?);
        Ok(call)
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        call: &redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        call.invoke_async(&mut conn).await.map_err(|e| backend(&e))
    }

    fn created_event(interaction: &Interaction) -> Result<Vec<u8>, StoreError> {
        encode(
            "event",
            &StoreEvent::Created {
                interaction: Box::new(interaction.clone()),
            },
        )
    }
}

fn corrupt(what: &str, why: impl fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        why: why.to_string(),
    }
}

fn stamp(what: &str, ms: &str) -> Result<Timestamp, StoreError> {
    ms.parse::<i64>()
        .map_err(|e| corrupt(what, e))
        .and_then(|ms| Timestamp::from_millisecond(ms).map_err(|e| corrupt(what, e)))
}

fn json_set<T: Ord + serde::de::DeserializeOwned>(
    what: &str,
    text: Option<&String>,
) -> Result<BTreeSet<T>, StoreError> {
    text.map_or(Ok(BTreeSet::new()), |t| {
        serde_json::from_str(t).map_err(|e| corrupt(what, e))
    })
}

fn decode_agent(
    what: &str,
    id: &AgentId,
    h: &HashMap<String, String>,
) -> Result<AgentRecord, StoreError> {
    let field = |name: &str| {
        h.get(name)
            .ok_or_else(|| corrupt(what, format_args!("no `{name}` field")))
    };
    let state = field("state")?;
    Ok(AgentRecord {
        id: id.clone(),
        state: AgentState::from_name(state)
            .ok_or_else(|| corrupt(what, format_args!("unknown state {state:?}")))?,
        queues: json_set(what, h.get("queues"))?,
        skills: json_set(what, h.get("skills"))?,
        idle_since: stamp(what, field("idle")?)?,
        current: h
            .get("cur")
            .filter(|c| !c.is_empty())
            .map(|c| InteractionId::new(c.as_str())),
    })
}

fn decode_assignment(what: &str, h: &HashMap<String, String>) -> Result<Assignment, StoreError> {
    let field = |name: &str| {
        h.get(name)
            .ok_or_else(|| corrupt(what, format_args!("no `{name}` field")))
    };
    let agent = field("a")?;
    let until = field("until")?;
    Ok(Assignment {
        queue: QueueId::new(field("q")?.as_str()),
        agent: (!agent.is_empty()).then(|| AgentId::new(agent.as_str())),
        ringing: field("ring")? == "1",
        ring_until: if until.is_empty() {
            None
        } else {
            Some(stamp(what, until)?)
        },
        give_up: stamp(what, field("give")?)?,
        queued_at: stamp(what, field("since")?)?,
        outbound: field("out")? == "1",
    })
}

fn json_text<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt(what, e))
}

/// A lease's score: its end plus half a millisecond. Due times are whole
/// milliseconds, so a timer set again for the very millisecond a lease
/// ends is never mistaken for the lease by `finish`.
fn lease_score(at: Timestamp) -> String {
    format!("{}.5", millis(at))
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
            let (step, now) = match write.route {
                Some((step, now)) => (step.name(), millis(now)),
                None => ("", 0),
            };
            let mut call = self.invoke(&self.cas);
            call.key(self.key(id))
                .key(self.timers())
                .arg(write.expected)
                .arg(write.next.version())
                .arg(data)
                .arg(event)
                .arg(timer)
                .arg(score)
                .arg(retention)
                .arg(step)
                .arg(now)
                .arg(id.as_str());
            let answer: redis::Value = self.run(&call).await?;
            match answer {
                redis::Value::Int(1) => Ok(()),
                redis::Value::Int(0) => Err(StoreError::NotFound(id.clone())),
                redis::Value::BulkString(current) => Err(StoreError::Conflict {
                    current: Box::new(decode_interaction(id.as_str(), &current)?),
                }),
                redis::Value::Array(refusal) => match refusal.first() {
                    Some(redis::Value::BulkString(b)) if b == b"queued" => {
                        Err(StoreError::Queued(id.clone()))
                    }
                    Some(redis::Value::BulkString(b)) if b == b"ringing" => {
                        Err(StoreError::Ringing(id.clone()))
                    }
                    _ => Err(StoreError::Backend(format!(
                        "unexpected compare-and-set refusal {refusal:?}"
                    ))),
                },
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
                .arg(format!("{}.5", millis(now)))
                .arg(lease_score(lease_until))
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
                .arg(lease_score(claim.lease_until))
                .invoke_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            Ok(())
        })
    }

    fn put_queue<'a>(
        &'a self,
        id: &'a QueueId,
        skills: &'a BTreeSet<Str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut call = self.invoke(&self.put_queue);
            call.arg(id.as_str()).arg(json_text("skills", skills)?);
            let _: i64 = self.run(&call).await?;
            Ok(())
        })
    }

    fn put_agent<'a>(
        &'a self,
        id: &'a AgentId,
        queues: &'a BTreeSet<QueueId>,
        skills: &'a BTreeSet<Str>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut call = self.invoke(&self.put_agent);
            call.arg(id.as_str())
                .arg(json_text("queues", queues)?)
                .arg(json_text("skills", skills)?)
                .arg(millis(now));
            let _: i64 = self.run(&call).await?;
            Ok(())
        })
    }

    fn agent<'a>(
        &'a self,
        id: &'a AgentId,
    ) -> BoxFuture<'a, Result<Option<AgentRecord>, StoreError>> {
        Box::pin(async move {
            let key = format!("{}ag:{}", self.prefix, id.as_str());
            let mut conn = self.conn.clone();
            let h: HashMap<String, String> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            if h.is_empty() {
                return Ok(None);
            }
            decode_agent(&key, id, &h).map(Some)
        })
    }

    fn set_agent_state<'a>(
        &'a self,
        id: &'a AgentId,
        state: AgentState,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if !matches!(state, AgentState::Available | AgentState::Offline) {
                return Err(StoreError::AgentBusy(id.clone()));
            }
            let mut call = self.invoke(&self.set_state);
            call.arg(id.as_str()).arg(state.name()).arg(millis(now));
            let answer: String = self.run(&call).await?;
            match answer.as_str() {
                "ok" => Ok(()),
                "unknown" => Err(StoreError::UnknownAgent(id.clone())),
                _ => Err(StoreError::AgentBusy(id.clone())),
            }
        })
    }

    fn enqueue<'a>(
        &'a self,
        interaction: &'a Interaction,
        queue: &'a QueueId,
        give_up: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let id = interaction.id();
            let mut call = self.new_record(&self.enqueue, interaction)?;
            call.arg(queue.as_str())
                .arg(millis(offered_at(interaction)))
                .arg(millis(give_up))
                .arg(Self::created_event(interaction)?);
            let answer: String = self.run(&call).await?;
            match answer.as_str() {
                "ok" => Ok(()),
                "exists" => Err(StoreError::Exists(id.clone())),
                _ => Err(StoreError::UnknownQueue(queue.clone())),
            }
        })
    }

    fn dial<'a>(
        &'a self,
        interaction: &'a Interaction,
        agent: &'a AgentId,
        queue: &'a QueueId,
        ring_until: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let id = interaction.id();
            let mut call = self.new_record(&self.dial, interaction)?;
            call.arg(queue.as_str())
                .arg(agent.as_str())
                .arg(millis(offered_at(interaction)))
                .arg(millis(ring_until))
                .arg(Self::created_event(interaction)?);
            let answer: String = self.run(&call).await?;
            match answer.as_str() {
                "ok" => Ok(()),
                "exists" => Err(StoreError::Exists(id.clone())),
                "no_queue" => Err(StoreError::UnknownQueue(queue.clone())),
                "no_agent" => Err(StoreError::UnknownAgent(agent.clone())),
                _ => Err(StoreError::AgentBusy(agent.clone())),
            }
        })
    }

    fn assignment<'a>(
        &'a self,
        id: &'a InteractionId,
    ) -> BoxFuture<'a, Result<Option<Assignment>, StoreError>> {
        Box::pin(async move {
            let key = format!("{}as:{}", self.prefix, id.as_str());
            let mut conn = self.conn.clone();
            let h: HashMap<String, String> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(|e| backend(&e))?;
            if h.is_empty() {
                return Ok(None);
            }
            decode_assignment(&key, &h).map(Some)
        })
    }

    fn route(
        &self,
        now: Timestamp,
        ring_until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<(InteractionId, AgentId)>, StoreError>> {
        Box::pin(async move {
            let mut call = self.invoke(&self.route);
            call.arg(millis(now)).arg(millis(ring_until)).arg(limit);
            let flat: Vec<String> = self.run(&call).await?;
            Ok(flat
                .chunks_exact(2)
                .map(|p| {
                    (
                        InteractionId::new(p[0].as_str()),
                        AgentId::new(p[1].as_str()),
                    )
                })
                .collect())
        })
    }

    fn ring_missed<'a>(
        &'a self,
        id: &'a InteractionId,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<RingMissed, StoreError>> {
        Box::pin(async move {
            let mut call = self.invoke(&self.ring_missed);
            call.arg(id.as_str()).arg(millis(now));
            let answer: Vec<String> = self.run(&call).await?;
            Ok(match answer.as_slice() {
                [what, agent] if what == "requeued" => RingMissed::Requeued {
                    agent: AgentId::new(agent.as_str()),
                },
                [what, agent] if what == "outbound" => RingMissed::Outbound {
                    agent: AgentId::new(agent.as_str()),
                },
                _ => RingMissed::Nothing,
            })
        })
    }
}
