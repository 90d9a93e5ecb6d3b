//! Google CCAI Platform agent adapter: the events the call and chat
//! adapter iframes post to the CRM page.
//!
//! Each is a `{ "type": "<Type>", "data": {…} }` envelope. The adapter may
//! post the envelope as an object **or as a JSON string** holding it;
//! [`decode`] accepts both, and [`VendorMessage::form`] tells which was
//! used.
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
//! [`Body::Unknown`] with their JSON kept.
//!
//! # Examples
//!
//! ```
//! use cti_protocol::ccai::{self, AdapterEvent, WireForm};
//! use cti_protocol::message::Body;
//!
//! // Posted as a JSON string, as `JSON.parse(e.data)` listeners expect.
//! let posted = r#""{\"type\":\"CRM_Record_Pop\",\"data\":{\"recordUrl\":\"https://crm.example/r/42\"}}""#;
//! let msg = ccai::decode(posted)?;
//! assert_eq!(msg.form(), WireForm::JsonString);
//! let Body::Ccai(AdapterEvent::CrmRecordPop(pop)) = msg.body() else { unreachable!() };
//! assert_eq!(pop.record_url, "https://crm.example/r/42");
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod generic;
pub mod metadata;
pub mod storage;
pub mod template;

use crate::dialect::{Dialect, Softphone, posted};
pub use crate::message::WireForm;
use crate::message::{Body, Catalogue, Layout, VendorMessage, decode_typed};
use crate::model::{
    AgentRef, Channel, CobrowseChange, Command, Direction, EventKind, Interaction, QueueRef,
    ScreenPopTarget,
};
use crate::types::Str;
use crate::types::{AgentId, CallId, CampaignId, ChatId, NumOrStr, QueueId};

/// `Agent_Login`: the agent logged into the adapter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentLogin {
    /// The agent.
    pub agent_id: AgentId,
    /// The custom id from the agent's profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_custom_id: Option<Str>,
    /// The agent's e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_email: Option<Str>,
}

impl AgentLogin {
    /// A value with its required `agent_id`; everything else absent.
    #[must_use]
    pub fn new(agent_id: impl Into<AgentId>) -> Self {
        Self {
            agent_id: agent_id.into(),
            ..Self::default()
        }
    }
}

/// `New_Call` / `End_Call`: the agent picked up, or a call ended.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallEvent {
    /// The agent.
    pub agent_id: AgentId,
    /// The custom id from the agent's profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_custom_id: Option<Str>,
    /// The agent's e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_email: Option<Str>,
    /// The queue the call came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The queue's path (`"Support / Billing"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_path: Option<Str>,
    /// The campaign (campaign calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<CampaignId>,
    /// The campaign's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<Str>,
    /// The call.
    pub call_id: CallId,
    /// The session type (`"Voice Inbound"`, `"Voice Campaign (UJET)"`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_type: Option<Str>,
    /// The virtual agent involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_agent_id: Option<NumOrStr>,
    /// Variables sent to the virtual agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub va_data_parameters: Option<serde_json::Value>,
    /// Variables the virtual agent sent back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_variable: Option<serde_json::Value>,
    /// Custom SIP headers of the incoming call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_sip_headers: Option<serde_json::Value>,
    /// Signed custom data from the customer's server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data_secured: Option<serde_json::Value>,
    /// Unsigned custom data from the customer's web page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data_not_secured: Option<serde_json::Value>,
}

impl CallEvent {
    /// A value with its required `agent_id`, `call_id`; everything else absent.
    #[must_use]
    pub fn new(agent_id: impl Into<AgentId>, call_id: impl Into<CallId>) -> Self {
        Self {
            agent_id: agent_id.into(),
            call_id: call_id.into(),
            ..Self::default()
        }
    }
}

/// `New_Chat`, `Active_Chat`, `End_Chat`, `Dismissed_Chat`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChatEvent {
    /// The chat.
    pub chat_id: ChatId,
    /// The session type (case varies: `"messaging inbound (web chat)"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_type: Option<Str>,
    /// The agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The custom id from the agent's profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_custom_id: Option<Str>,
    /// The agent's e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_email: Option<Str>,
    /// The queue the chat came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The queue's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_path: Option<Str>,
    /// Signed custom data from the customer's server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data_secured: Option<serde_json::Value>,
    /// Unsigned custom data from the customer's web page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data_not_secured: Option<serde_json::Value>,
}

