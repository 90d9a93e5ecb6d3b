//! The vendor-neutral model: one [`CtiEvent`] for whatever a softphone
//! posts, one [`Command`] for whatever a host page wants it to do.
//!
//! Decode a vendor message with [`crate::decode`], turn it into a
//! [`CtiEvent`] with [`VendorMessage::into_event`], act on the
//! [`EventKind`], and answer with a [`Command`] rendered into the vendor's
//! dialect by [`Command::render`].
//!
//! Interactions, completions and other bulky parts of an [`EventKind`] sit
//! behind a `Box`, so that an event stays small to move and hand around;
//! field access and `match` look through the box
//! (`EventKind::InteractionOffered(i) => i.id`). The JSON form is the same
//! either way.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::model::{Command, EventKind, LookupQuery, CrmContact};
//! use cti_protocol::{decode, Vendor};
//!
//! let msg = decode(Vendor::Zoom, r#"{"type":"zcc-contact-search-event","data":{"query":"+14155550100"}}"#)?;
//! let event = msg.into_event().expect("a search has a neutral meaning");
//! let EventKind::ContactLookupRequested(lookup) = &event.kind else { unreachable!() };
//! assert_eq!(lookup.query, LookupQuery::Phone("+14155550100".into()));
//!
//! let reply = Command::AnswerLookup {
//!     reply_to: lookup.reply_kind,
//!     contacts: vec![CrmContact::new("c-42", "Ada Lovelace").phone("+14155550100")],
//! };
//! let wire = reply.render(Vendor::Zoom)?;
//! assert_eq!(wire.to_value()["type"], "zcc-contact-search-response");
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use jiff::Timestamp;
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};

use crate::leaddesk::TalkMessage;
use crate::message::Body;
pub use crate::message::VendorMessage;
use crate::types::{EpochMillis, Str};
use crate::zoom::ZoomMessage;
use crate::{Error, ErrorKind, Vendor};

/// The medium of an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Channel {
    /// A phone call.
    Voice,
    /// A video call.
    Video,
    /// A web or in-app chat.
    Chat,
    /// Text messages.
    Sms,
    /// E-mail.
    Email,
    /// A work item (a task routed like an interaction).
    WorkItem,
}

impl Channel {
    /// Zoom's `channelType` text.
    #[must_use]
    pub fn zoom_name(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Video => "video",
            Self::Chat => "chat",
            Self::Sms => "sms",
            Self::Email => "email",
            Self::WorkItem => "work_item",
        }
    }

    /// A Zoom channel name, in any case.
    pub(crate) fn from_zoom(text: &str) -> Option<Self> {
        const NAMES: &[(&str, Channel)] = &[
            ("voice", Channel::Voice),
            ("phone", Channel::Voice),
            ("call", Channel::Voice),
            ("video", Channel::Video),
            ("live_video", Channel::Video),
            ("chat", Channel::Chat),
            ("webchat", Channel::Chat),
            ("web_chat", Channel::Chat),
            ("sms", Channel::Sms),
            ("email", Channel::Email),
            ("work_item", Channel::WorkItem),
            ("workitem", Channel::WorkItem),
        ];
        NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|&(_, channel)| channel)
    }
}

/// Which way an interaction goes, seen from the contact center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Direction {
    /// The customer reached the agent.
    Inbound,
    /// The agent reached the customer.
    Outbound,
}

impl Direction {
    /// `inbound`/`in` or `outbound`/`out`, in any case, with any `_` or
    /// `-` inside (`IN_BOUND`, `out-bound`).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().replace(['_', '-'], "").as_str() {
            "inbound" | "in" => Some(Self::Inbound),
            "outbound" | "out" => Some(Self::Outbound),
            _ => None,
        }
    }
}

/// A point in time as a vendor gave it: an instant, or a local date-time
/// when the vendor does not say which zone (LeadDesk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(untagged))]
pub enum EventTime {
    /// An instant.
    Instant(#[cfg_attr(feature = "ts", ts(type = "string"))] Timestamp),
    /// A local date-time in an unstated zone.
    Local(#[cfg_attr(feature = "ts", ts(type = "string"))] DateTime),
}

impl From<EpochMillis> for Option<EventTime> {
    fn from(ms: EpochMillis) -> Self {
        ms.to_timestamp().map(EventTime::Instant)
    }
}

/// A person or endpoint taking part: a phone number or an address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Party {
    /// A phone number or e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Str>,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
}

impl Party {
    /// A party known by its address.
    #[must_use]
    pub fn address(address: impl Into<Str>) -> Self {
        Self {
            address: Some(address.into()),
            name: None,
        }
    }

