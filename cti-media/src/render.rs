//! Rendering engine events in the vendors' dialects: the messages a real
//! Zoom Smart Embed, LeadDesk Talk or CCAI agent adapter would post to
//! its host page at that moment, in the order it would post them.
//!
//! The engine's interaction and moment become vendor-neutral
//! [`EventKind`]s here; `cti-protocol`'s dialects
//! ([`Vendor::render_events`]) turn those into each vendor's messages, so
//! no vendor message is spelt in this crate. What comes out is a decoded
//! [`VendorMessage`] carrying its exact wire JSON, and
//! [`Renderer::events`] gives the neutral [`CtiEvent`]s back (each
//! carrying its original message). The tables of what each vendor posts
//! are in the dialects' docs ([`cti_protocol::zoom::Zoom`],
//! [`cti_protocol::leaddesk::Talk`], [`cti_protocol::ccai::Adapter`]).
//!
//! | Moment | Neutral events |
//! |---|---|
//! | rings at the agent (or an outbound call starts) | offered |
//! | rang out unanswered, back to the queue | not connected (`timeout`) |
//! | connected | connected |
//! | ended | ended (with the recording's URL when recorded) |
//! | completed | completed |
//! | missed, rejected, outbound not connected | not connected, then completed (not answered) |
//! | agent state | agent status changed |
//!
//! Holds, mutes and DTMF are not posted by any of the three softphones.
//!
//! # Examples
//!
//! ```
//! use cti_media::interaction::{Interaction, InteractionId, Op};
//! use cti_media::render::{Moment, Renderer};
//! use cti_protocol::Vendor;
//! use cti_protocol::model::{Channel, Direction, Party};
//!
//! let t = jiff::Timestamp::from_second(1_800_000_000).unwrap();
//! let mut call = Interaction::offered(InteractionId::new("E1"), Channel::Voice, Direction::Inbound, Party::address("+14155552671"), t);
//! let changes = call.apply(Op::Answer, t).unwrap();
//! let zoom = Renderer::new(Vendor::Zoom);
//! let messages = zoom.render(&call, &Moment::Changed(&changes)).unwrap();
//! assert_eq!(messages[0].wire_type(), "zcc-call-connected");
//! ```

use cti_protocol::Vendor;
use cti_protocol::dialect::Softphone;
use cti_protocol::model::{
    self, AgentRef, AgentStatus, Completion, CtiEvent, Direction, EventKind, EventTime, Party,
    QueueRef, VendorMessage,
};
use cti_protocol::types::Str;
use jiff::Timestamp;

use crate::engine::{AgentState, EngineEvent};
use crate::interaction::{Change, Interaction, State};

/// What happened, as the renderer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Moment<'a> {
    /// The interaction rings at the agent (or an outbound call starts).
    Ringing,
    /// An offer rang out at the agent unanswered (it goes back to the
    /// queue).
    RingMissed,
    /// The interaction changed: these changes, already applied.
    Changed(&'a [Change]),
}

/// The agent whose softphone is speaking, as the vendors name them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AgentProfile {
    /// The vendor's agent id (CCAI `agent_id`).
    pub id: Option<Str>,
    /// The agent's name (Zoom `agentName`).
    pub name: Option<Str>,
    /// The agent's e-mail (CCAI `agent_email`).
    pub email: Option<Str>,
}

/// A rendering that failed: a bug in a renderer, reported rather than
/// posted, or a vendor without a postMessage dialect.
#[derive(Debug, thiserror::Error)]
#[error("cannot render for {vendor}: {source}")]
pub struct RenderError {
    vendor: Vendor,
    #[source]
    source: cti_protocol::Error,
}

/// Renders engine moments in one vendor's dialect (see the
/// [module](self) docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renderer {
    vendor: Vendor,
    phone: Softphone,
    recording_base: Option<String>,
}

fn at(t: Option<Timestamp>) -> Option<EventTime> {
    t.map(EventTime::Instant)
}

fn seconds(from: Option<Timestamp>, to: Option<Timestamp>) -> Option<u64> {
    u64::try_from(to?.duration_since(from?).as_secs()).ok()
}