impl ChatEvent {
    /// A value with its required `chat_id`; everything else absent.
    #[must_use]
    pub fn new(chat_id: impl Into<ChatId>) -> Self {
        Self {
            chat_id: chat_id.into(),
            ..Self::default()
        }
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
        Ok(Self::from_wire(std::borrow::Cow::<str>::deserialize(d)?))
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
        Ok(Self::from_wire(std::borrow::Cow::<str>::deserialize(d)?))
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

/// The co-browse events: started, remote control changed, full device
/// changed, ended. Which members are present depends on the event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CobrowseEvent {
    /// The agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The call it happens in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
    /// The chat it happens in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<ChatId>,
    /// The co-browse session.
    pub cobrowse_session_id: Str,
    /// Who asked for the session.
    #[serde(
        rename = "cobrowse_session_requested_by",
        skip_serializing_if = "Option::is_none"
    )]
    pub requested_by: Option<CobrowseActor>,
    /// Who ended the session.
    #[serde(
        rename = "cobrowse_session_ended_by",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended_by: Option<CobrowseActor>,
    /// Remote control state.
    #[serde(
        rename = "cobrowse_session_remote_control",
        skip_serializing_if = "Option::is_none"
    )]
    pub remote_control: Option<CobrowseState>,
    /// Full-device state.
    #[serde(
        rename = "cobrowse_session_full_device",
        skip_serializing_if = "Option::is_none"
    )]
    pub full_device: Option<CobrowseState>,
    /// Signed custom data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data_secured: Option<serde_json::Value>,
    /// Unsigned custom data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data_not_secured: Option<serde_json::Value>,
}

impl CobrowseEvent {
    /// A value with its required `cobrowse_session_id`; everything else absent.
    #[must_use]
    pub fn new(cobrowse_session_id: impl Into<Str>) -> Self {
        Self {
            cobrowse_session_id: cobrowse_session_id.into(),
            ..Self::default()
        }
    }
}

/// `Agent_Assist_Started`: the agent turned on Agent Assist. All ids
/// are strings here.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentAssistStarted {
    /// The Agent Assist conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<NumOrStr>,
    /// The queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The session (call or chat).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<NumOrStr>,
    /// The queue's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_language_id: Option<Str>,
    /// When, as sent (`"12:45:15"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<NumOrStr>,
}

/// `CRM_Record_Pop`: open this CRM record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CrmRecordPop {
    /// The record's URL.
    #[serde(rename = "recordUrl")]
    pub record_url: Str,
}

impl CrmRecordPop {
    /// A value with its required `record_url`; everything else absent.
    #[must_use]
    pub fn new(record_url: impl Into<Str>) -> Self {
        Self {
            record_url: record_url.into(),
            ..Self::default()
        }
    }
}

/// `Task_VA_Joined`: a virtual task assistant joined the session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TaskVaJoined {
    /// The call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
    /// The chat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<ChatId>,
    /// The campaign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<CampaignId>,
    /// The campaign's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<Str>,
    /// The virtual agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_agent_id: Option<NumOrStr>,
    /// The virtual agent's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_agent_name: Option<Str>,
    /// The participant id of the assistant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<NumOrStr>,
    /// The queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The queue's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_path: Option<Str>,
    /// The queue's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_language_id: Option<Str>,
    /// The session type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_type: Option<Str>,
    /// The assistant's conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<NumOrStr>,
    /// The session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<NumOrStr>,
    /// When, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<NumOrStr>,
    /// Parameters passed to the assistant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_parameters: Option<serde_json::Value>,
}