    /// A party from whichever parts are present and not empty.
    pub(crate) fn from_parts(address: Option<&Str>, name: Option<&Str>) -> Option<Self> {
        let clean = |s: Option<&Str>| s.filter(|s| !s.is_empty()).cloned();
        let p = Self {
            address: clean(address),
            name: clean(name),
        };
        (p.address.is_some() || p.name.is_some()).then_some(p)
    }
}

/// A queue, by id and/or name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QueueRef {
    /// The queue's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Str>,
    /// The queue's name or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
}

impl QueueRef {
    /// A queue from whichever parts are present and not empty.
    pub(crate) fn from_parts(id: Option<&Str>, name: Option<&Str>) -> Option<Self> {
        let clean = |s: Option<&Str>| s.filter(|s| !s.is_empty()).cloned();
        let q = Self {
            id: clean(id),
            name: clean(name),
        };
        (q.id.is_some() || q.name.is_some()).then_some(q)
    }
}

/// An agent, by whatever the vendor sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentRef {
    /// The vendor's agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Str>,
    /// A custom id from the agent's profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<Str>,
    /// The agent's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Str>,
    /// The agent's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
}

/// What the event knows about the interaction it concerns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Interaction {
    /// The vendor's id (Zoom engagement id, CCAI call or chat id, LeadDesk
    /// call id). LeadDesk omits it from `connected` and `disconnected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Str>,
    /// The medium.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// The direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// The calling party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Party>,
    /// The called party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Party>,
    /// The queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueRef>,
    /// The agent handling it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    /// The vendor's session type text (CCAI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_type: Option<Str>,
    /// When the event happened, as the vendor stated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<EventTime>,
    /// The recording's URL, when the vendor gives it with this event
    /// (LeadDesk's `disconnected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<Str>,
}

impl Interaction {
    /// The customer: who called for an inbound interaction (or one of
    /// unknown direction), who was called for an outbound one.
    ///
    /// ```
    /// use cti_protocol::model::{Channel, Direction, Interaction, Party};
    ///
    /// let mut call = Interaction::new("c1", Channel::Voice, Direction::Outbound);
    /// call.to = Some(Party::address("+442075550103"));
    /// assert_eq!(call.customer().and_then(|p| p.address.as_deref()), Some("+442075550103"));
    /// ```
    #[must_use]
    pub fn customer(&self) -> Option<&Party> {
        match self.direction {
            Some(Direction::Outbound) => self.to.as_ref(),
            _ => self.from.as_ref(),
        }
    }

    /// An interaction known by its id, channel and direction.
    #[must_use]
    pub fn new(id: impl Into<Str>, channel: Channel, direction: Direction) -> Self {
        Self {
            id: Some(id.into()),
            channel: Some(channel),
            direction: Some(direction),
            ..Self::default()
        }
    }

    /// An interaction by id (none when the id is empty) and channel.
    pub(crate) fn with_id(id: impl Into<Str>, channel: Option<Channel>) -> Self {
        Self {
            id: Some(id.into()).filter(|id| !id.is_empty()),
            channel,
            ..Self::default()
        }
    }

    /// [`with_id`](Self::with_id), boxed.
    pub(crate) fn boxed(id: Str, channel: Option<Channel>) -> Box<Self> {
        Box::new(Self::with_id(id, channel))
    }

    /// An interaction known by its channel and time, boxed.
    pub(crate) fn boxed_at(channel: Option<Channel>, at: Option<EventTime>) -> Box<Self> {
        Box::new(Self {
            channel,
            at,
            ..Self::default()
        })
    }
}

/// What a contact lookup asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum LookupQuery {
    /// A phone number.
    Phone(Str),
    /// An e-mail address.
    Email(Str),
    /// Free text (a name, a partial number).
    Text(Str),
}

impl LookupQuery {
    /// Tells a phone number or an e-mail address from free text.
    pub(crate) fn classify(text: &str) -> Self {
        let t = text.trim();
        let digits = t.chars().filter(char::is_ascii_digit).count();
        if t.contains('@') {
            Self::Email(Str::new(t))
        } else if digits >= 3
            && t.chars()
                .all(|c| c.is_ascii_digit() || "+-() .*#".contains(c))
        {
            Self::Phone(Str::new(t))
        } else {
            Self::Text(Str::new(t))
        }
    }
}

