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

use crate::ccai::{self, AdapterEvent, WireForm};
use crate::leaddesk::{self, TalkCommand, TalkEvent, TalkMessage};
use crate::types::{EpochMillis, NumOrStr, Str};
use crate::zoom::{self, ZoomCommand, ZoomEvent, ZoomMessage};
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

    /// A Zoom channel name in any case. Lower-cased into a small buffer
    /// and matched once: this runs for most Zoom interaction events, and
    /// twelve `eq_ignore_ascii_case` calls made it the largest piece of
    /// code on that path.
    fn from_zoom(text: &str) -> Option<Self> {
        const LONGEST: usize = "live_video".len();
        let mut buf = [0u8; LONGEST];
        let lower = buf.get_mut(..text.len())?;
        for (to, from) in lower.iter_mut().zip(text.bytes()) {
            *to = from.to_ascii_lowercase();
        }
        match &*lower {
            b"voice" | b"phone" | b"call" => Some(Self::Voice),
            b"video" | b"live_video" => Some(Self::Video),
            b"chat" | b"webchat" | b"web_chat" => Some(Self::Chat),
            b"sms" => Some(Self::Sms),
            b"email" => Some(Self::Email),
            b"work_item" | b"workitem" => Some(Self::WorkItem),
            _ => None,
        }
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
    fn parse(text: &str) -> Option<Self> {
        // Compare letter by letter, skipping separators, instead of building
        // a cleaned copy: this runs for nearly every interaction event.
        let spelled = |word: &str| {
            text.bytes()
                .filter(|b| !matches!(b, b'_' | b'-'))
                .map(|b| b.to_ascii_lowercase())
                .eq(word.bytes())
        };
        if spelled("inbound") || spelled("in") {
            Some(Self::Inbound)
        } else if spelled("outbound") || spelled("out") {
            Some(Self::Outbound)
        } else {
            None
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

    /// Borrows its parts, so that each is copied once, into the party.
    fn from_parts(address: Option<&Str>, name: Option<&Str>) -> Option<Self> {
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
    /// Borrows its parts, as [`Party::from_parts`] does.
    fn from_parts(id: Option<&Str>, name: Option<&Str>) -> Option<Self> {
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
}

impl Interaction {
    fn with_id(id: impl Into<Str>, channel: Option<Channel>) -> Self {
        Self {
            id: Some(id.into()),
            channel,
            ..Self::default()
        }
    }

    /// [`with_id`](Self::with_id), built in its box rather than on the
    /// stack and copied there (the copy reads back bytes just written,
    /// which stalls store forwarding).
    fn boxed(id: Str, channel: Option<Channel>) -> Box<Self> {
        let mut i = Box::<Self>::default();
        i.id = Some(id);
        i.channel = channel;
        i
    }

    /// An interaction known by its channel and time, built in its box.
    fn boxed_at(channel: Option<Channel>, at: Option<EventTime>) -> Box<Self> {
        let mut i = Box::<Self>::default();
        i.channel = channel;
        i.at = at;
        i
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
    fn classify(text: &str) -> Self {
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

/// What to open in a screen pop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ScreenPopTarget {
    /// The CRM's id of a record (or, for Zoom auto-pops, the raw number or
    /// address when no record matched: check it against your ids).
    Record(Str),
    /// A URL to open.
    Url(Str),
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
    },
    /// A message type this version does not know.
    Unknown {
        /// The wire type string.
        wire_type: Str,
    },
}

/// A decoded vendor message, in whichever dialect.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum VendorMessage {
    /// Zoom Smart Embed, either direction.
    Zoom(ZoomMessage),
    /// LeadDesk Talk, either direction.
    LeadDesk(TalkMessage),
    /// CCAI agent adapter, with the form it was posted in.
    Ccai(AdapterEvent, WireForm),
}

impl VendorMessage {
    /// The vendor.
    #[must_use]
    pub fn vendor(&self) -> Vendor {
        match self {
            Self::Zoom(_) => Vendor::Zoom,
            Self::LeadDesk(_) => Vendor::LeadDesk,
            Self::Ccai(..) => Vendor::Ccai,
        }
    }

    /// The wire type (`type` or `action`) string.
    #[must_use]
    pub fn wire_type(&self) -> &str {
        match self {
            Self::Zoom(m) => m.wire_type(),
            Self::LeadDesk(m) => m.wire_type(),
            Self::Ccai(e, _) => e.wire_type(),
        }
    }

    /// `false` when the type is not in this version's catalogue.
    #[must_use]
    pub fn is_known(&self) -> bool {
        match self {
            Self::Zoom(ZoomMessage::Event(e)) => e.is_known(),
            Self::Zoom(ZoomMessage::Command(c)) => c.is_known(),
            Self::LeadDesk(TalkMessage::Event(e)) => e.is_known(),
            Self::LeadDesk(TalkMessage::Command(c)) => c.is_known(),
            Self::Ccai(e, _) => e.is_known(),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The message re-encoded as a JSON value (for a CCAI message posted as
    /// a string, the object it held).
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Self::Zoom(m) => m.to_value(),
            Self::LeadDesk(m) => m.to_value(),
            Self::Ccai(e, _) => e.to_value(),
        }
    }

    /// The neutral meaning of the message, without consuming it; `None`
    /// for messages with no neutral meaning (host-to-softphone commands,
    /// variable listings).
    #[must_use]
    pub fn event_kind(&self) -> Option<EventKind> {
        match self {
            Self::Zoom(ZoomMessage::Event(e)) => zoom_event(e),
            Self::LeadDesk(TalkMessage::Event(e)) => talk_event(e),
            Self::Ccai(e, _) => ccai_event(e),
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

fn zoom_interaction(
    id: &crate::types::EngagementId,
    channel: Option<Channel>,
    at: Option<EpochMillis>,
) -> Box<Interaction> {
    let mut i = Interaction::boxed(id.text_str(), channel);
    i.at = at.and_then(Into::into);
    i
}

fn zoom_ringing(r: &zoom::EngagementRinging, channel: Channel) -> Box<Interaction> {
    let mut i = Interaction::boxed(r.engagement_id.text_str(), Some(channel));
    i.direction = Some(Direction::Inbound);
    let address = r
        .incoming_phone_number
        .as_ref()
        .or(r.customer_email.as_ref());
    i.from = Party::from_parts(address, r.customer_name.as_ref());
    i.queue = QueueRef::from_parts(
        r.queue_id.as_ref().map(|q| q.text_ref()),
        r.queue_name.as_ref(),
    );
    i
}

fn zoom_status(code: &str, status: Option<&str>) -> AgentStatus {
    match (code, status) {
        ("1", _) | (_, Some("Ready")) => AgentStatus::Available,
        ("3", _) | (_, Some("Occupied")) => AgentStatus::Busy,
        ("30", _) | (_, Some("Offline")) => AgentStatus::Offline,
        ("2", _) | (_, Some("Not Ready")) => AgentStatus::NotReady(Some(Str::new(code))),
        _ => AgentStatus::Other(Str::new(code)),
    }
}

#[allow(clippy::too_many_lines)]
fn zoom_event(e: &ZoomEvent) -> Option<EventKind> {
    use EventKind as K;
    Some(match e {
        ZoomEvent::InitConfigRequest(_) => K::ConfigRequested,
        ZoomEvent::Resize(r) => K::Resized {
            width: r
                .width_in_pixels
                .as_ref()
                .and_then(serde_json::Number::as_f64),
            height: r
                .height_in_pixels
                .as_ref()
                .and_then(serde_json::Number::as_f64),
        },
        ZoomEvent::ContactSearch(c) => K::ContactLookupRequested(ContactLookup {
            query: match &c.query {
                zoom::SearchQuery::Text(t) => LookupQuery::classify(t),
                zoom::SearchQuery::Structured(q) => match &q.email {
                    Some(email) => LookupQuery::Email(email.clone()),
                    None => LookupQuery::Text(Str::default()),
                },
                #[allow(unreachable_patterns)]
                _ => LookupQuery::Text(Str::default()),
            },
            reply_kind: ReplyKind::Search,
            interaction: None,
        }),
        ZoomEvent::CallRinging(r) => {
            let channel = r
                .channel
                .as_deref()
                .and_then(Channel::from_zoom)
                .or(Some(Channel::Voice));
            let mut i = zoom_interaction(&r.engagement_id, channel, r.create_ts);
            i.direction = Some(Direction::Inbound);
            i.from = Party::from_parts(r.from.as_ref(), None);
            i.to = Party::from_parts(r.to.as_ref(), None);
            i.queue = QueueRef::from_parts(None, r.queue_name.as_ref());
            K::InteractionOffered(i)
        }
        ZoomEvent::IncomingPhoneRequest(r) => {
            let channel = r
                .channel
                .as_deref()
                .and_then(Channel::from_zoom)
                .or(Some(Channel::Voice));
            let mut i = zoom_interaction(&r.engagement_id, channel, None);
            i.direction = Some(Direction::Inbound);
            i.from = Some(Party::address(r.incoming_phone_number.clone()));
            K::ContactLookupRequested(ContactLookup {
                query: LookupQuery::Phone(r.incoming_phone_number.clone()),
                reply_kind: ReplyKind::IncomingPhone,
                interaction: Some(i),
            })
        }
        ZoomEvent::IncomingEmailRequest(r) => {
            let channel = r
                .channel
                .as_deref()
                .and_then(Channel::from_zoom)
                .or(Some(Channel::Chat));
            let mut i = zoom_interaction(&r.engagement_id, channel, None);
            i.direction = Some(Direction::Inbound);
            i.from = Some(Party::address(r.email.clone()));
            K::ContactLookupRequested(ContactLookup {
                query: LookupQuery::Email(r.email.clone()),
                reply_kind: ReplyKind::IncomingEmail,
                interaction: Some(i),
            })
        }
        ZoomEvent::ScreenPop(p) => K::ScreenPop(ScreenPopTarget::Record(p.id.text_str())),
        ZoomEvent::CallConnected(c) => {
            let mut i = zoom_interaction(&c.engagement_id, Some(Channel::Voice), c.accept_ts);
            i.direction = c.direction.as_deref().and_then(Direction::parse);
            i.from = Party::from_parts(c.from.as_ref(), None);
            i.to = Party::from_parts(c.to.as_ref(), None);
            i.queue = QueueRef::from_parts(
                c.queue_id.as_ref().map(|q| q.text_ref()),
                c.queue_name.as_ref(),
            );
            K::InteractionConnected(i)
        }
        ZoomEvent::CallEnded(x) => K::InteractionEnded(zoom_interaction(
            &x.engagement_id,
            Some(Channel::Voice),
            x.complete_ts,
        )),
        ZoomEvent::ChatEnded(x) => K::InteractionEnded(zoom_interaction(
            &x.engagement_id,
            Some(Channel::Chat),
            x.complete_ts,
        )),
        ZoomEvent::VideoEnded(x) => K::InteractionEnded(zoom_interaction(
            &x.engagement_id,
            Some(Channel::Video),
            x.complete_ts,
        )),
        ZoomEvent::SmsEnded(x) => K::InteractionEnded(zoom_interaction(
            &x.engagement_id,
            Some(Channel::Sms),
            x.complete_ts,
        )),
        ZoomEvent::ChatStarted(x) => K::InteractionConnected(zoom_interaction(
            &x.engagement_id,
            Some(Channel::Chat),
            x.create_ts,
        )),
        ZoomEvent::VideoStarted(x) => K::InteractionConnected(zoom_interaction(
            &x.engagement_id,
            Some(Channel::Video),
            x.create_ts,
        )),
        ZoomEvent::SmsStarted(x) => K::InteractionConnected(zoom_interaction(
            &x.engagement_id,
            Some(Channel::Sms),
            x.create_ts,
        )),
        ZoomEvent::ChatRinging(r) => K::InteractionOffered(zoom_ringing(r, Channel::Chat)),
        ZoomEvent::VideoRinging(r) => K::InteractionOffered(zoom_ringing(r, Channel::Video)),
        ZoomEvent::SmsRinging(r) => K::InteractionOffered(zoom_ringing(r, Channel::Sms)),
        ZoomEvent::EndPostEngagement(p) => K::DispositionSet {
            interaction_id: p.engagement_id.text_str(),
            disposition: Str::new(p.disposition().unwrap_or_default()),
        },
        ZoomEvent::PhoneCallLog(log) => K::InteractionCompleted(zoom_completion(log)),
        ZoomEvent::CallRecording(r) => K::RecordingAvailable {
            interaction_id: Some(r.engagement_id.text_str()),
            url: r.recording_url.clone(),
        },
        ZoomEvent::AddNote(n) => K::NoteAdded {
            interaction_id: None,
            text: n.comment.clone(),
        },
        ZoomEvent::OutboundCallStarted(o) => {
            let mut i = zoom_interaction(&o.engagement_id, Some(Channel::Voice), o.start_ts);
            i.direction = Some(Direction::Outbound);
            i.from = Party::from_parts(o.from.as_ref(), None);
            i.to = Party::from_parts(o.to.as_ref(), None);
            i.queue = QueueRef::from_parts(None, o.queue_name.as_ref());
            K::InteractionOffered(i)
        }
        ZoomEvent::InboundNotConnected(n) | ZoomEvent::OutboundNotConnected(n) => {
            let mut i = zoom_interaction(&n.engagement_id, None, None);
            i.direction = Some(if matches!(e, ZoomEvent::InboundNotConnected(_)) {
                Direction::Inbound
            } else {
                Direction::Outbound
            });
            K::InteractionNotConnected {
                interaction: i,
                reason: n.reason_code.as_ref().map(|r| r.0.clone()),
                message: n.message.clone(),
            }
        }
        ZoomEvent::EngagementStatusResponse(st) => {
            let conv = |list: &Option<Vec<zoom::EngagementSummary>>| -> Vec<Interaction> {
                list.iter()
                    .flatten()
                    .map(|x| {
                        let channel = x.channel.as_deref().and_then(Channel::from_zoom);
                        let mut i = Interaction::with_id(x.engagement_id.text_str(), channel);
                        i.direction = x.engagement_direction.as_deref().and_then(Direction::parse);
                        i.from =
                            Party::from_parts(x.from.as_ref().or(x.customer_email.as_ref()), None);
                        i.to = Party::from_parts(x.to.as_ref(), None);
                        i
                    })
                    .collect()
            };
            K::InteractionsListed {
                active: conv(&st.active),
                wrap_up: conv(&st.wrapup),
            }
        }
        ZoomEvent::AgentStatusNotification(n) => K::AgentStatusChanged {
            status: match n.sub_reason.as_ref() {
                Some(_) => AgentStatus::NotReady(Some(n.status_code.text_str())),
                None => zoom_status(n.status_code.as_str(), n.status.as_deref()),
            },
            label: n.sub_reason.clone().or_else(|| n.status.clone()),
        },
        ZoomEvent::Error(err) => K::Error {
            code: err.code.clone(),
            message: err.message.clone(),
        },
        ZoomEvent::EngagementLogUrl(_) | ZoomEvent::GetVariablesResponse(_) => return None,
        ZoomEvent::Unknown(u) => K::Unknown {
            wire_type: Str::new(u.kind()),
        },
    })
}

fn zoom_completion(log: &zoom::PhoneCallLog) -> Box<Completion> {
    let r = &log.object_record;
    // Built in its box: see `Interaction::boxed`.
    let mut out = Box::<Completion>::default();
    let i = &mut out.interaction;
    i.id = log.engagement_id.as_ref().map(|e| e.text_str());
    i.channel = match r.kind.as_deref() {
        Some("chat") => Some(Channel::Chat),
        Some("sms") => Some(Channel::Sms),
        Some("video") => Some(Channel::Video),
        Some("phone") | None => Some(Channel::Voice),
        Some(other) => Channel::from_zoom(other),
    };
    i.direction = r.call_type.as_deref().and_then(Direction::parse);
    i.from = Party::from_parts(r.from.as_ref(), None);
    i.to = Party::from_parts(r.to.as_ref(), None);
    i.queue = QueueRef::from_parts(None, r.call_queue.as_ref());
    if r.agent_name.as_deref().is_some_and(|n| !n.is_empty()) {
        i.agent = Some(AgentRef {
            name: r.agent_name.clone(),
            ..AgentRef::default()
        });
    }
    out.started = r
        .call_start_time
        .as_ref()
        .and_then(crate::types::IsoTime::at)
        .map(EventTime::Instant);
    out.answered = Some(out.started.is_some());
    out.ended = r
        .call_end_time
        .as_ref()
        .and_then(crate::types::IsoTime::at)
        .map(EventTime::Instant);
    out.duration_seconds = r
        .call_duration
        .as_ref()
        .and_then(crate::types::ClockDuration::seconds);
    out.disposition = r
        .disposition_code
        .clone()
        .filter(|d| !d.is_empty() && d != "-");
    out.notes = r.notes.clone().unwrap_or_default();
    out.contact_id = log
        .user
        .as_ref()
        .and_then(|u| u.id.as_ref())
        .map(|id| id.text_str());
    out
}

fn talk_event(e: &TalkEvent) -> Option<EventKind> {
    use EventKind as K;
    let num = |n: &NumOrStr| Party::address(n.as_str());
    Some(match e {
        TalkEvent::Login(l) => K::AgentLoggedIn {
            agent: None,
            language: l.language.clone(),
            vendor_origin: l.origin.clone(),
        },
        TalkEvent::Logout(_) => K::AgentLoggedOut,
        TalkEvent::Call(c) => {
            let direction = c.direction.as_deref().and_then(Direction::parse);
            let mut i = Box::<Interaction>::default();
            i.id = c.id.as_ref().map(|id| id.text_str());
            i.channel = Some(Channel::Voice);
            i.direction = direction;
            i.at = c.ring_start.as_ref().map(|t| EventTime::Local(t.at()));
            // The number is the other party: the caller inbound, the callee outbound.
            if direction == Some(Direction::Outbound) {
                i.to = Some(num(&c.number));
            } else {
                i.from = Some(num(&c.number));
            }
            K::InteractionOffered(i)
        }
        TalkEvent::Connected(c) => K::InteractionConnected(Interaction::boxed_at(
            Some(Channel::Voice),
            c.call_start.as_ref().map(|t| EventTime::Local(t.at())),
        )),
        TalkEvent::Disconnected(d) => K::InteractionEnded(Interaction::boxed_at(
            Some(Channel::Voice),
            d.call_end.as_ref().map(|t| EventTime::Local(t.at())),
        )),
        TalkEvent::Completed(c) => {
            let call = &c.call;
            let local =
                |t: &Option<crate::types::TalkTime>| t.as_ref().map(|t| EventTime::Local(t.at()));
            // Built in its box: see `Interaction::boxed`.
            let mut out = Box::<Completion>::default();
            let i = &mut out.interaction;
            i.id = call.id.as_ref().map(|id| id.text_str());
            i.channel = Some(Channel::Voice);
            i.direction = call.direction.as_deref().and_then(Direction::parse);
            i.from = call.from.as_ref().map(num);
            i.to = call.to.as_ref().map(num);
            i.at = local(&call.call_end);
            out.answered = call.answered;
            out.started = local(&call.talk_start).or_else(|| local(&call.call_start));
            out.ended = local(&call.call_end);
            out.duration_seconds = call.duration.as_ref().and_then(serde_json::Number::as_u64);
            out.disposition = call
                .reason
                .as_ref()
                .and_then(|r| r.logical_name.clone().or_else(|| r.name.clone()));
            out.notes = call
                .comment
                .iter()
                .filter(|c| !c.is_empty())
                .cloned()
                .collect();
            out.recording_url = call.record_url.clone();
            K::InteractionCompleted(out)
        }
        TalkEvent::Sms(m) => K::MessageSent {
            interaction_id: m.call_id.as_ref().map(|id| id.text_str()),
            text: m.sms.clone(),
        },
        TalkEvent::Error(err) => K::Error {
            code: None,
            message: err.message.clone(),
        },
        TalkEvent::Jwt(_) => K::TokenIssued,
        TalkEvent::Unknown(u) => K::Unknown {
            wire_type: Str::new(u.action()),
        },
    })
}

fn ccai_agent(
    id: Option<&crate::types::AgentId>,
    custom: Option<&Str>,
    email: Option<&Str>,
) -> Option<AgentRef> {
    let a = AgentRef {
        id: id.map(|i| i.text_str()),
        custom_id: custom.cloned(),
        email: email.cloned(),
        name: None,
    };
    (a.id.is_some() || a.custom_id.is_some() || a.email.is_some()).then_some(a)
}

fn ccai_chat(c: &ccai::ChatEvent) -> Box<Interaction> {
    let words = c.session_type.as_deref().map(session_words);
    let sms = words.is_some_and(|w| w.sms);
    let mut i = Interaction::boxed(
        c.chat_id.text_str(),
        Some(if sms { Channel::Sms } else { Channel::Chat }),
    );
    i.direction = words.and_then(SessionWords::direction);
    i.queue = QueueRef::from_parts(
        c.queue_id.as_ref().map(|q| q.text_ref()),
        c.queue_path.as_ref(),
    );
    i.agent = ccai_agent(
        c.agent_id.as_ref(),
        c.agent_custom_id.as_ref(),
        c.agent_email.as_ref(),
    );
    i.session_type = c.session_type.clone();
    i
}

fn ccai_call(c: &ccai::CallEvent) -> Box<Interaction> {
    let mut i = Interaction::boxed(c.call_id.text_str(), Some(Channel::Voice));
    i.direction = c
        .session_type
        .as_deref()
        .map(session_words)
        .and_then(SessionWords::direction);
    i.queue = QueueRef::from_parts(
        c.queue_id.as_ref().map(|q| q.text_ref()),
        c.queue_path.as_ref(),
    );
    i.agent = ccai_agent(
        Some(&c.agent_id),
        c.agent_custom_id.as_ref(),
        c.agent_email.as_ref(),
    );
    i.session_type = c.session_type.clone();
    i
}

/// The words of a CCAI session type ("Voice Campaign (UJET)", "Messaging
/// Inbound (Web Chat)") that decide its channel and direction, found in
/// any case anywhere in the text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SessionWords {
    /// Names SMS.
    sms: bool,
    /// Names an outbound kind: `outbound`, `campaign`.
    outbound: bool,
    /// Names an inbound kind: `inbound`, `callback`, `scheduled`.
    inbound: bool,
}

impl SessionWords {
    /// Outbound words win over inbound ones.
    fn direction(self) -> Option<Direction> {
        if self.outbound {
            Some(Direction::Outbound)
        } else if self.inbound {
            Some(Direction::Inbound)
        } else {
            None
        }
    }
}

/// Reads a session type in one pass. Every word starts with `s`, `o`, `c`
/// or `i`, so only those bytes start a comparison; this runs on every CCAI
/// call and chat event, where five separate searches cost more than the
/// rest of the normalisation.
fn session_words(session_type: &str) -> SessionWords {
    const SMS: u8 = 1;
    const OUT: u8 = 2;
    const IN: u8 = 4;
    const S: &[(&[u8], u8)] = &[(b"sms", SMS), (b"scheduled", IN)];
    const O: &[(&[u8], u8)] = &[(b"outbound", OUT)];
    const C: &[(&[u8], u8)] = &[(b"campaign", OUT), (b"callback", IN)];
    const I: &[(&[u8], u8)] = &[(b"inbound", IN)];
    let bytes = session_type.as_bytes();
    let mut found = 0;
    for (at, &b) in bytes.iter().enumerate() {
        // `| 0x20` folds exactly the ASCII capitals onto these letters.
        let words = match b | 0x20 {
            b's' => S,
            b'o' => O,
            b'c' => C,
            b'i' => I,
            _ => continue,
        };
        let rest = bytes.get(at..).unwrap_or_default();
        for &(word, flag) in words {
            // The words are lower-case letters, so `| 0x20` is the
            // case-insensitive comparison, without `eq_ignore_ascii_case`'s
            // set-up for long slices.
            if rest.len() >= word.len() && rest.iter().zip(word).all(|(r, w)| r | 0x20 == *w) {
                found |= flag;
            }
        }
    }
    SessionWords {
        sms: found & SMS != 0,
        outbound: found & OUT != 0,
        inbound: found & IN != 0,
    }
}

fn ccai_event(e: &AdapterEvent) -> Option<EventKind> {
    use EventKind as K;
    let cobrowse = |c: &ccai::CobrowseEvent, change: &'static str| {
        let (id, channel) = match (&c.call_id, &c.chat_id) {
            (Some(call), _) => (Some(call.text_str()), Some(Channel::Voice)),
            (None, Some(chat)) => (Some(chat.text_str()), Some(Channel::Chat)),
            (None, None) => (None, None),
        };
        let mut interaction = Box::<Interaction>::default();
        interaction.id = id;
        interaction.channel = channel;
        interaction.agent = ccai_agent(c.agent_id.as_ref(), None, None);
        K::Cobrowse {
            interaction,
            change: Box::new(CobrowseChange {
                session_id: c.cobrowse_session_id.clone(),
                change: Str::new_static(change),
                remote_control: c.remote_control.as_ref().map(|s| s.as_str().into()),
                full_device: c.full_device.as_ref().map(|s| s.as_str().into()),
            }),
        }
    };
    Some(match e {
        AdapterEvent::AgentLogin(l) => K::AgentLoggedIn {
            agent: ccai_agent(
                Some(&l.agent_id),
                l.agent_custom_id.as_ref(),
                l.agent_email.as_ref(),
            )
            .map(Box::new),
            language: None,
            vendor_origin: None,
        },
        AdapterEvent::NewCall(c) => K::InteractionConnected(ccai_call(c)),
        AdapterEvent::EndCall(c) => K::InteractionEnded(ccai_call(c)),
        AdapterEvent::NewChat(c) => K::InteractionConnected(ccai_chat(c)),
        AdapterEvent::ActiveChat(c) => K::InteractionActivated(ccai_chat(c)),
        AdapterEvent::EndChat(c) => K::InteractionEnded(ccai_chat(c)),
        AdapterEvent::DismissedChat(c) => K::InteractionDismissed(ccai_chat(c)),
        AdapterEvent::CobrowseStarted(c) => cobrowse(c, "started"),
        AdapterEvent::CobrowseRemoteControlChanged(c) => cobrowse(c, "remote_control_changed"),
        AdapterEvent::CobrowseFullDeviceChanged(c) => cobrowse(c, "full_device_changed"),
        AdapterEvent::CobrowseEnded(c) => cobrowse(c, "ended"),
        AdapterEvent::AgentAssistStarted(a) => {
            let mut interaction = Box::<Interaction>::default();
            interaction.id = a.session_id.as_ref().map(|s| s.text_str());
            interaction.queue =
                QueueRef::from_parts(a.queue_id.as_ref().map(|q| q.text_ref()), None);
            interaction.agent = ccai_agent(a.agent_id.as_ref(), None, None);
            K::AssistantJoined {
                interaction,
                conversation_id: a.conversation_id.as_ref().map(|c| c.text_str()),
                name: Some(Str::new_static("Agent Assist")),
            }
        }
        AdapterEvent::CrmRecordPop(p) => K::ScreenPop(ScreenPopTarget::Url(p.record_url.clone())),
        AdapterEvent::TaskVaJoined(v) => {
            let (id, channel) = match (&v.call_id, &v.chat_id) {
                (Some(call), _) => (Some(call.text_str()), Some(Channel::Voice)),
                (None, Some(chat)) => (Some(chat.text_str()), Some(Channel::Chat)),
                (None, None) => (v.session_id.as_ref().map(|s| s.text_str()), None),
            };
            let mut interaction = Box::<Interaction>::default();
            interaction.id = id;
            interaction.channel = channel;
            interaction.queue = QueueRef::from_parts(
                v.queue_id.as_ref().map(|q| q.text_ref()),
                v.queue_path.as_ref(),
            );
            interaction.session_type = v.session_type.clone();
            K::AssistantJoined {
                interaction,
                conversation_id: v.conversation_id.as_ref().map(|c| c.text_str()),
                name: v.virtual_agent_name.clone(),
            }
        }
        AdapterEvent::Unknown(u) => K::Unknown {
            wire_type: Str::new(u.kind()),
        },
    })
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

    fn to_zoom(&self) -> zoom::Contact {
        zoom::Contact::new(self.id.as_str(), self.name.as_str())
            .phone(self.phone.clone())
            .email(self.email.clone())
            .entity(self.entity.clone())
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

    fn zoom(&self) -> zoom::EngagementControl {
        zoom::EngagementControl::default()
            .engagement_id(self.id.as_deref().map(Into::into))
            .channel_type(self.channel.map(|c| Str::new_static(c.zoom_name())))
            .request_id(self.request_id.clone())
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

/// A command in a vendor's dialect, ready to post.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum VendorCommand {
    /// Zoom.
    Zoom(ZoomCommand),
    /// LeadDesk.
    LeadDesk(TalkCommand),
}

impl VendorCommand {
    /// The message as a JSON value, ready for `postMessage`.
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Self::Zoom(c) => c.to_value(),
            Self::LeadDesk(c) => c.to_value(),
        }
    }

    /// The message as JSON text.
    #[must_use]
    pub fn encode(&self) -> String {
        match self {
            Self::Zoom(c) => c.encode(),
            Self::LeadDesk(c) => c.encode(),
        }
    }
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
    /// (hold, mute): build a [`ZoomCommand`] by hand for those.
    pub fn render(&self, vendor: Vendor) -> crate::Result<VendorCommand> {
        match vendor {
            Vendor::Zoom => self.render_zoom().map(VendorCommand::Zoom),
            Vendor::LeadDesk => self.render_leaddesk().map(VendorCommand::LeadDesk),
            _ => Err(self.unsupported(vendor, "this vendor's frame accepts no commands")),
        }
    }

    fn unsupported(&self, vendor: Vendor, why: &str) -> Error {
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "`{}` is not supported by {}: {why}",
                self.name(),
                vendor.name()
            ),
        )
    }

    fn render_zoom(&self) -> crate::Result<ZoomCommand> {
        Ok(match self {
            Self::Dial {
                number, contact, ..
            } => {
                let mut c = zoom::ClickToDial::default().phone(number.clone());
                if let Some(contact) = contact {
                    c = c
                        .id(Some(contact.id.as_str().into()))
                        .name(contact.name.clone())
                        .email(contact.email.clone())
                        .user_entity(contact.entity.clone());
                }
                ZoomCommand::ClickToDial(Box::new(c))
            }
            Self::Answer { target } => ZoomCommand::AcceptEngagement(Box::new(target.zoom())),
            Self::Reject { target } => ZoomCommand::RejectEngagement(Box::new(target.zoom())),
            Self::HangUp { target } => ZoomCommand::TerminateEngagement(Box::new(target.zoom())),
            Self::SetDisposition {
                target,
                disposition,
            } => ZoomCommand::SetEngagementDisposition(Box::new(
                target.zoom().disposition_id(disposition.clone()),
            )),
            Self::CompleteWrapUp { target } => {
                ZoomCommand::CloseEngagementWrapup(Box::new(target.zoom()))
            }
            Self::SetAgentStatus { status } => {
                let code = match status {
                    AgentStatus::Available => "1",
                    AgentStatus::Busy => "3",
                    AgentStatus::Offline => "30",
                    AgentStatus::NotReady(Some(code)) | AgentStatus::Other(code) => code.as_str(),
                    AgentStatus::NotReady(None) => "2",
                    AgentStatus::WrapUp => {
                        return Err(self.unsupported(
                            Vendor::Zoom,
                            "wrap-up is not an agent status Zoom accepts",
                        ));
                    }
                };
                ZoomCommand::AgentStatusSetRequest(Box::new(
                    zoom::SetAgentStatus::default().id(NumOrStr::text(code)),
                ))
            }
            Self::AnswerLookup { reply_to, contacts } => {
                let list: Vec<zoom::Contact> = contacts.iter().map(CrmContact::to_zoom).collect();
                match reply_to {
                    ReplyKind::Search => ZoomCommand::ContactSearchResponse(Box::new(
                        zoom::ContactMatches::list(list),
                    )),
                    ReplyKind::IncomingPhone => ZoomCommand::IncomingPhoneResponse(Box::new(
                        zoom::ContactMatches::list(list),
                    )),
                    ReplyKind::IncomingEmail => ZoomCommand::IncomingEmailResponse(Box::new(
                        zoom::ContactMatches::list(list),
                    )),
                }
            }
            Self::Configure {
                screen_pop_on,
                recording_urls,
                ..
            } => {
                let mut phone =
                    zoom::ChannelConfig::default().screen_pop_event(screen_pop_on.clone());
                if let Some(on) = recording_urls {
                    phone = phone.call_log_configs(
                        zoom::CallLogConfigs::default().auto_update_call_url(*on),
                    );
                }
                ZoomCommand::InitConfigResponse(Box::new(zoom::InitConfig::default().phone(phone)))
            }
            Self::ListInteractions { request_id } => ZoomCommand::EngagementStatusRequest(
                Box::new(zoom::StatusRequest::default().request_id(request_id.clone())),
            ),
            Self::Hold { .. } | Self::Mute { .. } => {
                return Err(
                    self.unsupported(Vendor::Zoom, "Zoom does not publish this message's payload")
                );
            }
            Self::SetMetadata { .. } | Self::RequestToken | Self::Reset => {
                return Err(self.unsupported(Vendor::Zoom, "Smart Embed has no such message"));
            }
        })
    }

    fn render_leaddesk(&self) -> crate::Result<TalkCommand> {
        Ok(match self {
            Self::Dial {
                number,
                immediately,
                ..
            } => TalkCommand::Call(Box::new(
                leaddesk::Dial::default()
                    .number(NumOrStr::text(number.as_str()))
                    .autocall(*immediately),
            )),
            Self::Answer { .. } => TalkCommand::Answer(Box::default()),
            Self::HangUp { .. } | Self::Reject { .. } => TalkCommand::Hangup(Box::default()),
            Self::SetAgentStatus { status } => TalkCommand::SetStatus(Box::new(
                leaddesk::SetStatus::default().enabled(matches!(status, AgentStatus::Available)),
            )),
            Self::Configure {
                prevent_manual_dialing: Some(prevent),
                ..
            } => TalkCommand::UseSettings(Box::new(
                leaddesk::UseSettings::default().prevent_manual_calling(*prevent),
            )),
            Self::SetMetadata { metadata } => TalkCommand::SetMetadata(Box::new(
                leaddesk::SetMetadata::default().metadata(metadata.clone()),
            )),
            Self::RequestToken => TalkCommand::GetJwt(Box::default()),
            Self::Reset => TalkCommand::Reset(Box::default()),
            _ => return Err(self.unsupported(Vendor::LeadDesk, "Talk has no such message")),
        })
    }
}

/// Decodes a CCAI message (object or JSON string).
pub(crate) fn decode_ccai(json: &str) -> crate::Result<VendorMessage> {
    ccai::decode_with_form(json).map(|(e, f)| VendorMessage::Ccai(e, f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn events_stay_small_to_move() {
        // An unboxed interaction made every event 528 bytes, copied several
        // times between decode and the caller; at this size a move is a
        // few register copies. Keep the boxes.
        assert!(std::mem::size_of::<EventKind>() <= 64);
        assert!(std::mem::size_of::<CtiEvent>() <= 104);
    }

    // The readers above avoid allocating; these are the plain forms they
    // must agree with.
    fn channel_reference(text: &str) -> Option<Channel> {
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

    fn direction_reference(text: &str) -> Option<Direction> {
        match text.to_ascii_lowercase().replace(['_', '-'], "").as_str() {
            "inbound" | "in" => Some(Direction::Inbound),
            "outbound" | "out" => Some(Direction::Outbound),
            _ => None,
        }
    }

    fn session_reference(t: &str) -> (bool, Option<Direction>) {
        let t = t.to_ascii_lowercase();
        let dir = if t.contains("outbound") || t.contains("campaign") {
            Some(Direction::Outbound)
        } else if t.contains("inbound") || t.contains("callback") || t.contains("scheduled") {
            Some(Direction::Inbound)
        } else {
            None
        };
        (t.contains("sms"), dir)
    }

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
        let dir = |t| session_words(t).direction();
        assert_eq!(dir("Voice Campaign (UJET)"), Some(Direction::Outbound));
        assert_eq!(dir("SMS Inbound"), Some(Direction::Inbound));
        assert_eq!(
            dir("Inbound callback, then outbound"),
            Some(Direction::Outbound)
        );
        assert_eq!(dir("Messaging (Web Chat)"), None);
        assert!(session_words("Chat via SmS").sms);
        assert!(!session_words("sm").sms);
        assert_eq!(session_words(""), SessionWords::default());
    }

    proptest! {
        #[test]
        fn allocation_free_readers_agree_with_plain_ones(text in "[-_ a-zA-ZÉé]{0,14}") {
            prop_assert_eq!(Direction::parse(&text), direction_reference(&text));
            let (sms, dir) = session_reference(&text);
            let words = session_words(&text);
            prop_assert_eq!(words.sms, sms);
            prop_assert_eq!(words.direction(), dir);
        }

        #[test]
        fn channel_names_agree_with_plain_comparisons(
            name in prop::sample::select(vec![
                "voice", "phone", "call", "video", "live_video", "chat", "webchat",
                "web_chat", "sms", "email", "work_item", "workitem", "fax", "", "live_video_",
                "smsx", "é", "vOiCe\u{0}",
            ]),
            upper in prop::collection::vec(any::<bool>(), 12),
        ) {
            let text: String = name
                .chars()
                .zip(upper.iter().cycle())
                .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                .collect();
            prop_assert_eq!(Channel::from_zoom(&text), channel_reference(&text), "{}", text);
        }

        #[test]
        fn channel_names_agree_on_any_text(text in "\\PC{0,12}") {
            prop_assert_eq!(Channel::from_zoom(&text), channel_reference(&text));
        }

        #[test]
        fn session_words_agree_with_plain_searches(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    "sms", "SmS", "sm", "scheduled", "SCHEDULE", "outbound", "OutBound",
                    "outboun", "campaign", "Campaig", "callback", "CALLBACK", "inbound",
                    "InBound", "inboun", " ", "(", "Voice", "chat", "s", "o", "c", "i", "é",
                ]),
                0..8,
            ),
        ) {
            // Words, near-words and their overlaps ("smsms", "inboundoutbound").
            let text = parts.concat();
            let (sms, dir) = session_reference(&text);
            let words = session_words(&text);
            prop_assert_eq!(words.sms, sms, "{}", text);
            prop_assert_eq!(words.direction(), dir, "{}", text);
        }

        #[test]
        fn direction_words_in_any_case_and_spelling(
            word in prop::sample::select(vec!["inbound", "in", "outbound", "out", "bound", "inn"]),
            upper in prop::collection::vec(any::<bool>(), 8),
            sep in prop::sample::select(vec!["", "_", "-", "__"]),
        ) {
            let mut text: String = word
                .chars()
                .zip(upper.iter().cycle())
                .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                .collect();
            if text.len() > 2 {
                text.insert_str(2, sep);
            }
            prop_assert_eq!(Direction::parse(&text), direction_reference(&text));
        }
    }
}
