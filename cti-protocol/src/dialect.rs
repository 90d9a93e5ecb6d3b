//! One dialect per vendor, owning both directions: decode what the
//! vendor's frame posts, normalise it into a neutral [`EventKind`], render
//! neutral events as the messages that vendor's softphone would post (in
//! its order), and render neutral [`Command`]s as the message its frame
//! accepts.
//!
//! Everything that speaks a vendor's postMessage dialect (the media
//! engine's renderer, the simulators, the CLI, the demo) goes through
//! [`Dialect`] or the [`Vendor`] methods that dispatch to it; no vendor
//! message is spelt anywhere else.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::dialect::{Dialect, Softphone};
//! use cti_protocol::model::{Channel, Direction, EventKind, Interaction, Party};
//! use cti_protocol::zoom::Zoom;
//!
//! let mut call = Interaction::new("E1", Channel::Voice, Direction::Inbound);
//! call.from = Some(Party::address("+14155550100"));
//! let posted = Zoom::render_events(&[EventKind::InteractionOffered(Box::new(call))], &Softphone::default())?;
//! assert_eq!(posted[0].wire_type(), "zcc-call-ringing");
//! // What the renderer posts decodes back into the same neutral event.
//! let EventKind::InteractionOffered(back) = Zoom::normalise(&posted[0]).unwrap() else { unreachable!() };
//! assert_eq!(back.from, Some(Party::address("+14155550100")));
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use jiff::Timestamp;

use crate::message::VendorMessage;
use crate::model::{
    AgentRef, Command, Direction, EventKind, EventTime, Interaction, Party, QueueRef,
};
use crate::{Error, ErrorKind, Result, Vendor};

/// The softphone that is speaking: its agent and its queue, which the
/// vendors put into messages the neutral event does not carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Softphone {
    /// The agent logged in to the softphone.
    pub agent: AgentRef,
    /// The queue interactions come from, unless the event names one.
    pub queue: Option<QueueRef>,
    /// Write the forms seen in use where they differ from the documented
    /// ones: Zoom's call log with `callDuration` and the times in
    /// milliseconds and a numeric `agentExtension` (PROTOCOLS.md §1: the
    /// Zoom CRM sample's types). For simulators and tests.
    pub observed_forms: bool,
}

impl Softphone {
    /// A softphone for `agent`.
    #[must_use]
    pub fn new(agent: AgentRef) -> Self {
        Self {
            agent,
            queue: None,
            observed_forms: false,
        }
    }

    /// Writes the observed forms (see [`Softphone::observed_forms`]).
    #[must_use]
    pub fn observed_forms(mut self, on: bool) -> Self {
        self.observed_forms = on;
        self
    }

    /// Sets the queue interactions come from.
    #[must_use]
    pub fn queue(mut self, queue: QueueRef) -> Self {
        self.queue = Some(queue);
        self
    }
}

/// A vendor's postMessage dialect, in both directions.
pub trait Dialect {
    /// The vendor.
    const VENDOR: Vendor;

    /// Decodes one message as the frame or the host posted it.
    ///
    /// # Errors
    ///
    /// As [`crate::decode`].
    fn decode(json: &str) -> Result<VendorMessage>;

    /// The neutral meaning of a decoded message, `None` when it has none.
    fn normalise(message: &VendorMessage) -> Option<EventKind> {
        message.event_kind()
    }

    /// What this vendor's softphone posts for these neutral events, oldest
    /// first. Events the vendor has no message for render nothing.
    ///
    /// # Errors
    ///
    /// None in practice: every rendered message is decoded like anything
    /// a frame posts, and an error there is a bug in this crate.
    fn render_events(events: &[EventKind], phone: &Softphone) -> Result<Vec<VendorMessage>>;

    /// The message the host posts into the frame for a neutral command.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] when the vendor has no such message.
    fn render_command(command: &Command) -> Result<VendorMessage>;
}

impl Vendor {
    /// [`Dialect::render_events`] of this vendor.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] for a vendor without a postMessage
    /// dialect (Ameyo, Streem).
    pub fn render_events(
        self,
        events: &[EventKind],
        phone: &Softphone,
    ) -> Result<Vec<VendorMessage>> {
        match self {
            Self::Zoom => crate::zoom::Zoom::render_events(events, phone),
            Self::LeadDesk => crate::leaddesk::Talk::render_events(events, phone),
            Self::Ccai => crate::ccai::Adapter::render_events(events, phone),
            Self::Ameyo | Self::Streem => Err(no_dialect(self)),
        }
    }

