//! One interaction and its lifecycle: a state machine whose every
//! operation is checked, so an illegal step is a typed error that changes
//! nothing.
//!
//! ```text
//!            answer            hold
//! offered ──────────▶ connected ◀──▶ held
//!   │ │ │                 │ hang up    │ hang up
//!   │ │ └─ not connected  ▼            ▼
//!   │ └─── rejected      ended ◀───────┘
//!   └───── missed         │ start wrap-up
//!                         ▼
//!                      wrap-up ── dispose / force ──▶ completed
//! ```
//!
//! Connected and held interactions also take: blind transfer, a consult
//! leg (start, answer, cancel, complete as a consult transfer, or merge
//! into a conference), adding a party and upgrading voice to video. Mute,
//! recording and DTMF are events that change flags, not states. Notes can
//! be added until the interaction completes; the disposition is set in
//! wrap-up.
//!
//! Every operation takes the time it happens; times never run backwards
//! (an earlier time is taken as the latest one seen).
//!
//! # Examples
//!
//! ```
//! use cti_media::interaction::{Interaction, InteractionId, Op, State};
//! use cti_protocol::model::{Channel, Direction, Party};
//! use jiff::Timestamp;
//!
//! let t = Timestamp::UNIX_EPOCH;
//! let mut call = Interaction::offered(InteractionId::new("call-1"), Channel::Voice, Direction::Inbound, Party::address("+14155552671"), t);
//! call.apply(Op::Answer, t)?;
//! call.apply(Op::Hold, t)?;
//! assert!(call.apply(Op::Answer, t).is_err(), "a held call cannot be answered");
//! assert_eq!(call.state(), &State::Held, "and the refusal changed nothing");
//! call.apply(Op::HangUp, t)?;
//! call.apply(Op::StartWrapUp, t)?;
//! call.apply(Op::Dispose { code: "sale".into() }, t)?;
//! assert!(call.state().is_terminal());
//! # Ok::<(), cti_media::interaction::TransitionError>(())
//! ```

use std::fmt;

use cti_protocol::model::{Channel, Direction, Party};
use cti_protocol::types::Str;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

id_type!(
    /// An interaction's id.
    InteractionId
);

/// Why an interaction ended without being handled: an open code
/// (`"ring_timeout"`, `"busy"`, `"agent_rejected"`, a vendor's own).
pub type Reason = Str;

/// Where an interaction is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum State {
    /// Ringing at an agent.
    Offered,
    /// Talking (or chatting).
    Connected,
    /// On hold.
    Held,
    /// Finished, before wrap-up.
    Ended,
    /// The agent is wrapping up (notes, disposition).
    WrapUp,
    /// Done, with a disposition (terminal).
    Completed,
    /// Not answered in time (terminal).
    Missed(Reason),
    /// Declined (terminal).
    Rejected(Reason),
    /// An outbound attempt that never connected (terminal).
    NotConnected(Reason),
}

impl State {
    /// `true` for the states nothing leaves: completed, missed, rejected
    /// and not-connected.
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Missed(_) | Self::Rejected(_) | Self::NotConnected(_)
        )
    }

    /// The state's name, as in errors and logs.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Connected => "connected",
            Self::Held => "held",
            Self::Ended => "ended",
            Self::WrapUp => "wrap-up",
            Self::Completed => "completed",
            Self::Missed(_) => "missed",
            Self::Rejected(_) => "rejected",
            Self::NotConnected(_) => "not-connected",
        }
    }

    /// `true` while the customer is on the line (connected or held).
    #[must_use]
    pub fn is_live(&self) -> bool {
        matches!(self, Self::Connected | Self::Held)
    }
}

/// The state of a consult leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConsultState {
    /// Ringing at the consulted party.
    Ringing,
    /// The agent is talking to the consulted party.
    Connected,
}

/// A consult leg: the agent calls someone while the customer holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Consult {
    /// Who is consulted.
    pub party: Party,
    /// Ringing or connected.
    pub state: ConsultState,
}

