//! Zoom Contact Center Smart Embed: the `zcc-*` postMessage dialect.
//!
//! Every message is a `{ "type": "<name>", "data": <payload> }` envelope.
//! [`ZoomEvent`] holds what the softphone iframe posts to the host page;
//! [`ZoomCommand`] holds what the host page posts back into the iframe.
//!
//! # Fidelity
//!
//! [`decode`] keeps the message's exact JSON beside the typed one
//! ([`VendorMessage::raw`]); unknown message types decode as
//! [`Body::Unknown`], and a field of an unexpected type is left out of the
//! typed message and listed in [`VendorMessage::unreadable`] instead of
//! failing the message. Zoom's docs and its bundle disagree on the types
//! of several call-log fields (see `callDuration`, `callStartTime`), so
//! those accept every form seen.
//!
//! # Payloads that are not published
//!
//! Zoom does not publish the payloads of several control messages
//! (`zcc-set-mute`, `zcc-set-hold`, `zcc-send-dtmf`, `zcc-set-recording`,
//! `zcc-transfer-engagement`, `zcc-add-call`, `zcc-cancel-consult`,
//! `zcc-complete-transfer`, `zcc-merge-consult`, `zcc-upgrade-to-video`,
//! `zcc-get-disposition-codes`, `zcc-engagement-log-url`). Those carry an
//! [`Opaque`] payload: any JSON. `zcc-accept-engagement` and
//! `zcc-reject-engagement` are inferred to share the shape of
//! `zcc-terminate-engagement` ([`EngagementControl`]); members this
//! version does not model stay in the raw message.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::message::Body;
//! use cti_protocol::zoom::{self, ZoomEvent, ZoomMessage};
//!
//! let msg = zoom::decode(
//!     r#"{"type":"zcc-incomingPhone-request","data":{"incomingPhoneNumber":"+14155550100","engagementId":"WSgT4SxZT1GD8RgAgkebfg","channel":"voice"}}"#,
//! )?;
//! let Body::Zoom(ZoomMessage::Event(ZoomEvent::IncomingPhoneRequest(req))) = msg.body() else { unreachable!() };
//! assert_eq!(req.incoming_phone_number, "+14155550100");
//! assert_eq!(msg.wire_type(), "zcc-incomingPhone-request");
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use serde_json::Number;

use crate::dialect::{Dialect, Softphone, instant, posted};
use crate::message::{Body, Catalogue, Layout, VendorMessage, WireForm, decode_typed};
use crate::model::{
    AgentRef, AgentStatus, Channel, Command, Completion, ContactLookup, CrmContact, Direction,
    EventKind, EventTime, Interaction, LookupQuery, Party, QueueRef, ReplyKind, ScreenPopTarget,
    Target,
};
use crate::types::Str;
use crate::types::{
    ClockDuration, ContactId, EngagementId, EpochMillis, IsoTime, NumOrStr, QueueId,
};
use jiff::Timestamp;

/// A message without a payload (`zcc-init-config-request`). Members
/// that do arrive stay in the raw message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Empty {}

/// `zcc-resize`: the agent toggled the softphone's size.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Resize {
    /// The new width in CSS pixels.
    #[serde(rename = "widthInPixels", skip_serializing_if = "Option::is_none")]
    pub width_in_pixels: Option<Number>,
    /// The new height in CSS pixels.
    #[serde(rename = "heightInPixels", skip_serializing_if = "Option::is_none")]
    pub height_in_pixels: Option<Number>,
}

/// What `zcc-contact-search-event` asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SearchQuery {
    /// Free text: an E.164 phone number, a name, an address.
    Text(Str),
    /// A structured query; Zoom sends `{ email, type: "email" }` for an
    /// e-mail lookup.
    Structured(StructuredQuery),
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self::Text(Str::default())
    }
}

/// A structured contact query (`{ "email": …, "type": "email" }`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StructuredQuery {
    /// The e-mail address to look up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Str>,
    /// The kind of query (`"email"`).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<Str>,
}

/// `zcc-contact-search-event`: resolve a phone number, name or e-mail
/// against the CRM. Answer with [`ZoomCommand::ContactSearchResponse`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContactSearch {
    /// What to search for.
    pub query: SearchQuery,
}

impl ContactSearch {
    /// A value with its required `query`; everything else absent.
    #[must_use]
    pub fn new(query: SearchQuery) -> Self {
        Self {
            query,
            ..Self::default()
        }
    }
}

/// `zcc-call-ringing`: a call is ringing for the agent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallRinging {
    /// The channel (`"voice"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Str>,
    /// When the engagement was created.
    #[serde(rename = "createTs", skip_serializing_if = "Option::is_none")]
    pub create_ts: Option<EpochMillis>,
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// The caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Str>,
    /// The queue's name.
    #[serde(rename = "queueName", skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<Str>,
    /// The callee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Str>,
    /// The call is a conference leg.
    #[serde(rename = "isConference", skip_serializing_if = "Option::is_none")]
    pub is_conference: Option<bool>,
    /// The call was transferred to the agent.
    #[serde(rename = "isTransfer", skip_serializing_if = "Option::is_none")]
    pub is_transfer: Option<bool>,
}

impl CallRinging {
    /// A value with its required `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-incomingPhone-request`: look up the caller of an incoming call
/// or SMS. Answer with [`ZoomCommand::IncomingPhoneResponse`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IncomingPhoneRequest {
    /// The caller's number, E.164.
    #[serde(rename = "incomingPhoneNumber")]
    pub incoming_phone_number: Str,
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// `"voice"` or `"sms"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Str>,
}

impl IncomingPhoneRequest {
    /// A value with its required `incoming_phone_number`, `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(
        incoming_phone_number: impl Into<Str>,
        engagement_id: impl Into<EngagementId>,
    ) -> Self {
        Self {
            incoming_phone_number: incoming_phone_number.into(),
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-incomingEmail-request`: look up the customer of an incoming
/// chat or video engagement. Answer with
/// [`ZoomCommand::IncomingEmailResponse`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IncomingEmailRequest {
    /// The customer's e-mail address.
    pub email: Str,
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// `"chat"` or `"video"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Str>,
}

impl IncomingEmailRequest {
    /// A value with its required `email`, `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(email: impl Into<Str>, engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            email: email.into(),
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-screen-pop`: open this record.
///
/// `id` is the `id` of the contact the agent chose, **or**, when the
/// lookup found zero or one match and `screenPopEvent` is `RINGING`, the
/// raw incoming phone number or e-mail address.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScreenPop {
    /// The contact id, or a phone number / e-mail address.
    pub id: ContactId,
}

impl ScreenPop {
    /// A value with its required `id`; everything else absent.
    #[must_use]
    pub fn new(id: impl Into<ContactId>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-call-connected`: a call was answered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallConnected {
    /// When it was answered (absent in some real captures).
    #[serde(rename = "acceptTs", skip_serializing_if = "Option::is_none")]
    pub accept_ts: Option<EpochMillis>,
    /// `"inbound"` / `"outbound"` (older builds send `"IN_BOUND"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Str>,
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// The caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Str>,
    /// The queue.
    #[serde(rename = "queueId", skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The queue's name.
    #[serde(rename = "queueName", skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<Str>,
    /// The callee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Str>,
}

impl CallConnected {
    /// A value with its required `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-call-ended`, `zcc-chat-ended`, `zcc-video-ended`,
/// `zcc-sms-ended`: the engagement ended.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngagementEnded {
    /// When it ended.
    #[serde(rename = "completeTs", skip_serializing_if = "Option::is_none")]
    pub complete_ts: Option<EpochMillis>,
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
}

impl EngagementEnded {
    /// A value with its required `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-chat-started`, `zcc-video-started`, `zcc-sms-started`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngagementStarted {
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// When it started.
    #[serde(rename = "createTs", skip_serializing_if = "Option::is_none")]
    pub create_ts: Option<EpochMillis>,
}

impl EngagementStarted {
    /// A value with its required `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-chat-ringing`, `zcc-video-ringing`, `zcc-sms-ringing`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngagementRinging {
    /// The queue.
    #[serde(rename = "queueId", skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The queue's name.
    #[serde(rename = "queueName", skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<Str>,
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// The customer's display name (chat, SMS).
    #[serde(rename = "customerName", skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<Str>,
    /// The customer's e-mail address.
    #[serde(rename = "customerEmail", skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<Str>,
    /// The customer's number (SMS).
    #[serde(
        rename = "incomingPhoneNumber",
        skip_serializing_if = "Option::is_none"
    )]
    pub incoming_phone_number: Option<Str>,
}

