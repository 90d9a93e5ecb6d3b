//! The engine: interactions, agents, queues and timers in one place.
//!
//! - **Routing.** An offered interaction waits in its queue and rings at
//!   the longest-idle available agent who serves that queue and has its
//!   skills. An agent handles one interaction at a time, so no agent ever
//!   holds two calls.
//! - **Timers** run on a [`Clock`]: a ring timeout is a missed offer (the
//!   agent goes offline, as "not ready", and the interaction is offered
//!   again); a queue timeout misses the interaction for good; a wrap-up
//!   timeout disposes it with the configured code (Ameyo's forced
//!   dispose); metadata is announced after a delay (CCAI: 15 minutes).
//! - **Events** go out on a broadcast channel ([`Engine::subscribe`]).
//!   **Back-pressure policy:** the engine never waits for a consumer. Each
//!   subscriber has a bounded buffer (`event_capacity`); one that falls
//!   behind loses the oldest events and is told how many
//!   (`RecvError::Lagged(n)`), and can re-read current state with
//!   [`Engine::get`].
//! - **Storage** is sharded: interactions live in `shards` maps, each
//!   behind its own lock, so operations on different interactions do not
//!   contend. Agents and queues share one lock (routing needs a consistent
//!   view); it is held only for bookkeeping, never across an await.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use cti_media::clock::ManualClock;
//! use cti_media::engine::{AgentId, Engine, EngineConfig, QueueId};
//! use cti_media::interaction::{Op, State};
//! use cti_protocol::model::{Channel, Direction, Party};
//!
//! let clock = ManualClock::starting_at(jiff::Timestamp::UNIX_EPOCH);
//! let engine = Engine::new(EngineConfig::default(), clock.clone());
//! let sales = QueueId::new("sales");
//! engine.add_queue(sales.clone(), []);
//! engine.add_agent(AgentId::new("ada"), [sales.clone()], []);
//! engine.set_available(&AgentId::new("ada"))?;
//! let call = engine.offer(Channel::Voice, Direction::Inbound, Party::address("+14155552671"), &sales)?;
//! engine.apply(&call, Op::Answer)?;
//! engine.apply(&call, Op::HangUp)?;
//! // Nobody disposes: after the wrap-up timeout the engine does.
//! clock.advance(Duration::from_secs(3600));
//! engine.run_due();
//! assert_eq!(engine.get(&call).map(|i| i.state().clone()), Some(State::Completed));
//! # Ok::<(), cti_media::engine::EngineError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cti_protocol::model::{Channel, Direction, Party};
use cti_protocol::types::Str;
use jiff::Timestamp;
use tokio::sync::{Notify, broadcast};

use crate::clock::{Clock, SystemClock};
use crate::interaction::{Change, Interaction, InteractionId, Op, State, TransitionError};
use crate::shard::{Shards, after, lock};

id_type!(
    /// An agent's id.
    AgentId
);

id_type!(
    /// A queue's id.
    QueueId
);

/// What an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AgentState {
    /// Ready for the next interaction.
    Available,
    /// Ringing or handling an interaction.
    Busy,
    /// Wrapping up the last one.
    WrapUp,
    /// Not taking interactions.
    Offline,
}

impl AgentState {
    /// The state's name (`available`, `busy`, `wrap_up`, `offline`), as
    /// stores keep it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Busy => "busy",
            Self::WrapUp => "wrap_up",
            Self::Offline => "offline",
        }
    }

    /// The state named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "available" => Some(Self::Available),
            "busy" => Some(Self::Busy),
            "wrap_up" => Some(Self::WrapUp),
            "offline" => Some(Self::Offline),
            _ => None,
        }
    }
}