/// An operation on an interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Answer an offered interaction.
    Answer,
    /// Decline an offered interaction.
    Reject {
        /// Why.
        reason: Reason,
    },
    /// The offer timed out or was withdrawn.
    Miss {
        /// Why.
        reason: Reason,
    },
    /// An outbound attempt failed (busy, no answer, invalid number…).
    NotConnected {
        /// Why.
        reason: Reason,
    },
    /// Put the customer on hold.
    Hold,
    /// Take the customer off hold.
    Resume,
    /// End the conversation.
    HangUp,
    /// Begin wrap-up after the end.
    StartWrapUp,
    /// Set the disposition and complete.
    Dispose {
        /// The disposition code.
        code: Str,
    },
    /// Complete without the agent's disposition (the wrap-up timer ran
    /// out): the interaction gets `code` as its disposition and is marked
    /// forced.
    ForceDispose {
        /// The disposition recorded.
        code: Str,
    },
    /// Hand the customer to someone else without talking first; this leg
    /// ends.
    BlindTransfer {
        /// Who takes the customer.
        to: Party,
    },
    /// Call someone while the customer holds.
    StartConsult {
        /// Who is consulted.
        party: Party,
    },
    /// The consulted party answered.
    ConsultAnswered,
    /// Drop the consult leg; the customer stays on hold.
    CancelConsult,
    /// Hand the customer to the consulted party; this leg ends.
    CompleteConsult,
    /// Join customer, agent and consulted party in a conference.
    MergeConsult,
    /// Add a party to the conversation.
    AddParty {
        /// Who joins.
        party: Party,
    },
    /// Turn a voice call into a video call.
    UpgradeToVideo,
    /// Mute or unmute the agent.
    Mute {
        /// `true` to mute.
        on: bool,
    },
    /// Start or stop recording.
    Record {
        /// `true` to start.
        on: bool,
    },
    /// Send DTMF digits.
    Dtmf {
        /// The digits (`0-9`, `*`, `#`, `A-D`).
        digits: Str,
    },
    /// Add a note.
    Note {
        /// The text.
        text: String,
    },
}

impl Op {
    /// The operation's name, as in errors and logs.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Answer => "answer",
            Self::Reject { .. } => "reject",
            Self::Miss { .. } => "miss",
            Self::NotConnected { .. } => "not-connected",
            Self::Hold => "hold",
            Self::Resume => "resume",
            Self::HangUp => "hang up",
            Self::StartWrapUp => "start wrap-up",
            Self::Dispose { .. } => "dispose",
            Self::ForceDispose { .. } => "force dispose",
            Self::BlindTransfer { .. } => "blind transfer",
            Self::StartConsult { .. } => "start consult",
            Self::ConsultAnswered => "consult answered",
            Self::CancelConsult => "cancel consult",
            Self::CompleteConsult => "complete consult",
            Self::MergeConsult => "merge consult",
            Self::AddParty { .. } => "add party",
            Self::UpgradeToVideo => "upgrade to video",
            Self::Mute { .. } => "mute",
            Self::Record { .. } => "record",
            Self::Dtmf { .. } => "dtmf",
            Self::Note { .. } => "note",
        }
    }
}

/// An operation that is not allowed where the interaction is. Nothing was
/// changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransitionError {
    /// The interaction.
    pub id: InteractionId,
    /// The operation refused.
    pub op: &'static str,
    /// The state it was refused in.
    pub state: &'static str,
    /// Why, in words.
    pub why: &'static str,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interaction {}: cannot {} while {}: {}",
            self.id, self.op, self.state, self.why
        )
    }
}

impl std::error::Error for TransitionError {}

/// An on/off flag of an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Flag {
    /// The agent is muted.
    Muted,
    /// The interaction is being recorded.
    Recording,
}

impl Flag {
    /// The flag's name (`muted`, `recording`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Muted => "muted",
            Self::Recording => "recording",
        }
    }
}

/// What an operation did, for the event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// The state moved.
    State {
        /// From.
        from: State,
        /// To.
        to: State,
    },
    /// A flag changed (mute, recording).
    Flag {
        /// Which.
        flag: Flag,
        /// Its new value.
        on: bool,
    },
    /// Digits were sent.
    Dtmf {
        /// The digits.
        digits: Str,
    },
    /// A note was added.
    Note {
        /// The text.
        text: String,
    },
    /// The disposition was set.
    Disposition {
        /// The code.
        code: Str,
        /// `true` when the wrap-up timer set it.
        forced: bool,
    },
    /// The customer was handed to `to`.
    Transferred {
        /// Who took the customer.
        to: Party,
    },
    /// The consult leg changed (`None`: it is gone).
    Consult {
        /// The leg, or `None` when it is gone.
        consult: Option<Consult>,
    },
    /// A party joined.
    PartyAdded {
        /// Who.
        party: Party,
    },
    /// The channel changed (voice to video).
    Channel {
        /// The new channel.
        channel: Channel,
    },
}