    /// [`Dialect::render_command`] of this vendor.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] when the vendor has no such message.
    pub fn render_command(self, command: &Command) -> Result<VendorMessage> {
        match self {
            Self::Zoom => crate::zoom::Zoom::render_command(command),
            Self::LeadDesk => crate::leaddesk::Talk::render_command(command),
            Self::Ccai => crate::ccai::Adapter::render_command(command),
            Self::Ameyo | Self::Streem => Err(no_dialect(self)),
        }
    }
}

/// Whether a vendor's frame takes commands, as a neutral event says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Readiness {
    /// The frame takes commands from now on; for a vendor whose origin
    /// follows its login, posted to `origin`.
    Ready {
        /// The origin commands must be posted to, when the vendor names it.
        origin: Option<crate::types::Str>,
    },
    /// The frame takes no commands until it is ready again.
    NotReady,
}

/// Where a host page may receive a vendor frame's messages from, and post
/// its commands to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginStrategy {
    /// The frame's own origin, from the start (Zoom, CCAI).
    Pinned,
    /// The origin the frame's login names (LeadDesk Talk: its iframe may
    /// start on one login host and run Talk from another, whose `login`
    /// message names it, seed 004): accepted from the frame's window on
    /// an allowed origin, then pinned until logout or reload.
    FromLogin,
}

impl Vendor {
    /// When this vendor's frame takes commands:
    ///
    /// | vendor | ready on | not ready on |
    /// |---|---|---|
    /// | Zoom | the init handshake (`zcc-init-config-request`) | — |
    /// | LeadDesk | `login` (pinning the origin it names) | `logout` |
    /// | CCAI | `Agent_Login` | — |
    ///
    /// `None` for events that change nothing.
    #[must_use]
    pub fn readiness(self, event: &EventKind) -> Option<Readiness> {
        match (self, event) {
            (Self::Zoom, EventKind::ConfigRequested) => Some(Readiness::Ready { origin: None }),
            (Self::LeadDesk, EventKind::AgentLoggedIn { vendor_origin, .. }) => {
                Some(Readiness::Ready {
                    origin: vendor_origin.clone(),
                })
            }
            (Self::LeadDesk, EventKind::AgentLoggedOut) => Some(Readiness::NotReady),
            (Self::Ccai, EventKind::AgentLoggedIn { .. }) => {
                Some(Readiness::Ready { origin: None })
            }
            _ => None,
        }
    }

    /// `true` for a vendor whose frame posts its messages as JSON strings
    /// as well as objects (CCAI's adapter; seed 001's listener parses
    /// `e.data`).
    #[must_use]
    pub fn posts_json_strings(self) -> bool {
        matches!(self, Self::Ccai)
    }

    /// A message of type `kind` that this crate does not know, in this
    /// vendor's layout (`{type, data}` or `{action, …}`): what a frame of
    /// a newer release might post. For simulators and tests.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] for a vendor without a postMessage
    /// dialect.
    pub fn unreleased_message(self, kind: &str) -> Result<VendorMessage> {
        let text = match self {
            Self::Zoom | Self::Ccai => serde_json::json!({"type": kind, "data": {}}),
            Self::LeadDesk => serde_json::json!({"action": kind}),
            _ => return Err(no_dialect(self)),
        };
        crate::decode(self, &text.to_string())
    }

    /// Where this vendor's frame talks from (see [`OriginStrategy`]).
    #[must_use]
    pub fn origin_strategy(self) -> OriginStrategy {
        match self {
            Self::LeadDesk => OriginStrategy::FromLogin,
            _ => OriginStrategy::Pinned,
        }
    }
}

pub(crate) fn no_dialect(vendor: Vendor) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("{vendor} has no postMessage dialect"),
    )
}

/// Encodes typed messages and decodes them as a frame's posts would be.
pub(crate) fn posted<T: serde::Serialize>(
    vendor: Vendor,
    messages: impl IntoIterator<Item = T>,
) -> Result<Vec<VendorMessage>> {
    messages
        .into_iter()
        .map(|m| crate::decode(vendor, &crate::message::to_text(&m)))
        .collect()
}

/// The instant of a vendor time (a local time read as UTC).
pub(crate) fn instant(at: Option<&EventTime>) -> Option<Timestamp> {
    match at? {
        EventTime::Instant(t) => Some(*t),
        EventTime::Local(dt) => dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp()),
    }
}

/// The customer's side of an interaction: the caller inbound, the callee
/// outbound.
pub(crate) fn customer(i: &Interaction) -> Option<&Party> {
    if i.direction == Some(Direction::Outbound) {
        i.to.as_ref()
    } else {
        i.from.as_ref()
    }
}

/// The text of a party's address.
pub(crate) fn address(p: Option<&Party>) -> Option<&str> {
    p.and_then(|p| p.address.as_deref())
}
