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
//! - **Events** from every node come through [`Node::subscribe`].
//!
//! The single-process [`Engine`](crate::engine::Engine) adds agents,
//! queues and routing on top of its own sharded memory; a node shares
//! interactions only.
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

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use cti_protocol::types::Str;

use crate::clock::{Clock, SystemClock};
use crate::interaction::{Change, Interaction, InteractionId, Op, State, TransitionError};
use crate::shard::{Shards, after, lock};
use crate::store::{
    EventStream, InteractionStore, MemoryStore, StoreError, StoreEvent, Timer, Write,
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
    /// steps.
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
        self.step(id, op).await
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
            let mut write = Write::new(current.version(), &next, &changes);
            if let Some((timer, at)) = schedule {
                write = write.schedule(timer, at);
            }
            match self.inner.store.compare_and_set(write).await {
                Ok(()) => {
                    self.remember(next);
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
                }
                self.inner.store.finish(&claim).await?;
                ran += 1;
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