impl Renderer {
    /// A renderer for `vendor`, with no agent or queue details.
    #[must_use]
    pub fn new(vendor: Vendor) -> Self {
        Self {
            vendor,
            phone: Softphone::default(),
            recording_base: None,
        }
    }

    /// The agent whose softphone this is.
    #[must_use]
    pub fn agent(mut self, agent: AgentProfile) -> Self {
        let mut a = AgentRef::default();
        a.id = agent.id;
        a.name = agent.name;
        a.email = agent.email;
        self.phone.agent = a;
        self
    }

    /// The queue the interactions come from (its id and name).
    #[must_use]
    pub fn queue(mut self, id: impl Into<Str>, name: impl Into<Str>) -> Self {
        let mut q = QueueRef::default();
        q.id = Some(id.into());
        q.name = Some(name.into());
        self.phone.queue = Some(q);
        self
    }

    /// Where recordings are served: `{base}{interaction id}` is the
    /// recording's URL in the vendors' messages. Without it no recording
    /// URL is posted.
    #[must_use]
    pub fn recording_base(mut self, base: impl Into<String>) -> Self {
        self.recording_base = Some(base.into());
        self
    }

    /// Renders the forms seen in use where they differ from the documented
    /// ones (see [`Softphone::observed_forms`]).
    #[must_use]
    pub fn observed_forms(mut self, on: bool) -> Self {
        self.phone.observed_forms = on;
        self
    }

    /// The vendor.
    #[must_use]
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    fn recording_url(&self, i: &Interaction) -> Option<Str> {
        let base = self.recording_base.as_ref()?;
        i.was_recorded()
            .then(|| Str::new(format!("{base}{}", i.id())))
    }

    /// The neutral form of the interaction at a moment: the customer on
    /// one side, the softphone's agent on the other.
    fn neutral(&self, i: &Interaction, when: Option<Timestamp>) -> Box<model::Interaction> {
        let mut n = model::Interaction::new(i.id().as_str(), i.channel(), i.direction());
        let customer = i.parties().first().cloned();
        let agent = self.phone.agent.id.clone().map(Party::address);
        if i.direction() == Direction::Outbound {
            n.from = agent;
            n.to = customer;
        } else {
            n.from = customer;
            n.to = agent;
        }
        n.queue.clone_from(&self.phone.queue);
        n.at = at(when);
        Box::new(n)
    }

    fn completion(&self, i: &Interaction, answered: bool) -> Box<Completion> {
        let t = i.times();
        let mut c = Completion::default();
        c.interaction = *self.neutral(i, t.completed.or(t.last));
        c.answered = Some(answered);
        c.offered = at(t.offered);
        c.started = at(t.connected);
        c.ended = at(t.ended);
        c.duration_seconds = seconds(t.connected, t.ended);
        c.wrap_up_seconds = seconds(t.ended, t.completed);
        c.disposition = i.disposition().map(Str::new);
        c.notes = i.notes().iter().map(Str::new).collect();
        c.recording_url = self.recording_url(i);
        Box::new(c)
    }

    fn not_connected(&self, i: &Interaction, reason: &str) -> EventKind {
        let t = i.times();
        EventKind::InteractionNotConnected {
            interaction: self.neutral(i, t.ended.or(t.last)),
            reason: Some(Str::new(reason)),
            message: None,
        }
    }

    /// The neutral events of an engine moment, oldest first.
    #[must_use]
    pub fn neutral_events(&self, i: &Interaction, moment: &Moment<'_>) -> Vec<EventKind> {
        let t = i.times();
        match moment {
            Moment::Ringing => vec![EventKind::InteractionOffered(self.neutral(i, t.offered))],
            Moment::RingMissed => vec![self.not_connected(i, "timeout")],
            Moment::Changed(changes) => {
                let mut out = Vec::new();
                for to in states(changes) {
                    match to {
                        State::Connected => {
                            out.push(EventKind::InteractionConnected(
                                self.neutral(i, t.connected),
                            ));
                        }
                        State::Ended => {
                            let mut n = self.neutral(i, t.ended);
                            n.recording_url = self.recording_url(i);
                            out.push(EventKind::InteractionEnded(n));
                        }
                        State::Completed => {
                            out.push(EventKind::InteractionCompleted(self.completion(i, true)));
                        }
                        State::Rejected(_) => {
                            out.push(self.not_connected(i, "rejected"));
                            out.push(EventKind::InteractionCompleted(self.completion(i, false)));
                        }
                        State::Missed(reason) | State::NotConnected(reason) => {
                            out.push(self.not_connected(i, reason));
                            out.push(EventKind::InteractionCompleted(self.completion(i, false)));
                        }
                        _ => {}
                    }
                }
                out
            }
        }
    }

