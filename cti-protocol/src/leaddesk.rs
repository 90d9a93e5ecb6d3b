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
//!
//! # Examples
//!
//! ```
//! use cti_protocol::leaddesk::TalkEvent;
//!
//! let msg = TalkEvent::decode(
//!     r#"{"action":"call","id":123,"number":358401234567,"direction":"in","ringStart":"2024-03-05 14:07:09"}"#,
//! )?;
//! let TalkEvent::Call(call) = &msg else { unreachable!() };
//! assert_eq!(call.number.as_str(), "358401234567");
//! assert_eq!(call.ring_start.as_ref().map(|t| t.at().hour()), Some(14));
//! // Re-encoding keeps the number a number.
//! assert_eq!(msg.to_value()["number"], serde_json::json!(358401234567u64));
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use crate::types::Str;
use crate::types::{NumOrStr, SecretText, TalkCallId, TalkTime};
use crate::wire::{ActionEnum, action_enum, wire_struct};

wire_struct! {
    /// `login`: the agent logged in. `origin` is where commands must be
    /// posted from now on.
    pub struct Login {
        /// The agent's language code (`"en"`).
        "language" => language: opt Str,
        /// Talk's origin, the target origin for every command.
        "origin" => origin: opt Str,
    }
}

wire_struct! {
    /// A message with no fields of its own (`logout`, `answer`, …).
    pub struct NoFields {}
}

wire_struct! {
    /// `call` (from Talk): a new call is ringing.
    pub struct RingingCall {
        /// Talk's call id.
        "id" => id: opt TalkCallId,
        /// The other party's number (a JSON number or string).
        "number" => number: req NumOrStr,
        /// `"in"` or `"out"`.
        "direction" => direction: opt Str,
        /// When ringing started.
        "ringStart" => ring_start: opt TalkTime,
    }
}

wire_struct! {
    /// `connected`: the call was answered.
    pub struct Connected {
        /// When talking started.
        "callStart" => call_start: opt TalkTime,
    }
}

wire_struct! {
    /// `disconnected`: the call was hung up. Without a prior `connected`
    /// it was never answered.
    pub struct Disconnected {
        /// When the call ended.
        "callEnd" => call_end: opt TalkTime,
        /// The recording's URL, when there is one.
        "recordUrl" => record_url: opt Str,
    }
}

wire_struct! {
    /// The reason the agent chose when finishing a call.
    pub struct EndReason {
        /// The reason's name.
        "name" => name: opt Str,
        /// The reason's logical name.
        "logicalName" => logical_name: opt Str,
    }
}

wire_struct! {
    /// The call of a `completed` message. Every field but `id`,
    /// `direction` and `answered` may be `null`.
    pub struct CompletedCall {
        /// Talk's call id.
        "id" => id: opt TalkCallId,
        /// `"in"` or `"out"`.
        "direction" => direction: opt Str,
        /// The called number.
        "to" => to: opt NumOrStr,
        /// The calling number.
        "from" => from: opt NumOrStr,
        /// Whether the call was answered.
        "answered" => answered: opt bool,
        /// When the call started.
        "callStart" => call_start: opt TalkTime,
        /// When talking started.
        "talkStart" => talk_start: opt TalkTime,
        /// When the call ended.
        "callEnd" => call_end: opt TalkTime,
        /// The call's length in seconds.
        "duration" => duration: opt serde_json::Number,
        /// The agent's comment.
        "comment" => comment: opt Str,
        /// The recording's URL.
        "recordUrl" => record_url: opt Str,
        /// The reason the agent chose.
        "reason" => reason: opt EndReason,
    }
}

wire_struct! {
    /// `completed`: post-call handling is done; the call is final.
    pub struct Completed {
        /// The finished call.
        "call" => call: req CompletedCall,
    }
}

wire_struct! {
    /// `sms`: the agent sent a text message.
    pub struct SmsSent {
        /// The message text.
        "sms" => sms: req Str,
        /// The call it relates to, if any.
        "callId" => call_id: opt TalkCallId,
    }
}

wire_struct! {
    /// `error`: a command failed. Talk does not acknowledge commands, so
    /// this is the only failure signal.
    pub struct TalkError {
        /// `"general"` or `"unknown error"`.
        "message" => message: opt Str,
    }
}

wire_struct! {
    /// `jwt`: a token signed for the audience `cti`. It never shows in
    /// `Debug` output.
    pub struct Jwt {
        /// The token.
        "jwt" => jwt: req SecretText,
    }
}

