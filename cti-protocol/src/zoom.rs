//! Zoom Contact Center Smart Embed: the `zcc-*` postMessage dialect.
//!
//! Every message is a `{ "type": "<name>", "data": <payload> }` envelope.
//! [`ZoomEvent`] holds what the softphone iframe posts to the host page;
//! [`ZoomCommand`] holds what the host page posts back into the iframe.
//!
//! # Fidelity
//!
//! Unknown message types decode to `Unknown` variants that keep the type
//! string and the raw payload. Unknown fields are kept in each payload's
//! `extra`. Re-encoding a decoded message gives JSON equal to the input
//! (key order aside).
//!
//! # Payloads that are not published
//!
//! Zoom does not publish the payloads of several control messages
//! (`zcc-set-mute`, `zcc-set-hold`, `zcc-send-dtmf`, `zcc-set-recording`,
//! `zcc-transfer-engagement`, `zcc-add-call`, `zcc-cancel-consult`,
//! `zcc-complete-transfer`, `zcc-merge-consult`, `zcc-upgrade-to-video`,
//! `zcc-get-disposition-codes`, `zcc-engagement-log-url`). Those carry an
//! [`Opaque`] payload: any JSON, kept byte for byte. `zcc-accept-engagement`
//! and `zcc-reject-engagement` are inferred to share the shape of
//! `zcc-terminate-engagement` ([`EngagementControl`]); unknown members still
//! land in `extra`.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::zoom::ZoomEvent;
//!
//! let msg = ZoomEvent::decode(
//!     r#"{"type":"zcc-incomingPhone-request","data":{"incomingPhoneNumber":"+14155550100","engagementId":"WSgT4SxZT1GD8RgAgkebfg","channel":"voice"}}"#,
//! )?;
//! let ZoomEvent::IncomingPhoneRequest(req) = &msg else { unreachable!() };
//! assert_eq!(req.incoming_phone_number, "+14155550100");
//! assert_eq!(msg.wire_type(), "zcc-incomingPhone-request");
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use serde_json::Number;
use serde_json::value::RawValue;

use crate::types::Str;
use crate::types::{
    ClockDuration, ContactId, EngagementId, EpochMillis, IsoTime, NumOrStr, QueueId,
};
use crate::wire::{EnvelopeEnum, Payload, Rest, envelope_enum, wire_struct};

wire_struct! {
    /// A message without a payload (`zcc-init-config-request`). Any
    /// members that do arrive are kept in `extra`.
    pub struct Empty {}
}

wire_struct! {
    /// `zcc-resize`: the agent toggled the softphone's size.
    pub struct Resize {
        /// The new width in CSS pixels.
        "widthInPixels" => width_in_pixels: opt Number,
        /// The new height in CSS pixels.
        "heightInPixels" => height_in_pixels: opt Number,
    }
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

impl crate::fast::FastRead for SearchQuery {
    fn fast_read(s: &mut crate::fast::Scan<'_>) -> crate::fast::Fast<Self> {
        match s.peek() {
            Some(b'"') => Str::fast_read(s).map(Self::Text),
            // An object is never text, so serde's untagged matching would
            // land on the structured form; its own reader decides.
            Some(b'{') => StructuredQuery::fast_read(s).map(Self::Structured),
            // Anything else goes through serde's untagged matching.
            _ => s.serde(),
        }
    }
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self::Text(Str::default())
    }
}

wire_struct! {
    /// A structured contact query (`{ "email": …, "type": "email" }`).
    pub struct StructuredQuery {
        /// The e-mail address to look up.
        "email" => email: opt Str,
        /// The kind of query (`"email"`).
        "type" => kind: opt Str,
    }
}

wire_struct! {
    /// `zcc-contact-search-event`: resolve a phone number, name or e-mail
    /// against the CRM. Answer with [`ZoomCommand::ContactSearchResponse`].
    pub struct ContactSearch {
        /// What to search for.
        "query" => query: req SearchQuery,
    }
}