/// Which vendor request a lookup answer replies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ReplyKind {
    /// A search typed by the agent (`zcc-contact-search-response`).
    Search,
    /// An incoming call or SMS (`zcc-incomingPhone-response`).
    IncomingPhone,
    /// An incoming chat or video (`zcc-incomingEmail-response`).
    IncomingEmail,
}

/// A contact lookup the softphone asks the CRM to answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContactLookup {
    /// What to look for.
    pub query: LookupQuery,
    /// Which answer the vendor expects.
    pub reply_kind: ReplyKind,
    /// The interaction that prompted it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<Box<Interaction>>,
}

impl ContactLookup {
    /// A lookup of `query`, answered with `reply_kind`, for `interaction`.
    #[must_use]
    pub fn new(
        query: LookupQuery,
        reply_kind: ReplyKind,
        interaction: Option<Box<Interaction>>,
    ) -> Self {
        Self {
            query,
            reply_kind,
            interaction,
        }
    }
}

/// What to open in a screen pop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ScreenPopTarget {
    /// The CRM's id of a record.
    Record(Str),
    /// A URL to open.
    Url(Str),
    /// The customer's phone number (E.164) or e-mail address: Zoom's
    /// automatic pop when its lookup found zero or one match sends the
    /// raw number or address, not a record id. Look it up.
    Address(Str),
}

/// How an interaction finished, when the vendor says.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Completion {
    /// The interaction.
    pub interaction: Interaction,
    /// Whether it connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<bool>,
    /// When talking started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<EventTime>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<EventTime>,
    /// Talk time in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    /// The disposition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Str>,
    /// Notes, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Str>,
    /// The recording's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<Str>,
    /// The CRM record the vendor related it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<Str>,
    /// When it was offered (rang), when the vendor says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered: Option<EventTime>,
    /// After-call work in seconds, when the vendor says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up_seconds: Option<u64>,
}

/// The agent's availability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "code", rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AgentStatus {
    /// Ready for interactions.
    Available,
    /// Handling an interaction.
    Busy,
    /// Not ready, with the vendor's reason code when there is one.
    NotReady(Option<Str>),
    /// In after-call work.
    WrapUp,
    /// Logged off or offline.
    Offline,
    /// A vendor status code this model does not map.
    Other(Str),
}

/// A change of a co-browse session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CobrowseChange {
    /// The co-browse session.
    pub session_id: Str,
    /// `started`, `remote_control_changed`, `full_device_changed`, `ended`.
    pub change: Str,
    /// Remote control state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_control: Option<Str>,
    /// Full-device state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_device: Option<Str>,
}