action_enum! {
    /// A message LeadDesk Talk posts to the host page.
    pub enum TalkEvent {
        /// The agent logged in.
        "login" => Login(Login),
        /// The agent logged out.
        "logout" => Logout(NoFields),
        /// A call is ringing.
        "call" => Call(RingingCall),
        /// The call was answered.
        "connected" => Connected(Connected),
        /// The call was hung up.
        "disconnected" => Disconnected(Disconnected),
        /// The call is final.
        "completed" => Completed(Completed),
        /// An SMS was sent.
        "sms" => Sms(SmsSent),
        /// A command failed.
        "error" => Error(TalkError),
        /// A token for the host.
        "jwt" => Jwt(Jwt),
    }
}

wire_struct! {
    /// `useSettings`: alter Talk's behaviour (accepted between login and
    /// logout only).
    pub struct UseSettings {
        /// Disable the number field so the agent cannot dial by hand.
        "preventManualCalling" => prevent_manual_calling: opt bool,
    }
}

wire_struct! {
    /// `call` (to Talk): fill in a number, and dial it when `autocall`.
    pub struct Dial {
        /// The number to dial.
        "number" => number: req NumOrStr,
        /// Dial at once rather than only filling in the number.
        "autocall" => autocall: opt bool,
    }
}

impl Dial {
    /// Dials `number` at once.
    #[must_use]
    pub fn now(number: impl Into<Str>) -> Self {
        Self::default()
            .number(NumOrStr::text(number))
            .autocall(true)
    }
}

wire_struct! {
    /// `setStatus`: make the agent (un)available.
    pub struct SetStatus {
        /// `false` stops the agent receiving or making calls.
        "enabled" => enabled: req bool,
    }
}

wire_struct! {
    /// `setMetadata`: contact details for Talk (used to fill in SMS).
    pub struct SetMetadata {
        /// Any key/value pairs.
        "metadata" => metadata: req serde_json::Map<String, serde_json::Value>,
    }
}

action_enum! {
    /// A message the host page posts to LeadDesk Talk.
    pub enum TalkCommand {
        /// Alter Talk's behaviour.
        "useSettings" => UseSettings(UseSettings),
        /// Dial or fill in a number.
        "call" => Call(Dial),
        /// Answer the ringing call.
        "answer" => Answer(NoFields),
        /// Hang up.
        "hangup" => Hangup(NoFields),
        /// Back to the default state.
        "reset" => Reset(NoFields),
        /// Make the agent (un)available.
        "setStatus" => SetStatus(SetStatus),
        /// Hand Talk contact details.
        "setMetadata" => SetMetadata(SetMetadata),
        /// Ask for a `jwt` message.
        "getJwt" => GetJwt(NoFields),
    }
}

/// A LeadDesk message in either direction.
///
/// `call` exists in both directions; it decodes as the event (what Talk
/// posts), because that is what a host page receives.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TalkMessage {
    /// Talk → host.
    Event(TalkEvent),
    /// Host → Talk.
    Command(TalkCommand),
}

impl TalkMessage {
    /// Decodes a message of either direction.
    ///
    /// # Errors
    ///
    /// As [`TalkEvent::decode`].
    pub fn decode(json: &str) -> crate::Result<Self> {
        crate::wire::decode_action(json)
    }

    /// The wire `action` string.
    #[must_use]
    pub fn wire_type(&self) -> &str {
        match self {
            Self::Event(e) => e.wire_type(),
            Self::Command(c) => c.wire_type(),
        }
    }

    /// Encodes the message as a JSON value.
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Self::Event(e) => e.to_value(),
            Self::Command(c) => c.to_value(),
        }
    }
}

impl ActionEnum for TalkMessage {
    fn decode_fields<'de, A: serde::de::MapAccess<'de>>(
        action: &str,
        map: &mut A,
    ) -> Result<Option<Self>, A::Error> {
        Ok(if !TalkEvent::knows(action) && TalkCommand::knows(action) {
            TalkCommand::decode_fields(action, map)?.map(Self::Command)
        } else {
            TalkEvent::decode_fields(action, map)?.map(Self::Event)
        })
    }
    fn fast_fields(
        action: &str,
        s: &mut crate::fast::Scan<'_>,
        members: crate::fast::Members,
    ) -> crate::fast::Fast<Option<Self>> {
        Ok(if !TalkEvent::knows(action) && TalkCommand::knows(action) {
            TalkCommand::fast_fields(action, s, members)?.map(Self::Command)
        } else {
            TalkEvent::fast_fields(action, s, members)?.map(Self::Event)
        })
    }
    fn unknown_action(u: crate::wire::UnknownAction) -> Self {
        Self::Event(TalkEvent::Unknown(Box::new(u)))
    }
    fn decode_tagged(action: &str, json: &str) -> crate::Result<Self> {
        if !TalkEvent::knows(action) && TalkCommand::knows(action) {
            TalkCommand::decode_tagged(action, json).map(Self::Command)
        } else {
            TalkEvent::decode_tagged(action, json).map(Self::Event)
        }
    }
}
