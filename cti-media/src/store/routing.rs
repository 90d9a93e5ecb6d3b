//! Routing kept in a store: agents, queues and who rings with what, so
//! that several nodes route one set of interactions without ever giving
//! an agent two of them.
//!
//! Every routing decision is one atomic step of the store:
//! - [`InteractionStore::route`](super::InteractionStore::route) pairs the
//!   oldest waiting interaction of each queue with the longest-idle
//!   eligible available agent and marks both taken;
//! - the transitions that end a ring are written together with a
//!   [`RouteStep`] (answering needs the ring to still be there, a queue
//!   timeout needs the interaction to still wait), so an answer and a
//!   ring timeout, or a queue timeout and a routing pass, can never both
//!   win;
//! - [`InteractionStore::ring_missed`](super::InteractionStore::ring_missed)
//!   puts an unanswered interaction back at the front of its queue.
//!
//! This module holds the types and the in-memory book behind
//! [`MemoryStore`](super::MemoryStore).

use std::collections::{BTreeSet, HashMap};

use cti_protocol::types::Str;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{StoreError, StoreEvent};
use crate::engine::{AgentId, AgentState, QueueId};
use crate::interaction::InteractionId;

/// An agent as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentRecord {
    /// The agent.
    pub id: AgentId,
    /// What they are doing.
    pub state: AgentState,
    /// The queues they serve.
    pub queues: BTreeSet<QueueId>,
    /// Their skills.
    pub skills: BTreeSet<Str>,
    /// Since when they have been available (or were last).
    pub idle_since: Timestamp,
    /// The interaction ringing at them or handled by them.
    pub current: Option<InteractionId>,
}

/// Where a routed interaction stands, from when it is queued (or dialled)
/// until it is finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Assignment {
    /// Its queue (for an outbound call, the campaign).
    pub queue: QueueId,
    /// The agent it rings at or is handled by; `None` while it waits.
    pub agent: Option<AgentId>,
    /// `true` while it rings (until answered, declined or missed).
    pub ringing: bool,
    /// When the ring runs out.
    pub ring_until: Option<Timestamp>,
    /// When waiting in the queue ends in a miss.
    pub give_up: Timestamp,
    /// When it joined the queue (its place in line, kept when it comes
    /// back after a missed ring).
    pub queued_at: Timestamp,
    /// An outbound call (placed by its agent, never queued).
    pub outbound: bool,
}

/// What a transition does to routing, written in the same atomic step
/// as the transition ([`Write::route`](super::Write::route)). Each step
/// is a no-op for an interaction that was never routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteStep {
    /// The ringing agent answers: refused with [`StoreError::Queued`]
    /// when nobody rings (the ring was missed meanwhile).
    Answer,
    /// The ringing agent rejects (or the outbound call did not connect):
    /// the agent is free again. Refused with [`StoreError::Queued`] when
    /// nobody rings.
    Decline,
    /// The queue wait ran out: refused with [`StoreError::Ringing`] when
    /// the interaction rings at someone by now.
    Abandon,
    /// The call ended: its agent goes to wrap-up.
    WrapUp,
    /// The interaction is finished: its agent is available again.
    Release,
}

impl RouteStep {
    /// The step's name, as stores pass it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Answer => "answer",
            Self::Decline => "decline",
            Self::Abandon => "abandon",
            Self::WrapUp => "wrap_up",
            Self::Release => "release",
        }
    }
}

/// What [`InteractionStore::ring_missed`](super::InteractionStore::ring_missed)
/// did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RingMissed {
    /// Nothing rings that ran out (it was answered, declined or rings at
    /// someone else until later).
    Nothing,
    /// `agent` did not answer: they went offline ("not ready") and the
    /// interaction waits again at the front of its queue.
    Requeued {
        /// Who missed it.
        agent: AgentId,
    },
    /// An outbound call nobody picked up: unchanged; the caller records
    /// it as not connected (with [`RouteStep::Decline`]).
    Outbound {
        /// Who placed it.
        agent: AgentId,
    },
}

/// A queue in the memory book.
#[derive(Debug, Default)]
struct QueueBook {
    skills: BTreeSet<Str>,
    /// Waiting interactions, oldest first.
    waiting: BTreeSet<(i64, InteractionId)>,
    /// Available eligible agents, longest idle first.
    idle: BTreeSet<(i64, AgentId)>,
}