impl EngagementRinging {
    /// A value with its required `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-end-post-engagement` (deprecated by Zoom, still sent): the
/// disposition chosen at wrap-up. Older builds send `name`, current
/// ones `dispositionCode`; both are accepted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EndPostEngagement {
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// The disposition (older builds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
    /// The disposition (current builds).
    #[serde(rename = "dispositionCode", skip_serializing_if = "Option::is_none")]
    pub disposition_code: Option<Str>,
}

impl EndPostEngagement {
    /// A value with its required `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

impl EndPostEngagement {
    /// The disposition, whichever member carried it.
    #[must_use]
    pub fn disposition(&self) -> Option<&str> {
        self.disposition_code.as_deref().or(self.name.as_deref())
    }
}

/// A CRM contact, as the host sends it in search answers and as Zoom
/// echoes it back in the call log's `user`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Contact {
    /// The CRM's id for the record (shown to the agent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<ContactId>,
    /// The display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
    /// The phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Str>,
    /// The e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Str>,
    /// The CRM's entity type (`contact`, `lead`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<Str>,
}

impl Contact {
    /// A contact with an id and a name.
    #[must_use]
    pub fn new(id: impl Into<ContactId>, name: impl Into<Str>) -> Self {
        Self {
            id: Some(id.into()),
            name: Some(name.into()),
            ..Self::default()
        }
    }
}

/// The `objectRecord` of a `zcc-phone-call-log`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallLogRecord {
    /// `"inbound"` or `"outbound"`.
    #[serde(rename = "callType", skip_serializing_if = "Option::is_none")]
    pub call_type: Option<Str>,
    /// The caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Str>,
    /// The callee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Str>,
    /// Talk time as `m:ss`; `"NaN:NaN"` when the call never connected.
    #[serde(rename = "callDuration", skip_serializing_if = "Option::is_none")]
    pub call_duration: Option<ClockDuration>,
    /// When the call was answered, or `""`.
    #[serde(rename = "callStartTime", skip_serializing_if = "Option::is_none")]
    pub call_start_time: Option<IsoTime>,
    /// When the call ended, or `""`.
    #[serde(rename = "callEndTime", skip_serializing_if = "Option::is_none")]
    pub call_end_time: Option<IsoTime>,
    /// The queue's name, or `""`.
    #[serde(rename = "callQueue", skip_serializing_if = "Option::is_none")]
    pub call_queue: Option<Str>,
    /// The agent's extension (a string; a number is read too).
    #[serde(rename = "agentExtension", skip_serializing_if = "Option::is_none")]
    pub agent_extension: Option<NumOrStr>,
    /// The agent's name, or `""`.
    #[serde(rename = "agentName", skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<Str>,
    /// Wrap-up time so far, `HH:MM:SS`, or `""`.
    #[serde(rename = "wrapUpTimeDuration", skip_serializing_if = "Option::is_none")]
    pub wrap_up_time_duration: Option<ClockDuration>,
    /// The agent's notes, oldest first (may contain HTML).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<Str>>,
    /// The disposition: `""` when skipped, `"-"` when none was set.
    #[serde(rename = "dispositionCode", skip_serializing_if = "Option::is_none")]
    pub disposition_code: Option<Str>,
    /// The engagement type (`"phone"`, `"chat"`, `"sms"`, …).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<Str>,
}

/// `zcc-phone-call-log`: the engagement's log entry, sent after
/// wrap-up for every engagement type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PhoneCallLog {
    /// The log record.
    #[serde(rename = "objectRecord")]
    pub object_record: CallLogRecord,
    /// The engagement.
    #[serde(rename = "engagementId", skip_serializing_if = "Option::is_none")]
    pub engagement_id: Option<EngagementId>,
    /// The entity type the agent related the call to, or `""`.
    #[serde(rename = "relateTo", skip_serializing_if = "Option::is_none")]
    pub relate_to: Option<Str>,
    /// The contact the host supplied earlier (only when it had a name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Contact>,
    /// Present when the engagement was upgraded (voice to video); its
    /// inner shape is not published and is kept as JSON.
    #[serde(rename = "channelUpgradeInfo", skip_serializing_if = "Option::is_none")]
    pub channel_upgrade_info: Option<serde_json::Value>,
    /// AI-generated notes the agent never edited.
    #[serde(rename = "smartNotes", skip_serializing_if = "Option::is_none")]
    pub smart_notes: Option<Vec<Str>>,
}

impl PhoneCallLog {
    /// A value with its required `object_record`; everything else absent.
    #[must_use]
    pub fn new(object_record: CallLogRecord) -> Self {
        Self {
            object_record,
            ..Self::default()
        }
    }
}

/// `zcc-call-recording`: where the call's recording can be fetched.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallRecording {
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// The recording's URL.
    #[serde(rename = "recordingUrl")]
    pub recording_url: Str,
}

impl CallRecording {
    /// A value with its required `engagement_id`, `recording_url`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>, recording_url: impl Into<Str>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            recording_url: recording_url.into(),
            ..Self::default()
        }
    }
}

/// `zcc-add-note`: one agent note (or a chat transcript) at wrap-up.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AddNote {
    /// The note's text (may contain HTML).
    pub comment: Str,
}

impl AddNote {
    /// A value with its required `comment`; everything else absent.
    #[must_use]
    pub fn new(comment: impl Into<Str>) -> Self {
        Self {
            comment: comment.into(),
            ..Self::default()
        }
    }
}

/// `zcc-outbound-call-started`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutboundCallStarted {
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// The calling number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Str>,
    /// The called number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Str>,
    /// The queue's name.
    #[serde(rename = "queueName", skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<Str>,
    /// When dialling started.
    #[serde(rename = "startTs", skip_serializing_if = "Option::is_none")]
    pub start_ts: Option<EpochMillis>,
}

impl OutboundCallStarted {
    /// A value with its required `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// Why an engagement did not connect (`reasonCode`).
///
/// An open string: Zoom's list is not published, so every value decodes.
/// The constants are the values seen in use.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(transparent)
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct ReasonCode(pub Str);

impl ReasonCode {
    /// An agent cancelled an outbound call (observed wire value).
    pub const OUTBOUND_CALL_CANCELED: &'static str = "outbound-call-canceled";
    /// The agent rejected an inbound call (observed wire value).
    pub const AGENT_REJECTED: &'static str = "agent-rejected";
    /// The customer hung up before the call connected (observed wire value).
    pub const CUSTOMER_HANGUP: &'static str = "customer-hangup";

    /// The code as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReasonCode({:?})", self.0)
    }
}

impl From<&str> for ReasonCode {
    fn from(s: &str) -> Self {
        Self(Str::new(s))
    }
}

