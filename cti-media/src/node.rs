//! An engine node over a shared [`InteractionStore`]: any number of
//! nodes, in one process or many, drive the same interactions.
//!
//! - **Operations** ([`Node::apply`]) run optimistically: the node applies
//!   the operation to its last-known copy and compare-and-sets the result.
//!   When another node got there first, the store answers with the
//!   winner's state and the node tries again on it, up to
//!   [`NodeConfig::retries`] times. A refusal is only reported when it was
//!   computed on the store's current state, never on a stale copy. So two
//!   nodes never both win one transition, and no update is lost.
//! - **Follow-ups** are written with the transition that causes them, in
//!   the same atomic step: hanging up also starts wrap-up and sets its
//!   timer; completing sets the metadata timer.
//! - **Timers** live in the store ([`Node::run_due`] claims them under a
//!   lease), so when a node dies mid-interaction the next one carries on:
//!   the interaction's state is in the store and its timers fire wherever
//!   `run_due` runs.
//! - **Routing** is shared too: agents and queues live in the store, and
//!   [`Node::offer`] queues an interaction that then rings at the
//!   longest-idle eligible available agent, whichever node routes it
//!   ([`InteractionStore::route`] is one atomic step). A ring that runs
//!   out ([`NodeConfig::ring_timeout`]) sends the agent offline ("not
//!   ready") and the interaction back to the front of its queue; a wait
//!   that runs out ([`NodeConfig::queue_timeout`]) misses it. Answering
//!   and the ring timeout, or the queue timeout and a routing pass, are
//!   decided in the store, so they never both win (see
//!   [`RouteStep`]).
//! - **Events** from every node come through [`Node::subscribe`].
//!
//! # Examples
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use cti_media::clock::{Clock as _, ManualClock};
//! use cti_media::interaction::{Interaction, InteractionId, Op, State};
//! use cti_media::node::{Node, NodeConfig};
//! use cti_media::store::MemoryStore;
//! use cti_protocol::model::{Channel, Direction, Party};
//!
//! let clock = ManualClock::starting_at(jiff::Timestamp::UNIX_EPOCH);
//! let store = MemoryStore::default();
//! // Two nodes on one store.
//! let a = Node::new(store.clone(), clock.clone(), NodeConfig::default());
//! let b = Node::new(store, clock.clone(), NodeConfig::default());
//!
//! let id = InteractionId::new("call-7");
//! a.create(Interaction::offered(id.clone(), Channel::Voice, Direction::Inbound, Party::address("+1555"), clock.now())).await?;
//! a.apply(&id, Op::Answer).await?;
//! assert!(b.apply(&id, Op::Answer).await.is_err(), "answered once only");
//! b.apply(&id, Op::HangUp).await?; // and wrap-up starts
//!
//! clock.advance(Duration::from_secs(3600));
//! a.run_due().await?; // the wrap-up timer disposes it
//! let call = b.get(&id).await?.unwrap();
//! assert_eq!(call.state(), &State::Completed);
//! assert!(call.was_forced());
//! # Ok::<(), cti_media::node::NodeError>(())
//! # }).unwrap();
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use cti_protocol::types::Str;

use crate::clock::{Clock, SystemClock};
use crate::engine::{AgentId, AgentState, QueueId};
use crate::interaction::{Change, Interaction, InteractionId, Op, State, TransitionError};
use crate::shard::{Shards, after, lock};
use crate::store::{
    AgentRecord, Assignment, EventStream, InteractionStore, MemoryStore, RingMissed, RouteStep,
    StoreError, StoreEvent, Timer, Write,
};

/// How a [`Node`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeConfig {
    /// How long wrap-up may last before the forced dispose (2 min).
    pub wrap_up_timeout: Duration,
    /// The disposition a forced dispose records.
    pub forced_disposition: Str,
    /// How long after completion metadata is announced (15 min).
    pub metadata_delay: Duration,
    /// How long a claimed timer stays with the node that claimed it
    /// before another may take it (30 s).
    pub lease: Duration,
    /// How many times an operation is re-applied after losing a race (32).
    pub retries: u32,
    /// How many timers one [`Node::run_due`] call claims at most (256).
    pub claim_batch: usize,
    /// Shards of the node's cache of last-known interactions (64).
    pub cache_shards: usize,
    /// How long an offer rings before it is missed (30 s).
    pub ring_timeout: Duration,
    /// How long an interaction may wait in its queue (10 min).
    pub queue_timeout: Duration,
    /// How many offers one routing pass makes at most (256).
    pub route_batch: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            wrap_up_timeout: Duration::from_secs(120),
            forced_disposition: Str::new_static("auto_dispose"),
            metadata_delay: Duration::from_secs(15 * 60),
            lease: Duration::from_secs(30),
            retries: 32,
            claim_batch: 256,
            cache_shards: 64,
            ring_timeout: Duration::from_secs(30),
            queue_timeout: Duration::from_secs(600),
            route_batch: 256,
        }
    }
}