/// The memory store's routing state, behind one lock (routing needs one
/// consistent view of agents and queues; interactions stay sharded).
#[derive(Debug, Default)]
pub(crate) struct Book {
    agents: HashMap<AgentId, AgentRecord>,
    queues: HashMap<QueueId, QueueBook>,
    assignments: HashMap<InteractionId, Assignment>,
}

fn ms(at: Timestamp) -> i64 {
    at.as_millisecond()
}

/// A timer the book wants set or dropped in an interaction's shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimerEdit {
    Set(InteractionId, super::Timer, Timestamp),
    Drop(InteractionId, super::Timer),
}

/// What a book operation wants done outside the book.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub(crate) timers: Vec<TimerEdit>,
    pub(crate) events: Vec<StoreEvent>,
}

impl Book {
    fn eligible(queue: &QueueBook, agent: &AgentRecord) -> bool {
        queue.skills.is_subset(&agent.skills)
    }

    /// Moves an agent to `state`, keeping the idle indexes right.
    fn set_state(
        &mut self,
        id: &AgentId,
        state: AgentState,
        now: Timestamp,
        current: Option<Option<InteractionId>>,
        fx: &mut Effects,
    ) {
        let Self { agents, queues, .. } = self;
        let Some(a) = agents.get_mut(id) else { return };
        let was = a.state;
        if was == AgentState::Available {
            for q in &a.queues {
                if let Some(queue) = queues.get_mut(q) {
                    queue.idle.remove(&(ms(a.idle_since), id.clone()));
                }
            }
        }
        if state == AgentState::Available {
            a.idle_since = now;
            for q in &a.queues {
                if let Some(queue) = queues.get_mut(q)
                    && Self::eligible(queue, a)
                {
                    queue.idle.insert((ms(now), id.clone()));
                }
            }
        }
        a.state = state;
        if let Some(current) = current {
            a.current = current;
        }
        if was != state {
            fx.events.push(StoreEvent::Agent {
                agent: id.clone(),
                state,
            });
        }
    }

    pub(crate) fn put_queue(&mut self, id: &QueueId, skills: &BTreeSet<Str>) {
        let queue = self.queues.entry(id.clone()).or_default();
        queue.skills.clone_from(skills);
        let queue = &*queue;
        let idle = self
            .agents
            .values()
            .filter(|a| {
                a.state == AgentState::Available
                    && a.queues.contains(id)
                    && Self::eligible(queue, a)
            })
            .map(|a| (ms(a.idle_since), a.id.clone()))
            .collect();
        if let Some(queue) = self.queues.get_mut(id) {
            queue.idle = idle;
        }
    }

    pub(crate) fn put_agent(
        &mut self,
        id: &AgentId,
        queues: &BTreeSet<QueueId>,
        skills: &BTreeSet<Str>,
        now: Timestamp,
    ) {
        let mut fx = Effects::default();
        let state = self.agents.get(id).map(|a| a.state);
        // Out of every index, changed, and back in with the same idle time.
        if state == Some(AgentState::Available) {
            self.set_state(id, AgentState::Offline, now, None, &mut fx);
        }
        let a = self
            .agents
            .entry(id.clone())
            .or_insert_with(|| AgentRecord {
                id: id.clone(),
                state: AgentState::Offline,
                queues: BTreeSet::new(),
                skills: BTreeSet::new(),
                idle_since: now,
                current: None,
            });
        a.queues.clone_from(queues);
        a.skills.clone_from(skills);
        if state == Some(AgentState::Available) {
            let since = a.idle_since;
            self.set_state(id, AgentState::Available, since, None, &mut fx);
        }
    }

    pub(crate) fn agent(&self, id: &AgentId) -> Option<AgentRecord> {
        self.agents.get(id).cloned()
    }

    pub(crate) fn assignment(&self, id: &InteractionId) -> Option<Assignment> {
        self.assignments.get(id).cloned()
    }