/// When things happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Times {
    /// Offered.
    pub offered: Option<Timestamp>,
    /// Answered.
    pub connected: Option<Timestamp>,
    /// Ended (hang-up, transfer, or a terminal refusal).
    pub ended: Option<Timestamp>,
    /// Completed.
    pub completed: Option<Timestamp>,
    /// The latest time any operation happened.
    pub last: Option<Timestamp>,
}

/// One interaction: a voice, video, chat, SMS, e-mail or work-item
/// session.
///
/// It serializes (serde) to the form the [stores](crate::store) keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Interaction {
    id: InteractionId,
    channel: Channel,
    direction: Direction,
    state: State,
    parties: Vec<Party>,
    times: Times,
    muted: bool,
    recording: bool,
    #[serde(default)]
    recorded: bool,
    consult: Option<Box<Consult>>,
    notes: Vec<String>,
    disposition: Option<Str>,
    forced: bool,
    transferred_to: Option<Box<Party>>,
    version: u64,
}

fn refuse(i: &Interaction, op: &Op, why: &'static str) -> TransitionError {
    TransitionError {
        id: i.id.clone(),
        op: op.name(),
        state: i.state.name(),
        why,
    }
}

/// The longest note kept, in bytes.
pub const MAX_NOTE: usize = 16 * 1024;
/// The most notes kept on one interaction.
pub const MAX_NOTES: usize = 256;
/// The most parties on one interaction.
pub const MAX_PARTIES: usize = 16;

impl Interaction {
    /// A new interaction, offered at `at`, with `customer` as its first
    /// party.
    #[must_use]
    pub fn offered(
        id: InteractionId,
        channel: Channel,
        direction: Direction,
        customer: Party,
        at: Timestamp,
    ) -> Self {
        Self {
            id,
            channel,
            direction,
            state: State::Offered,
            parties: vec![customer],
            times: Times {
                offered: Some(at),
                last: Some(at),
                ..Times::default()
            },
            muted: false,
            recording: false,
            recorded: false,
            consult: None,
            notes: Vec::new(),
            disposition: None,
            forced: false,
            transferred_to: None,
            version: 1,
        }
    }

    /// The id.
    #[must_use]
    pub fn id(&self) -> &InteractionId {
        &self.id
    }

    /// The channel.
    #[must_use]
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Inbound or outbound.
    #[must_use]
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The state.
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The parties, the customer first.
    #[must_use]
    pub fn parties(&self) -> &[Party] {
        &self.parties
    }

    /// When things happened.
    #[must_use]
    pub fn times(&self) -> &Times {
        &self.times
    }

    /// Whether the agent is muted.
    #[must_use]
    pub fn is_muted(&self) -> bool {
        self.muted
    }

    /// Whether the interaction is being recorded.
    #[must_use]
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// The consult leg, if one is open.
    #[must_use]
    pub fn consult(&self) -> Option<&Consult> {
        self.consult.as_deref()
    }

    /// The notes, oldest first.
    #[must_use]
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The disposition, once set.
    #[must_use]
    pub fn disposition(&self) -> Option<&str> {
        self.disposition.as_deref()
    }

    /// `true` when the wrap-up timer set the disposition.
    #[must_use]
    pub fn was_forced(&self) -> bool {
        self.forced
    }

    /// Who took the customer, after a transfer.
    #[must_use]
    pub fn transferred_to(&self) -> Option<&Party> {
        self.transferred_to.as_deref()
    }

