//! LeadDesk Talk: the `action`-tagged postMessage dialect.
//!
//! Talk posts plain objects whose `action` member names the message, with
//! the fields beside it: [`TalkEvent`]. The host page posts the same form
//! back: [`TalkCommand`], to the origin Talk announced in its `login`
//! message (never to `'*'`).
//!
//! Quirks handled here: `number` arrives as a JSON number or a string
//! ([`NumOrStr`] keeps which); times use `yyyy-mm-dd hh:mm:ss` and the
//! documented typo `yyyy mm-dd hh:mm:ss` ([`TalkTime`] parses both and
//! re-encodes the original text); most fields of `completed` may be `null`.
//! A time that cannot be read (Talk sends `""` for a call that never
//! rang or ended) does not fail the message: the field is left out and
//! named in [`VendorMessage::unreadable`].
//!
//! # Examples
//!
//! ```
//! use cti_protocol::leaddesk::{self, TalkEvent, TalkMessage};
//! use cti_protocol::message::Body;
//!
//! let msg = leaddesk::decode(
//!     r#"{"action":"call","id":123,"number":358401234567,"direction":"in","ringStart":"2024-03-05 14:07:09"}"#,
//! )?;
//! let Body::LeadDesk(TalkMessage::Event(TalkEvent::Call(call))) = msg.body() else { unreachable!() };
//! assert_eq!(call.number.as_str(), "358401234567");
//! assert!(call.number.is_number());
//! assert_eq!(call.ring_start.as_ref().map(|t| t.at().hour()), Some(14));
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use crate::types::Str;
use crate::types::{NumOrStr, SecretText, TalkCallId, TalkTime};
use serde::{Deserialize, Serialize};

use crate::dialect::{Dialect, Softphone, address, customer, posted};
use crate::message::{Body, Catalogue, Layout, VendorMessage, WireForm, decode_typed};
use crate::model::{
    AgentStatus, Channel, Command, Completion, Direction, EventKind, EventTime, Interaction, Party,
};

/// `login`: the agent logged in. `origin` is where commands must be
/// posted from now on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Login {
    /// The agent's language code (`"en"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<Str>,
    /// Talk's origin, the target origin for every command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Str>,
}

/// A message with no fields of its own (`logout`, `answer`, …).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NoFields {}

/// `call` (from Talk): a new call is ringing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RingingCall {
    /// Talk's call id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<TalkCallId>,
    /// The other party's number (a JSON number or string).
    pub number: NumOrStr,
    /// `"in"` or `"out"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Str>,
    /// When ringing started.
    #[serde(rename = "ringStart", skip_serializing_if = "Option::is_none")]
    pub ring_start: Option<TalkTime>,
}

impl RingingCall {
    /// A value with its required `number`; everything else absent.
    #[must_use]
    pub fn new(number: impl Into<NumOrStr>) -> Self {
        Self {
            number: number.into(),
            ..Self::default()
        }
    }
}

/// `connected`: the call was answered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Connected {
    /// When talking started.
    #[serde(rename = "callStart", skip_serializing_if = "Option::is_none")]
    pub call_start: Option<TalkTime>,
}

/// `disconnected`: the call was hung up. Without a prior `connected`
/// it was never answered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Disconnected {
    /// When the call ended.
    #[serde(rename = "callEnd", skip_serializing_if = "Option::is_none")]
    pub call_end: Option<TalkTime>,
    /// The recording's URL, when there is one.
    #[serde(rename = "recordUrl", skip_serializing_if = "Option::is_none")]
    pub record_url: Option<Str>,
}

/// The reason the agent chose when finishing a call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EndReason {
    /// The reason's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
    /// The reason's logical name.
    #[serde(rename = "logicalName", skip_serializing_if = "Option::is_none")]
    pub logical_name: Option<Str>,
}