wire_struct! {
    /// `zcc-call-ringing`: a call is ringing for the agent.
    pub struct CallRinging {
        /// The channel (`"voice"`).
        "channel" => channel: opt Str,
        /// When the engagement was created.
        "createTs" => create_ts: opt EpochMillis,
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// The caller.
        "from" => from: opt Str,
        /// The queue's name.
        "queueName" => queue_name: opt Str,
        /// The callee.
        "to" => to: opt Str,
        /// The call is a conference leg.
        "isConference" => is_conference: opt bool,
        /// The call was transferred to the agent.
        "isTransfer" => is_transfer: opt bool,
    }
}

wire_struct! {
    /// `zcc-incomingPhone-request`: look up the caller of an incoming call
    /// or SMS. Answer with [`ZoomCommand::IncomingPhoneResponse`].
    pub struct IncomingPhoneRequest {
        /// The caller's number, E.164.
        "incomingPhoneNumber" => incoming_phone_number: req Str,
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// `"voice"` or `"sms"`.
        "channel" => channel: opt Str,
    }
}

wire_struct! {
    /// `zcc-incomingEmail-request`: look up the customer of an incoming
    /// chat or video engagement. Answer with
    /// [`ZoomCommand::IncomingEmailResponse`].
    pub struct IncomingEmailRequest {
        /// The customer's e-mail address.
        "email" => email: req Str,
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// `"chat"` or `"video"`.
        "channel" => channel: opt Str,
    }
}

wire_struct! {
    /// `zcc-screen-pop`: open this record.
    ///
    /// `id` is the `id` of the contact the agent chose, **or**, when the
    /// lookup found zero or one match and `screenPopEvent` is `RINGING`, the
    /// raw incoming phone number or e-mail address.
    pub struct ScreenPop {
        /// The contact id, or a phone number / e-mail address.
        "id" => id: req ContactId,
    }
}

wire_struct! {
    /// `zcc-call-connected`: a call was answered.
    pub struct CallConnected {
        /// When it was answered (absent in some real captures).
        "acceptTs" => accept_ts: opt EpochMillis,
        /// `"inbound"` / `"outbound"` (older builds send `"IN_BOUND"`).
        "direction" => direction: opt Str,
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// The caller.
        "from" => from: opt Str,
        /// The queue.
        "queueId" => queue_id: opt QueueId,
        /// The queue's name.
        "queueName" => queue_name: opt Str,
        /// The callee.
        "to" => to: opt Str,
    }
}

wire_struct! {
    /// `zcc-call-ended`, `zcc-chat-ended`, `zcc-video-ended`,
    /// `zcc-sms-ended`: the engagement ended.
    pub struct EngagementEnded {
        /// When it ended.
        "completeTs" => complete_ts: opt EpochMillis,
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
    }
}

wire_struct! {
    /// `zcc-chat-started`, `zcc-video-started`, `zcc-sms-started`.
    pub struct EngagementStarted {
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// When it started.
        "createTs" => create_ts: opt EpochMillis,
    }
}

wire_struct! {
    /// `zcc-chat-ringing`, `zcc-video-ringing`, `zcc-sms-ringing`.
    pub struct EngagementRinging {
        /// The queue.
        "queueId" => queue_id: opt QueueId,
        /// The queue's name.
        "queueName" => queue_name: opt Str,
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// The customer's display name (chat, SMS).
        "customerName" => customer_name: opt Str,
        /// The customer's e-mail address.
        "customerEmail" => customer_email: opt Str,
        /// The customer's number (SMS).
        "incomingPhoneNumber" => incoming_phone_number: opt Str,
    }
}

wire_struct! {
    /// `zcc-end-post-engagement` (deprecated by Zoom, still sent): the
    /// disposition chosen at wrap-up. Older builds send `name`, current
    /// ones `dispositionCode`; both are accepted.
    pub struct EndPostEngagement {
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// The disposition (older builds).
        "name" => name: opt Str,
        /// The disposition (current builds).
        "dispositionCode" => disposition_code: opt Str,
    }
}