/// Engine settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineConfig {
    /// How long an offer rings before it is missed (30 s).
    pub ring_timeout: Duration,
    /// How long an interaction may wait in its queue (10 min).
    pub queue_timeout: Duration,
    /// How long wrap-up may last before the forced dispose (2 min).
    pub wrap_up_timeout: Duration,
    /// The disposition a forced dispose records.
    pub forced_disposition: Str,
    /// How long after completion metadata is announced (15 min, as
    /// CCAI).
    pub metadata_delay: Duration,
    /// Each subscriber's event buffer (65,536).
    pub event_capacity: usize,
    /// Interaction shards (64). Each holds a map of boxed slots, so a
    /// map's spare capacity costs a pointer per empty bucket, not a whole
    /// interaction.
    pub shards: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            ring_timeout: Duration::from_secs(30),
            queue_timeout: Duration::from_secs(600),
            wrap_up_timeout: Duration::from_secs(120),
            forced_disposition: Str::new_static("auto_dispose"),
            metadata_delay: Duration::from_secs(15 * 60),
            event_capacity: 65_536,
            shards: 64,
        }
    }
}

/// Something the engine did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineEvent {
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
    /// The ring timed out at `agent`; the interaction is offered again.
    OfferMissed {
        /// The interaction.
        id: InteractionId,
        /// Who did not answer.
        agent: AgentId,
    },
    /// The interaction changed.
    Changed {
        /// The interaction.
        id: InteractionId,
        /// The agent handling it, if any.
        agent: Option<AgentId>,
        /// What changed, in order.
        changes: Vec<Change>,
    },
    /// An agent's state changed.
    Agent {
        /// The agent.
        agent: AgentId,
        /// The new state.
        state: AgentState,
    },
    /// A completed interaction's metadata is due for export.
    MetadataDue {
        /// The interaction.
        id: InteractionId,
    },
}