    /// The messages the softphone posts at `moment`, oldest first.
    /// `interaction` is its state after the moment.
    ///
    /// # Errors
    ///
    /// [`RenderError`] for a vendor without a postMessage dialect, or if
    /// a rendered message does not decode (a bug: nothing is posted).
    pub fn render(
        &self,
        interaction: &Interaction,
        moment: &Moment<'_>,
    ) -> Result<Vec<VendorMessage>, RenderError> {
        self.post(&self.neutral_events(interaction, moment))
    }

    fn post(&self, events: &[EventKind]) -> Result<Vec<VendorMessage>, RenderError> {
        self.vendor
            .render_events(events, &self.phone)
            .map_err(|source| RenderError {
                vendor: self.vendor,
                source,
            })
    }

    /// What the softphone posts for an engine event. `interaction` is the
    /// interaction's state after it (ignored for agent events).
    ///
    /// # Errors
    ///
    /// As [`Self::render`].
    pub fn render_event(
        &self,
        event: &EngineEvent,
        interaction: &Interaction,
    ) -> Result<Vec<VendorMessage>, RenderError> {
        match event {
            EngineEvent::Offered { .. } => self.render(interaction, &Moment::Ringing),
            EngineEvent::OfferMissed { .. } => self.render(interaction, &Moment::RingMissed),
            EngineEvent::Changed { changes, .. } => {
                self.render(interaction, &Moment::Changed(changes))
            }
            EngineEvent::Agent { state, .. } => self.agent_state(*state),
            _ => Ok(Vec::new()),
        }
    }

    /// What the softphone posts when its agent's state changes (Zoom's
    /// status notification; the others post nothing).
    ///
    /// # Errors
    ///
    /// As [`Self::render`].
    pub fn agent_state(&self, state: AgentState) -> Result<Vec<VendorMessage>, RenderError> {
        let status = match state {
            AgentState::Available => AgentStatus::Available,
            AgentState::Busy => AgentStatus::Busy,
            AgentState::WrapUp => AgentStatus::WrapUp,
            _ => AgentStatus::Offline,
        };
        self.post(&[EventKind::AgentStatusChanged {
            status,
            label: None,
        }])
    }

    /// Renders any neutral events in this renderer's dialect, with its
    /// agent and queue (a screen pop, a lookup, a log-in).
    ///
    /// # Errors
    ///
    /// As [`Self::render`].
    pub fn render_neutral(&self, events: &[EventKind]) -> Result<Vec<VendorMessage>, RenderError> {
        self.post(events)
    }

    /// The neutral events of [`Self::render`]'s messages (messages with
    /// no neutral meaning are left out), each carrying its message.
    ///
    /// # Errors
    ///
    /// As [`Self::render`].
    pub fn events(
        &self,
        interaction: &Interaction,
        moment: &Moment<'_>,
    ) -> Result<Vec<CtiEvent>, RenderError> {
        Ok(self
            .render(interaction, moment)?
            .into_iter()
            .filter_map(|m| m.into_event().ok())
            .collect())
    }
}

/// The states entered, in order. Coming off hold is not a new
/// connection, so only connecting from an offer counts as connected.
fn states(changes: &[Change]) -> impl Iterator<Item = &State> {
    changes.iter().filter_map(|c| match c {
        Change::State { from, to } if *to != State::Connected || *from == State::Offered => {
            Some(to)
        }
        _ => None,
    })
}