impl EndPostEngagement {
    /// The disposition, whichever member carried it.
    #[must_use]
    pub fn disposition(&self) -> Option<&str> {
        self.disposition_code.as_deref().or(self.name.as_deref())
    }
}

wire_struct! {
    /// A CRM contact, as the host sends it in search answers and as Zoom
    /// echoes it back in the call log's `user`.
    pub struct Contact {
        /// The CRM's id for the record (shown to the agent).
        "id" => id: opt ContactId,
        /// The display name.
        "name" => name: opt Str,
        /// The phone number.
        "phone" => phone: opt Str,
        /// The e-mail address.
        "email" => email: opt Str,
        /// The CRM's entity type (`contact`, `lead`, …).
        "entity" => entity: opt Str,
    }
}

impl Contact {
    /// A contact with an id and a name.
    #[must_use]
    pub fn new(id: impl Into<ContactId>, name: impl Into<Str>) -> Self {
        Self::default().id(id.into()).name(name.into())
    }
}

wire_struct! {
    /// The `objectRecord` of a `zcc-phone-call-log`.
    pub struct CallLogRecord {
        /// `"inbound"` or `"outbound"`.
        "callType" => call_type: opt Str,
        /// The caller.
        "from" => from: opt Str,
        /// The callee.
        "to" => to: opt Str,
        /// Talk time as `m:ss`; `"NaN:NaN"` when the call never connected.
        "callDuration" => call_duration: opt ClockDuration,
        /// When the call was answered, or `""`.
        "callStartTime" => call_start_time: opt IsoTime,
        /// When the call ended, or `""`.
        "callEndTime" => call_end_time: opt IsoTime,
        /// The queue's name, or `""`.
        "callQueue" => call_queue: opt Str,
        /// The agent's extension.
        "agentExtension" => agent_extension: opt Str,
        /// The agent's name, or `""`.
        "agentName" => agent_name: opt Str,
        /// Wrap-up time so far, `HH:MM:SS`, or `""`.
        "wrapUpTimeDuration" => wrap_up_time_duration: opt ClockDuration,
        /// The agent's notes, oldest first (may contain HTML).
        "notes" => notes: opt Vec<Str>,
        /// The disposition: `""` when skipped, `"-"` when none was set.
        "dispositionCode" => disposition_code: opt Str,
        /// The engagement type (`"phone"`, `"chat"`, `"sms"`, …).
        "type" => kind: opt Str,
    }
}

wire_struct! {
    /// `zcc-phone-call-log`: the engagement's log entry, sent after
    /// wrap-up for every engagement type.
    pub struct PhoneCallLog {
        /// The log record.
        "objectRecord" => object_record: req CallLogRecord,
        /// The engagement.
        "engagementId" => engagement_id: opt EngagementId,
        /// The entity type the agent related the call to, or `""`.
        "relateTo" => relate_to: opt Str,
        /// The contact the host supplied earlier (only when it had a name).
        "user" => user: opt Contact,
        /// Present when the engagement was upgraded (voice to video); its
        /// inner shape is not published and is kept as JSON.
        "channelUpgradeInfo" => channel_upgrade_info: opt serde_json::Value,
        /// AI-generated notes the agent never edited.
        "smartNotes" => smart_notes: opt Vec<Str>,
    }
}

wire_struct! {
    /// `zcc-call-recording`: where the call's recording can be fetched.
    pub struct CallRecording {
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// The recording's URL.
        "recordingUrl" => recording_url: req Str,
    }
}

wire_struct! {
    /// `zcc-add-note`: one agent note (or a chat transcript) at wrap-up.
    pub struct AddNote {
        /// The note's text (may contain HTML).
        "comment" => comment: req Str,
    }
}

