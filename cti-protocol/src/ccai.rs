//! Google CCAI Platform agent adapter: the events the call and chat
//! adapter iframes post to the CRM page.
//!
//! Each is a `{ "type": "<Type>", "data": {…} }` envelope. The adapter may
//! post the envelope as an object **or as a JSON string** holding it;
//! [`AdapterEvent::decode`] accepts both, and [`decode_with_form`] also
//! tells which was used.
//!
//! Ids (`agent_id`, `call_id`, `queue_id`, …) are integers in most events
//! but strings in `Agent_Assist_Started`; both decode and re-encode as they
//! came. Many fields may be `null`. The co-browse enums accept both
//! `end_user` and `end-user`.
//!
//! # Not published
//!
//! The adapter's documentation names *Chat Inbound Message*, *Chat Outbound
//! Message*, *Transfer*, *Add Party* and *Agent Connects to Session*
//! events without giving their type strings; they decode as
//! [`AdapterEvent::Unknown`] with their payloads kept.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::ccai::{AdapterEvent, decode_with_form, WireForm};
//!
//! // Posted as a JSON string, as `JSON.parse(e.data)` listeners expect.
//! let posted = r#""{\"type\":\"CRM_Record_Pop\",\"data\":{\"recordUrl\":\"https://crm.example/r/42\"}}""#;
//! let (event, form) = decode_with_form(posted)?;
//! assert_eq!(form, WireForm::JsonString);
//! let AdapterEvent::CrmRecordPop(pop) = event else { unreachable!() };
//! assert_eq!(pop.record_url, "https://crm.example/r/42");
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod generic;
pub mod metadata;
pub mod storage;
pub mod template;

use crate::types::Str;
use crate::types::{AgentId, CallId, CampaignId, ChatId, NumOrStr, QueueId};
use crate::wire::{envelope_enum, wire_struct};

wire_struct! {
    /// `Agent_Login`: the agent logged into the adapter.
    pub struct AgentLogin {
        /// The agent.
        "agent_id" => agent_id: req AgentId,
        /// The custom id from the agent's profile.
        "agent_custom_id" => agent_custom_id: opt Str,
        /// The agent's e-mail address.
        "agent_email" => agent_email: opt Str,
    }
}

wire_struct! {
    /// `New_Call` / `End_Call`: the agent picked up, or a call ended.
    pub struct CallEvent {
        /// The agent.
        "agent_id" => agent_id: req AgentId,
        /// The custom id from the agent's profile.
        "agent_custom_id" => agent_custom_id: opt Str,
        /// The agent's e-mail address.
        "agent_email" => agent_email: opt Str,
        /// The queue the call came from.
        "queue_id" => queue_id: opt QueueId,
        /// The queue's path (`"Support / Billing"`).
        "queue_path" => queue_path: opt Str,
        /// The campaign (campaign calls).
        "campaign_id" => campaign_id: opt CampaignId,
        /// The campaign's name.
        "campaign_name" => campaign_name: opt Str,
        /// The call.
        "call_id" => call_id: req CallId,
        /// The session type (`"Voice Inbound"`, `"Voice Campaign (UJET)"`, …).
        "session_type" => session_type: opt Str,
        /// The virtual agent involved.
        "virtual_agent_id" => virtual_agent_id: opt NumOrStr,
        /// Variables sent to the virtual agent.
        "va_data_parameters" => va_data_parameters: opt serde_json::Value,
        /// Variables the virtual agent sent back.
        "session_variable" => session_variable: opt serde_json::Value,
        /// Custom SIP headers of the incoming call.
        "custom_sip_headers" => custom_sip_headers: opt serde_json::Value,
        /// Signed custom data from the customer's server.
        "custom_data_secured" => custom_data_secured: opt serde_json::Value,
        /// Unsigned custom data from the customer's web page.
        "custom_data_not_secured" => custom_data_not_secured: opt serde_json::Value,
    }
}

wire_struct! {
    /// `New_Chat`, `Active_Chat`, `End_Chat`, `Dismissed_Chat`.
    pub struct ChatEvent {
        /// The chat.
        "chat_id" => chat_id: req ChatId,
        /// The session type (case varies: `"messaging inbound (web chat)"`).
        "session_type" => session_type: opt Str,
        /// The agent.
        "agent_id" => agent_id: opt AgentId,
        /// The custom id from the agent's profile.
        "agent_custom_id" => agent_custom_id: opt Str,
        /// The agent's e-mail address.
        "agent_email" => agent_email: opt Str,
        /// The queue the chat came from.
        "queue_id" => queue_id: opt QueueId,
        /// The queue's path.
        "queue_path" => queue_path: opt Str,
        /// Signed custom data from the customer's server.
        "custom_data_secured" => custom_data_secured: opt serde_json::Value,
        /// Unsigned custom data from the customer's web page.
        "custom_data_not_secured" => custom_data_not_secured: opt serde_json::Value,
    }
}