/// What happened, independent of the vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum EventKind {
    /// The softphone loaded and asks for its configuration.
    ConfigRequested,
    /// The agent logged in.
    AgentLoggedIn {
        /// The agent, when identified.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<Box<AgentRef>>,
        /// The agent's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Str>,
        /// The origin the vendor asks commands to be posted to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vendor_origin: Option<Str>,
    },
    /// The agent logged out.
    AgentLoggedOut,
    /// The agent's status changed.
    AgentStatusChanged {
        /// The new status.
        status: AgentStatus,
        /// The vendor's label or sub-reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<Str>,
    },
    /// An interaction is ringing / offered to the agent.
    InteractionOffered(Box<Interaction>),
    /// An interaction connected (or the agent picked it up).
    InteractionConnected(Box<Interaction>),
    /// An interaction was put on hold.
    InteractionHeld(Box<Interaction>),
    /// An interaction came off hold.
    InteractionResumed(Box<Interaction>),
    /// The agent switched to an interaction (a chat tab).
    InteractionActivated(Box<Interaction>),
    /// The agent dismissed a finished interaction (closed its tab).
    InteractionDismissed(Box<Interaction>),
    /// An interaction ended (wrap-up may follow).
    InteractionEnded(Box<Interaction>),
    /// An interaction is final: wrap-up done, log data attached.
    InteractionCompleted(Box<Completion>),
    /// An interaction did not connect.
    InteractionNotConnected {
        /// The interaction.
        interaction: Box<Interaction>,
        /// The vendor's reason code (an open string).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Str>,
        /// The vendor's explanation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<Str>,
    },
    /// Find CRM contacts; answer with [`Command::AnswerLookup`].
    ContactLookupRequested(ContactLookup),
    /// Open a CRM record.
    ScreenPop(ScreenPopTarget),
    /// The agent added a note.
    NoteAdded {
        /// The interaction, when the vendor says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interaction_id: Option<Str>,
        /// The note.
        text: Str,
    },
    /// A disposition was chosen.
    DispositionSet {
        /// The interaction.
        interaction_id: Str,
        /// The disposition.
        disposition: Str,
    },
    /// A recording can be fetched.
    RecordingAvailable {
        /// The interaction, when the vendor says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interaction_id: Option<Str>,
        /// Where.
        url: Str,
    },
    /// The agent sent a text message.
    MessageSent {
        /// The interaction, when related to one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interaction_id: Option<Str>,
        /// The text.
        text: Str,
    },
    /// A co-browse session changed.
    Cobrowse {
        /// The interaction.
        interaction: Box<Interaction>,
        /// What changed.
        change: Box<CobrowseChange>,
    },
    /// An assistant (Agent Assist, a virtual task assistant) joined.
    AssistantJoined {
        /// The interaction.
        interaction: Box<Interaction>,
        /// The assistant's conversation id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<Str>,
        /// The assistant's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<Str>,
    },
    /// The agent's engagements, in answer to a status request.
    InteractionsListed {
        /// In progress.
        active: Vec<Interaction>,
        /// In wrap-up.
        wrap_up: Vec<Interaction>,
        /// The host request this answers, when the vendor echoes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<Str>,
    },
    /// The softphone was resized.
    Resized {
        /// Width in CSS pixels.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        width: Option<f64>,
        /// Height in CSS pixels.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        height: Option<f64>,
    },
    /// The vendor issued an authentication token (the token itself stays
    /// in the original message and is never copied here).
    TokenIssued,
    /// The softphone reports an error.
    Error {
        /// The vendor's code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<Str>,
        /// The vendor's message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<Str>,
        /// The host request that caused it, when the vendor says (Zoom's
        /// `requestId`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<Str>,
    },
    /// A message type this version does not know.
    Unknown {
        /// The wire type string.
        wire_type: Str,
    },
}

impl VendorMessage {
    /// The neutral meaning of the message, without consuming it; `None`
    /// for messages with no neutral meaning (host-to-softphone commands,
    /// variable listings). An unknown type means [`EventKind::Unknown`].
    #[must_use]
    pub fn event_kind(&self) -> Option<EventKind> {
        match self.body() {
            Body::Zoom(ZoomMessage::Event(e)) => crate::zoom::normalise(e),
            Body::LeadDesk(TalkMessage::Event(e)) => crate::leaddesk::normalise(e),
            Body::Ccai(e) => crate::ccai::normalise(e),
            Body::Unknown => Some(EventKind::Unknown {
                wire_type: Str::new(self.wire_type()),
            }),
            _ => None,
        }
    }

    /// Turns the message into a [`CtiEvent`] carrying it; gives the message
    /// back when it has no neutral meaning.
    ///
    /// # Errors
    ///
    /// Returns `self` unchanged when [`Self::event_kind`] is `None`.
    #[allow(clippy::result_large_err)] // gives the message back unchanged
    pub fn into_event(self) -> Result<CtiEvent, Self> {
        match self.event_kind() {
            Some(kind) => Ok(CtiEvent {
                vendor: self.vendor(),
                kind,
                original: self,
            }),
            None => Err(self),
        }
    }
}

impl EventKind {
    /// The interaction the event is about, when it names one: the
    /// offered, connected, held, resumed, activated, dismissed, ended,
    /// completed and not-connected events, and a lookup made for a
    /// ringing interaction.
    #[must_use]
    pub fn interaction(&self) -> Option<&Interaction> {
        match self {
            Self::InteractionOffered(i)
            | Self::InteractionConnected(i)
            | Self::InteractionHeld(i)
            | Self::InteractionResumed(i)
            | Self::InteractionActivated(i)
            | Self::InteractionDismissed(i)
            | Self::InteractionEnded(i)
            | Self::InteractionNotConnected { interaction: i, .. } => Some(i),
            Self::InteractionCompleted(c) => Some(&c.interaction),
            Self::ContactLookupRequested(l) => l.interaction.as_deref(),
            _ => None,
        }
    }