/// An event the CCAI Platform agent adapter posts to the CRM page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AdapterEvent {
    /// The agent logged in.
    #[serde(rename = "Agent_Login")]
    AgentLogin(Box<AgentLogin>),
    /// The agent picked up a call.
    #[serde(rename = "New_Call")]
    NewCall(Box<CallEvent>),
    /// A call ended.
    #[serde(rename = "End_Call")]
    EndCall(Box<CallEvent>),
    /// The agent picked up a chat.
    #[serde(rename = "New_Chat")]
    NewChat(Box<ChatEvent>),
    /// The agent switched to a chat's tab.
    #[serde(rename = "Active_Chat")]
    ActiveChat(Box<ChatEvent>),
    /// A chat ended.
    #[serde(rename = "End_Chat")]
    EndChat(Box<ChatEvent>),
    /// The agent closed a chat's tab.
    #[serde(rename = "Dismissed_Chat")]
    DismissedChat(Box<ChatEvent>),
    /// A co-browse session started.
    #[serde(rename = "Cobrowse_Session_Started")]
    CobrowseStarted(Box<CobrowseEvent>),
    /// Remote control changed.
    #[serde(rename = "Cobrowse_Session_Remote_Control_Changed")]
    CobrowseRemoteControlChanged(Box<CobrowseEvent>),
    /// Full-device sharing changed.
    #[serde(rename = "Cobrowse_Session_Full_Device_Changed")]
    CobrowseFullDeviceChanged(Box<CobrowseEvent>),
    /// A co-browse session ended.
    #[serde(rename = "Cobrowse_Session_Ended")]
    CobrowseEnded(Box<CobrowseEvent>),
    /// Agent Assist started.
    #[serde(rename = "Agent_Assist_Started")]
    AgentAssistStarted(Box<AgentAssistStarted>),
    /// Open a CRM record.
    #[serde(rename = "CRM_Record_Pop")]
    CrmRecordPop(Box<CrmRecordPop>),
    /// A virtual task assistant joined.
    #[serde(rename = "Task_VA_Joined")]
    TaskVaJoined(Box<TaskVaJoined>),
}

/// The layout of every adapter event.
const LAYOUT: Layout = Layout::Adjacent("type");

static EVENTS: Catalogue = Catalogue::new();

impl AdapterEvent {
    /// Every event type this version models.
    #[must_use]
    pub fn known_types() -> &'static [&'static str] {
        EVENTS.get::<Self>("type")
    }
}

/// Decodes one adapter event, posted as an object or as a JSON string
/// holding one ([`VendorMessage::form`] tells which). Unknown event types
/// decode as [`Body::Unknown`].
///
/// # Errors
///
/// Only when the message is not JSON, not an object (or a string holding
/// one), or has no string `type`.
pub fn decode(json: &str) -> crate::Result<VendorMessage> {
    let (inner, form) = if json.trim_start().starts_with('"') {
        let inner: String = serde_json::from_str(json).map_err(crate::Error::from_json)?;
        (std::borrow::Cow::Owned(inner), WireForm::JsonString)
    } else {
        (std::borrow::Cow::Borrowed(json), WireForm::Object)
    };
    let kind = crate::message::read_tag(LAYOUT, &inner).map_err(|e| {
        if form == WireForm::JsonString {
            crate::Error::new(
                e.kind(),
                format!("the posted string does not hold a message: {e}"),
            )
        } else {
            e
        }
    })?;
    let (body, unreadable) =
        match decode_typed::<AdapterEvent>(LAYOUT, AdapterEvent::known_types(), &kind, &inner)? {
            Some((e, bad)) => (Body::Ccai(e), bad),
            None => (Body::Unknown, Vec::new()),
        };
    Ok(VendorMessage::new(
        crate::Vendor::Ccai,
        Str::new(&kind),
        body,
        json.into(),
        form,
        unreadable,
    ))
}

fn agent(id: Option<&AgentId>, custom: Option<&Str>, email: Option<&Str>) -> Option<AgentRef> {
    let a = AgentRef {
        id: id.map(|i| i.text_str()),
        custom_id: custom.cloned(),
        email: email.cloned(),
        name: None,
    };
    (a.id.is_some() || a.custom_id.is_some() || a.email.is_some()).then_some(a)
}

fn chat(c: &ChatEvent) -> Box<Interaction> {
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
    i.agent = agent(
        c.agent_id.as_ref(),
        c.agent_custom_id.as_ref(),
        c.agent_email.as_ref(),
    );
    i.session_type = c.session_type.clone();
    i
}