    pub(crate) fn set_agent_state(
        &mut self,
        id: &AgentId,
        state: AgentState,
        now: Timestamp,
    ) -> Result<Effects, StoreError> {
        let a = self
            .agents
            .get(id)
            .ok_or_else(|| StoreError::UnknownAgent(id.clone()))?;
        if !matches!(state, AgentState::Available | AgentState::Offline) {
            return Err(StoreError::AgentBusy(id.clone()));
        }
        if a.current.is_some() {
            return Err(StoreError::AgentBusy(id.clone()));
        }
        let mut fx = Effects::default();
        if a.state != state {
            self.set_state(id, state, now, None, &mut fx);
        }
        Ok(fx)
    }

    /// Checks that `queue` exists before an interaction is stored in it.
    pub(crate) fn check_queue(&self, queue: &QueueId) -> Result<(), StoreError> {
        if self.queues.contains_key(queue) {
            Ok(())
        } else {
            Err(StoreError::UnknownQueue(queue.clone()))
        }
    }

    pub(crate) fn enqueue(
        &mut self,
        id: &InteractionId,
        queue: &QueueId,
        now: Timestamp,
        give_up: Timestamp,
    ) -> Effects {
        let mut fx = Effects::default();
        if let Some(q) = self.queues.get_mut(queue) {
            q.waiting.insert((ms(now), id.clone()));
        }
        self.assignments.insert(
            id.clone(),
            Assignment {
                queue: queue.clone(),
                agent: None,
                ringing: false,
                ring_until: None,
                give_up,
                queued_at: now,
                outbound: false,
            },
        );
        fx.timers
            .push(TimerEdit::Set(id.clone(), super::Timer::QueueWait, give_up));
        fx.events.push(StoreEvent::Queued {
            id: id.clone(),
            queue: queue.clone(),
        });
        fx
    }

    /// Checks that `agent` may place a call in `queue`.
    pub(crate) fn check_dial(&self, agent: &AgentId, queue: &QueueId) -> Result<(), StoreError> {
        self.check_queue(queue)?;
        let a = self
            .agents
            .get(agent)
            .ok_or_else(|| StoreError::UnknownAgent(agent.clone()))?;
        if a.state != AgentState::Available || a.current.is_some() {
            return Err(StoreError::AgentBusy(agent.clone()));
        }
        Ok(())
    }

    pub(crate) fn dial(
        &mut self,
        id: &InteractionId,
        agent: &AgentId,
        queue: &QueueId,
        now: Timestamp,
        ring_until: Timestamp,
    ) -> Effects {
        let mut fx = Effects::default();
        self.assignments.insert(
            id.clone(),
            Assignment {
                queue: queue.clone(),
                agent: Some(agent.clone()),
                ringing: true,
                ring_until: Some(ring_until),
                give_up: ring_until,
                queued_at: now,
                outbound: true,
            },
        );
        self.set_state(
            agent,
            AgentState::Busy,
            now,
            Some(Some(id.clone())),
            &mut fx,
        );
        fx.timers
            .push(TimerEdit::Set(id.clone(), super::Timer::Ring, ring_until));
        fx.events.push(StoreEvent::Offered {
            id: id.clone(),
            agent: agent.clone(),
        });
        fx
    }

    pub(crate) fn route(
        &mut self,
        now: Timestamp,
        ring_until: Timestamp,
        limit: usize,
        offers: &mut Vec<(InteractionId, AgentId)>,
    ) -> Effects {
        let mut fx = Effects::default();
        let mut queue_ids: Vec<QueueId> = self
            .queues
            .iter()
            .filter(|(_, q)| !q.waiting.is_empty() && !q.idle.is_empty())
            .map(|(id, _)| id.clone())
            .collect();
        queue_ids.sort();
        for qid in queue_ids {
            while offers.len() < limit {
                let Some(q) = self.queues.get_mut(&qid) else {
                    break;
                };
                let (Some((_, id)), Some((_, agent))) =
                    (q.waiting.first().cloned(), q.idle.first().cloned())
                else {
                    break;
                };
                // Stale entries (never expected) are dropped, so every
                // turn removes something and the loop ends.
                let free = self
                    .agents
                    .get(&agent)
                    .is_some_and(|r| r.state == AgentState::Available && r.current.is_none());
                if !free {
                    q.idle.pop_first();
                    continue;
                }
                q.waiting.pop_first();
                let Some(a) = self.assignments.get_mut(&id) else {
                    continue;
                };
                if a.agent.is_some() {
                    continue;
                }
                a.agent = Some(agent.clone());
                a.ringing = true;
                a.ring_until = Some(ring_until);
                self.set_state(
                    &agent,
                    AgentState::Busy,
                    now,
                    Some(Some(id.clone())),
                    &mut fx,
                );
                fx.timers
                    .push(TimerEdit::Drop(id.clone(), super::Timer::QueueWait));
                fx.timers
                    .push(TimerEdit::Set(id.clone(), super::Timer::Ring, ring_until));
                fx.events.push(StoreEvent::Offered {
                    id: id.clone(),
                    agent: agent.clone(),
                });
                offers.push((id, agent));
            }
        }
        fx
    }