/// Who took a co-browse action: `agent`, `end_user` (also spelled
/// `end-user`), `api`, or a value this version does not know.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub enum CobrowseActor {
    /// The agent.
    #[default]
    Agent,
    /// The end user; `hyphenated` records the `end-user` spelling.
    EndUser {
        /// It was spelled `end-user`.
        hyphenated: bool,
    },
    /// The API.
    Api,
    /// Any other value, kept.
    Other(String),
}

impl CobrowseActor {
    /// The wire text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Agent => "agent",
            Self::EndUser { hyphenated: false } => "end_user",
            Self::EndUser { hyphenated: true } => "end-user",
            Self::Api => "api",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Debug for CobrowseActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CobrowseActor({:?})", self.as_str())
    }
}

impl Serialize for CobrowseActor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl CobrowseActor {
    fn from_wire(s: std::borrow::Cow<'_, str>) -> Self {
        match &*s {
            "agent" => Self::Agent,
            "end_user" => Self::EndUser { hyphenated: false },
            "end-user" => Self::EndUser { hyphenated: true },
            "api" => Self::Api,
            _ => Self::Other(s.into_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for CobrowseActor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_wire(crate::wire::Key::deserialize(d)?.0))
    }
}

impl crate::fast::FastRead for CobrowseActor {
    fn fast_read(s: &mut crate::fast::Scan<'_>) -> crate::fast::Fast<Self> {
        s.str().map(Self::from_wire)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for CobrowseActor {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CobrowseActor".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "examples": ["agent", "end_user", "end-user", "api"]
        })
    }
}

/// The state of a co-browse feature: `off`, `requested`, `rejected`, `on`,
/// or a value this version does not know.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub enum CobrowseState {
    /// Off.
    #[default]
    Off,
    /// Requested, not yet granted.
    Requested,
    /// Refused.
    Rejected,
    /// On.
    On,
    /// Any other value, kept.
    Other(String),
}

impl CobrowseState {
    /// The wire text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Off => "off",
            Self::Requested => "requested",
            Self::Rejected => "rejected",
            Self::On => "on",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Debug for CobrowseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CobrowseState({:?})", self.as_str())
    }
}

impl Serialize for CobrowseState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl CobrowseState {
    fn from_wire(s: std::borrow::Cow<'_, str>) -> Self {
        match &*s {
            "off" => Self::Off,
            "requested" => Self::Requested,
            "rejected" => Self::Rejected,
            "on" => Self::On,
            _ => Self::Other(s.into_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for CobrowseState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_wire(crate::wire::Key::deserialize(d)?.0))
    }
}

impl crate::fast::FastRead for CobrowseState {
    fn fast_read(s: &mut crate::fast::Scan<'_>) -> crate::fast::Fast<Self> {
        s.str().map(Self::from_wire)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for CobrowseState {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CobrowseState".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "examples": ["off", "requested", "rejected", "on"]
        })
    }
}

wire_struct! {
    /// The co-browse events: started, remote control changed, full device
    /// changed, ended. Which members are present depends on the event.
    pub struct CobrowseEvent {
        /// The agent.
        "agent_id" => agent_id: opt AgentId,
        /// The call it happens in.
        "call_id" => call_id: opt CallId,
        /// The chat it happens in.
        "chat_id" => chat_id: opt ChatId,
        /// The co-browse session.
        "cobrowse_session_id" => cobrowse_session_id: req Str,
        /// Who asked for the session.
        "cobrowse_session_requested_by" => requested_by: opt CobrowseActor,
        /// Who ended the session.
        "cobrowse_session_ended_by" => ended_by: opt CobrowseActor,
        /// Remote control state.
        "cobrowse_session_remote_control" => remote_control: opt CobrowseState,
        /// Full-device state.
        "cobrowse_session_full_device" => full_device: opt CobrowseState,
        /// Signed custom data.
        "custom_data_secured" => custom_data_secured: opt serde_json::Value,
        /// Unsigned custom data.
        "custom_data_not_secured" => custom_data_not_secured: opt serde_json::Value,
    }
}

wire_struct! {
    /// `Agent_Assist_Started`: the agent turned on Agent Assist. All ids
    /// are strings here.
    pub struct AgentAssistStarted {
        /// The Agent Assist conversation.
        "conversation_id" => conversation_id: opt NumOrStr,
        /// The queue.
        "queue_id" => queue_id: opt QueueId,
        /// The agent.
        "agent_id" => agent_id: opt AgentId,
        /// The session (call or chat).
        "session_id" => session_id: opt NumOrStr,
        /// The queue's language.
        "queue_language_id" => queue_language_id: opt Str,
        /// When, as sent (`"12:45:15"`).
        "timestamp" => timestamp: opt NumOrStr,
    }
}

wire_struct! {
    /// `CRM_Record_Pop`: open this CRM record.
    pub struct CrmRecordPop {
        /// The record's URL.
        "recordUrl" => record_url: req Str,
    }
}