/// An engine operation that could not run. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineError {
    /// No such interaction.
    UnknownInteraction(InteractionId),
    /// No such agent.
    UnknownAgent(AgentId),
    /// No such queue.
    UnknownQueue(QueueId),
    /// The agent is handling an interaction.
    AgentBusy(AgentId),
    /// The operation is not allowed where the interaction is.
    Transition(TransitionError),
    /// The operation is the engine's to make (a ring or queue timeout,
    /// starting wrap-up).
    EngineOnly(&'static str),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownInteraction(id) => write!(f, "no interaction `{id}`"),
            Self::UnknownAgent(id) => write!(f, "no agent `{id}`"),
            Self::UnknownQueue(id) => write!(f, "no queue `{id}`"),
            Self::AgentBusy(id) => write!(f, "agent `{id}` is handling an interaction"),
            Self::Transition(e) => e.fmt(f),
            Self::EngineOnly(op) => write!(f, "`{op}` is done by the engine, not requested"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<TransitionError> for EngineError {
    fn from(e: TransitionError) -> Self {
        Self::Transition(e)
    }
}

struct Agent {
    state: AgentState,
    queues: BTreeSet<QueueId>,
    skills: BTreeSet<Str>,
    idle_since: Timestamp,
    current: Option<InteractionId>,
}

struct Queue {
    skills: BTreeSet<Str>,
    waiting: VecDeque<InteractionId>,
    /// The available agents who may take this queue's interactions, the
    /// longest idle first.
    available: BTreeSet<(Timestamp, AgentId)>,
}

#[derive(Default)]
struct Book {
    agents: HashMap<AgentId, Agent>,
    queues: HashMap<QueueId, Queue>,
}

impl Book {
    /// Moves an agent to `state`, keeping the queues' indexes of
    /// available agents right.
    fn set_state(&mut self, id: &AgentId, state: AgentState, now: Timestamp) {
        let Book { agents, queues } = self;
        let Some(a) = agents.get_mut(id) else { return };
        if a.state == AgentState::Available {
            for q in &a.queues {
                if let Some(queue) = queues.get_mut(q) {
                    queue.available.remove(&(a.idle_since, id.clone()));
                }
            }
        }
        if state == AgentState::Available {
            a.idle_since = now;
            for q in &a.queues {
                if let Some(queue) = queues.get_mut(q)
                    && queue.skills.is_subset(&a.skills)
                {
                    queue.available.insert((now, id.clone()));
                }
            }
        }
        a.state = state;
    }
}

struct Slot {
    interaction: Interaction,
    queue: QueueId,
    agent: Option<AgentId>,
    /// When waiting (in the queue or ringing) ends in a miss.
    give_up: Timestamp,
    /// The pending queue-wait, ring or wrap-up timer, removed as soon as
    /// it is moot, so a live interaction holds no timer at all.
    timer: Option<TimerKey>,
}

/// A timer's place in the timer map.
type TimerKey = (Timestamp, u64);

#[derive(Debug, Clone)]
enum Timer {
    Ring(InteractionId, AgentId),
    QueueWait(InteractionId),
    WrapUp(InteractionId),
    Metadata(InteractionId),
}

struct Inner<C> {
    clock: C,
    config: EngineConfig,
    shards: Shards<HashMap<InteractionId, Box<Slot>>>,
    book: Mutex<Book>,
    timers: Mutex<BTreeMap<(Timestamp, u64), Timer>>,
    timer_added: Notify,
    events: broadcast::Sender<EngineEvent>,
    seq: AtomicU64,
}

/// The engine (see the [module docs](self)). Clones share one engine.
pub struct Engine<C: Clock = SystemClock> {
    inner: Arc<Inner<C>>,
}

impl<C: Clock> Clone for Engine<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: Clock> fmt::Debug for Engine<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl<C: Clock> Engine<C> {
    /// An engine with `config`, reading time from `clock`.
    #[must_use]
    pub fn new(config: EngineConfig, clock: C) -> Self {
        let shards = Shards::new(config.shards);
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        Self {
            inner: Arc::new(Inner {
                clock,
                config,
                shards,
                book: Mutex::new(Book::default()),
                timers: Mutex::new(BTreeMap::new()),
                timer_added: Notify::new(),
                events,
                seq: AtomicU64::new(0),
            }),
        }
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Subscribes to the events from now on.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Sends an event, built only when someone listens.
    fn emit(&self, event: impl FnOnce() -> EngineEvent) {
        if self.inner.events.receiver_count() > 0 {
            // A subscriber that left in between is not an error.
            let _ = self.inner.events.send(event());
        }
    }

    fn shard(&self, id: &InteractionId) -> &Mutex<HashMap<InteractionId, Box<Slot>>> {
        self.inner.shards.of(id)
    }

    /// Adds a timer and returns its key. The timer map's lock is the
    /// innermost: it may be taken while a shard is held.
    fn schedule(&self, at: Timestamp, timer: Timer) -> TimerKey {
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.timers).insert((at, seq), timer);
        self.inner.timer_added.notify_one();
        (at, seq)
    }

    /// Drops a timer that no longer matters.
    fn cancel(&self, key: Option<TimerKey>) {
        if let Some(key) = key {
            lock(&self.inner.timers).remove(&key);
        }
    }

    /// Adds (or replaces) a queue whose interactions need `skills`.
    pub fn add_queue(&self, id: QueueId, skills: impl IntoIterator<Item = Str>) {
        let mut book = lock(&self.inner.book);
        let waiting = book
            .queues
            .remove(&id)
            .map(|q| q.waiting)
            .unwrap_or_default();
        let skills: BTreeSet<Str> = skills.into_iter().collect();
        let available = book
            .agents
            .iter()
            .filter(|(_, a)| {
                a.state == AgentState::Available
                    && a.queues.contains(&id)
                    && skills.is_subset(&a.skills)
            })
            .map(|(aid, a)| (a.idle_since, aid.clone()))
            .collect();
        book.queues.insert(
            id,
            Queue {
                skills,
                waiting,
                available,
            },
        );
    }

    /// Adds an agent, offline, serving `queues` with `skills`.
    pub fn add_agent(
        &self,
        id: AgentId,
        queues: impl IntoIterator<Item = QueueId>,
        skills: impl IntoIterator<Item = Str>,
    ) {
        let now = self.inner.clock.now();
        lock(&self.inner.book).agents.insert(
            id,
            Agent {
                state: AgentState::Offline,
                queues: queues.into_iter().collect(),
                skills: skills.into_iter().collect(),
                idle_since: now,
                current: None,
            },
        );
    }

    /// An agent's state.
    #[must_use]
    pub fn agent_state(&self, id: &AgentId) -> Option<AgentState> {
        lock(&self.inner.book).agents.get(id).map(|a| a.state)
    }

    /// The interaction an agent is handling.
    #[must_use]
    pub fn agent_interaction(&self, id: &AgentId) -> Option<InteractionId> {
        lock(&self.inner.book)
            .agents
            .get(id)
            .and_then(|a| a.current.clone())
    }

    /// Makes an agent available (and routes waiting interactions to them).
    ///
    /// # Errors
    ///
    /// Unknown agent, or an agent busy with an interaction.
    pub fn set_available(&self, id: &AgentId) -> Result<(), EngineError> {
        self.set_agent(id, AgentState::Available)?;
        self.route();
        Ok(())
    }

    /// Takes an agent offline.
    ///
    /// # Errors
    ///
    /// Unknown agent, or an agent busy with an interaction.
    pub fn set_offline(&self, id: &AgentId) -> Result<(), EngineError> {
        self.set_agent(id, AgentState::Offline)
    }

    fn set_agent(&self, id: &AgentId, state: AgentState) -> Result<(), EngineError> {
        let now = self.inner.clock.now();
        {
            let mut book = lock(&self.inner.book);
            let agent = book
                .agents
                .get(id)
                .ok_or_else(|| EngineError::UnknownAgent(id.clone()))?;
            if agent.current.is_some() {
                return Err(EngineError::AgentBusy(id.clone()));
            }
            if agent.state == state {
                return Ok(());
            }
            book.set_state(id, state, now);
        }
        self.emit(|| EngineEvent::Agent {
            agent: id.clone(),
            state,
        });
        Ok(())
    }

    /// A new interaction from `customer`, waiting in `queue` until an
    /// agent is free.
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownQueue`].
    pub fn offer(
        &self,
        channel: Channel,
        direction: Direction,
        customer: Party,
        queue: &QueueId,
    ) -> Result<InteractionId, EngineError> {
        let now = self.inner.clock.now();
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let id = InteractionId::new(format!("i-{n:x}"));
        let give_up = after(now, self.inner.config.queue_timeout);
        {
            let mut book = lock(&self.inner.book);
            let q = book
                .queues
                .get_mut(queue)
                .ok_or_else(|| EngineError::UnknownQueue(queue.clone()))?;
            q.waiting.push_back(id.clone());
            let timer = Some(self.schedule(give_up, Timer::QueueWait(id.clone())));
            lock(self.shard(&id)).insert(
                id.clone(),
                Box::new(Slot {
                    interaction: Interaction::offered(
                        id.clone(),
                        channel,
                        direction,
                        customer,
                        now,
                    ),
                    queue: queue.clone(),
                    agent: None,
                    give_up,
                    timer,
                }),
            );
        }
        self.emit(|| EngineEvent::Queued {
            id: id.clone(),
            queue: queue.clone(),
        });
        self.route();
        Ok(id)
    }

    /// An outbound interaction placed by `agent` (click-to-dial): it rings
    /// at the customer with the agent already assigned, and counts
    /// against `queue` (the campaign).
    ///
    /// # Errors
    ///
    /// Unknown agent or queue, or an agent who is not available.
    pub fn dial(
        &self,
        agent: &AgentId,
        channel: Channel,
        customer: Party,
        queue: &QueueId,
    ) -> Result<InteractionId, EngineError> {
        let now = self.inner.clock.now();
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let id = InteractionId::new(format!("i-{n:x}"));
        {
            let mut book = lock(&self.inner.book);
            if !book.queues.contains_key(queue) {
                return Err(EngineError::UnknownQueue(queue.clone()));
            }
            let a = book
                .agents
                .get(agent)
                .ok_or_else(|| EngineError::UnknownAgent(agent.clone()))?;
            if a.state != AgentState::Available || a.current.is_some() {
                return Err(EngineError::AgentBusy(agent.clone()));
            }
            let timer = Some(self.schedule(
                after(now, self.inner.config.ring_timeout),
                Timer::Ring(id.clone(), agent.clone()),
            ));
            lock(self.shard(&id)).insert(
                id.clone(),
                Box::new(Slot {
                    interaction: Interaction::offered(
                        id.clone(),
                        channel,
                        Direction::Outbound,
                        customer,
                        now,
                    ),
                    queue: queue.clone(),
                    agent: Some(agent.clone()),
                    give_up: after(now, self.inner.config.queue_timeout),
                    timer,
                }),
            );
            book.set_state(agent, AgentState::Busy, now);
            if let Some(a) = book.agents.get_mut(agent) {
                a.current = Some(id.clone());
            }
        }
        self.emit(|| EngineEvent::Agent {
            agent: agent.clone(),
            state: AgentState::Busy,
        });
        self.emit(|| EngineEvent::Offered {
            id: id.clone(),
            agent: agent.clone(),
        });
        Ok(id)
    }

    /// The agent handling an interaction.
    #[must_use]
    pub fn handler(&self, id: &InteractionId) -> Option<AgentId> {
        lock(self.shard(id)).get(id).and_then(|s| s.agent.clone())
    }

    /// A copy of an interaction as it is now.
    #[must_use]
    pub fn get(&self, id: &InteractionId) -> Option<Interaction> {
        lock(self.shard(id)).get(id).map(|s| s.interaction.clone())
    }

    /// How many interactions the engine holds (finished ones included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.shards.all().iter().map(|s| lock(s).len()).sum()
    }

    /// `true` when the engine holds no interaction.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rings waiting interactions at free agents: for each queue, oldest
    /// first, the longest-idle eligible agent.
    fn route(&self) {
        let now = self.inner.clock.now();
        let mut offered = Vec::new();
        {
            let mut book = lock(&self.inner.book);
            let queue_ids: Vec<QueueId> = book
                .queues
                .iter()
                .filter(|(_, q)| !q.waiting.is_empty() && !q.available.is_empty())
                .map(|(id, _)| id.clone())
                .collect();
            for qid in queue_ids {
                while let Some(queue) = book.queues.get_mut(&qid) {
                    let (Some(id), Some((_, agent_id))) = (
                        queue.waiting.front().cloned(),
                        queue.available.first().cloned(),
                    ) else {
                        break;
                    };
                    queue.waiting.pop_front();
                    {
                        let mut shard = lock(self.shard(&id));
                        match shard.get_mut(&id) {
                            // Finished while it waited: drop it.
                            Some(slot) if slot.interaction.state() == &State::Offered => {
                                slot.agent = Some(agent_id.clone());
                                self.cancel(slot.timer.take());
                                slot.timer = Some(self.schedule(
                                    after(now, self.inner.config.ring_timeout),
                                    Timer::Ring(id.clone(), agent_id.clone()),
                                ));
                            }
                            _ => continue,
                        }
                    }
                    book.set_state(&agent_id, AgentState::Busy, now);
                    if let Some(a) = book.agents.get_mut(&agent_id) {
                        a.current = Some(id.clone());
                    }
                    offered.push((id, agent_id));
                }
            }
        }
        for (id, agent) in offered {
            self.emit(|| EngineEvent::Agent {
                agent: agent.clone(),
                state: AgentState::Busy,
            });
            self.emit(|| EngineEvent::Offered { id, agent });
        }
    }

    /// Applies an agent's operation to an interaction.
    ///
    /// Answering, rejecting, holding, hanging up, transferring,
    /// consulting, notes, disposing… are requests. Missing an offer,
    /// starting wrap-up and the forced dispose are the engine's own (its
    /// timers and the hang-up do them) and are refused here.
    ///
    /// # Errors
    ///
    /// Unknown interaction, an engine-only operation, or a refused
    /// transition (nothing changes).
    pub fn apply(&self, id: &InteractionId, op: Op) -> Result<Vec<Change>, EngineError> {
        match op {
            Op::Miss { .. } => return Err(EngineError::EngineOnly("miss")),
            Op::StartWrapUp => return Err(EngineError::EngineOnly("start wrap-up")),
            Op::ForceDispose { .. } => return Err(EngineError::EngineOnly("force dispose")),
            Op::Answer | Op::Reject { .. } | Op::NotConnected { .. } => {
                // Only once it rings at someone.
                let shard = lock(self.shard(id));
                let slot = shard
                    .get(id)
                    .ok_or_else(|| EngineError::UnknownInteraction(id.clone()))?;
                if slot.agent.is_none() && slot.interaction.state() == &State::Offered {
                    return Err(EngineError::EngineOnly(
                        "answering an interaction still queued",
                    ));
                }
            }
            _ => {}
        }
        self.step(id, op)
    }

    /// Applies `op` and the engine's follow-ups: wrap-up after the end,
    /// freeing the agent after completion, metadata timers.
    fn step(&self, id: &InteractionId, op: Op) -> Result<Vec<Change>, EngineError> {
        let now = self.inner.clock.now();
        // The interaction's shard alone: other interactions are not held
        // up, and the agents' lock is taken only when an agent changes.
        let (changes, agent, agent_state) = {
            let mut shard = lock(self.shard(id));
            let slot = shard
                .get_mut(id)
                .ok_or_else(|| EngineError::UnknownInteraction(id.clone()))?;
            let was = slot.interaction.state().clone();
            let mut changes = slot.interaction.apply(op, now)?;
            let mut agent_state = None;
            // Leaving offered or wrap-up makes its timer moot (a note in
            // wrap-up does not leave it).
            if matches!(was, State::Offered | State::WrapUp) && *slot.interaction.state() != was {
                self.cancel(slot.timer.take());
            }
            match slot.interaction.state() {
                State::Ended => {
                    changes.extend(slot.interaction.apply(Op::StartWrapUp, now)?);
                    agent_state = Some(AgentState::WrapUp);
                    slot.timer = Some(self.schedule(
                        after(now, self.inner.config.wrap_up_timeout),
                        Timer::WrapUp(id.clone()),
                    ));
                }
                State::Completed => {
                    agent_state = Some(AgentState::Available);
                    self.schedule(
                        after(now, self.inner.config.metadata_delay),
                        Timer::Metadata(id.clone()),
                    );
                }
                s if s.is_terminal() => agent_state = Some(AgentState::Available),
                _ => {}
            }
            (changes, slot.agent.clone(), agent_state)
        };
        let mut agent_changed = false;
        if agent_state.is_some() {
            // A finished interaction still in its queue is dropped when
            // the router reaches it.
            let mut book = lock(&self.inner.book);
            if let (Some(aid), Some(state)) = (&agent, agent_state)
                && book
                    .agents
                    .get(aid)
                    .is_some_and(|a| a.current.as_ref() == Some(id))
            {
                if state == AgentState::Available
                    && let Some(a) = book.agents.get_mut(aid)
                {
                    a.current = None;
                }
                book.set_state(aid, state, now);
                agent_changed = true;
            }
        }
        self.emit(|| EngineEvent::Changed {
            id: id.clone(),
            agent: agent.clone(),
            changes: changes.clone(),
        });
        if let (Some(aid), Some(state), true) = (agent, agent_state, agent_changed) {
            self.emit(|| EngineEvent::Agent { agent: aid, state });
        }
        if agent_changed && agent_state == Some(AgentState::Available) {
            self.route();
        }
        Ok(changes)
    }

    /// When the next timer is due, if any.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Timestamp> {
        lock(&self.inner.timers).keys().next().map(|(t, _)| *t)
    }

    /// Fires every timer due by now; returns how many fired.
    pub fn run_due(&self) -> usize {
        let mut fired = 0;
        loop {
            let now = self.inner.clock.now();
            let due = {
                let mut timers = lock(&self.inner.timers);
                match timers.first_key_value() {
                    Some((&(at, seq), _)) if at <= now => timers.remove(&(at, seq)),
                    _ => None,
                }
            };
            let Some(timer) = due else { return fired };
            fired += 1;
            self.fire(timer);
        }
    }

    fn fire(&self, timer: Timer) {
        match timer {
            Timer::Ring(id, agent) => {
                let now = self.inner.clock.now();
                // An outbound call nobody picked up did not connect.
                let unanswered_dial = lock(self.shard(&id)).get(&id).is_some_and(|s| {
                    s.interaction.direction() == Direction::Outbound
                        && s.interaction.state() == &State::Offered
                        && s.agent.as_ref() == Some(&agent)
                });
                if unanswered_dial {
                    let _ = self.step(
                        &id,
                        Op::NotConnected {
                            reason: Str::new_static("no_answer"),
                        },
                    );
                    return;
                }
                let missed = {
                    let mut book = lock(&self.inner.book);
                    let mut shard = lock(self.shard(&id));
                    match shard.get_mut(&id) {
                        Some(slot)
                            if slot.interaction.state() == &State::Offered
                                && slot.agent.as_ref() == Some(&agent) =>
                        {
                            slot.agent = None;
                            let queue = slot.queue.clone();
                            // The wait's own timer was dropped when it
                            // started ringing: set it again (due at once
                            // if the wait is already over).
                            slot.timer = Some(
                                self.schedule(slot.give_up.max(now), Timer::QueueWait(id.clone())),
                            );
                            drop(shard);
                            if let Some(q) = book.queues.get_mut(&queue) {
                                q.waiting.push_front(id.clone());
                            }
                            if let Some(a) = book.agents.get_mut(&agent) {
                                a.current = None;
                            }
                            book.set_state(&agent, AgentState::Offline, now);
                            true
                        }
                        _ => false,
                    }
                };
                if missed {
                    self.emit(|| EngineEvent::OfferMissed {
                        id,
                        agent: agent.clone(),
                    });
                    self.emit(|| EngineEvent::Agent {
                        agent,
                        state: AgentState::Offline,
                    });
                    self.route();
                }
            }
            Timer::QueueWait(id) => {
                let waiting = {
                    let shard = lock(self.shard(&id));
                    shard.get(&id).is_some_and(|s| {
                        s.agent.is_none() && s.interaction.state() == &State::Offered
                    })
                };
                if waiting {
                    let _ = self.step(
                        &id,
                        Op::Miss {
                            reason: Str::new_static("queue_timeout"),
                        },
                    );
                }
            }
            Timer::WrapUp(id) => {
                let wrapping = lock(self.shard(&id))
                    .get(&id)
                    .is_some_and(|s| s.interaction.state() == &State::WrapUp);
                if wrapping {
                    let code = self.inner.config.forced_disposition.clone();
                    let _ = self.step(&id, Op::ForceDispose { code });
                }
            }
            Timer::Metadata(id) => self.emit(|| EngineEvent::MetadataDue { id }),
        }
    }

    /// Runs the timers on real time until the engine is dropped
    /// elsewhere: sleeps until the next deadline (or a new, earlier
    /// timer) and fires what is due. Spawn it once per engine.
    pub async fn drive(self) {
        loop {
            self.run_due();
            let wait = self.next_deadline().map(|at| {
                let now = self.inner.clock.now();
                Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
            });
            let notified = self.inner.timer_added.notified();
            match wait {
                Some(d) => {
                    tokio::select! {
                        () = tokio::time::sleep(d) => {}
                        () = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }
}