/// The call of a `completed` message. Every field but `id`,
/// `direction` and `answered` may be `null`, and Talk writes absent
/// values as `null`, so this type does too.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CompletedCall {
    /// Talk's call id.
    pub id: Option<TalkCallId>,
    /// `"in"` or `"out"`.
    pub direction: Option<Str>,
    /// The called number.
    pub to: Option<NumOrStr>,
    /// The calling number.
    pub from: Option<NumOrStr>,
    /// Whether the call was answered.
    pub answered: Option<bool>,
    /// When the call started.
    #[serde(rename = "callStart")]
    pub call_start: Option<TalkTime>,
    /// When talking started.
    #[serde(rename = "talkStart")]
    pub talk_start: Option<TalkTime>,
    /// When the call ended.
    #[serde(rename = "callEnd")]
    pub call_end: Option<TalkTime>,
    /// The call's length in seconds.
    pub duration: Option<serde_json::Number>,
    /// The agent's comment.
    pub comment: Option<Str>,
    /// The recording's URL.
    #[serde(rename = "recordUrl")]
    pub record_url: Option<Str>,
    /// The reason the agent chose.
    pub reason: Option<EndReason>,
}

/// `completed`: post-call handling is done; the call is final.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Completed {
    /// The finished call.
    pub call: CompletedCall,
}

impl Completed {
    /// A value with its required `call`; everything else absent.
    #[must_use]
    pub fn new(call: CompletedCall) -> Self {
        Self {
            call,
            ..Self::default()
        }
    }
}

/// `sms`: the agent sent a text message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SmsSent {
    /// The message text.
    pub sms: Str,
    /// The call it relates to, if any.
    #[serde(rename = "callId", skip_serializing_if = "Option::is_none")]
    pub call_id: Option<TalkCallId>,
}

impl SmsSent {
    /// A value with its required `sms`; everything else absent.
    #[must_use]
    pub fn new(sms: impl Into<Str>) -> Self {
        Self {
            sms: sms.into(),
            ..Self::default()
        }
    }
}

/// `error`: a command failed. Talk does not acknowledge commands, so
/// this is the only failure signal.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TalkError {
    /// `"general"` or `"unknown error"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Str>,
}

/// `jwt`: a token signed for the audience `cti`. It never shows in
/// `Debug` output.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Jwt {
    /// The token.
    pub jwt: SecretText,
}

impl Jwt {
    /// A value with its required `jwt`; everything else absent.
    #[must_use]
    pub fn new(jwt: impl Into<SecretText>) -> Self {
        Self {
            jwt: jwt.into(),
            ..Self::default()
        }
    }
}

/// A message LeadDesk Talk posts to the host page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum TalkEvent {
    /// The agent logged in.
    #[serde(rename = "login")]
    Login(Box<Login>),
    /// The agent logged out.
    #[serde(rename = "logout")]
    Logout(Box<NoFields>),
    /// A call is ringing.
    #[serde(rename = "call")]
    Call(Box<RingingCall>),
    /// The call was answered.
    #[serde(rename = "connected")]
    Connected(Box<Connected>),
    /// The call was hung up.
    #[serde(rename = "disconnected")]
    Disconnected(Box<Disconnected>),
    /// The call is final.
    #[serde(rename = "completed")]
    Completed(Box<Completed>),
    /// An SMS was sent.
    #[serde(rename = "sms")]
    Sms(Box<SmsSent>),
    /// A command failed.
    #[serde(rename = "error")]
    Error(Box<TalkError>),
    /// A token for the host.
    #[serde(rename = "jwt")]
    Jwt(Box<Jwt>),
}

/// `useSettings`: alter Talk's behaviour (accepted between login and
/// logout only).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UseSettings {
    /// Disable the number field so the agent cannot dial by hand.
    #[serde(
        rename = "preventManualCalling",
        skip_serializing_if = "Option::is_none"
    )]
    pub prevent_manual_calling: Option<bool>,
}

/// `call` (to Talk): fill in a number, and dial it when `autocall`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Dial {
    /// The number to dial.
    pub number: NumOrStr,
    /// Dial at once rather than only filling in the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autocall: Option<bool>,
}