/// A node operation that could not run. Nothing was changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The transition is not allowed in the interaction's current state.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// Starting wrap-up, missing and forced disposal are the node's own
    /// steps (as is answering an interaction that rings at nobody).
    #[error("{0} is done by the engine, not requested")]
    EngineOnly(&'static str),
    /// Other nodes kept winning the race for this interaction.
    #[error("interaction {id}: gave up after {attempts} concurrent updates")]
    Contended {
        /// The interaction.
        id: InteractionId,
        /// How many tries were made.
        attempts: u32,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An engine node over a shared store (see the [module](self) docs).
/// Cloning shares the node.
pub struct Node<S = MemoryStore, C: Clock = SystemClock> {
    inner: Arc<Inner<S, C>>,
}

struct Inner<S, C> {
    store: S,
    clock: C,
    config: NodeConfig,
    cache: Shards<HashMap<InteractionId, Interaction>>,
}

impl<S, C: Clock> Clone for Node<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: fmt::Debug, C: Clock> fmt::Debug for Node<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("store", &self.inner.store)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl<S: InteractionStore, C: Clock> Node<S, C> {
    /// A node on `store`, keeping time with `clock`.
    pub fn new(store: S, clock: C, config: NodeConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                cache: Shards::new(config.cache_shards),
                config,
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    fn cache(&self, id: &InteractionId) -> MutexGuard<'_, HashMap<InteractionId, Interaction>> {
        lock(self.inner.cache.of(id))
    }

    /// Keeps `interaction` as the last-known copy (no copy is made).
    fn remember(&self, interaction: Interaction) {
        let mut cache = self.cache(interaction.id());
        if interaction.state().is_terminal() {
            // Nothing more will happen to it here.
            cache.remove(interaction.id());
        } else {
            cache.insert(interaction.id().clone(), interaction);
        }
    }

    /// Stores a new interaction (its id must be unique across nodes:
    /// the vendor's call id, or a UUID).
    ///
    /// # Errors
    ///
    /// [`StoreError::Exists`] when the id is taken; store failures.
    pub async fn create(&self, interaction: Interaction) -> Result<(), NodeError> {
        self.inner.store.create(&interaction).await?;
        self.remember(interaction);
        Ok(())
    }

    /// The interaction as the store holds it now.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn get(&self, id: &InteractionId) -> Result<Option<Interaction>, NodeError> {
        Ok(self.inner.store.load(id).await?)
    }

    /// Applies an agent's operation (answer, hold, hang up, transfer,
    /// note, dispose, …) and its follow-ups, racing other nodes safely.
    /// Returns what changed.
    ///
    /// # Errors
    ///
    /// [`NodeError::Transition`] when the operation is not allowed in the
    /// current state; [`NodeError::EngineOnly`] for the node's own steps;
    /// [`StoreError::NotFound`]; [`NodeError::Contended`]; store failures.
    pub async fn apply(&self, id: &InteractionId, op: Op) -> Result<Vec<Change>, NodeError> {
        match op {
            Op::Miss { .. } => return Err(NodeError::EngineOnly("miss")),
            Op::StartWrapUp => return Err(NodeError::EngineOnly("start wrap-up")),
            Op::ForceDispose { .. } => return Err(NodeError::EngineOnly("force dispose")),
            _ => {}
        }
        match self.step(id, op).await {
            Err(NodeError::Store(StoreError::Queued(_))) => Err(NodeError::EngineOnly(
                "answering or declining an interaction that rings at nobody",
            )),
            other => other,
        }
    }

    /// What a transition from `op` to `next` does to routing.
    fn route_step(op: &Op, was: &State, next: &State) -> Option<RouteStep> {
        match (op, next) {
            (Op::Answer, _) => Some(RouteStep::Answer),
            (Op::Reject { .. } | Op::NotConnected { .. }, _) => Some(RouteStep::Decline),
            (Op::Miss { .. }, _) => Some(RouteStep::Abandon),
            (_, State::WrapUp) if *was != State::WrapUp => Some(RouteStep::WrapUp),
            (_, State::Completed) => Some(RouteStep::Release),
            _ => None,
        }
    }

    async fn step(&self, id: &InteractionId, op: Op) -> Result<Vec<Change>, NodeError> {
        let cached = self.cache(id).get(id).cloned();
        let (mut current, mut fresh) = match cached {
            Some(i) => (i, false),
            None => (self.load(id).await?, true),
        };
        let attempts = self.inner.config.retries.saturating_add(1);
        for _ in 0..attempts {
            let now = self.inner.clock.now();
            let mut next = current.clone();
            let mut changes = match next.apply(op.clone(), now) {
                Ok(changes) => changes,
                // A stale copy may refuse what the real state allows.
                Err(_) if !fresh => {
                    current = self.load(id).await?;
                    fresh = true;
                    continue;
                }
                Err(refused) => {
                    self.remember(current);
                    return Err(refused.into());
                }
            };
            let schedule = match next.state() {
                State::Ended => {
                    changes.extend(next.apply(Op::StartWrapUp, now)?);
                    Some((Timer::WrapUp, after(now, self.inner.config.wrap_up_timeout)))
                }
                State::Completed => Some((
                    Timer::Metadata,
                    after(now, self.inner.config.metadata_delay),
                )),
                _ => None,
            };
            let step = Self::route_step(&op, current.state(), next.state());
            let mut write = Write::new(current.version(), &next, &changes);
            if let Some((timer, at)) = schedule {
                write = write.schedule(timer, at);
            }
            if let Some(step) = step {
                write = write.route(step, now);
            }
            match self.inner.store.compare_and_set(write).await {
                Ok(()) => {
                    self.remember(next);
                    if matches!(step, Some(RouteStep::Decline | RouteStep::Release)) {
                        // An agent is free: give them what waits.
                        self.route().await?;
                    }
                    return Ok(changes);
                }
                Err(StoreError::Conflict { current: winner }) => {
                    current = *winner;
                    fresh = true;
                }
                Err(e) => {
                    // What the store holds is unknown now.
                    self.cache(id).remove(id);
                    return Err(e.into());
                }
            }
        }
        self.cache(id).remove(id);
        Err(NodeError::Contended {
            id: id.clone(),
            attempts,
        })
    }

    async fn load(&self, id: &InteractionId) -> Result<Interaction, NodeError> {
        self.inner
            .store
            .load(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()).into())
    }

    /// Runs the timers due now, on whichever node set them: a wrap-up
    /// that ran out is disposed with the forced disposition, and a
    /// completed interaction's metadata is announced
    /// ([`StoreEvent::MetadataDue`]). Returns how many timers ran. Call it
    /// periodically (or use [`Self::drive`]).
    ///
    /// # Errors
    ///
    /// Store failures; a timer that could not run stays claimed until its
    /// lease ends and then runs again.
    pub async fn run_due(&self) -> Result<usize, NodeError> {
        let mut ran = 0;
        loop {
            let claims = self
                .inner
                .store
                .claim_due(
                    self.inner.clock.now(),
                    self.inner.config.lease,
                    self.inner.config.claim_batch,
                )
                .await?;
            if claims.is_empty() {
                return Ok(ran);
            }
            for claim in claims {
                match claim.timer {
                    Timer::WrapUp => {
                        let op = Op::ForceDispose {
                            code: self.inner.config.forced_disposition.clone(),
                        };
                        match self.step(&claim.id, op).await {
                            // Disposed in time, or gone: nothing to do.
                            Ok(_)
                            | Err(
                                NodeError::Transition(_)
                                | NodeError::Store(StoreError::NotFound(_)),
                            ) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Timer::Metadata => {
                        self.inner
                            .store
                            .publish(&StoreEvent::MetadataDue {
                                id: claim.id.clone(),
                            })
                            .await?;
                    }
                    Timer::Ring => self.ring_ran_out(&claim.id).await?,
                    Timer::QueueWait => self.wait_ran_out(&claim.id).await?,
                }
                self.inner.store.finish(&claim).await?;
                ran += 1;
            }
        }
    }

    async fn ring_ran_out(&self, id: &InteractionId) -> Result<(), NodeError> {
        match self
            .inner
            .store
            .ring_missed(id, self.inner.clock.now())
            .await?
        {
            RingMissed::Requeued { .. } => {
                self.route().await?;
            }
            RingMissed::Outbound { .. } => {
                let op = Op::NotConnected {
                    reason: Str::new_static("no_answer"),
                };
                match self.step(id, op).await {
                    Ok(_)
                    | Err(
                        NodeError::Transition(_)
                        | NodeError::Store(StoreError::NotFound(_) | StoreError::Queued(_)),
                    ) => {}
                    Err(e) => return Err(e),
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn wait_ran_out(&self, id: &InteractionId) -> Result<(), NodeError> {
        let now = self.inner.clock.now();
        let waiting = self
            .inner
            .store
            .assignment(id)
            .await?
            .is_some_and(|a| a.agent.is_none() && a.give_up <= now);
        if waiting {
            let op = Op::Miss {
                reason: Str::new_static("queue_timeout"),
            };
            match self.step(id, op).await {
                // Rings at someone by now, or over: nothing to do.
                Ok(_)
                | Err(
                    NodeError::Transition(_)
                    | NodeError::Store(StoreError::NotFound(_) | StoreError::Ringing(_)),
                ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Adds queue `id`, or changes the skills its interactions need.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn add_queue(
        &self,
        id: &QueueId,
        skills: impl IntoIterator<Item = Str>,
    ) -> Result<(), NodeError> {
        let skills: BTreeSet<Str> = skills.into_iter().collect();
        self.inner.store.put_queue(id, &skills).await?;
        self.route().await?;
        Ok(())
    }

    /// Adds agent `id` (offline), or changes their queues and skills.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn add_agent(
        &self,
        id: &AgentId,
        queues: impl IntoIterator<Item = QueueId>,
        skills: impl IntoIterator<Item = Str>,
    ) -> Result<(), NodeError> {
        let queues: BTreeSet<QueueId> = queues.into_iter().collect();
        let skills: BTreeSet<Str> = skills.into_iter().collect();
        self.inner
            .store
            .put_agent(id, &queues, &skills, self.inner.clock.now())
            .await?;
        self.route().await?;
        Ok(())
    }

    /// Agent `id` as the store holds them now.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn agent(&self, id: &AgentId) -> Result<Option<AgentRecord>, NodeError> {
        Ok(self.inner.store.agent(id).await?)
    }

    /// Makes an agent available, and routes what waits to them.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownAgent`]; [`StoreError::AgentBusy`] while they
    /// hold an interaction; store failures.
    pub async fn set_available(&self, id: &AgentId) -> Result<(), NodeError> {
        self.inner
            .store
            .set_agent_state(id, AgentState::Available, self.inner.clock.now())
            .await?;
        self.route().await?;
        Ok(())
    }

    /// Takes an agent offline.
    ///
    /// # Errors
    ///
    /// As [`Self::set_available`].
    pub async fn set_offline(&self, id: &AgentId) -> Result<(), NodeError> {
        Ok(self
            .inner
            .store
            .set_agent_state(id, AgentState::Offline, self.inner.clock.now())
            .await?)
    }

    /// Queues a new offered interaction (its id unique across nodes) in
    /// `queue`; it rings at the first eligible agent free, here or on any
    /// node. Returns the offers this made at once.
    ///
    /// # Errors
    ///
    /// [`StoreError::Exists`]; [`StoreError::UnknownQueue`]; store
    /// failures.
    pub async fn offer(
        &self,
        interaction: Interaction,
        queue: &QueueId,
    ) -> Result<Vec<(InteractionId, AgentId)>, NodeError> {
        let give_up = after(self.inner.clock.now(), self.inner.config.queue_timeout);
        self.inner
            .store
            .enqueue(&interaction, queue, give_up)
            .await?;
        self.remember(interaction);
        self.route().await
    }

    /// Places an outbound interaction (click-to-dial) for `agent`, who
    /// must be available: it rings with the agent assigned, and becomes
    /// not-connected (`no_answer`) if nobody picks up within the ring
    /// timeout.
    ///
    /// # Errors
    ///
    /// [`StoreError::Exists`]; unknown agent or queue;
    /// [`StoreError::AgentBusy`]; store failures.
    pub async fn dial(
        &self,
        interaction: Interaction,
        agent: &AgentId,
        queue: &QueueId,
    ) -> Result<(), NodeError> {
        let ring_until = after(self.inner.clock.now(), self.inner.config.ring_timeout);
        self.inner
            .store
            .dial(&interaction, agent, queue, ring_until)
            .await?;
        self.remember(interaction);
        Ok(())
    }

    /// Where a routed interaction stands.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn assignment(&self, id: &InteractionId) -> Result<Option<Assignment>, NodeError> {
        Ok(self.inner.store.assignment(id).await?)
    }

    /// Runs routing passes until nothing more can be offered; returns the
    /// offers made. The node routes by itself whenever it queues an
    /// interaction or frees an agent; call this after changing agents or
    /// queues from elsewhere.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn route(&self) -> Result<Vec<(InteractionId, AgentId)>, NodeError> {
        let batch = self.inner.config.route_batch.max(1);
        let mut all = Vec::new();
        loop {
            let now = self.inner.clock.now();
            let ring_until = after(now, self.inner.config.ring_timeout);
            let offers = self.inner.store.route(now, ring_until, batch).await?;
            let more = offers.len() >= batch;
            all.extend(offers);
            if !more {
                return Ok(all);
            }
        }
    }

    /// Runs [`Self::run_due`] every `every` until the returned future is
    /// dropped; errors are retried on the next tick.
    pub async fn drive(&self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let _ = self.run_due().await;
        }
    }

    /// Every event from every node on this store, from now on.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn subscribe(&self) -> Result<EventStream, NodeError> {
        Ok(self.inner.store.subscribe().await?)
    }
}