/// `zcc-inbound-not-connected` / `zcc-outbound-not-connected`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotConnected {
    /// Why (an open string).
    #[serde(rename = "reasonCode", skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<ReasonCode>,
    /// A human-readable explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Str>,
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
}

impl NotConnected {
    /// A value with its required `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// One engagement in a `zcc-engagement-status-response`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngagementSummary {
    /// The engagement.
    #[serde(rename = "engagementId")]
    pub engagement_id: EngagementId,
    /// Its channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Str>,
    /// Its direction.
    #[serde(
        rename = "engagementDirection",
        skip_serializing_if = "Option::is_none"
    )]
    pub engagement_direction: Option<Str>,
    /// The caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Str>,
    /// The callee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Str>,
    /// The customer's e-mail address.
    #[serde(rename = "customerEmail", skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<Str>,
}

impl EngagementSummary {
    /// A value with its required `engagement_id`; everything else absent.
    #[must_use]
    pub fn new(engagement_id: impl Into<EngagementId>) -> Self {
        Self {
            engagement_id: engagement_id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-engagement-status-response`: the agent's engagements.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngagementStatus {
    /// Engagements in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<Vec<EngagementSummary>>,
    /// Engagements in wrap-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapup: Option<Vec<EngagementSummary>>,
    /// The request this answers, when echoed.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Str>,
}

/// `zcc-agent-status-notification`: the agent's status changed.
///
/// Observed codes: `"1"` ready, `"2"` not ready (parent of custom
/// reasons), `"3"` occupied, `"30"` offline.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentStatusNotification {
    /// The status code.
    #[serde(rename = "statusCode")]
    pub status_code: NumOrStr,
    /// The parent status for a not-ready sub-reason (`"2"`).
    #[serde(rename = "parentStatusCode", skip_serializing_if = "Option::is_none")]
    pub parent_status_code: Option<NumOrStr>,
    /// `"Ready"`, `"Occupied"`, `"Offline"`, `"Not Ready"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Str>,
    /// The not-ready sub-reason's name.
    #[serde(rename = "subReason", skip_serializing_if = "Option::is_none")]
    pub sub_reason: Option<Str>,
}

impl AgentStatusNotification {
    /// A value with its required `status_code`; everything else absent.
    #[must_use]
    pub fn new(status_code: impl Into<NumOrStr>) -> Self {
        Self {
            status_code: status_code.into(),
            ..Self::default()
        }
    }
}

/// One variable of a `zcc-get-variables-response`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngagementVariable {
    /// The variable's display name.
    #[serde(
        rename = "globalVariableDisplayName",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<Str>,
    /// The variable's name (`Consumer.email`).
    #[serde(rename = "globalVariableName", skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
    /// Its value, any JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// `zcc-get-variables-response`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VariablesResponse {
    /// The variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<EngagementVariable>>,
}

/// `zcc-error`: the softphone could not do what was asked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ZoomError {
    /// A code such as `"no-phone"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Str>,
    /// A human-readable message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Str>,
    /// The host request this answers, if any.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Str>,
}

/// The payload of a message whose shape Zoom does not publish: any JSON,
/// kept as sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "unknown"))]
pub struct Opaque(pub serde_json::Value);

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Opaque {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Opaque".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "description": "A payload whose shape is not published; any JSON." })
    }
}

/// A message the Smart Embed softphone posts to the host page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ZoomEvent {
    /// The softphone loaded and asks for its configuration.
    #[serde(rename = "zcc-init-config-request")]
    InitConfigRequest(Box<Empty>),
    /// The agent resized the softphone.
    #[serde(rename = "zcc-resize")]
    Resize(Box<Resize>),
    /// Resolve a query against the CRM.
    #[serde(rename = "zcc-contact-search-event")]
    ContactSearch(Box<ContactSearch>),
    /// A call is ringing.
    #[serde(rename = "zcc-call-ringing")]
    CallRinging(Box<CallRinging>),
    /// Look up an incoming caller.
    #[serde(rename = "zcc-incomingPhone-request")]
    IncomingPhoneRequest(Box<IncomingPhoneRequest>),
    /// Open a record.
    #[serde(rename = "zcc-screen-pop")]
    ScreenPop(Box<ScreenPop>),
    /// A call was answered.
    #[serde(rename = "zcc-call-connected")]
    CallConnected(Box<CallConnected>),
    /// A call ended.
    #[serde(rename = "zcc-call-ended")]
    CallEnded(Box<EngagementEnded>),
    /// The wrap-up disposition (deprecated by Zoom, still sent).
    #[serde(rename = "zcc-end-post-engagement")]
    EndPostEngagement(Box<EndPostEngagement>),
    /// The engagement's log entry.
    #[serde(rename = "zcc-phone-call-log")]
    PhoneCallLog(Box<PhoneCallLog>),
    /// The recording's URL.
    #[serde(rename = "zcc-call-recording")]
    CallRecording(Box<CallRecording>),
    /// Look up an incoming chat or video customer.
    #[serde(rename = "zcc-incomingEmail-request")]
    IncomingEmailRequest(Box<IncomingEmailRequest>),
    /// A chat is ringing.
    #[serde(rename = "zcc-chat-ringing")]
    ChatRinging(Box<EngagementRinging>),
    /// A chat started.
    #[serde(rename = "zcc-chat-started")]
    ChatStarted(Box<EngagementStarted>),
    /// A chat ended.
    #[serde(rename = "zcc-chat-ended")]
    ChatEnded(Box<EngagementEnded>),
    /// A video engagement is ringing.
    #[serde(rename = "zcc-video-ringing")]
    VideoRinging(Box<EngagementRinging>),
    /// A video engagement started.
    #[serde(rename = "zcc-video-started")]
    VideoStarted(Box<EngagementStarted>),
    /// A video engagement ended.
    #[serde(rename = "zcc-video-ended")]
    VideoEnded(Box<EngagementEnded>),
    /// A note (or a chat transcript) at wrap-up.
    #[serde(rename = "zcc-add-note")]
    AddNote(Box<AddNote>),
    /// An SMS engagement is ringing.
    #[serde(rename = "zcc-sms-ringing")]
    SmsRinging(Box<EngagementRinging>),
    /// An SMS engagement started.
    #[serde(rename = "zcc-sms-started")]
    SmsStarted(Box<EngagementStarted>),
    /// An SMS engagement ended.
    #[serde(rename = "zcc-sms-ended")]
    SmsEnded(Box<EngagementEnded>),
    /// The agent started an outbound call.
    #[serde(rename = "zcc-outbound-call-started")]
    OutboundCallStarted(Box<OutboundCallStarted>),
    /// An inbound engagement did not connect.
    #[serde(rename = "zcc-inbound-not-connected")]
    InboundNotConnected(Box<NotConnected>),
    /// An outbound call did not connect.
    #[serde(rename = "zcc-outbound-not-connected")]
    OutboundNotConnected(Box<NotConnected>),
    /// The answer to `zcc-engagement-status-request`.
    #[serde(rename = "zcc-engagement-status-response")]
    EngagementStatusResponse(Box<EngagementStatus>),
    /// A link to the engagement's log (payload not published).
    #[serde(rename = "zcc-engagement-log-url")]
    EngagementLogUrl(Box<Opaque>),
    /// The agent's status changed.
    #[serde(rename = "zcc-agent-status-notification")]
    AgentStatusNotification(Box<AgentStatusNotification>),
    /// The answer to `zcc-get-variables`.
    #[serde(rename = "zcc-get-variables-response")]
    GetVariablesResponse(Box<VariablesResponse>),
    /// The softphone reports an error.
    #[serde(rename = "zcc-error")]
    Error(Box<ZoomError>),
}