fn call(c: &CallEvent) -> Box<Interaction> {
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
    i.agent = agent(
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

/// Reads the words of a session type, in any case.
fn session_words(session_type: &str) -> SessionWords {
    let t = session_type.to_ascii_lowercase();
    SessionWords {
        sms: t.contains("sms"),
        outbound: t.contains("outbound") || t.contains("campaign"),
        inbound: t.contains("inbound") || t.contains("callback") || t.contains("scheduled"),
    }
}

/// The neutral meaning of an adapter event.
pub(crate) fn normalise(e: &AdapterEvent) -> Option<EventKind> {
    use EventKind as K;
    let cobrowse = |c: &CobrowseEvent, change: &'static str| {
        let (id, channel) = match (&c.call_id, &c.chat_id) {
            (Some(call), _) => (Some(call.text_str()), Some(Channel::Voice)),
            (None, Some(chat)) => (Some(chat.text_str()), Some(Channel::Chat)),
            (None, None) => (None, None),
        };
        let mut interaction = Box::<Interaction>::default();
        interaction.id = id;
        interaction.channel = channel;
        interaction.agent = agent(c.agent_id.as_ref(), None, None);
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
            agent: agent(
                Some(&l.agent_id),
                l.agent_custom_id.as_ref(),
                l.agent_email.as_ref(),
            )
            .map(Box::new),
            language: None,
            vendor_origin: None,
        },
        AdapterEvent::NewCall(c) => K::InteractionConnected(call(c)),
        AdapterEvent::EndCall(c) => K::InteractionEnded(call(c)),
        AdapterEvent::NewChat(c) => K::InteractionConnected(chat(c)),
        AdapterEvent::ActiveChat(c) => K::InteractionActivated(chat(c)),
        AdapterEvent::EndChat(c) => K::InteractionEnded(chat(c)),
        AdapterEvent::DismissedChat(c) => K::InteractionDismissed(chat(c)),
        AdapterEvent::CobrowseStarted(c) => cobrowse(c, "started"),
        AdapterEvent::CobrowseRemoteControlChanged(c) => cobrowse(c, "remote_control_changed"),
        AdapterEvent::CobrowseFullDeviceChanged(c) => cobrowse(c, "full_device_changed"),
        AdapterEvent::CobrowseEnded(c) => cobrowse(c, "ended"),
        AdapterEvent::AgentAssistStarted(a) => {
            let mut interaction = Box::<Interaction>::default();
            interaction.id = a.session_id.as_ref().map(|s| s.text_str());
            interaction.queue =
                QueueRef::from_parts(a.queue_id.as_ref().map(|q| q.text_ref()), None);
            interaction.agent = agent(a.agent_id.as_ref(), None, None);
            K::AssistantJoined {
                interaction,
                conversation_id: a.conversation_id.as_ref().map(|c| c.text_str()),
                name: Some(Str::new_static("Agent Assist")),
            }
        }
        // Without a URL there is nothing to open.
        AdapterEvent::CrmRecordPop(p) if p.record_url.is_empty() => return None,
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
    })
}

/// CCAI Platform agent adapter's [`Dialect`].
///
/// | Neutral event | What the adapter posts |
/// |---|---|
/// | agent logged in | `Agent_Login` |
/// | connected | `New_Call` / `New_Chat` |
/// | switched to, dismissed (chats) | `Active_Chat`, `Dismissed_Chat` |
/// | ended, not connected | `End_Call` / `End_Chat` |
/// | completed | chats: `Dismissed_Chat`; calls: nothing |
/// | record pop (a URL) | `CRM_Record_Pop` |
///
/// The adapter posts nothing while a session rings. Ids that are all
/// digits go out as JSON numbers, as the adapter sends them. The adapter
/// takes no commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct Adapter;

impl Dialect for Adapter {
    const VENDOR: crate::Vendor = crate::Vendor::Ccai;

    fn decode(json: &str) -> crate::Result<VendorMessage> {
        decode(json)
    }

    fn render_events(events: &[EventKind], phone: &Softphone) -> crate::Result<Vec<VendorMessage>> {
        let out: Vec<AdapterEvent> = events
            .iter()
            .filter_map(|e| render_event(e, phone))
            .collect();
        posted(crate::Vendor::Ccai, out)
    }

    fn render_command(command: &Command) -> crate::Result<VendorMessage> {
        Err(command.unsupported(crate::Vendor::Ccai, "the adapter accepts no commands"))
    }
}

/// An id: a JSON number when it is all digits.
fn id_value(text: &str) -> NumOrStr {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<i64>() {
        Ok(n) if digits && (!text.starts_with('0') || text == "0") => NumOrStr::number(n),
        _ => NumOrStr::text(text),
    }
}