    pub(crate) fn ring_missed(
        &mut self,
        id: &InteractionId,
        now: Timestamp,
    ) -> (RingMissed, Effects) {
        let mut fx = Effects::default();
        let Some(a) = self.assignments.get_mut(id) else {
            return (RingMissed::Nothing, fx);
        };
        let due = a.ring_until.is_some_and(|t| t <= now);
        let (true, true, Some(agent)) = (a.ringing, due, a.agent.clone()) else {
            return (RingMissed::Nothing, fx);
        };
        if a.outbound {
            return (RingMissed::Outbound { agent }, fx);
        }
        a.agent = None;
        a.ringing = false;
        a.ring_until = None;
        let (queue, queued_at, give_up) = (a.queue.clone(), a.queued_at, a.give_up);
        if let Some(q) = self.queues.get_mut(&queue) {
            q.waiting.insert((ms(queued_at), id.clone()));
        }
        if self
            .agents
            .get(&agent)
            .is_some_and(|r| r.current.as_ref() == Some(id))
        {
            self.set_state(&agent, AgentState::Offline, now, Some(None), &mut fx);
        }
        fx.timers.push(TimerEdit::Set(
            id.clone(),
            super::Timer::QueueWait,
            give_up.max(now),
        ));
        fx.events.push(StoreEvent::OfferMissed {
            id: id.clone(),
            agent: agent.clone(),
        });
        (RingMissed::Requeued { agent }, fx)
    }

    /// Checks `step` for `id` before the write goes in.
    pub(crate) fn check_step(&self, id: &InteractionId, step: RouteStep) -> Result<(), StoreError> {
        let Some(a) = self.assignments.get(id) else {
            return Ok(());
        };
        match step {
            RouteStep::Answer | RouteStep::Decline if !a.ringing || a.agent.is_none() => {
                Err(StoreError::Queued(id.clone()))
            }
            RouteStep::Abandon if a.agent.is_some() => Err(StoreError::Ringing(id.clone())),
            _ => Ok(()),
        }
    }

    /// Applies a checked `step` for `id`.
    pub(crate) fn apply_step(
        &mut self,
        id: &InteractionId,
        step: RouteStep,
        now: Timestamp,
    ) -> Effects {
        let mut fx = Effects::default();
        let Some(a) = self.assignments.get_mut(id) else {
            return fx;
        };
        let holder = a.agent.clone().filter(|agent| {
            self.agents
                .get(agent)
                .is_some_and(|r| r.current.as_ref() == Some(id))
        });
        match step {
            RouteStep::Answer => {
                a.ringing = false;
                a.ring_until = None;
                fx.timers
                    .push(TimerEdit::Drop(id.clone(), super::Timer::Ring));
            }
            RouteStep::Decline | RouteStep::Release => {
                self.assignments.remove(id);
                fx.timers
                    .push(TimerEdit::Drop(id.clone(), super::Timer::Ring));
                if let Some(agent) = holder {
                    self.set_state(&agent, AgentState::Available, now, Some(None), &mut fx);
                }
            }
            RouteStep::Abandon => {
                let key = (ms(a.queued_at), id.clone());
                let queue = a.queue.clone();
                self.assignments.remove(id);
                if let Some(q) = self.queues.get_mut(&queue) {
                    q.waiting.remove(&key);
                }
                fx.timers
                    .push(TimerEdit::Drop(id.clone(), super::Timer::QueueWait));
            }
            RouteStep::WrapUp => {
                if let Some(agent) = holder {
                    self.set_state(&agent, AgentState::WrapUp, now, None, &mut fx);
                }
            }
        }
        fx
    }
}