/// Per-channel softphone configuration in `zcc-init-config-response`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelConfig {
    /// When to screen-pop automatically: `"RINGING"` is documented;
    /// other values (`"CONNECTED"`, `"ANSWER"`) are seen in use.
    #[serde(rename = "screenPopEvent", skip_serializing_if = "Option::is_none")]
    pub screen_pop_event: Option<Str>,
    /// Call-log options.
    #[serde(rename = "callLogConfigs", skip_serializing_if = "Option::is_none")]
    pub call_log_configs: Option<CallLogConfigs>,
}

/// Call-log options of a channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallLogConfigs {
    /// Send `zcc-call-recording` after wrap-up for recorded calls.
    #[serde(rename = "autoUpdateCallURL", skip_serializing_if = "Option::is_none")]
    pub auto_update_call_url: Option<bool>,
}

/// `zcc-init-config-response`: the host's softphone configuration.
///
/// Only the `phone` block is published; blocks for other channels stay
/// in the raw message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InitConfig {
    /// The voice channel's configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<ChannelConfig>,
}

/// Contacts sent in answer to a lookup: `zcc-contact-search-response`
/// takes one object or an array, the incoming-request answers an array.
/// An empty list (or `{}`) means no match.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(type = "Contact | Array<Contact>")
)]
#[non_exhaustive]
pub struct ContactMatches {
    /// The matching contacts.
    pub contacts: Vec<Contact>,
    /// The matches were sent as one object rather than an array.
    pub single_object: bool,
}

impl ContactMatches {
    /// An array of matches.
    #[must_use]
    pub fn list(contacts: Vec<Contact>) -> Self {
        Self {
            contacts,
            single_object: false,
        }
    }

    /// One match sent as an object (an empty contact means no match).
    #[must_use]
    pub fn one(contact: Contact) -> Self {
        let contacts = if contact == Contact::default() {
            Vec::new()
        } else {
            vec![contact]
        };
        Self {
            contacts,
            single_object: true,
        }
    }
}

impl Serialize for ContactMatches {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.single_object, self.contacts.as_slice()) {
            (true, [one]) => one.serialize(s),
            (true, []) => Contact::default().serialize(s),
            _ => self.contacts.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ContactMatches {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Many(Vec<Contact>),
            One(Contact),
        }
        Ok(match Form::deserialize(d)? {
            Form::Many(list) => Self::list(list),
            Form::One(one) => Self::one(one),
        })
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for ContactMatches {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ContactMatches".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one = g.subschema_for::<Contact>();
        schemars::json_schema!({ "anyOf": [one, { "type": "array", "items": one }] })
    }
}

/// `onclicktoact`: click-to-dial from the host page. `phone` is
/// required by the softphone (without it, it answers `zcc-error`
/// `no-phone`); the other members are seen in use.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClickToDial {
    /// The number to dial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Str>,
    /// The CRM record's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<ContactId>,
    /// The contact's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
    /// The contact's e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Str>,
    /// The CRM entity type.
    #[serde(rename = "userEntity", skip_serializing_if = "Option::is_none")]
    pub user_entity: Option<Str>,
}

/// Host → softphone control of one engagement
/// (`zcc-terminate-engagement`, `zcc-set-engagement-disposition`,
/// `zcc-close-engagement-wrapup`; inferred for accept and reject).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngagementControl {
    /// The engagement.
    #[serde(rename = "engagementId", skip_serializing_if = "Option::is_none")]
    pub engagement_id: Option<EngagementId>,
    /// `"voice"`, `"chat"`, `"sms"` or `"video"`.
    #[serde(rename = "channelType", skip_serializing_if = "Option::is_none")]
    pub channel_type: Option<Str>,
    /// A host-chosen id to correlate the softphone's answer.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Str>,
    /// The disposition (`zcc-set-engagement-disposition`).
    #[serde(rename = "dispositionId", skip_serializing_if = "Option::is_none")]
    pub disposition_id: Option<Str>,
}

/// `zcc-engagement-status-request`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusRequest {
    /// A host-chosen id to correlate the answer.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Str>,
}

/// `zcc-agent-status-set-request`: change the agent's status.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SetAgentStatus {
    /// The status code (see [`AgentStatusNotification`]).
    pub id: NumOrStr,
}

impl SetAgentStatus {
    /// A value with its required `id`; everything else absent.
    #[must_use]
    pub fn new(id: impl Into<NumOrStr>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }
}

/// `zcc-get-variables`: ask for an engagement's variables.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GetVariables {
    /// The engagement.
    #[serde(rename = "engagementId", skip_serializing_if = "Option::is_none")]
    pub engagement_id: Option<EngagementId>,
}

/// A message the host page posts into the Smart Embed iframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ZoomCommand {
    /// The answer to `zcc-init-config-request`.
    #[serde(rename = "zcc-init-config-response")]
    InitConfigResponse(Box<InitConfig>),
    /// The answer to `zcc-contact-search-event`.
    #[serde(rename = "zcc-contact-search-response")]
    ContactSearchResponse(Box<ContactMatches>),
    /// The answer to `zcc-incomingPhone-request`.
    #[serde(rename = "zcc-incomingPhone-response")]
    IncomingPhoneResponse(Box<ContactMatches>),
    /// The answer to `zcc-incomingEmail-request`.
    #[serde(rename = "zcc-incomingEmail-response")]
    IncomingEmailResponse(Box<ContactMatches>),
    /// Click-to-dial.
    #[serde(rename = "onclicktoact")]
    ClickToDial(Box<ClickToDial>),
    /// Reject a ringing engagement (payload inferred).
    #[serde(rename = "zcc-reject-engagement")]
    RejectEngagement(Box<EngagementControl>),
    /// Accept a ringing engagement (payload inferred).
    #[serde(rename = "zcc-accept-engagement")]
    AcceptEngagement(Box<EngagementControl>),
    /// End an engagement.
    #[serde(rename = "zcc-terminate-engagement")]
    TerminateEngagement(Box<EngagementControl>),
    /// Set an engagement's disposition.
    #[serde(rename = "zcc-set-engagement-disposition")]
    SetEngagementDisposition(Box<EngagementControl>),
    /// Close an engagement's wrap-up.
    #[serde(rename = "zcc-close-engagement-wrapup")]
    CloseEngagementWrapup(Box<EngagementControl>),
    /// Ask for the agent's engagements.
    #[serde(rename = "zcc-engagement-status-request")]
    EngagementStatusRequest(Box<StatusRequest>),
    /// Mute (payload not published).
    #[serde(rename = "zcc-set-mute")]
    SetMute(Box<Opaque>),
    /// Hold (payload not published).
    #[serde(rename = "zcc-set-hold")]
    SetHold(Box<Opaque>),
    /// Send DTMF digits (payload not published).
    #[serde(rename = "zcc-send-dtmf")]
    SendDtmf(Box<Opaque>),
    /// Start or stop recording (payload not published).
    #[serde(rename = "zcc-set-recording")]
    SetRecording(Box<Opaque>),
    /// Transfer (payload not published).
    #[serde(rename = "zcc-transfer-engagement")]
    TransferEngagement(Box<Opaque>),
    /// Add a call (payload not published).
    #[serde(rename = "zcc-add-call")]
    AddCall(Box<Opaque>),
    /// Cancel a consult (payload not published).
    #[serde(rename = "zcc-cancel-consult")]
    CancelConsult(Box<Opaque>),
    /// Complete a transfer (payload not published).
    #[serde(rename = "zcc-complete-transfer")]
    CompleteTransfer(Box<Opaque>),
    /// Merge a consult into a conference (payload not published).
    #[serde(rename = "zcc-merge-consult")]
    MergeConsult(Box<Opaque>),
    /// Upgrade to video (payload not published).
    #[serde(rename = "zcc-upgrade-to-video")]
    UpgradeToVideo(Box<Opaque>),
    /// Ask for the disposition codes (payload not published).
    #[serde(rename = "zcc-get-disposition-codes")]
    GetDispositionCodes(Box<Opaque>),
    /// Change the agent's status.
    #[serde(rename = "zcc-agent-status-set-request")]
    AgentStatusSetRequest(Box<SetAgentStatus>),
    /// Ask for an engagement's variables.
    #[serde(rename = "zcc-get-variables")]
    GetVariables(Box<GetVariables>),
}

