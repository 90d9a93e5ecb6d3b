//! Interaction stores: where interactions live between operations, so
//! that several engine nodes can share them.
//!
//! An [`InteractionStore`] keeps each interaction with its
//! [version](Interaction::version) and changes it only by
//! **compare-and-set**: a write names the version it was computed from
//! and is refused with the stored interaction when another writer got
//! there first. Two nodes can therefore never both win the same
//! transition; the loser re-applies its operation to the winner's state
//! (where it may now be illegal, which is the right answer).
//!
//! Every successful write is also published, in the same atomic step, as
//! a [`StoreEvent`] to every [subscriber](InteractionStore::subscribe) on
//! every node. Timers (wrap-up, metadata, ring, queue wait) are stored
//! too, written with the step that starts them, and are handed out under
//! a lease ([`InteractionStore::claim_due`]): a node that dies holding one
//! only delays it, because after the lease another node claims it again.
//!
//! Routing lives in the store as well (agents, queues, who rings with
//! what; see [`RouteStep`] and [`InteractionStore::route`]), so any node
//! may queue, route, answer or time out an interaction and no agent is
//! ever given two.
//!
//! Two stores ship:
//! - [`MemoryStore`], the default: sharded maps, each behind its own lock
//!   (no global lock), and a broadcast channel.
//! - `RedisStore` (feature `redis`): Lua scripts for the atomic steps,
//!   Redis pub/sub for the fan-out and a sorted set for timers.
//!
//! The [`Node`](crate::node::Node) drives interactions on any store.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::interaction::{Change, Interaction, InteractionId};
pub(crate) use crate::shard::after;
use crate::shard::{Shards, lock};

#[cfg(feature = "redis")]
mod redis;
mod routing;
#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub use self::routing::{AgentRecord, Assignment, RingMissed, RouteStep};
use self::routing::{Book, Effects, TimerEdit};
use crate::engine::{AgentId, AgentState, QueueId};
use cti_protocol::types::Str;

/// A store operation that could not be done. Nothing was written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// [`InteractionStore::create`]: the id is taken.
    #[error("interaction {0} already exists")]
    Exists(InteractionId),
    /// No interaction has this id.
    #[error("no interaction {0}")]
    NotFound(InteractionId),
    /// Another writer changed the interaction first; here is what it
    /// wrote.
    #[error("interaction {} changed concurrently (now at version {})", .current.id(), .current.version())]
    Conflict {
        /// The interaction as stored now.
        current: Box<Interaction>,
    },
    /// A write whose new version is not above the expected one.
    #[error("interaction {id}: version {next} is not above {expected}")]
    BadVersion {
        /// The interaction.
        id: InteractionId,
        /// The version the write was computed from.
        expected: u64,
        /// The version it would have stored.
        next: u64,
    },
    /// What the store holds could not be read back.
    #[error("stored data for {what} is unreadable: {why}")]
    Corrupt {
        /// The key or channel.
        what: String,
        /// Why.
        why: String,
    },
    /// A subscriber fell behind and lost this many events; current state
    /// can be re-read with [`InteractionStore::load`].
    #[error("the subscriber fell behind and lost {0} events")]
    Lagged(u64),
    /// The backend failed (connection, server error).
    #[error("store backend: {0}")]
    Backend(String),
    /// No agent has this id.
    #[error("no agent {0}")]
    UnknownAgent(AgentId),
    /// No queue has this id.
    #[error("no queue {0}")]
    UnknownQueue(QueueId),
    /// The agent holds an interaction (or the state asked for is the
    /// engine's to set: busy, wrap-up).
    #[error("agent {0} is handling an interaction")]
    AgentBusy(AgentId),
    /// The interaction waits in its queue and rings at nobody (a missed
    /// ring put it back), so it cannot be answered or declined.
    #[error("interaction {0} waits in its queue and rings at nobody")]
    Queued(InteractionId),
    /// The interaction rings at an agent by now, so its queue wait
    /// cannot run out.
    #[error("interaction {0} rings at an agent")]
    Ringing(InteractionId),
}