    /// Checks what a store hands back against the limits every operation
    /// keeps, so a corrupt record is refused rather than carried on.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if self.version == 0 {
            return Err("version 0 (versions start at 1)");
        }
        if self.parties.len() > MAX_PARTIES {
            return Err("more parties than MAX_PARTIES");
        }
        if self.notes.len() > MAX_NOTES || self.notes.iter().any(|n| n.len() > MAX_NOTE) {
            return Err("notes over MAX_NOTES or MAX_NOTE");
        }
        Ok(())
    }

    /// `true` once recording was ever started (a recording exists).
    #[must_use]
    pub fn was_recorded(&self) -> bool {
        self.recorded
    }

    /// Increases with every change: what stores compare-and-set on.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Applies `op` at `at`. On success returns what changed (in order);
    /// on refusal returns why and leaves the interaction exactly as it
    /// was.
    ///
    /// # Errors
    ///
    /// [`TransitionError`] when `op` is not allowed in the current state
    /// (or its argument is invalid: an empty disposition, digits that are
    /// not DTMF, a note over [`MAX_NOTE`] bytes, …).
    pub fn apply(&mut self, op: Op, at: Timestamp) -> Result<Vec<Change>, TransitionError> {
        self.check(&op)?;
        // Times never run backwards.
        let at = match self.times.last {
            Some(last) if at < last => last,
            _ => at,
        };
        let mut changes = Vec::with_capacity(2);
        let from = self.state.clone();
        let to = |this: &mut Self, state: State, changes: &mut Vec<Change>| {
            changes.push(Change::State {
                from: from.clone(),
                to: state.clone(),
            });
            this.state = state;
        };
        match op {
            Op::Answer => {
                self.times.connected = Some(at);
                to(self, State::Connected, &mut changes);
            }
            Op::Reject { reason } => {
                self.times.ended = Some(at);
                to(self, State::Rejected(reason), &mut changes);
            }
            Op::Miss { reason } => {
                self.times.ended = Some(at);
                to(self, State::Missed(reason), &mut changes);
            }
            Op::NotConnected { reason } => {
                self.times.ended = Some(at);
                to(self, State::NotConnected(reason), &mut changes);
            }
            Op::Hold => to(self, State::Held, &mut changes),
            Op::Resume => to(self, State::Connected, &mut changes),
            Op::HangUp => {
                self.end(at, &mut changes);
                to(self, State::Ended, &mut changes);
            }
            Op::StartWrapUp => to(self, State::WrapUp, &mut changes),
            Op::Dispose { code } => {
                self.dispose(code, false, at, &mut changes);
                to(self, State::Completed, &mut changes);
            }
            Op::ForceDispose { code } => {
                self.dispose(code, true, at, &mut changes);
                to(self, State::Completed, &mut changes);
            }
            Op::BlindTransfer { to: party } => {
                self.transferred_to = Some(Box::new(party.clone()));
                changes.push(Change::Transferred { to: party });
                self.end(at, &mut changes);
                to(self, State::Ended, &mut changes);
            }
            Op::StartConsult { party } => {
                let consult = Consult {
                    party,
                    state: ConsultState::Ringing,
                };
                if self.state == State::Connected {
                    to(self, State::Held, &mut changes);
                }
                changes.push(Change::Consult {
                    consult: Some(consult.clone()),
                });
                self.consult = Some(Box::new(consult));
            }
            Op::ConsultAnswered => {
                if let Some(c) = self.consult.as_deref_mut() {
                    c.state = ConsultState::Connected;
                    changes.push(Change::Consult {
                        consult: Some(c.clone()),
                    });
                }
            }
            Op::CancelConsult => {
                self.consult = None;
                changes.push(Change::Consult { consult: None });
            }
            Op::CompleteConsult => {
                if let Some(c) = self.consult.take() {
                    changes.push(Change::Consult { consult: None });
                    self.transferred_to = Some(Box::new(c.party.clone()));
                    changes.push(Change::Transferred { to: c.party });
                }
                self.end(at, &mut changes);
                to(self, State::Ended, &mut changes);
            }
            Op::MergeConsult => {
                if let Some(c) = self.consult.take() {
                    changes.push(Change::Consult { consult: None });
                    self.parties.push(c.party.clone());
                    changes.push(Change::PartyAdded { party: c.party });
                }
                if self.state == State::Held {
                    to(self, State::Connected, &mut changes);
                }
            }
            Op::AddParty { party } => {
                self.parties.push(party.clone());
                changes.push(Change::PartyAdded { party });
            }
            Op::UpgradeToVideo => {
                self.channel = Channel::Video;
                changes.push(Change::Channel {
                    channel: Channel::Video,
                });
            }
            Op::Mute { on } => {
                self.muted = on;
                changes.push(Change::Flag {
                    flag: Flag::Muted,
                    on,
                });
            }
            Op::Record { on } => {
                self.recording = on;
                self.recorded |= on;
                changes.push(Change::Flag {
                    flag: Flag::Recording,
                    on,
                });
            }
            Op::Dtmf { digits } => changes.push(Change::Dtmf { digits }),
            Op::Note { text } => {
                self.notes.push(text.clone());
                changes.push(Change::Note { text });
            }
        }
        self.times.last = Some(at);
        self.version += 1;
        Ok(changes)
    }

    /// The end of the conversation: flags drop, an open consult is
    /// dropped.
    fn end(&mut self, at: Timestamp, changes: &mut Vec<Change>) {
        self.times.ended = Some(at);
        if self.consult.take().is_some() {
            changes.push(Change::Consult { consult: None });
        }
        if self.muted {
            self.muted = false;
            changes.push(Change::Flag {
                flag: Flag::Muted,
                on: false,
            });
        }
        if self.recording {
            self.recording = false;
            changes.push(Change::Flag {
                flag: Flag::Recording,
                on: false,
            });
        }
    }

    fn dispose(&mut self, code: Str, forced: bool, at: Timestamp, changes: &mut Vec<Change>) {
        self.disposition = Some(code.clone());
        self.forced = forced;
        self.times.completed = Some(at);
        changes.push(Change::Disposition { code, forced });
    }

    /// Whether `op` may run now; nothing is changed.
    ///
    /// # Errors
    ///
    /// As [`apply`](Self::apply).
    pub fn check(&self, op: &Op) -> Result<(), TransitionError> {
        let s = &self.state;
        let no = |why| Err(refuse(self, op, why));
        if s.is_terminal() {
            return no("the interaction is over");
        }
        match op {
            Op::Answer | Op::Reject { .. } | Op::Miss { .. } if *s != State::Offered => {
                no("only an offered interaction can be answered, rejected or missed")
            }
            Op::NotConnected { .. }
                if *s != State::Offered || self.direction != Direction::Outbound =>
            {
                no("only an offered outbound attempt can fail to connect")
            }
            Op::Reject { reason } | Op::Miss { reason } | Op::NotConnected { reason }
                if reason.trim().is_empty() =>
            {
                no("a reason code is required")
            }
            Op::Hold if *s != State::Connected => no("only a connected interaction can be held"),
            Op::Hold if self.consult.is_some() => {
                no("a consult is open; the customer already holds")
            }
            Op::Resume if *s != State::Held => no("only a held interaction can be resumed"),
            Op::Resume if self.consult.is_some() => {
                no("a consult is open: cancel, complete or merge it first")
            }
            Op::HangUp if !s.is_live() => no("only a connected or held interaction can be hung up"),
            Op::StartWrapUp if *s != State::Ended => {
                no("wrap-up starts after the interaction ended")
            }
            Op::Dispose { code } | Op::ForceDispose { code } if code.trim().is_empty() => {
                no("a disposition code is required")
            }
            Op::Dispose { .. } | Op::ForceDispose { .. } if *s != State::WrapUp => {
                no("the disposition is set in wrap-up")
            }
            Op::BlindTransfer { .. } | Op::StartConsult { .. } | Op::AddParty { .. }
                if !s.is_live() =>
            {
                no("the customer must be on the line")
            }
            Op::BlindTransfer { .. } if self.consult.is_some() => {
                no("a consult is open: complete it to transfer")
            }
            Op::StartConsult { .. } if self.consult.is_some() => no("a consult is already open"),
            Op::ConsultAnswered
                if self
                    .consult
                    .as_ref()
                    .is_none_or(|c| c.state != ConsultState::Ringing) =>
            {
                no("no consult is ringing")
            }
            Op::CancelConsult if self.consult.is_none() => no("no consult is open"),
            Op::CompleteConsult | Op::MergeConsult
                if self
                    .consult
                    .as_ref()
                    .is_none_or(|c| c.state != ConsultState::Connected) =>
            {
                no("the consulted party has not answered")
            }
            Op::AddParty { .. } if self.parties.len() >= MAX_PARTIES => no("too many parties"),
            Op::UpgradeToVideo if *s != State::Connected => {
                no("only a connected call can be upgraded")
            }
            Op::UpgradeToVideo if self.channel != Channel::Voice => {
                no("only a voice call can be upgraded to video")
            }
            Op::Mute { .. } | Op::Record { .. } if !s.is_live() => {
                no("the customer must be on the line")
            }
            Op::Mute { .. } | Op::Record { .. } | Op::Dtmf { .. }
                if !matches!(self.channel, Channel::Voice | Channel::Video) =>
            {
                no("only calls have audio")
            }
            Op::Dtmf { .. } if *s != State::Connected => no("digits are sent on a connected call"),
            Op::Dtmf { digits }
                if digits.is_empty()
                    || digits.len() > 64
                    || !digits
                        .chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')) =>
            {
                no("DTMF digits are 0-9, *, # and A-D (1 to 64 of them)")
            }
            Op::Note { text } if text.trim().is_empty() || text.len() > MAX_NOTE => {
                no("a note is 1 byte to 16 KiB of text")
            }
            Op::Note { .. } if self.notes.len() >= MAX_NOTES => no("too many notes"),
            Op::Note { .. } if *s == State::Offered => no("notes are added once answered"),
            _ => Ok(()),
        }
    }
}