wire_struct! {
    /// `zcc-outbound-call-started`.
    pub struct OutboundCallStarted {
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// The calling number.
        "from" => from: opt Str,
        /// The called number.
        "to" => to: opt Str,
        /// The queue's name.
        "queueName" => queue_name: opt Str,
        /// When dialling started.
        "startTs" => start_ts: opt EpochMillis,
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

impl crate::fast::FastRead for ReasonCode {
    fn fast_read(s: &mut crate::fast::Scan<'_>) -> crate::fast::Fast<Self> {
        Str::fast_read(s).map(Self)
    }
}

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

wire_struct! {
    /// `zcc-inbound-not-connected` / `zcc-outbound-not-connected`.
    pub struct NotConnected {
        /// Why (an open string).
        "reasonCode" => reason_code: opt ReasonCode,
        /// A human-readable explanation.
        "message" => message: opt Str,
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
    }
}

wire_struct! {
    /// One engagement in a `zcc-engagement-status-response`.
    pub struct EngagementSummary {
        /// The engagement.
        "engagementId" => engagement_id: req EngagementId,
        /// Its channel.
        "channel" => channel: opt Str,
        /// Its direction.
        "engagementDirection" => engagement_direction: opt Str,
        /// The caller.
        "from" => from: opt Str,
        /// The callee.
        "to" => to: opt Str,
        /// The customer's e-mail address.
        "customerEmail" => customer_email: opt Str,
    }
}

wire_struct! {
    /// `zcc-engagement-status-response`: the agent's engagements.
    pub struct EngagementStatus {
        /// Engagements in progress.
        "active" => active: opt Vec<EngagementSummary>,
        /// Engagements in wrap-up.
        "wrapup" => wrapup: opt Vec<EngagementSummary>,
        /// The request this answers, when echoed.
        "requestId" => request_id: opt Str,
    }
}

wire_struct! {
    /// `zcc-agent-status-notification`: the agent's status changed.
    ///
    /// Observed codes: `"1"` ready, `"2"` not ready (parent of custom
    /// reasons), `"3"` occupied, `"30"` offline.
    pub struct AgentStatusNotification {
        /// The status code.
        "statusCode" => status_code: req NumOrStr,
        /// The parent status for a not-ready sub-reason (`"2"`).
        "parentStatusCode" => parent_status_code: opt NumOrStr,
        /// `"Ready"`, `"Occupied"`, `"Offline"`, `"Not Ready"`.
        "status" => status: opt Str,
        /// The not-ready sub-reason's name.
        "subReason" => sub_reason: opt Str,
    }
}

wire_struct! {
    /// One variable of a `zcc-get-variables-response`.
    pub struct EngagementVariable {
        /// The variable's display name.
        "globalVariableDisplayName" => display_name: opt Str,
        /// The variable's name (`Consumer.email`).
        "globalVariableName" => name: opt Str,
        /// Its value, any JSON.
        "value" => value: opt serde_json::Value,
    }
}

wire_struct! {
    /// `zcc-get-variables-response`.
    pub struct VariablesResponse {
        /// The variables.
        "variables" => variables: opt Vec<EngagementVariable>,
    }
}

wire_struct! {
    /// `zcc-error`: the softphone could not do what was asked.
    pub struct ZoomError {
        /// A code such as `"no-phone"`.
        "code" => code: opt Str,
        /// A human-readable message.
        "message" => message: opt Str,
        /// The host request this answers, if any.
        "requestId" => request_id: opt Str,
    }
}

/// The payload of a message whose shape Zoom does not publish: any JSON,
/// kept byte for byte.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "unknown"))]
pub struct Opaque {
    data: Option<Box<RawValue>>,
    rest: Rest,
}

impl Opaque {
    /// A payload from JSON text.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Syntax`](crate::ErrorKind::Syntax) when `json` is not JSON.
    pub fn from_json(json: &str) -> crate::Result<Self> {
        let raw =
            RawValue::from_string(json.to_owned()).map_err(|e| crate::Error::from_json(&e))?;
        crate::wire::check_raw_numbers(raw.get())
            .map_err(|m| crate::Error::new(crate::ErrorKind::Payload, m))?;
        Ok(Self {
            data: Some(raw),
            rest: Rest::default(),
        })
    }

    /// The payload as sent (`None` when there was none).
    #[must_use]
    pub fn get(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }

    /// The payload parsed as a JSON value (`Null` when there was none).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Limit`](crate::ErrorKind::Limit) when it nests deeper
    /// than `serde_json` parses.
    pub fn to_value(&self) -> crate::Result<serde_json::Value> {
        match &self.data {
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| crate::Error::from_json(&e)),
            None => Ok(serde_json::Value::Null),
        }
    }
}

impl PartialEq for Opaque {
    fn eq(&self, other: &Self) -> bool {
        self.data.as_ref().map(|d| d.get()) == other.data.as_ref().map(|d| d.get())
            && self.rest == other.rest
    }
}

impl Serialize for Opaque {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.data {
            Some(raw) => raw.serialize(s),
            None => s.serialize_unit(),
        }
    }
}