/// A Zoom message in either direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ZoomMessage {
    /// Softphone → host.
    Event(ZoomEvent),
    /// Host → softphone.
    Command(ZoomCommand),
}

/// The layout of every Zoom message.
const LAYOUT: Layout = Layout::Adjacent("type");

static EVENTS: Catalogue = Catalogue::new();
static COMMANDS: Catalogue = Catalogue::new();

impl ZoomEvent {
    /// Every message type the softphone posts that this version models.
    #[must_use]
    pub fn known_types() -> &'static [&'static str] {
        EVENTS.get::<Self>("type")
    }
}

impl ZoomCommand {
    /// Every message type the host posts that this version models.
    #[must_use]
    pub fn known_types() -> &'static [&'static str] {
        COMMANDS.get::<Self>("type")
    }
}

/// Decodes one Zoom message of either direction, as the frame or the host
/// posted it. Types of neither catalogue decode as [`Body::Unknown`].
///
/// # Errors
///
/// Only when `json` is not JSON, not an object, or has no string `type`.
pub fn decode(json: &str) -> crate::Result<VendorMessage> {
    let kind = crate::message::read_tag(LAYOUT, json)?;
    let raw: Box<str> = json.into();
    let (body, unreadable) = if let Some((c, bad)) =
        decode_typed::<ZoomCommand>(LAYOUT, ZoomCommand::known_types(), &kind, json)?
    {
        (Body::Zoom(ZoomMessage::Command(c)), bad)
    } else if let Some((e, bad)) =
        decode_typed::<ZoomEvent>(LAYOUT, ZoomEvent::known_types(), &kind, json)?
    {
        (Body::Zoom(ZoomMessage::Event(e)), bad)
    } else {
        (Body::Unknown, Vec::new())
    };
    Ok(VendorMessage::new(
        crate::Vendor::Zoom,
        Str::new(&kind),
        body,
        raw,
        WireForm::Object,
        unreadable,
    ))
}

fn interaction(
    id: &EngagementId,
    channel: Option<Channel>,
    at: Option<EpochMillis>,
) -> Box<Interaction> {
    let mut i = Interaction::boxed(id.text_str(), channel);
    i.at = at.and_then(Into::into);
    i
}

fn ringing(r: &EngagementRinging, channel: Channel) -> Box<Interaction> {
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

fn agent_status(code: &str, status: Option<&str>) -> AgentStatus {
    match (code, status) {
        ("1", _) | (_, Some("Ready")) => AgentStatus::Available,
        ("3", _) | (_, Some("Occupied")) => AgentStatus::Busy,
        ("30", _) | (_, Some("Offline")) => AgentStatus::Offline,
        ("2", _) | (_, Some("Not Ready")) => AgentStatus::NotReady(Some(Str::new(code))),
        _ => AgentStatus::Other(Str::new(code)),
    }
}

#[allow(clippy::too_many_lines)]
/// What a `zcc-screen-pop` id is. The softphone pops by itself when a
/// lookup found zero or one match, and then sends the raw incoming number
/// (E.164) or e-mail address instead of a record id (PROTOCOLS.md §1,
/// message 9): those are told apart by their form.
fn pop_target(id: Str) -> ScreenPopTarget {
    let digits = id
        .strip_prefix('+')
        .filter(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    if digits.is_some() || id.contains('@') {
        ScreenPopTarget::Address(id)
    } else {
        ScreenPopTarget::Record(id)
    }
}

fn ended(x: &EngagementEnded, channel: Channel) -> EventKind {
    EventKind::InteractionEnded(interaction(&x.engagement_id, Some(channel), x.complete_ts))
}

fn started(x: &EngagementStarted, channel: Channel) -> EventKind {
    EventKind::InteractionConnected(interaction(&x.engagement_id, Some(channel), x.create_ts))
}

/// The neutral meaning of a softphone message; `None` for messages with
/// none (variable listings, log links).
pub(crate) fn normalise(e: &ZoomEvent) -> Option<EventKind> {
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
                SearchQuery::Text(t) => LookupQuery::classify(t),
                SearchQuery::Structured(q) => match &q.email {
                    Some(email) => LookupQuery::Email(email.clone()),
                    None => LookupQuery::Text(Str::default()),
                },
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
            let mut i = interaction(&r.engagement_id, channel, r.create_ts);
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
            let mut i = interaction(&r.engagement_id, channel, None);
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
            let mut i = interaction(&r.engagement_id, channel, None);
            i.direction = Some(Direction::Inbound);
            i.from = Some(Party::address(r.email.clone()));
            K::ContactLookupRequested(ContactLookup {
                query: LookupQuery::Email(r.email.clone()),
                reply_kind: ReplyKind::IncomingEmail,
                interaction: Some(i),
            })
        }
        ZoomEvent::ScreenPop(p) => K::ScreenPop(pop_target(p.id.text_str())),
        ZoomEvent::CallConnected(c) => {
            let mut i = interaction(&c.engagement_id, Some(Channel::Voice), c.accept_ts);
            i.direction = c.direction.as_deref().and_then(Direction::parse);
            i.from = Party::from_parts(c.from.as_ref(), None);
            i.to = Party::from_parts(c.to.as_ref(), None);
            i.queue = QueueRef::from_parts(
                c.queue_id.as_ref().map(|q| q.text_ref()),
                c.queue_name.as_ref(),
            );
            K::InteractionConnected(i)
        }
        ZoomEvent::CallEnded(x) => ended(x, Channel::Voice),
        ZoomEvent::ChatEnded(x) => ended(x, Channel::Chat),
        ZoomEvent::VideoEnded(x) => ended(x, Channel::Video),
        ZoomEvent::SmsEnded(x) => ended(x, Channel::Sms),
        ZoomEvent::ChatStarted(x) => started(x, Channel::Chat),
        ZoomEvent::VideoStarted(x) => started(x, Channel::Video),
        ZoomEvent::SmsStarted(x) => started(x, Channel::Sms),
        ZoomEvent::ChatRinging(r) => K::InteractionOffered(ringing(r, Channel::Chat)),
        ZoomEvent::VideoRinging(r) => K::InteractionOffered(ringing(r, Channel::Video)),
        ZoomEvent::SmsRinging(r) => K::InteractionOffered(ringing(r, Channel::Sms)),
        ZoomEvent::EndPostEngagement(p) => K::DispositionSet {
            interaction_id: p.engagement_id.text_str(),
            disposition: Str::new(p.disposition().unwrap_or_default()),
        },
        ZoomEvent::PhoneCallLog(log) => K::InteractionCompleted(completion(log)),
        ZoomEvent::CallRecording(r) => K::RecordingAvailable {
            interaction_id: Some(r.engagement_id.text_str()),
            url: r.recording_url.clone(),
        },
        ZoomEvent::AddNote(n) => K::NoteAdded {
            interaction_id: None,
            text: n.comment.clone(),
        },
        ZoomEvent::OutboundCallStarted(o) => {
            let mut i = interaction(&o.engagement_id, Some(Channel::Voice), o.start_ts);
            i.direction = Some(Direction::Outbound);
            i.from = Party::from_parts(o.from.as_ref(), None);
            i.to = Party::from_parts(o.to.as_ref(), None);
            i.queue = QueueRef::from_parts(None, o.queue_name.as_ref());
            K::InteractionOffered(i)
        }
        ZoomEvent::InboundNotConnected(n) | ZoomEvent::OutboundNotConnected(n) => {
            let mut i = interaction(&n.engagement_id, None, None);
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
            let conv = |list: &Option<Vec<EngagementSummary>>| -> Vec<Interaction> {
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
                request_id: st.request_id.clone(),
            }
        }
        ZoomEvent::AgentStatusNotification(n) => K::AgentStatusChanged {
            status: match n.sub_reason.as_ref() {
                Some(_) => AgentStatus::NotReady(Some(n.status_code.text_str())),
                None => agent_status(n.status_code.as_str(), n.status.as_deref()),
            },
            label: n.sub_reason.clone().or_else(|| n.status.clone()),
        },
        ZoomEvent::Error(err) => K::Error {
            code: err.code.clone(),
            message: err.message.clone(),
            request_id: err.request_id.clone(),
        },
        ZoomEvent::EngagementLogUrl(_) | ZoomEvent::GetVariablesResponse(_) => return None,
    })
}