/// A timer kept by the store for one interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Timer {
    /// Wrap-up ran out: dispose with the forced disposition.
    WrapUp,
    /// The metadata of a completed interaction is due.
    Metadata,
    /// A ring ran out ([`InteractionStore::ring_missed`]).
    Ring,
    /// The wait in the queue ran out: the interaction is missed.
    QueueWait,
}

impl Timer {
    /// The timer's name (`wrap_up`, `metadata`, `ring`, `queue_wait`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::WrapUp => "wrap_up",
            Self::Metadata => "metadata",
            Self::Ring => "ring",
            Self::QueueWait => "queue_wait",
        }
    }

    /// The timer named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "wrap_up" => Some(Self::WrapUp),
            "metadata" => Some(Self::Metadata),
            "ring" => Some(Self::Ring),
            "queue_wait" => Some(Self::QueueWait),
            _ => None,
        }
    }
}

/// A due timer handed to one node until `lease_until`; finish it with
/// [`InteractionStore::finish`] once handled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// The interaction.
    pub id: InteractionId,
    /// Which timer.
    pub timer: Timer,
    /// The lease: if the claim is not finished by then, the timer is due
    /// again (for another node).
    pub lease_until: Timestamp,
}

/// What the store tells its subscribers, on every node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StoreEvent {
    /// A new interaction was stored.
    Created {
        /// The interaction.
        interaction: Box<Interaction>,
    },
    /// An interaction changed.
    Changed {
        /// The interaction.
        id: InteractionId,
        /// Its new version.
        version: u64,
        /// What changed, in order.
        changes: Vec<Change>,
    },
    /// A completed interaction's metadata is due for export.
    MetadataDue {
        /// The interaction.
        id: InteractionId,
    },
    /// A new interaction waits in `queue`.
    Queued {
        /// The interaction.
        id: InteractionId,
        /// Its queue.
        queue: QueueId,
    },
    /// The interaction rings at `agent`.
    Offered {
        /// The interaction.
        id: InteractionId,
        /// Who it rings at.
        agent: AgentId,
    },
    /// The ring ran out at `agent`; the interaction waits again.
    OfferMissed {
        /// The interaction.
        id: InteractionId,
        /// Who did not answer.
        agent: AgentId,
    },
    /// An agent's state changed.
    Agent {
        /// The agent.
        agent: AgentId,
        /// The new state.
        state: AgentState,
    },
}

/// One compare-and-set write.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Write<'a> {
    /// The version `next` was computed from.
    pub expected: u64,
    /// The interaction to store (its version must be above `expected`:
    /// one step may apply several operations, such as hanging up and
    /// starting wrap-up).
    pub next: &'a Interaction,
    /// What changed, published with the write.
    pub changes: &'a [Change],
    /// A timer to set (or move) in the same step.
    pub schedule: Option<(Timer, Timestamp)>,
    /// What the transition does to routing, at the given time, in the
    /// same step.
    pub route: Option<(RouteStep, Timestamp)>,
}

impl<'a> Write<'a> {
    /// A write of `next` over `expected`, publishing `changes`.
    #[must_use]
    pub fn new(expected: u64, next: &'a Interaction, changes: &'a [Change]) -> Self {
        Self {
            expected,
            next,
            changes,
            schedule: None,
            route: None,
        }
    }

    /// Also applies `step` to routing (at `now`), in the same step; the
    /// write is refused when the step's condition does not hold.
    #[must_use]
    pub fn route(mut self, step: RouteStep, now: Timestamp) -> Self {
        self.route = Some((step, now));
        self
    }

    /// Also sets `timer` to fire at `at`.
    #[must_use]
    pub fn schedule(mut self, timer: Timer, at: Timestamp) -> Self {
        self.schedule = Some((timer, at));
        self
    }

    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.next.version() > self.expected {
            Ok(())
        } else {
            Err(StoreError::BadVersion {
                id: self.next.id().clone(),
                expected: self.expected,
                next: self.next.version(),
            })
        }
    }
}

/// The events of a store, as an async stream.
pub type EventStream = BoxStream<'static, Result<StoreEvent, StoreError>>;