    /// The vendor's id of the interaction the event is about.
    #[must_use]
    pub fn interaction_id(&self) -> Option<&str> {
        self.interaction().and_then(|i| i.id.as_deref())
    }

    /// The customer's number or address: the interaction's
    /// [`customer`](Interaction::customer), or what a contact lookup
    /// searches for.
    #[must_use]
    pub fn caller(&self) -> Option<&str> {
        if let Some(address) = self
            .interaction()
            .and_then(Interaction::customer)
            .and_then(|p| p.address.as_deref())
        {
            return Some(address);
        }
        match self {
            Self::ContactLookupRequested(l) => match &l.query {
                LookupQuery::Phone(q) | LookupQuery::Email(q) | LookupQuery::Text(q) => Some(q),
            },
            _ => None,
        }
    }
}

impl CtiEvent {
    /// The interaction the event is about; see [`EventKind::interaction`].
    #[must_use]
    pub fn interaction(&self) -> Option<&Interaction> {
        self.kind.interaction()
    }

    /// The vendor's id of the interaction the event is about.
    #[must_use]
    pub fn interaction_id(&self) -> Option<&str> {
        self.kind.interaction_id()
    }

    /// The customer's number or address; see [`EventKind::caller`].
    ///
    /// ```
    /// use cti_protocol::{decode, Vendor};
    ///
    /// let posted = r#"{"type":"zcc-call-ringing","data":{"engagementId":"WSgT4SxZT1GD8RgAgkebfg","from":"+14155550100","to":"+18005550199","channel":"voice"}}"#;
    /// let event = decode(Vendor::Zoom, posted)?.into_event().expect("a ring means something");
    /// assert_eq!(event.caller(), Some("+14155550100"));
    /// # Ok::<(), cti_protocol::Error>(())
    /// ```
    #[must_use]
    pub fn caller(&self) -> Option<&str> {
        self.kind.caller()
    }
}

/// A vendor-neutral event with the message it came from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CtiEvent {
    /// Who sent it.
    pub vendor: Vendor,
    /// What happened.
    pub kind: EventKind,
    /// The vendor's message, decoded and faithful to the wire.
    pub original: VendorMessage,
}

impl Serialize for CtiEvent {
    /// Writes `{"vendor": …, "event": …, …fields}` — the neutral form,
    /// without the original message.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            vendor: Vendor,
            #[serde(flatten)]
            kind: &'a EventKind,
        }
        Out {
            vendor: self.vendor,
            kind: &self.kind,
        }
        .serialize(s)
    }
}

/// A contact sent to a softphone in answer to a lookup.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CrmContact {
    /// The CRM's id.
    pub id: Str,
    /// The display name.
    pub name: Str,
    /// The phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Str>,
    /// The e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Str>,
    /// The CRM entity type (`contact`, `lead`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<Str>,
}

impl CrmContact {
    /// A contact with an id and a name.
    #[must_use]
    pub fn new(id: impl Into<Str>, name: impl Into<Str>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            ..Self::default()
        }
    }

    /// Sets the phone number.
    #[must_use]
    pub fn phone(mut self, phone: impl Into<Str>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Sets the e-mail address.
    #[must_use]
    pub fn email(mut self, email: impl Into<Str>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the entity type.
    #[must_use]
    pub fn entity(mut self, entity: impl Into<Str>) -> Self {
        self.entity = Some(entity.into());
        self
    }
}

/// The interaction a command targets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Target {
    /// The vendor's interaction id (Zoom engagement id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Str>,
    /// Its channel (Zoom needs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// An id to correlate the vendor's answer (Zoom `requestId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Str>,
}

impl Target {
    /// Targets an interaction by id and channel.
    #[must_use]
    pub fn new(id: impl Into<Str>, channel: Channel) -> Self {
        Self {
            id: Some(id.into()),
            channel: Some(channel),
            request_id: None,
        }
    }