fn completion(log: &PhoneCallLog) -> Box<Completion> {
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
    out.wrap_up_seconds = r
        .wrap_up_time_duration
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

/// A neutral command as the host posts it to the softphone.
pub(crate) fn render_command(command: &Command) -> crate::Result<ZoomCommand> {
    type C = Command;
    let unsupported = |why: &str| command.unsupported(crate::Vendor::Zoom, why);
    Ok(match command {
        C::Dial {
            number, contact, ..
        } => {
            let mut c = ClickToDial {
                phone: Some(number.clone()),
                ..ClickToDial::default()
            };
            if let Some(contact) = contact {
                c.id = Some(contact.id.as_str().into());
                c.name = Some(contact.name.clone());
                c.email.clone_from(&contact.email);
                c.user_entity.clone_from(&contact.entity);
            }
            ZoomCommand::ClickToDial(Box::new(c))
        }
        C::Answer { target } => ZoomCommand::AcceptEngagement(Box::new(control(target))),
        C::Reject { target } => ZoomCommand::RejectEngagement(Box::new(control(target))),
        C::HangUp { target } => ZoomCommand::TerminateEngagement(Box::new(control(target))),
        C::SetDisposition {
            target,
            disposition,
        } => {
            let mut c = control(target);
            c.disposition_id = Some(disposition.clone());
            ZoomCommand::SetEngagementDisposition(Box::new(c))
        }
        C::CompleteWrapUp { target } => {
            ZoomCommand::CloseEngagementWrapup(Box::new(control(target)))
        }
        C::SetAgentStatus { status } => {
            let code = match status {
                AgentStatus::Available => "1",
                AgentStatus::Busy => "3",
                AgentStatus::Offline => "30",
                AgentStatus::NotReady(Some(code)) | AgentStatus::Other(code) => code.as_str(),
                AgentStatus::NotReady(None) => "2",
                AgentStatus::WrapUp => {
                    return Err(unsupported("wrap-up is not an agent status Zoom accepts"));
                }
            };
            ZoomCommand::AgentStatusSetRequest(Box::new(SetAgentStatus {
                id: NumOrStr::text(code),
            }))
        }
        C::AnswerLookup { reply_to, contacts } => {
            let list: Vec<Contact> = contacts.iter().map(contact).collect();
            match reply_to {
                // Seed 003 answers a search with one contact object (`{}`
                // for none); several matches go as an array, which the
                // softphone also takes.
                ReplyKind::Search => ZoomCommand::ContactSearchResponse(Box::new(
                    match <[Contact; 1]>::try_from(list) {
                        Ok([one]) => ContactMatches::one(one),
                        Err(list) if list.is_empty() => ContactMatches::one(Contact::default()),
                        Err(list) => ContactMatches::list(list),
                    },
                )),
                ReplyKind::IncomingPhone => {
                    ZoomCommand::IncomingPhoneResponse(Box::new(ContactMatches::list(list)))
                }
                ReplyKind::IncomingEmail => {
                    ZoomCommand::IncomingEmailResponse(Box::new(ContactMatches::list(list)))
                }
            }
        }
        C::Configure {
            screen_pop_on,
            recording_urls,
            ..
        } => {
            let phone = ChannelConfig {
                screen_pop_event: screen_pop_on.clone(),
                call_log_configs: recording_urls.map(|on| CallLogConfigs {
                    auto_update_call_url: Some(on),
                }),
            };
            ZoomCommand::InitConfigResponse(Box::new(InitConfig { phone: Some(phone) }))
        }
        C::ListInteractions { request_id } => {
            ZoomCommand::EngagementStatusRequest(Box::new(StatusRequest {
                request_id: request_id.clone(),
            }))
        }
        C::Hold { .. } | C::Mute { .. } => {
            return Err(unsupported("Zoom does not publish this message's payload"));
        }
        C::SetMetadata { .. } | C::RequestToken | C::Reset => {
            return Err(unsupported("Smart Embed has no such message"));
        }
    })
}

/// A CRM contact as Zoom's lookup answers carry it.
fn contact(c: &CrmContact) -> Contact {
    Contact {
        id: Some(c.id.as_str().into()),
        name: Some(c.name.clone()),
        phone: c.phone.clone(),
        email: c.email.clone(),
        entity: c.entity.clone(),
    }
}

/// The engagement a control command targets.
fn control(t: &Target) -> EngagementControl {
    EngagementControl {
        engagement_id: t.id.as_deref().map(Into::into),
        channel_type: t.channel.map(|c| Str::new_static(c.zoom_name())),
        request_id: t.request_id.clone(),
        disposition_id: None,
    }
}

/// Zoom Smart Embed's [`Dialect`].
///
/// | Neutral event | What the softphone posts |
/// |---|---|
/// | configuration requested | `zcc-init-config-request` |
/// | offered | `zcc-call-ringing` (chat, SMS, video: `zcc-*-ringing`); outbound: `zcc-outbound-call-started` |
/// | connected | `zcc-call-connected` (`zcc-*-started`) |
/// | ended | `zcc-call-ended` (`zcc-*-ended`) |
/// | completed | `zcc-add-note` × notes, `zcc-end-post-engagement`, `zcc-phone-call-log`, `zcc-call-recording` when recorded; for an outbound attempt that never connected the call log has `NaN:NaN` and empty times; nothing for an inbound one (it has no wrap-up) |
/// | not connected | `zcc-inbound-not-connected` / `zcc-outbound-not-connected` |
/// | lookup | `zcc-incomingPhone-request`, `zcc-incomingEmail-request`, `zcc-contact-search-event` |
/// | agent status | `zcc-agent-status-notification` |
/// | note, disposition, recording, record pop, error | `zcc-add-note`, `zcc-end-post-engagement`, `zcc-call-recording`, `zcc-screen-pop`, `zcc-error` |
///
/// Zoom has no e-mail or work-item engagements; those render nothing.
/// Zoom leaves out members it has no value for rather than sending
/// `null`, and so does the renderer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Zoom;

impl Dialect for Zoom {
    const VENDOR: crate::Vendor = crate::Vendor::Zoom;

    fn decode(json: &str) -> crate::Result<VendorMessage> {
        decode(json)
    }

    fn render_events(events: &[EventKind], phone: &Softphone) -> crate::Result<Vec<VendorMessage>> {
        let mut out = Vec::new();
        for e in events {
            render_event(e, phone, &mut out);
        }
        posted(crate::Vendor::Zoom, out)
    }

    fn render_command(command: &Command) -> crate::Result<VendorMessage> {
        let c = render_command(command)?;
        crate::decode(crate::Vendor::Zoom, &crate::message::to_text(&c))
    }
}

/// The engagement kind in Zoom's message names.
fn kind(channel: Option<Channel>) -> Option<&'static str> {
    match channel.unwrap_or(Channel::Voice) {
        Channel::Voice => Some("call"),
        Channel::Chat => Some("chat"),
        Channel::Sms => Some("sms"),
        Channel::Video => Some("video"),
        _ => None,
    }
}