/// Where interactions live: versioned, compare-and-set, with events and
/// timers. Implementations must make each method atomic on their own
/// (a write, its event and its timer happen together or not at all).
///
/// The trait is object safe, so `Arc<dyn InteractionStore>` works.
pub trait InteractionStore: Send + Sync + 'static {
    /// Stores a new interaction and publishes [`StoreEvent::Created`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Exists`] when the id is taken; backend failures.
    fn create<'a>(&'a self, interaction: &'a Interaction) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The interaction stored under `id`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] when the stored data cannot be read;
    /// backend failures.
    fn load<'a>(
        &'a self,
        id: &'a InteractionId,
    ) -> BoxFuture<'a, Result<Option<Interaction>, StoreError>>;

    /// Stores `write.next` if the stored version is still
    /// `write.expected`, publishes [`StoreEvent::Changed`] and sets the
    /// write's timer, all in one atomic step.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] (with the stored interaction) when the
    /// version moved on; [`StoreError::NotFound`]; [`StoreError::BadVersion`]
    /// when `next`'s version is not above `expected`; backend failures.
    fn compare_and_set<'a>(&'a self, write: Write<'a>) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Publishes an event that goes with no write (metadata due).
    ///
    /// # Errors
    ///
    /// Backend failures.
    fn publish<'a>(&'a self, event: &'a StoreEvent) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Every event published from now on, by any node.
    ///
    /// # Errors
    ///
    /// Backend failures.
    fn subscribe(&self) -> BoxFuture<'_, Result<EventStream, StoreError>>;

    /// Hands out up to `limit` timers due at `now`, each leased for
    /// `lease`: until then no other claim returns it.
    ///
    /// # Errors
    ///
    /// Backend failures.
    fn claim_due(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Claim>, StoreError>>;

    /// Removes a handled timer, unless it was set again (or claimed by
    /// someone else after the lease) since `claim`.
    ///
    /// # Errors
    ///
    /// Backend failures.
    fn finish<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Adds queue `id`, or changes the skills its interactions need.
    ///
    /// # Errors
    ///
    /// Backend failures.
    fn put_queue<'a>(
        &'a self,
        id: &'a QueueId,
        skills: &'a BTreeSet<Str>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Adds agent `id` (offline), or changes their queues and skills
    /// (their state is kept).
    ///
    /// # Errors
    ///
    /// Backend failures.
    fn put_agent<'a>(
        &'a self,
        id: &'a AgentId,
        queues: &'a BTreeSet<QueueId>,
        skills: &'a BTreeSet<Str>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Agent `id` as stored.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`]; backend failures.
    fn agent<'a>(
        &'a self,
        id: &'a AgentId,
    ) -> BoxFuture<'a, Result<Option<AgentRecord>, StoreError>>;

    /// The agent's own request to be available or offline, publishing
    /// [`StoreEvent::Agent`] when it changes something.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownAgent`]; [`StoreError::AgentBusy`] while the
    /// agent holds an interaction, or for busy and wrap-up (the engine's
    /// to set); backend failures.
    fn set_agent_state<'a>(
        &'a self,
        id: &'a AgentId,
        state: AgentState,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Stores a new offered interaction waiting in `queue` (publishing
    /// [`StoreEvent::Created`] and [`StoreEvent::Queued`]); if nobody
    /// takes it by `give_up`, its [`Timer::QueueWait`] fires.
    ///
    /// # Errors
    ///
    /// [`StoreError::Exists`]; [`StoreError::UnknownQueue`]; backend
    /// failures.
    fn enqueue<'a>(
        &'a self,
        interaction: &'a Interaction,
        queue: &'a QueueId,
        give_up: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Stores a new outbound interaction placed by `agent`, who must be
    /// available: it rings with the agent assigned until `ring_until`
    /// ([`Timer::Ring`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::Exists`]; unknown agent or queue;
    /// [`StoreError::AgentBusy`]; backend failures.
    fn dial<'a>(
        &'a self,
        interaction: &'a Interaction,
        agent: &'a AgentId,
        queue: &'a QueueId,
        ring_until: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Where a routed interaction stands (`None` once finished, or if it
    /// was never routed).
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`]; backend failures.
    fn assignment<'a>(
        &'a self,
        id: &'a InteractionId,
    ) -> BoxFuture<'a, Result<Option<Assignment>, StoreError>>;

    /// One routing pass, atomic: for each queue, its oldest waiting
    /// interactions ring at its longest-idle eligible available agents
    /// (who turn busy) until `ring_until`. Returns up to `limit` offers
    /// made, each published as [`StoreEvent::Offered`].
    ///
    /// # Errors
    ///
    /// Backend failures.
    fn route(
        &self,
        now: Timestamp,
        ring_until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<(InteractionId, AgentId)>, StoreError>>;

    /// Handles a ring that ran out by `now`, atomically: the agent goes
    /// offline and the interaction waits again at the front of its queue
    /// (see [`RingMissed`]).
    ///
    /// # Errors
    ///
    /// Backend failures.
    fn ring_missed<'a>(
        &'a self,
        id: &'a InteractionId,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<RingMissed, StoreError>>;
}

impl<S: InteractionStore + ?Sized> InteractionStore for Arc<S> {
    fn create<'a>(&'a self, interaction: &'a Interaction) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).create(interaction)
    }
    fn load<'a>(
        &'a self,
        id: &'a InteractionId,
    ) -> BoxFuture<'a, Result<Option<Interaction>, StoreError>> {
        (**self).load(id)
    }
    fn compare_and_set<'a>(&'a self, write: Write<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).compare_and_set(write)
    }
    fn publish<'a>(&'a self, event: &'a StoreEvent) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).publish(event)
    }
    fn subscribe(&self) -> BoxFuture<'_, Result<EventStream, StoreError>> {
        (**self).subscribe()
    }
    fn claim_due(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Claim>, StoreError>> {
        (**self).claim_due(now, lease, limit)
    }
    fn finish<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).finish(claim)
    }
    fn put_queue<'a>(
        &'a self,
        id: &'a QueueId,
        skills: &'a BTreeSet<Str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).put_queue(id, skills)
    }
    fn put_agent<'a>(
        &'a self,
        id: &'a AgentId,
        queues: &'a BTreeSet<QueueId>,
        skills: &'a BTreeSet<Str>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).put_agent(id, queues, skills, now)
    }
    fn agent<'a>(
        &'a self,
        id: &'a AgentId,
    ) -> BoxFuture<'a, Result<Option<AgentRecord>, StoreError>> {
        (**self).agent(id)
    }
    fn set_agent_state<'a>(
        &'a self,
        id: &'a AgentId,
        state: AgentState,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).set_agent_state(id, state, now)
    }
    fn enqueue<'a>(
        &'a self,
        interaction: &'a Interaction,
        queue: &'a QueueId,
        give_up: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).enqueue(interaction, queue, give_up)
    }
    fn dial<'a>(
        &'a self,
        interaction: &'a Interaction,
        agent: &'a AgentId,
        queue: &'a QueueId,
        ring_until: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).dial(interaction, agent, queue, ring_until)
    }
    fn assignment<'a>(
        &'a self,
        id: &'a InteractionId,
    ) -> BoxFuture<'a, Result<Option<Assignment>, StoreError>> {
        (**self).assignment(id)
    }
    fn route(
        &self,
        now: Timestamp,
        ring_until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<(InteractionId, AgentId)>, StoreError>> {
        (**self).route(now, ring_until, limit)
    }
    fn ring_missed<'a>(
        &'a self,
        id: &'a InteractionId,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<RingMissed, StoreError>> {
        (**self).ring_missed(id, now)
    }
}

/// Reads an interaction as stores keep it (JSON), refusing data that
/// breaks the limits every operation keeps (version 0, more than
/// [`MAX_PARTIES`](crate::interaction::MAX_PARTIES) parties, notes over
/// their limits). `what` names the source in the error.
///
/// # Errors
///
/// [`StoreError::Corrupt`] naming what is wrong.
///
/// # Examples
///
/// ```
/// use cti_media::store::{StoreError, decode_interaction};
/// assert!(matches!(decode_interaction("key", b"{\"id\": 1}"), Err(StoreError::Corrupt { .. })));
/// ```
pub fn decode_interaction(what: &str, data: &[u8]) -> Result<Interaction, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt {
        what: what.into(),
        why,
    };
    let i: Interaction = serde_json::from_slice(data).map_err(|e| corrupt(e.to_string()))?;
    i.validate().map_err(|why| corrupt(why.into()))?;
    Ok(i)
}

/// The in-memory store: `shards` maps, each behind its own lock, with
/// its interactions' timers beside them; events go out on a broadcast
/// channel whose subscribers that fall behind get
/// [`StoreError::Lagged`]. Cloning shares the store.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use cti_media::interaction::{Interaction, InteractionId, Op};
/// use cti_media::store::{InteractionStore, MemoryStore, StoreError, Write};
/// use cti_protocol::model::{Channel, Direction, Party};
///
/// let store = MemoryStore::new(16, 1024);
/// let t = jiff::Timestamp::UNIX_EPOCH;
/// let call = Interaction::offered(InteractionId::new("c1"), Channel::Voice, Direction::Inbound, Party::address("+1555"), t);
/// store.create(&call).await?;
///
/// let mut answered = call.clone();
/// let changes = answered.apply(Op::Answer, t).unwrap();
/// store.compare_and_set(Write::new(call.version(), &answered, &changes)).await?;
///
/// // A second writer still holding version 1 loses, and learns the winner's state.
/// let mut late = call.clone();
/// let changes = late.apply(Op::Reject { reason: "busy".into() }, t).unwrap();
/// let lost = store.compare_and_set(Write::new(call.version(), &late, &changes)).await;
/// assert!(matches!(lost, Err(StoreError::Conflict { current }) if *current == answered));
/// # Ok::<(), StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<MemoryInner>,
}