impl Dial {
    /// A value with its required `number`; everything else absent.
    #[must_use]
    pub fn new(number: impl Into<NumOrStr>) -> Self {
        Self {
            number: number.into(),
            ..Self::default()
        }
    }
}

impl Dial {
    /// Dials `number` at once.
    #[must_use]
    pub fn now(number: impl Into<Str>) -> Self {
        Self {
            number: NumOrStr::text(number),
            autocall: Some(true),
        }
    }
}

/// `setStatus`: make the agent (un)available.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SetStatus {
    /// `false` stops the agent receiving or making calls.
    pub enabled: bool,
}

impl SetStatus {
    /// A value with its required `enabled`; everything else absent.
    #[must_use]
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }
}

/// `setMetadata`: contact details for Talk (used to fill in SMS).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SetMetadata {
    /// Any key/value pairs.
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl SetMetadata {
    /// A value with its required `metadata`; everything else absent.
    #[must_use]
    pub fn new(metadata: serde_json::Map<String, serde_json::Value>) -> Self {
        Self {
            metadata,
            ..Self::default()
        }
    }
}

/// A message the host page posts to LeadDesk Talk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum TalkCommand {
    /// Alter Talk's behaviour.
    #[serde(rename = "useSettings")]
    UseSettings(Box<UseSettings>),
    /// Dial or fill in a number.
    #[serde(rename = "call")]
    Call(Box<Dial>),
    /// Answer the ringing call.
    #[serde(rename = "answer")]
    Answer(Box<NoFields>),
    /// Hang up.
    #[serde(rename = "hangup")]
    Hangup(Box<NoFields>),
    /// Back to the default state.
    #[serde(rename = "reset")]
    Reset(Box<NoFields>),
    /// Make the agent (un)available.
    #[serde(rename = "setStatus")]
    SetStatus(Box<SetStatus>),
    /// Hand Talk contact details.
    #[serde(rename = "setMetadata")]
    SetMetadata(Box<SetMetadata>),
    /// Ask for a `jwt` message.
    #[serde(rename = "getJwt")]
    GetJwt(Box<NoFields>),
}

/// A LeadDesk message in either direction.
///
/// `call` exists in both directions; it decodes as the event (what Talk
/// posts), because that is what a host page receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum TalkMessage {
    /// Talk → host.
    Event(TalkEvent),
    /// Host → Talk.
    Command(TalkCommand),
}

/// The layout of every Talk message.
const LAYOUT: Layout = Layout::Flat("action");

static EVENTS: Catalogue = Catalogue::new();
static COMMANDS: Catalogue = Catalogue::new();

impl TalkEvent {
    /// Every `action` Talk posts that this version models.
    #[must_use]
    pub fn known_types() -> &'static [&'static str] {
        EVENTS.get::<Self>("action")
    }
}

impl TalkCommand {
    /// Every `action` the host posts that this version models.
    #[must_use]
    pub fn known_types() -> &'static [&'static str] {
        COMMANDS.get::<Self>("action")
    }
}

/// Decodes one Talk message of either direction. Actions of neither
/// catalogue decode as [`Body::Unknown`].
///
/// # Errors
///
/// Only when `json` is not JSON, not an object, or has no string `action`.
pub fn decode(json: &str) -> crate::Result<VendorMessage> {
    decode_preferring(json, false)
}

/// Decodes a message the host page posted to Talk: `call` reads as the
/// dial command rather than as Talk's ringing event.
///
/// # Errors
///
/// As [`decode`].
pub fn decode_command(json: &str) -> crate::Result<VendorMessage> {
    decode_preferring(json, true)
}