wire_struct! {
    /// `Task_VA_Joined`: a virtual task assistant joined the session.
    pub struct TaskVaJoined {
        /// The call.
        "call_id" => call_id: opt CallId,
        /// The chat.
        "chat_id" => chat_id: opt ChatId,
        /// The campaign.
        "campaign_id" => campaign_id: opt CampaignId,
        /// The campaign's name.
        "campaign_name" => campaign_name: opt Str,
        /// The virtual agent.
        "virtual_agent_id" => virtual_agent_id: opt NumOrStr,
        /// The virtual agent's name.
        "virtual_agent_name" => virtual_agent_name: opt Str,
        /// The participant id of the assistant.
        "participant_id" => participant_id: opt NumOrStr,
        /// The queue.
        "queue_id" => queue_id: opt QueueId,
        /// The queue's path.
        "queue_path" => queue_path: opt Str,
        /// The queue's language.
        "queue_language_id" => queue_language_id: opt Str,
        /// The session type.
        "session_type" => session_type: opt Str,
        /// The assistant's conversation.
        "conversation_id" => conversation_id: opt NumOrStr,
        /// The session.
        "session_id" => session_id: opt NumOrStr,
        /// When, as sent.
        "timestamp" => timestamp: opt NumOrStr,
        /// Parameters passed to the assistant.
        "data_parameters" => data_parameters: opt serde_json::Value,
    }
}

envelope_enum! {
    /// An event the CCAI Platform agent adapter posts to the CRM page.
    pub enum AdapterEvent {
        /// The agent logged in.
        "Agent_Login" => AgentLogin(AgentLogin),
        /// The agent picked up a call.
        "New_Call" => NewCall(CallEvent),
        /// A call ended.
        "End_Call" => EndCall(CallEvent),
        /// The agent picked up a chat.
        "New_Chat" => NewChat(ChatEvent),
        /// The agent switched to a chat's tab.
        "Active_Chat" => ActiveChat(ChatEvent),
        /// A chat ended.
        "End_Chat" => EndChat(ChatEvent),
        /// The agent closed a chat's tab.
        "Dismissed_Chat" => DismissedChat(ChatEvent),
        /// A co-browse session started.
        "Cobrowse_Session_Started" => CobrowseStarted(CobrowseEvent),
        /// Remote control changed.
        "Cobrowse_Session_Remote_Control_Changed" => CobrowseRemoteControlChanged(CobrowseEvent),
        /// Full-device sharing changed.
        "Cobrowse_Session_Full_Device_Changed" => CobrowseFullDeviceChanged(CobrowseEvent),
        /// A co-browse session ended.
        "Cobrowse_Session_Ended" => CobrowseEnded(CobrowseEvent),
        /// Agent Assist started.
        "Agent_Assist_Started" => AgentAssistStarted(AgentAssistStarted),
        /// Open a CRM record.
        "CRM_Record_Pop" => CrmRecordPop(CrmRecordPop),
        /// A virtual task assistant joined.
        "Task_VA_Joined" => TaskVaJoined(TaskVaJoined),
    }
}

/// How an adapter message was posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WireForm {
    /// As an object.
    Object,
    /// As a JSON string holding the object.
    JsonString,
}

/// Decodes an adapter message posted as an object or as a JSON string, and
/// tells which.
///
/// # Errors
///
/// As [`AdapterEvent::decode`]; a string that does not hold a message
/// object is an [`ErrorKind::Envelope`](crate::ErrorKind::Envelope) error.
pub fn decode_with_form(json: &str) -> crate::Result<(AdapterEvent, WireForm)> {
    decode_form_with(json, AdapterEvent::decode)
}

/// [`decode_with_form`] with the object decoder given.
pub(crate) fn decode_form_with(
    json: &str,
    decode: fn(&str) -> crate::Result<AdapterEvent>,
) -> crate::Result<(AdapterEvent, WireForm)> {
    if json.trim_start().starts_with('"') {
        let inner: String = match crate::fast::json_string(json) {
            Ok(inner) => inner,
            // serde_json decides anything unusual, and names what is wrong.
            Err(crate::fast::Bail) => {
                serde_json::from_str(json).map_err(|e| crate::Error::from_json(&e))?
            }
        };
        let event = decode(&inner).map_err(|e| match e.kind() {
            crate::ErrorKind::Syntax | crate::ErrorKind::Envelope | crate::ErrorKind::Limit => {
                crate::Error::new(
                    e.kind(),
                    format!("the posted string does not hold a message: {e}"),
                )
            }
            _ => e,
        })?;
        Ok((event, WireForm::JsonString))
    } else {
        Ok((decode(json)?, WireForm::Object))
    }
}

impl AdapterEvent {
    /// Decodes a message posted as an object or as a JSON string.
    ///
    /// # Errors
    ///
    /// See [`decode_with_form`].
    pub fn decode_posted(json: &str) -> crate::Result<Self> {
        decode_with_form(json).map(|(e, _)| e)
    }

    /// Encodes the message in the given wire form.
    #[must_use]
    pub fn encode_as(&self, form: WireForm) -> String {
        let text = self.encode();
        match form {
            WireForm::Object => text,
            WireForm::JsonString => crate::wire::to_json_string(&text),
        }
    }
}