fn millis(at: Option<&EventTime>) -> Option<EpochMillis> {
    instant(at).map(EpochMillis::from_timestamp)
}

fn id_of(i: &Interaction) -> EngagementId {
    EngagementId::from(i.id.as_deref().unwrap_or_default())
}

fn direction_text(i: &Interaction) -> Str {
    Str::new_static(if i.direction == Some(Direction::Outbound) {
        "outbound"
    } else {
        "inbound"
    })
}

fn party_text(p: Option<&Party>) -> Option<Str> {
    p.and_then(|p| p.address.clone())
}

fn queue_of<'a>(i: &'a Interaction, phone: &'a Softphone) -> Option<&'a QueueRef> {
    i.queue.as_ref().or(phone.queue.as_ref())
}

/// Zoom's `m:ss` (unpadded minutes); `NaN:NaN` when the call never
/// connected, as the softphone sends it.
fn call_duration(seconds: Option<u64>) -> ClockDuration {
    seconds.map_or_else(
        || ClockDuration::parse("NaN:NaN"),
        ClockDuration::minutes_seconds,
    )
}

#[allow(clippy::too_many_lines)]
fn render_event(e: &EventKind, phone: &Softphone, out: &mut Vec<ZoomEvent>) {
    use EventKind as K;
    match e {
        K::ConfigRequested => out.push(ZoomEvent::InitConfigRequest(Box::default())),
        K::AgentStatusChanged { status, label } => {
            let (code, text) = match status {
                AgentStatus::Available => (Str::new_static("1"), Some(Str::new_static("Ready"))),
                AgentStatus::Busy | AgentStatus::WrapUp => {
                    (Str::new_static("3"), Some(Str::new_static("Occupied")))
                }
                AgentStatus::Offline => (Str::new_static("30"), Some(Str::new_static("Offline"))),
                AgentStatus::NotReady(code) => (
                    code.clone().unwrap_or_else(|| Str::new_static("2")),
                    Some(Str::new_static("Not Ready")),
                ),
                AgentStatus::Other(code) => (code.clone(), label.clone()),
            };
            out.push(ZoomEvent::AgentStatusNotification(Box::new(
                AgentStatusNotification {
                    status_code: NumOrStr::text(code),
                    status: label.clone().or(text),
                    ..AgentStatusNotification::default()
                },
            )));
        }
        K::InteractionOffered(i) => {
            let Some(kind) = kind(i.channel) else { return };
            let queue = queue_of(i, phone);
            let queue_name = queue.and_then(|q| q.name.clone());
            if i.direction == Some(Direction::Outbound) {
                out.push(ZoomEvent::OutboundCallStarted(Box::new(
                    OutboundCallStarted {
                        engagement_id: id_of(i),
                        from: party_text(i.from.as_ref()).or_else(|| phone.agent.id.clone()),
                        to: party_text(i.to.as_ref()),
                        queue_name,
                        start_ts: millis(i.at.as_ref()),
                    },
                )));
                return;
            }
            let who = i.from.as_ref();
            match kind {
                "call" => out.push(ZoomEvent::CallRinging(Box::new(CallRinging {
                    channel: Some(Str::new_static("voice")),
                    create_ts: millis(i.at.as_ref()),
                    engagement_id: id_of(i),
                    from: party_text(who),
                    queue_name,
                    to: party_text(i.to.as_ref()).or_else(|| phone.agent.id.clone()),
                    is_conference: Some(false),
                    is_transfer: Some(false),
                }))),
                _ => {
                    let address = party_text(who);
                    let sms = kind == "sms";
                    let ringing = EngagementRinging {
                        queue_id: queue.and_then(|q| q.id.as_deref()).map(QueueId::from),
                        queue_name,
                        engagement_id: id_of(i),
                        customer_name: who.and_then(|p| p.name.clone()),
                        customer_email: if sms { None } else { address.clone() },
                        incoming_phone_number: if sms { address } else { None },
                    };
                    out.push(match kind {
                        "chat" => ZoomEvent::ChatRinging(Box::new(ringing)),
                        "sms" => ZoomEvent::SmsRinging(Box::new(ringing)),
                        _ => ZoomEvent::VideoRinging(Box::new(ringing)),
                    });
                }
            }
        }
        K::InteractionConnected(i) => {
            let Some(kind) = kind(i.channel) else { return };
            let started = EngagementStarted {
                engagement_id: id_of(i),
                create_ts: millis(i.at.as_ref()),
            };
            out.push(match kind {
                "call" => {
                    let queue = queue_of(i, phone);
                    ZoomEvent::CallConnected(Box::new(CallConnected {
                        accept_ts: millis(i.at.as_ref()),
                        direction: Some(direction_text(i)),
                        engagement_id: id_of(i),
                        from: party_text(i.from.as_ref()),
                        queue_id: queue.and_then(|q| q.id.as_deref()).map(QueueId::from),
                        queue_name: queue.and_then(|q| q.name.clone()),
                        to: party_text(i.to.as_ref()),
                    }))
                }
                "chat" => ZoomEvent::ChatStarted(Box::new(started)),
                "sms" => ZoomEvent::SmsStarted(Box::new(started)),
                _ => ZoomEvent::VideoStarted(Box::new(started)),
            });
        }
        K::InteractionEnded(i) => {
            let Some(kind) = kind(i.channel) else { return };
            let ended = Box::new(EngagementEnded {
                complete_ts: millis(i.at.as_ref()),
                engagement_id: id_of(i),
            });
            out.push(match kind {
                "call" => ZoomEvent::CallEnded(ended),
                "chat" => ZoomEvent::ChatEnded(ended),
                "sms" => ZoomEvent::SmsEnded(ended),
                _ => ZoomEvent::VideoEnded(ended),
            });
        }
        K::InteractionCompleted(c) => render_wrap_up(c, phone, out),
        K::InteractionNotConnected {
            interaction,
            reason,
            message,
        } => {
            let outbound = interaction.direction == Some(Direction::Outbound);
            let (code, text) = not_connected(outbound, reason.as_deref());
            let n = Box::new(NotConnected {
                reason_code: code.map(ReasonCode::from),
                message: message.clone().or_else(|| text.map(Str::new_static)),
                engagement_id: id_of(interaction),
            });
            out.push(if outbound {
                ZoomEvent::OutboundNotConnected(n)
            } else {
                ZoomEvent::InboundNotConnected(n)
            });
        }
        K::ContactLookupRequested(lookup) => {
            let id = lookup.interaction.as_deref().map(id_of).unwrap_or_default();
            let channel = lookup
                .interaction
                .as_deref()
                .and_then(|i| i.channel)
                .map(|c| Str::new_static(c.zoom_name()));
            let text = match &lookup.query {
                LookupQuery::Phone(t) | LookupQuery::Email(t) | LookupQuery::Text(t) => t.clone(),
            };
            out.push(match lookup.reply_kind {
                ReplyKind::IncomingPhone => {
                    ZoomEvent::IncomingPhoneRequest(Box::new(IncomingPhoneRequest {
                        incoming_phone_number: text,
                        engagement_id: id,
                        channel,
                    }))
                }
                ReplyKind::IncomingEmail => {
                    ZoomEvent::IncomingEmailRequest(Box::new(IncomingEmailRequest {
                        email: text,
                        engagement_id: id,
                        channel,
                    }))
                }
                ReplyKind::Search => ZoomEvent::ContactSearch(Box::new(ContactSearch {
                    query: match &lookup.query {
                        LookupQuery::Email(email) => SearchQuery::Structured(StructuredQuery {
                            email: Some(email.clone()),
                            kind: Some(Str::new_static("email")),
                        }),
                        _ => SearchQuery::Text(text),
                    },
                })),
            });
        }
        K::ScreenPop(ScreenPopTarget::Record(id) | ScreenPopTarget::Address(id)) => {
            out.push(ZoomEvent::ScreenPop(Box::new(ScreenPop {
                id: ContactId::from(id.as_str()),
            })));
        }
        K::NoteAdded { text, .. } => out.push(ZoomEvent::AddNote(Box::new(AddNote {
            comment: text.clone(),
        }))),
        K::DispositionSet {
            interaction_id,
            disposition,
        } => out.push(ZoomEvent::EndPostEngagement(Box::new(EndPostEngagement {
            engagement_id: EngagementId::from(interaction_id.as_str()),
            name: None,
            disposition_code: Some(disposition.clone()),
        }))),
        K::RecordingAvailable {
            interaction_id,
            url,
        } => out.push(ZoomEvent::CallRecording(Box::new(CallRecording {
            engagement_id: EngagementId::from(interaction_id.as_deref().unwrap_or_default()),
            recording_url: url.clone(),
        }))),
        K::Error {
            code,
            message,
            request_id,
        } => out.push(ZoomEvent::Error(Box::new(ZoomError {
            code: code.clone(),
            message: message.clone(),
            request_id: request_id.clone(),
        }))),
        _ => {}
    }
}