struct MemoryInner {
    shards: Shards<MemoryShard>,
    /// Agents, queues and assignments: one lock, taken only by routing
    /// and by writes that carry a [`RouteStep`], always before a shard's.
    book: std::sync::Mutex<Book>,
    events: broadcast::Sender<StoreEvent>,
}

#[derive(Default)]
struct MemoryShard {
    interactions: HashMap<InteractionId, Interaction>,
    /// Due time (ms) per timer, and the same ordered by time.
    timer_at: HashMap<(InteractionId, Timer), i64>,
    timers: BTreeSet<(i64, InteractionId, Timer)>,
}

impl MemoryShard {
    fn set_timer(&mut self, id: InteractionId, timer: Timer, at: i64) {
        if let Some(old) = self.timer_at.insert((id.clone(), timer), at) {
            self.timers.remove(&(old, id.clone(), timer));
        }
        self.timers.insert((at, id, timer));
    }

    fn drop_timer(&mut self, id: &InteractionId, timer: Timer) {
        if let Some(at) = self.timer_at.remove(&(id.clone(), timer)) {
            self.timers.remove(&(at, id.clone(), timer));
        }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("shards", &self.inner.shards.all().len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    /// 64 shards; 65,536 events buffered per subscriber.
    fn default() -> Self {
        Self::new(64, 65_536)
    }
}

impl MemoryStore {
    /// A store of `shards` shards (at least one) whose subscribers each
    /// buffer `event_capacity` events (at least one).
    #[must_use]
    pub fn new(shards: usize, event_capacity: usize) -> Self {
        let (events, _) = broadcast::channel(event_capacity.max(1));
        Self {
            inner: Arc::new(MemoryInner {
                shards: Shards::new(shards),
                book: std::sync::Mutex::new(Book::default()),
                events,
            }),
        }
    }

    /// How many interactions are stored.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .all()
            .iter()
            .map(|s| lock(s).interactions.len())
            .sum()
    }

    /// `true` when nothing is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, id: &InteractionId) -> MutexGuard<'_, MemoryShard> {
        lock(self.inner.shards.of(id))
    }