    /// Sets the correlation id.
    #[must_use]
    pub fn request_id(mut self, id: impl Into<Str>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

/// What the host page wants the softphone to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Command {
    /// Dial a number (click-to-dial).
    Dial {
        /// The number.
        number: Str,
        /// Dial at once (LeadDesk: otherwise only fill in the number).
        #[serde(default = "yes")]
        immediately: bool,
        /// The CRM record being dialled, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact: Option<CrmContact>,
    },
    /// Answer the ringing interaction.
    Answer {
        /// Which one.
        #[serde(default)]
        target: Target,
    },
    /// Reject the ringing interaction.
    Reject {
        /// Which one.
        #[serde(default)]
        target: Target,
    },
    /// Hang up / end the interaction.
    HangUp {
        /// Which one.
        #[serde(default)]
        target: Target,
    },
    /// Put on hold or take off hold.
    Hold {
        /// Which one.
        #[serde(default)]
        target: Target,
        /// `true` to hold.
        on: bool,
    },
    /// Mute or unmute.
    Mute {
        /// Which one.
        #[serde(default)]
        target: Target,
        /// `true` to mute.
        on: bool,
    },
    /// Set the disposition.
    SetDisposition {
        /// Which one.
        #[serde(default)]
        target: Target,
        /// The disposition.
        disposition: Str,
    },
    /// Finish wrap-up.
    CompleteWrapUp {
        /// Which one.
        #[serde(default)]
        target: Target,
    },
    /// Change the agent's status.
    SetAgentStatus {
        /// The new status.
        status: AgentStatus,
    },
    /// Answer a contact lookup.
    AnswerLookup {
        /// Which request this answers.
        reply_to: ReplyKind,
        /// The matches (empty for none).
        contacts: Vec<CrmContact>,
    },
    /// Answer the configuration request.
    Configure {
        /// When to screen-pop (`RINGING`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        screen_pop_on: Option<Str>,
        /// Ask for recording URLs after wrap-up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recording_urls: Option<bool>,
        /// Stop the agent dialling by hand.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prevent_manual_dialing: Option<bool>,
    },
    /// Hand the softphone contact details.
    SetMetadata {
        /// Key/value pairs.
        metadata: serde_json::Map<String, serde_json::Value>,
    },
    /// Ask for the agent's interactions.
    ListInteractions {
        /// Correlation id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<Str>,
    },
    /// Ask for an authentication token.
    RequestToken,
    /// Reset the softphone to its default state.
    Reset,
}

fn yes() -> bool {
    true
}

impl Command {
    /// A short name for the command (`"hold"`, `"dial"`, …).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Dial { .. } => "dial",
            Self::Answer { .. } => "answer",
            Self::Reject { .. } => "reject",
            Self::HangUp { .. } => "hang_up",
            Self::Hold { .. } => "hold",
            Self::Mute { .. } => "mute",
            Self::SetDisposition { .. } => "set_disposition",
            Self::CompleteWrapUp { .. } => "complete_wrap_up",
            Self::SetAgentStatus { .. } => "set_agent_status",
            Self::AnswerLookup { .. } => "answer_lookup",
            Self::Configure { .. } => "configure",
            Self::SetMetadata { .. } => "set_metadata",
            Self::ListInteractions { .. } => "list_interactions",
            Self::RequestToken => "request_token",
            Self::Reset => "reset",
        }
    }

    /// Renders the command in a vendor's dialect.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] when the vendor has no such message (the
    /// CCAI adapter takes no commands; LeadDesk has no hold or
    /// disposition), or when Zoom's payload for it is not published
    /// (hold, mute): build a [`ZoomCommand`](crate::zoom::ZoomCommand) by hand for those.
    pub fn render(&self, vendor: Vendor) -> crate::Result<VendorMessage> {
        vendor.render_command(self)
    }

    pub(crate) fn unsupported(&self, vendor: Vendor, why: &str) -> Error {
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "`{}` is not supported by {}: {why}",
                self.name(),
                vendor.name()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_and_channels() {
        for (text, want) in [
            ("inbound", Some(Direction::Inbound)),
            ("IN_BOUND", Some(Direction::Inbound)),
            ("in", Some(Direction::Inbound)),
            ("Out-Bound", Some(Direction::Outbound)),
            ("OUT", Some(Direction::Outbound)),
            ("outbounds", None),
            ("", None),
            ("inbound-call-of-a-long-name", None),
        ] {
            assert_eq!(Direction::parse(text), want, "{text}");
        }
        assert_eq!(Channel::from_zoom("VOICE"), Some(Channel::Voice));
        assert_eq!(Channel::from_zoom("Web_Chat"), Some(Channel::Chat));
        assert_eq!(Channel::from_zoom("work_item"), Some(Channel::WorkItem));
        assert_eq!(Channel::from_zoom("fax"), None);
    }
}