fn decode_preferring(json: &str, command_first: bool) -> crate::Result<VendorMessage> {
    let kind = crate::message::read_tag(LAYOUT, json)?;
    let raw: Box<str> = json.into();
    let event = |json| {
        decode_typed::<TalkEvent>(LAYOUT, TalkEvent::known_types(), &kind, json)
            .map(|o| o.map(|(e, bad)| (Body::LeadDesk(TalkMessage::Event(e)), bad)))
    };
    let command = |json| {
        decode_typed::<TalkCommand>(LAYOUT, TalkCommand::known_types(), &kind, json)
            .map(|o| o.map(|(c, bad)| (Body::LeadDesk(TalkMessage::Command(c)), bad)))
    };
    let found = if command_first {
        match command(json)? {
            Some(c) => Some(c),
            None => event(json)?,
        }
    } else {
        match event(json)? {
            Some(e) => Some(e),
            None => command(json)?,
        }
    };
    let (body, unreadable) = found.unwrap_or((Body::Unknown, Vec::new()));
    Ok(VendorMessage::new(
        crate::Vendor::LeadDesk,
        Str::new(&kind),
        body,
        raw,
        WireForm::Object,
        unreadable,
    ))
}

/// The neutral meaning of a Talk message.
pub(crate) fn normalise(e: &TalkEvent) -> Option<EventKind> {
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
        TalkEvent::Disconnected(d) => {
            let mut i = Interaction::boxed_at(
                Some(Channel::Voice),
                d.call_end.as_ref().map(|t| EventTime::Local(t.at())),
            );
            i.recording_url.clone_from(&d.record_url);
            K::InteractionEnded(i)
        }
        TalkEvent::Completed(c) => {
            let call = &c.call;
            let local = |t: &Option<TalkTime>| t.as_ref().map(|t| EventTime::Local(t.at()));
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
            out.offered = local(&call.call_start);
            out.started = local(&call.talk_start);
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
            request_id: None,
            message: err.message.clone(),
        },
        TalkEvent::Jwt(_) => K::TokenIssued,
    })
}

/// A neutral command as the host posts it to Talk.
pub(crate) fn render_command(command: &Command) -> crate::Result<TalkCommand> {
    type C = Command;
    Ok(match command {
        C::Dial {
            number,
            immediately,
            ..
        } => TalkCommand::Call(Box::new(Dial {
            number: NumOrStr::text(number.as_str()),
            autocall: Some(*immediately),
        })),
        C::Answer { .. } => TalkCommand::Answer(Box::default()),
        C::HangUp { .. } | C::Reject { .. } => TalkCommand::Hangup(Box::default()),
        C::SetAgentStatus { status } => TalkCommand::SetStatus(Box::new(SetStatus {
            enabled: matches!(status, AgentStatus::Available),
        })),
        C::Configure {
            prevent_manual_dialing: Some(prevent),
            ..
        } => TalkCommand::UseSettings(Box::new(UseSettings {
            prevent_manual_calling: Some(*prevent),
        })),
        C::SetMetadata { metadata } => TalkCommand::SetMetadata(Box::new(SetMetadata {
            metadata: metadata.clone(),
        })),
        C::RequestToken => TalkCommand::GetJwt(Box::default()),
        C::Reset => TalkCommand::Reset(Box::default()),
        _ => {
            return Err(command.unsupported(crate::Vendor::LeadDesk, "Talk has no such message"));
        }
    })
}

/// LeadDesk Talk's [`Dialect`].
///
/// | Neutral event | What Talk posts |
/// |---|---|
/// | agent logged in / out | `login` (with Talk's own origin) / `logout` |
/// | offered | `call` |
/// | connected | `connected` |
/// | ended, not connected | `disconnected` (with `recordUrl` when the interaction carries one) |
/// | completed | `completed` |
/// | text message sent | `sms` |
/// | error | `error` |
///
/// Talk is voice only: other channels render nothing. Its times are
/// `yyyy-mm-dd hh:mm:ss` without a zone; instants are written in UTC.
/// Numeric ids and numbers go out as JSON numbers, as Talk sends them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Talk;

impl Dialect for Talk {
    const VENDOR: crate::Vendor = crate::Vendor::LeadDesk;

    fn decode(json: &str) -> crate::Result<VendorMessage> {
        decode(json)
    }

    fn render_events(
        events: &[EventKind],
        _phone: &Softphone,
    ) -> crate::Result<Vec<VendorMessage>> {
        let out: Vec<TalkEvent> = events.iter().filter_map(render_event).collect();
        posted(crate::Vendor::LeadDesk, out)
    }