fn is_call(i: &Interaction) -> Option<bool> {
    match i.channel.unwrap_or(Channel::Voice) {
        Channel::Voice | Channel::Video => Some(true),
        Channel::Chat | Channel::Sms => Some(false),
        _ => None,
    }
}

/// The session type the adapter would name: the interaction's own, or
/// the plain one for its channel and direction.
fn session_type(i: &Interaction, call: bool) -> Str {
    i.session_type.clone().unwrap_or_else(|| {
        Str::new_static(match (call, i.direction) {
            (true, Some(Direction::Outbound)) => "Voice Outbound",
            (true, _) => "Voice Inbound",
            (false, _) => "Messaging Inbound (Web Chat)",
        })
    })
}

fn session(i: &Interaction, phone: &Softphone, call: bool) -> AdapterEvent {
    let agent = i.agent.as_ref().unwrap_or(&phone.agent);
    let queue = i.queue.as_ref().or(phone.queue.as_ref());
    let queue_id = queue
        .and_then(|q| q.id.as_deref())
        .map(|q| QueueId(id_value(q)));
    let queue_path = queue.and_then(|q| q.name.clone());
    let agent_id = agent.id.as_deref().map(|a| AgentId(id_value(a)));
    let id = i.id.as_deref().unwrap_or_default();
    if call {
        AdapterEvent::NewCall(Box::new(CallEvent {
            agent_id: agent_id.unwrap_or_default(),
            agent_custom_id: agent.custom_id.clone(),
            agent_email: agent.email.clone(),
            queue_id,
            queue_path,
            call_id: CallId(id_value(id)),
            session_type: Some(session_type(i, true)),
            ..CallEvent::default()
        }))
    } else {
        AdapterEvent::NewChat(Box::new(ChatEvent {
            chat_id: ChatId(id_value(id)),
            session_type: Some(session_type(i, false)),
            agent_id,
            agent_custom_id: agent.custom_id.clone(),
            agent_email: agent.email.clone(),
            queue_id,
            queue_path,
            ..ChatEvent::default()
        }))
    }
}

/// The same session under another event type.
fn retype(
    e: AdapterEvent,
    call: fn(Box<CallEvent>) -> AdapterEvent,
    chat: fn(Box<ChatEvent>) -> AdapterEvent,
) -> AdapterEvent {
    match e {
        AdapterEvent::NewCall(c) => call(c),
        AdapterEvent::NewChat(c) => chat(c),
        other => other,
    }
}

fn render_event(e: &EventKind, phone: &Softphone) -> Option<AdapterEvent> {
    use EventKind as K;
    Some(match e {
        K::AgentLoggedIn { agent, .. } => {
            let agent = agent.as_deref().unwrap_or(&phone.agent);
            AdapterEvent::AgentLogin(Box::new(AgentLogin {
                agent_id: AgentId(id_value(agent.id.as_deref().unwrap_or_default())),
                agent_custom_id: agent.custom_id.clone(),
                agent_email: agent.email.clone(),
            }))
        }
        K::InteractionConnected(i) => session(i, phone, is_call(i)?),
        K::InteractionEnded(i) | K::InteractionNotConnected { interaction: i, .. } => {
            let call = is_call(i)?;
            retype(
                session(i, phone, call),
                AdapterEvent::EndCall,
                AdapterEvent::EndChat,
            )
        }
        K::InteractionActivated(i) if is_call(i) == Some(false) => retype(
            session(i, phone, false),
            AdapterEvent::NewCall,
            AdapterEvent::ActiveChat,
        ),
        K::InteractionDismissed(i) if is_call(i) == Some(false) => retype(
            session(i, phone, false),
            AdapterEvent::NewCall,
            AdapterEvent::DismissedChat,
        ),
        K::InteractionCompleted(c)
            if is_call(&c.interaction) == Some(false) && c.answered != Some(false) =>
        {
            retype(
                session(&c.interaction, phone, false),
                AdapterEvent::NewCall,
                AdapterEvent::DismissedChat,
            )
        }
        K::ScreenPop(ScreenPopTarget::Url(url)) => {
            AdapterEvent::CrmRecordPop(Box::new(CrmRecordPop {
                record_url: url.clone(),
            }))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_words_decide_channel_and_direction() {
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
}