/// Zoom at wrap-up: each note, the disposition, the call log, the
/// recording.
fn render_wrap_up(c: &Completion, phone: &Softphone, out: &mut Vec<ZoomEvent>) {
    let i = &c.interaction;
    // An inbound engagement that never connected has no wrap-up. The
    // agent's own outbound attempt does: its call log carries `NaN:NaN`
    // and empty times (PROTOCOLS.md §1, call log: a call that never
    // connected, which integrations work around).
    let outbound = i.direction == Some(Direction::Outbound);
    if (c.answered == Some(false) && !outbound) || kind(i.channel).is_none() {
        return;
    }
    let id = id_of(i);
    let disposition = c
        .disposition
        .clone()
        .unwrap_or_else(|| Str::new_static("-"));
    for note in &c.notes {
        out.push(ZoomEvent::AddNote(Box::new(AddNote {
            comment: note.clone(),
        })));
    }
    out.push(ZoomEvent::EndPostEngagement(Box::new(EndPostEngagement {
        engagement_id: id.clone(),
        name: None,
        disposition_code: Some(disposition.clone()),
    })));
    let started = instant(c.started.as_ref());
    let ended = instant(c.ended.as_ref());
    let seconds = c.duration_seconds.or_else(|| {
        let secs = ended?.duration_since(started?).as_secs();
        u64::try_from(secs).ok()
    });
    let observed = phone.observed_forms;
    let iso = |t: Option<Timestamp>| match t {
        Some(t) if observed => IsoTime::from_millis(t.as_millisecond()),
        Some(t) => IsoTime::from_timestamp(t),
        None => IsoTime::empty(),
    };
    let from = party_text(i.from.as_ref());
    let to = party_text(i.to.as_ref());
    let extension = if i.direction == Some(Direction::Outbound) {
        from.clone()
    } else {
        to.clone()
    };
    let record = CallLogRecord {
        call_type: Some(direction_text(i)),
        from,
        to,
        call_duration: Some(match seconds {
            Some(secs) if observed => ClockDuration::from_millis(secs.saturating_mul(1000)),
            other => call_duration(other),
        }),
        call_start_time: Some(iso(started)),
        call_end_time: Some(iso(ended)),
        call_queue: Some(
            queue_of(i, phone)
                .and_then(|q| q.name.clone())
                .unwrap_or_default(),
        ),
        agent_extension: extension.map(|e| match e.parse::<i64>() {
            Ok(n) if observed && e.bytes().all(|b| b.is_ascii_digit()) => NumOrStr::number(n),
            _ => NumOrStr::text(e),
        }),
        agent_name: Some(
            i.agent
                .as_ref()
                .and_then(|a| a.name.clone())
                .or_else(|| phone.agent.name.clone())
                .unwrap_or_default(),
        ),
        wrap_up_time_duration: Some(c.wrap_up_seconds.map_or_else(
            || ClockDuration::parse(""),
            ClockDuration::hours_minutes_seconds,
        )),
        notes: Some(c.notes.clone()),
        disposition_code: Some(disposition),
        kind: Some(Str::new_static(match i.channel {
            Some(Channel::Chat) => "chat",
            Some(Channel::Sms) => "sms",
            Some(Channel::Video) => "video",
            _ => "phone",
        })),
    };
    out.push(ZoomEvent::PhoneCallLog(Box::new(PhoneCallLog {
        object_record: record,
        engagement_id: Some(id.clone()),
        relate_to: Some(Str::default()),
        user: c.contact_id.as_deref().map(|cid| Contact {
            id: Some(ContactId::from(cid)),
            ..Contact::default()
        }),
        channel_upgrade_info: None,
        smart_notes: None,
    })));
    if let Some(url) = &c.recording_url {
        out.push(ZoomEvent::CallRecording(Box::new(CallRecording {
            engagement_id: id,
            recording_url: url.clone(),
        })));
    }
}

/// Zoom's reason code and text for a neutral reason. Zoom's own codes
/// pass through; the engine's words (`timeout`, `rejected`, a hang-up or
/// an abandon) become the codes and texts the softphone uses.
fn not_connected(outbound: bool, reason: Option<&str>) -> (Option<&str>, Option<&'static str>) {
    let Some(reason) = reason else {
        return (None, None);
    };
    if outbound {
        let text = match reason {
            "busy" => "The number you have dialed is busy, please try your call again later.",
            "no_answer" => {
                "The number you have dialed is not available, please try your call again later."
            }
            "invalid_number" => {
                "The number you have dialed does not exist or is no longer in service."
            }
            "declined" => "The number you have dialed has rejected your call.",
            "canceled" | "cancelled" | ReasonCode::OUTBOUND_CALL_CANCELED => {
                "Outbound call cancelled by Agent."
            }
            _ => {
                "The call to the number dialed cannot be completed at this time. Please check the phone number and try again later."
            }
        };
        return (Some(reason), Some(text));
    }
    match reason {
        "rejected" | ReasonCode::AGENT_REJECTED => (
            Some(ReasonCode::AGENT_REJECTED),
            Some("Call rejected by agent."),
        ),
        "timeout" => (Some("TIMEOUT"), Some("Call missed.")),
        r if r.contains("abandon") || r.contains("hang") => {
            (Some(ReasonCode::CUSTOMER_HANGUP), Some("Consumer hung up."))
        }
        r => (Some(r), Some("Call missed.")),
    }
}