    fn render_command(command: &Command) -> crate::Result<VendorMessage> {
        let c = render_command(command)?;
        crate::decode(crate::Vendor::LeadDesk, &crate::message::to_text(&c))
    }
}

/// A number or an id: a JSON number when it is all digits.
fn number(text: &str) -> NumOrStr {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<i64>() {
        Ok(n) if digits && (!text.starts_with('0') || text == "0") => NumOrStr::number(n),
        _ => NumOrStr::text(text),
    }
}

fn talk_time(at: Option<&EventTime>) -> Option<TalkTime> {
    match at? {
        EventTime::Local(dt) => Some(TalkTime::from_datetime(*dt)),
        EventTime::Instant(t) => Some(TalkTime::from_datetime(
            t.to_zoned(jiff::tz::TimeZone::UTC).datetime(),
        )),
    }
}

fn direction_word(i: &Interaction) -> Str {
    Str::new_static(if i.direction == Some(Direction::Outbound) {
        "out"
    } else {
        "in"
    })
}

fn voice(i: &Interaction) -> bool {
    matches!(i.channel, None | Some(Channel::Voice))
}

fn render_event(e: &EventKind) -> Option<TalkEvent> {
    use EventKind as K;
    Some(match e {
        K::AgentLoggedIn {
            language,
            vendor_origin,
            ..
        } => TalkEvent::Login(Box::new(Login {
            language: language.clone(),
            origin: vendor_origin.clone(),
        })),
        K::AgentLoggedOut => TalkEvent::Logout(Box::default()),
        K::InteractionOffered(i) if voice(i) => TalkEvent::Call(Box::new(RingingCall {
            id: i.id.as_deref().map(|id| TalkCallId(number(id))),
            number: number(address(customer(i)).unwrap_or_default()),
            direction: Some(direction_word(i)),
            ring_start: talk_time(i.at.as_ref()),
        })),
        K::InteractionConnected(i) if voice(i) => TalkEvent::Connected(Box::new(Connected {
            call_start: talk_time(i.at.as_ref()),
        })),
        K::InteractionEnded(i) | K::InteractionNotConnected { interaction: i, .. } if voice(i) => {
            TalkEvent::Disconnected(Box::new(Disconnected {
                call_end: talk_time(i.at.as_ref()),
                record_url: i.recording_url.clone(),
            }))
        }
        K::InteractionCompleted(c) if voice(&c.interaction) => {
            let i = &c.interaction;
            let other = address(customer(i)).map(number);
            let outbound = i.direction == Some(Direction::Outbound);
            TalkEvent::Completed(Box::new(Completed {
                call: CompletedCall {
                    id: i.id.as_deref().map(|id| TalkCallId(number(id))),
                    direction: Some(direction_word(i)),
                    to: if outbound { other.clone() } else { None },
                    from: if outbound { None } else { other },
                    answered: Some(c.answered.unwrap_or(c.started.is_some())),
                    call_start: talk_time(c.offered.as_ref()),
                    talk_start: talk_time(c.started.as_ref()),
                    call_end: talk_time(c.ended.as_ref()),
                    duration: c.duration_seconds.map(serde_json::Number::from),
                    comment: (!c.notes.is_empty()).then(|| Str::new(c.notes.join("\n"))),
                    record_url: c.recording_url.clone(),
                    reason: c.disposition.as_ref().map(|d| EndReason {
                        name: Some(d.clone()),
                        logical_name: Some(d.clone()),
                    }),
                },
            }))
        }
        K::MessageSent {
            interaction_id,
            text,
        } => TalkEvent::Sms(Box::new(SmsSent {
            sms: text.clone(),
            call_id: interaction_id.as_deref().map(|id| TalkCallId(number(id))),
        })),
        K::Error { message, .. } => TalkEvent::Error(Box::new(TalkError {
            message: message.clone(),
        })),
        _ => return None,
    })
}