impl Payload for Opaque {
    fn deserialize_payload<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        crate::wire::check_raw_numbers(raw.get()).map_err(serde::de::Error::custom)?;
        Ok(Self {
            data: Some(raw),
            rest: Rest::default(),
        })
    }
    fn from_missing() -> Option<Self> {
        Some(Self::default())
    }
    fn rest(&self) -> &Rest {
        &self.rest
    }
    fn rest_mut(&mut self) -> &mut Rest {
        &mut self.rest
    }
}

impl crate::fast::FastRead for Opaque {
    fn fast_read(s: &mut crate::fast::Scan<'_>) -> crate::fast::Fast<Self> {
        let raw: Box<RawValue> = s.serde()?;
        crate::wire::check_raw_numbers(raw.get()).map_err(|_| crate::fast::Bail)?;
        Ok(Self {
            data: Some(raw),
            rest: Rest::default(),
        })
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Opaque {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Opaque".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "description": "A payload whose shape is not published; any JSON." })
    }
}

envelope_enum! {
    /// A message the Smart Embed softphone posts to the host page.
    pub enum ZoomEvent {
        /// The softphone loaded and asks for its configuration.
        "zcc-init-config-request" => InitConfigRequest(Empty),
        /// The agent resized the softphone.
        "zcc-resize" => Resize(Resize),
        /// Resolve a query against the CRM.
        "zcc-contact-search-event" => ContactSearch(ContactSearch),
        /// A call is ringing.
        "zcc-call-ringing" => CallRinging(CallRinging),
        /// Look up an incoming caller.
        "zcc-incomingPhone-request" => IncomingPhoneRequest(IncomingPhoneRequest),
        /// Open a record.
        "zcc-screen-pop" => ScreenPop(ScreenPop),
        /// A call was answered.
        "zcc-call-connected" => CallConnected(CallConnected),
        /// A call ended.
        "zcc-call-ended" => CallEnded(EngagementEnded),
        /// The wrap-up disposition (deprecated by Zoom, still sent).
        "zcc-end-post-engagement" => EndPostEngagement(EndPostEngagement),
        /// The engagement's log entry.
        "zcc-phone-call-log" => PhoneCallLog(PhoneCallLog),
        /// The recording's URL.
        "zcc-call-recording" => CallRecording(CallRecording),
        /// Look up an incoming chat or video customer.
        "zcc-incomingEmail-request" => IncomingEmailRequest(IncomingEmailRequest),
        /// A chat is ringing.
        "zcc-chat-ringing" => ChatRinging(EngagementRinging),
        /// A chat started.
        "zcc-chat-started" => ChatStarted(EngagementStarted),
        /// A chat ended.
        "zcc-chat-ended" => ChatEnded(EngagementEnded),
        /// A video engagement is ringing.
        "zcc-video-ringing" => VideoRinging(EngagementRinging),
        /// A video engagement started.
        "zcc-video-started" => VideoStarted(EngagementStarted),
        /// A video engagement ended.
        "zcc-video-ended" => VideoEnded(EngagementEnded),
        /// A note (or a chat transcript) at wrap-up.
        "zcc-add-note" => AddNote(AddNote),
        /// An SMS engagement is ringing.
        "zcc-sms-ringing" => SmsRinging(EngagementRinging),
        /// An SMS engagement started.
        "zcc-sms-started" => SmsStarted(EngagementStarted),
        /// An SMS engagement ended.
        "zcc-sms-ended" => SmsEnded(EngagementEnded),
        /// The agent started an outbound call.
        "zcc-outbound-call-started" => OutboundCallStarted(OutboundCallStarted),
        /// An inbound engagement did not connect.
        "zcc-inbound-not-connected" => InboundNotConnected(NotConnected),
        /// An outbound call did not connect.
        "zcc-outbound-not-connected" => OutboundNotConnected(NotConnected),
        /// The answer to `zcc-engagement-status-request`.
        "zcc-engagement-status-response" => EngagementStatusResponse(EngagementStatus),
        /// A link to the engagement's log (payload not published).
        "zcc-engagement-log-url" => EngagementLogUrl(Opaque),
        /// The agent's status changed.
        "zcc-agent-status-notification" => AgentStatusNotification(AgentStatusNotification),
        /// The answer to `zcc-get-variables`.
        "zcc-get-variables-response" => GetVariablesResponse(VariablesResponse),
        /// The softphone reports an error.
        "zcc-error" => Error(ZoomError),
    }
}

wire_struct! {
    /// Per-channel softphone configuration in `zcc-init-config-response`.
    pub struct ChannelConfig {
        /// When to screen-pop automatically: `"RINGING"` is documented;
        /// other values (`"CONNECTED"`, `"ANSWER"`) are seen in use.
        "screenPopEvent" => screen_pop_event: opt Str,
        /// Call-log options.
        "callLogConfigs" => call_log_configs: opt CallLogConfigs,
    }
}

wire_struct! {
    /// Call-log options of a channel.
    pub struct CallLogConfigs {
        /// Send `zcc-call-recording` after wrap-up for recorded calls.
        "autoUpdateCallURL" => auto_update_call_url: opt bool,
    }
}

wire_struct! {
    /// `zcc-init-config-response`: the host's softphone configuration.
    ///
    /// Only the `phone` block is published; blocks for other channels are
    /// kept in `extra` as sent.
    pub struct InitConfig {
        /// The voice channel's configuration.
        "phone" => phone: opt ChannelConfig,
    }
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
pub struct ContactMatches {
    /// The matching contacts.
    pub contacts: Vec<Contact>,
    /// The matches were sent as one object rather than an array.
    pub single_object: bool,
    rest: Rest,
}

impl ContactMatches {
    /// An array of matches.
    #[must_use]
    pub fn list(contacts: Vec<Contact>) -> Self {
        Self {
            contacts,
            single_object: false,
            rest: Rest::default(),
        }
    }

    /// One match sent as an object (an empty contact means no match).
    #[must_use]
    pub fn one(contact: Contact) -> Self {
        Self {
            contacts: vec![contact],
            single_object: true,
            rest: Rest::default(),
        }
    }
}

impl ContactMatches {
    /// The matches sent as one object: an empty contact means none.
    fn from_object(contact: Contact) -> Self {
        if contact == Contact::default() {
            Self {
                contacts: Vec::new(),
                single_object: true,
                rest: Rest::default(),
            }
        } else {
            Self::one(contact)
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

impl Payload for ContactMatches {
    fn deserialize_payload<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ContactMatches;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a contact object or an array of contacts")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut contacts = Vec::new();
                while let Some(c) = seq.next_element::<Contact>()? {
                    contacts.push(c);
                }
                Ok(ContactMatches::list(contacts))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                Contact::read_fields(map, None).map(ContactMatches::from_object)
            }
        }
        d.deserialize_any(V)
    }
    fn from_missing() -> Option<Self> {
        None
    }
    fn rest(&self) -> &Rest {
        &self.rest
    }
    fn rest_mut(&mut self) -> &mut Rest {
        &mut self.rest
    }
}

impl crate::fast::FastRead for ContactMatches {
    fn fast_read(s: &mut crate::fast::Scan<'_>) -> crate::fast::Fast<Self> {
        match s.peek() {
            Some(b'[') => Vec::<Contact>::fast_read(s).map(Self::list),
            Some(b'{') => Contact::fast_read(s).map(Self::from_object),
            _ => Err(crate::fast::Bail),
        }
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

wire_struct! {
    /// `onclicktoact`: click-to-dial from the host page. `phone` is
    /// required by the softphone (without it, it answers `zcc-error`
    /// `no-phone`); the other members are seen in use.
    pub struct ClickToDial {
        /// The number to dial.
        "phone" => phone: opt Str,
        /// The CRM record's id.
        "id" => id: opt ContactId,
        /// The contact's name.
        "name" => name: opt Str,
        /// The contact's e-mail address.
        "email" => email: opt Str,
        /// The CRM entity type.
        "userEntity" => user_entity: opt Str,
    }
}

wire_struct! {
    /// Host → softphone control of one engagement
    /// (`zcc-terminate-engagement`, `zcc-set-engagement-disposition`,
    /// `zcc-close-engagement-wrapup`; inferred for accept and reject).
    pub struct EngagementControl {
        /// The engagement.
        "engagementId" => engagement_id: opt EngagementId,
        /// `"voice"`, `"chat"`, `"sms"` or `"video"`.
        "channelType" => channel_type: opt Str,
        /// A host-chosen id to correlate the softphone's answer.
        "requestId" => request_id: opt Str,
        /// The disposition (`zcc-set-engagement-disposition`).
        "dispositionId" => disposition_id: opt Str,
    }
}

wire_struct! {
    /// `zcc-engagement-status-request`.
    pub struct StatusRequest {
        /// A host-chosen id to correlate the answer.
        "requestId" => request_id: opt Str,
    }
}

wire_struct! {
    /// `zcc-agent-status-set-request`: change the agent's status.
    pub struct SetAgentStatus {
        /// The status code (see [`AgentStatusNotification`]).
        "id" => id: req NumOrStr,
    }
}

wire_struct! {
    /// `zcc-get-variables`: ask for an engagement's variables.
    pub struct GetVariables {
        /// The engagement.
        "engagementId" => engagement_id: opt EngagementId,
    }
}

envelope_enum! {
    /// A message the host page posts into the Smart Embed iframe.
    pub enum ZoomCommand {
        /// The answer to `zcc-init-config-request`.
        "zcc-init-config-response" => InitConfigResponse(InitConfig),
        /// The answer to `zcc-contact-search-event`.
        "zcc-contact-search-response" => ContactSearchResponse(ContactMatches),
        /// The answer to `zcc-incomingPhone-request`.
        "zcc-incomingPhone-response" => IncomingPhoneResponse(ContactMatches),
        /// The answer to `zcc-incomingEmail-request`.
        "zcc-incomingEmail-response" => IncomingEmailResponse(ContactMatches),
        /// Click-to-dial.
        "onclicktoact" => ClickToDial(ClickToDial),
        /// Reject a ringing engagement (payload inferred).
        "zcc-reject-engagement" => RejectEngagement(EngagementControl),
        /// Accept a ringing engagement (payload inferred).
        "zcc-accept-engagement" => AcceptEngagement(EngagementControl),
        /// End an engagement.
        "zcc-terminate-engagement" => TerminateEngagement(EngagementControl),
        /// Set an engagement's disposition.
        "zcc-set-engagement-disposition" => SetEngagementDisposition(EngagementControl),
        /// Close an engagement's wrap-up.
        "zcc-close-engagement-wrapup" => CloseEngagementWrapup(EngagementControl),
        /// Ask for the agent's engagements.
        "zcc-engagement-status-request" => EngagementStatusRequest(StatusRequest),
        /// Mute (payload not published).
        "zcc-set-mute" => SetMute(Opaque),
        /// Hold (payload not published).
        "zcc-set-hold" => SetHold(Opaque),
        /// Send DTMF digits (payload not published).
        "zcc-send-dtmf" => SendDtmf(Opaque),
        /// Start or stop recording (payload not published).
        "zcc-set-recording" => SetRecording(Opaque),
        /// Transfer (payload not published).
        "zcc-transfer-engagement" => TransferEngagement(Opaque),
        /// Add a call (payload not published).
        "zcc-add-call" => AddCall(Opaque),
        /// Cancel a consult (payload not published).
        "zcc-cancel-consult" => CancelConsult(Opaque),
        /// Complete a transfer (payload not published).
        "zcc-complete-transfer" => CompleteTransfer(Opaque),
        /// Merge a consult into a conference (payload not published).
        "zcc-merge-consult" => MergeConsult(Opaque),
        /// Upgrade to video (payload not published).
        "zcc-upgrade-to-video" => UpgradeToVideo(Opaque),
        /// Ask for the disposition codes (payload not published).
        "zcc-get-disposition-codes" => GetDispositionCodes(Opaque),
        /// Change the agent's status.
        "zcc-agent-status-set-request" => AgentStatusSetRequest(SetAgentStatus),
        /// Ask for an engagement's variables.
        "zcc-get-variables" => GetVariables(GetVariables),
    }
}

/// A Zoom message in either direction.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ZoomMessage {
    /// Softphone → host.
    Event(ZoomEvent),
    /// Host → softphone.
    Command(ZoomCommand),
}

impl ZoomMessage {
    /// Decodes a message of either direction. Types of neither catalogue
    /// decode to [`ZoomEvent::Unknown`].
    ///
    /// # Errors
    ///
    /// As [`ZoomEvent::decode`].
    pub fn decode(json: &str) -> crate::Result<Self> {
        crate::wire::decode_envelope(json)
    }

    /// The wire type string.
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

impl EnvelopeEnum for ZoomMessage {
    fn decode_data<'de, A: serde::de::MapAccess<'de>>(
        kind: &str,
        map: &mut A,
    ) -> Result<Option<Option<Self>>, A::Error> {
        Ok(if ZoomCommand::knows(kind) {
            ZoomCommand::decode_data(kind, map)?.map(|o| o.map(Self::Command))
        } else {
            ZoomEvent::decode_data(kind, map)?.map(|o| o.map(Self::Event))
        })
    }
    fn rest_mut(&mut self) -> Option<&mut Rest> {
        match self {
            Self::Event(e) => e.rest_mut(),
            Self::Command(c) => c.rest_mut(),
        }
    }
    fn unknown(u: crate::wire::UnknownMessage) -> Self {
        Self::Event(ZoomEvent::Unknown(Box::new(u)))
    }
    fn fast_data(kind: &str, s: &mut crate::fast::Scan<'_>) -> crate::fast::Fast<Option<Self>> {
        Ok(if ZoomCommand::knows(kind) {
            ZoomCommand::fast_data(kind, s)?.map(Self::Command)
        } else {
            ZoomEvent::fast_data(kind, s)?.map(Self::Event)
        })
    }
    fn fast_absent(kind: &str) -> crate::fast::Fast<Self> {
        if ZoomCommand::knows(kind) {
            ZoomCommand::fast_absent(kind).map(Self::Command)
        } else {
            ZoomEvent::fast_absent(kind).map(Self::Event)
        }
    }
    fn from_envelope(env: crate::wire::Envelope<'_>) -> crate::Result<Self> {
        if ZoomCommand::knows(&env.kind) {
            ZoomCommand::from_envelope(env).map(Self::Command)
        } else {
            ZoomEvent::from_envelope(env).map(Self::Event)
        }
    }
}