    fn send(&self, event: StoreEvent) {
        // Built only when someone listens; no subscriber is not an error.
        if self.inner.events.receiver_count() > 0 {
            let _ = self.inner.events.send(event);
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        lock(&self.inner.book)
    }

    /// Applies a book operation's timer edits (the book is still held, so
    /// they land before anyone routes again).
    fn edit_timers(&self, fx: &mut Effects) {
        for edit in fx.timers.drain(..) {
            match edit {
                TimerEdit::Set(id, timer, at) => {
                    self.shard(&id).set_timer(id.clone(), timer, due_key(at));
                }
                TimerEdit::Drop(id, timer) => self.shard(&id).drop_timer(&id, timer),
            }
        }
    }

    fn send_all(&self, fx: Effects) {
        for event in fx.events {
            self.send(event);
        }
    }

    /// Stores `interaction` unless its id is taken.
    fn insert_new(&self, interaction: &Interaction) -> Result<(), StoreError> {
        let mut shard = self.shard(interaction.id());
        if shard.interactions.contains_key(interaction.id()) {
            return Err(StoreError::Exists(interaction.id().clone()));
        }
        shard
            .interactions
            .insert(interaction.id().clone(), interaction.clone());
        Ok(())
    }
}

/// When an interaction was offered (its place in a queue).
pub(crate) fn offered_at(i: &Interaction) -> Timestamp {
    i.times()
        .offered
        .or(i.times().last)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A timer's place in a memory shard: twice its due time in ms. A lease
/// is one more ([`lease_key`]), so a timer set again for the very
/// millisecond a lease ends is never taken for the lease by `finish`.
/// (The Redis store does the same with half a millisecond.)
fn due_key(at: Timestamp) -> i64 {
    millis(at).saturating_mul(2)
}

fn lease_key(at: Timestamp) -> i64 {
    due_key(at).saturating_add(1)
}

fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

impl InteractionStore for MemoryStore {
    fn create<'a>(&'a self, interaction: &'a Interaction) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.insert_new(interaction)?;
            self.send(StoreEvent::Created {
                interaction: Box::new(interaction.clone()),
            });
            Ok(())
        })
    }

    fn load<'a>(
        &'a self,
        id: &'a InteractionId,
    ) -> BoxFuture<'a, Result<Option<Interaction>, StoreError>> {
        Box::pin(async move { Ok(self.shard(id).interactions.get(id).cloned()) })
    }

    fn compare_and_set<'a>(&'a self, write: Write<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            write.check()?;
            let id = write.next.id();
            // Routing first, then the shard: the one lock order.
            let mut book = write.route.map(|_| self.book());
            let mut fx = Effects::default();
            {
                let mut shard = self.shard(id);
                let Some(stored) = shard.interactions.get_mut(id) else {
                    return Err(StoreError::NotFound(id.clone()));
                };
                if stored.version() != write.expected {
                    return Err(StoreError::Conflict {
                        current: Box::new(stored.clone()),
                    });
                }
                if let (Some(book), Some((step, _))) = (&book, write.route) {
                    book.check_step(id, step)?;
                }
                stored.clone_from(write.next);
                if let Some((timer, at)) = write.schedule {
                    shard.set_timer(id.clone(), timer, due_key(at));
                }
                if let (Some(book), Some((step, now))) = (&mut book, write.route) {
                    fx = book.apply_step(id, step, now);
                }
            }
            self.edit_timers(&mut fx);
            drop(book);
            // Sent after the locks are released; a subscriber reading the
            // event and then loading sees this version or a later one.
            self.send(StoreEvent::Changed {
                id: id.clone(),
                version: write.next.version(),
                changes: write.changes.to_vec(),
            });
            self.send_all(fx);
            Ok(())
        })
    }

    fn publish<'a>(&'a self, event: &'a StoreEvent) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.send(event.clone());
            Ok(())
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<EventStream, StoreError>> {
        Box::pin(async move {
            let rx = self.inner.events.subscribe();
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                match rx.recv().await {
                    Ok(event) => Some((Ok(event), rx)),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        Some((Err(StoreError::Lagged(n)), rx))
                    }
                    Err(broadcast::error::RecvError::Closed) => None,
                }
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
            // Due timers and leases that ran out by `now`.
            let now_key = lease_key(now);
            let lease_until = after(now, lease);
            let mut claims = Vec::new();
            for shard in self.inner.shards.all() {
                if claims.len() >= limit {
                    break;
                }
                let mut shard = lock(shard);
                let due: Vec<_> = shard
                    .timers
                    .iter()
                    .take_while(|(at, ..)| *at <= now_key)
                    .take(limit - claims.len())
                    .cloned()
                    .collect();
                for (_, id, timer) in due {
                    shard.set_timer(id.clone(), timer, lease_key(lease_until));
                    claims.push(Claim {
                        id,
                        timer,
                        lease_until,
                    });
                }
            }
            Ok(claims)
        })
    }

    fn finish<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut shard = self.shard(&claim.id);
            let key = (claim.id.clone(), claim.timer);
            let lease = lease_key(claim.lease_until);
            if shard.timer_at.get(&key) == Some(&lease) {
                shard.timer_at.remove(&key);
                shard.timers.remove(&(lease, claim.id.clone(), claim.timer));
            }
            Ok(())
        })
    }

    fn put_queue<'a>(
        &'a self,
        id: &'a QueueId,
        skills: &'a BTreeSet<Str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.book().put_queue(id, skills);
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
            self.book().put_agent(id, queues, skills, now);
            Ok(())
        })
    }

    fn agent<'a>(
        &'a self,
        id: &'a AgentId,
    ) -> BoxFuture<'a, Result<Option<AgentRecord>, StoreError>> {
        Box::pin(async move { Ok(self.book().agent(id)) })
    }

    fn set_agent_state<'a>(
        &'a self,
        id: &'a AgentId,
        state: AgentState,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let fx = self.book().set_agent_state(id, state, now)?;
            self.send_all(fx);
            Ok(())
        })
    }

    fn enqueue<'a>(
        &'a self,
        interaction: &'a Interaction,
        queue: &'a QueueId,
        give_up: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut fx = {
                let mut book = self.book();
                book.check_queue(queue)?;
                self.insert_new(interaction)?;
                let now = offered_at(interaction);
                let mut fx = book.enqueue(interaction.id(), queue, now, give_up);
                self.edit_timers(&mut fx);
                fx
            };
            fx.events.insert(
                0,
                StoreEvent::Created {
                    interaction: Box::new(interaction.clone()),
                },
            );
            self.send_all(fx);
            Ok(())
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
            let mut fx = {
                let mut book = self.book();
                book.check_dial(agent, queue)?;
                self.insert_new(interaction)?;
                let now = offered_at(interaction);
                let mut fx = book.dial(interaction.id(), agent, queue, now, ring_until);
                self.edit_timers(&mut fx);
                fx
            };
            fx.events.insert(
                0,
                StoreEvent::Created {
                    interaction: Box::new(interaction.clone()),
                },
            );
            self.send_all(fx);
            Ok(())
        })
    }

    fn assignment<'a>(
        &'a self,
        id: &'a InteractionId,
    ) -> BoxFuture<'a, Result<Option<Assignment>, StoreError>> {
        Box::pin(async move { Ok(self.book().assignment(id)) })
    }

    fn route(
        &self,
        now: Timestamp,
        ring_until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<(InteractionId, AgentId)>, StoreError>> {
        Box::pin(async move {
            let mut offers = Vec::new();
            let fx = {
                let mut book = self.book();
                let mut fx = book.route(now, ring_until, limit, &mut offers);
                self.edit_timers(&mut fx);
                fx
            };
            self.send_all(fx);
            Ok(offers)
        })
    }

    fn ring_missed<'a>(
        &'a self,
        id: &'a InteractionId,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<RingMissed, StoreError>> {
        Box::pin(async move {
            let (missed, fx) = {
                let mut book = self.book();
                let (missed, mut fx) = book.ring_missed(id, now);
                self.edit_timers(&mut fx);
                (missed, fx)
            };
            self.send_all(fx);
            Ok(missed)
        })
    }
}
