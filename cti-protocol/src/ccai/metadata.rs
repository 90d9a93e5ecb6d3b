//! CCAI Platform session metadata: the JSON record written to
//! `ujet-metadata/` in external storage, sent in the body of the session
//! update e-mail, and delivered with the CRM's `session-end` command.
//!
//! Calls and chats have their own record ([`CallMetadata`],
//! [`ChatMetadata`]). Mind the spelling differences CCAI ships:
//! - the sub-status is `subStatus` in a call record but `sub_status` in a
//!   chat record;
//! - the end time is `ends_at` (not `ended_at`).
//!
//! `agent_info` is one of two shapes ([`AgentInfo`]): a human agent
//! (with `email`) or a virtual agent (with `va_alias`); it may be absent.
//!
//! CCAI documents only the first keys of the record; the rest (transfers,
//! participants, queue and handle durations, smart actions, …) are not
//! published at key level. Unknown keys are kept in `extra` and written
//! back, so a record decoded and re-encoded is equal to the input, key
//! order and `null` members of modelled keys aside (those are left out).
//!
//! # Examples
//!
//! ```
//! use cti_protocol::ccai::metadata::{AgentInfo, SessionMetadata};
//!
//! let json = r#"{"id": 103646, "lang": "en", "call_type": "Voice Inbound", "status": "finished",
//!   "subStatus": null, "ends_at": "2026-11-23T10:15:00.000Z", "call_duration": 312,
//!   "agent_info": {"id": 7, "name": "Ada Lovelace", "email": "ada@example.com"},
//!   "transfers": 0}"#;
//! let SessionMetadata::Call(call) = SessionMetadata::decode(json)? else { unreachable!() };
//! assert_eq!(call.id, 103646);
//! assert_eq!(call.call_duration, Some(312));
//! assert!(matches!(call.agent_info, Some(AgentInfo::Human(_))));
//! assert!(call.extra.contains_key("transfers"), "unknown keys are kept");
//! # Ok::<(), cti_protocol::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::types::{IsoTime, NumOrStr, Str};
use crate::{Error, ErrorKind};

/// A human agent in `agent_info`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HumanAgent {
    /// The agent's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<NumOrStr>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
    /// Avatar image URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<Str>,
    /// E-mail address (what tells a human agent apart).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Str>,
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Str>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<Str>,
    /// The agent's number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_number: Option<NumOrStr>,
    /// Members this version does not model, kept as sent.
    #[serde(flatten)]
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A virtual agent in `agent_info`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VirtualAgent {
    /// The virtual agent's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<NumOrStr>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Str>,
    /// Avatar image URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<Str>,
    /// The virtual agent's alias (what tells a virtual agent apart).
    pub va_alias: Str,
    /// Members this version does not model, kept as sent.
    #[serde(flatten)]
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `agent_info`: a human or a virtual agent, told apart by `va_alias`
/// (present: virtual) — a human agent has `email` instead. A key given
/// twice is an error (it would otherwise decide the shape by accident).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[non_exhaustive]
pub enum AgentInfo {
    /// A virtual agent.
    Virtual(VirtualAgent),
    /// A human agent.
    Human(HumanAgent),
}

impl<'de> Deserialize<'de> for AgentInfo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = AgentInfo;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an agent_info object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<AgentInfo, A::Error> {
                let mut fields = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value: serde_json::Value = map.next_value()?;
                    if fields.contains_key(&key) {
                        return Err(serde::de::Error::custom(format_args!(
                            "agent_info: duplicate field `{}`",
                            crate::types::truncate(&key, 64)
                        )));
                    }
                    fields.insert(key, value);
                }
                let virtual_agent = fields.contains_key("va_alias");
                let value = serde_json::Value::Object(fields);
                if virtual_agent {
                    serde_json::from_value(value)
                        .map(AgentInfo::Virtual)
                        .map_err(|e| serde::de::Error::custom(format_args!("agent_info: {e}")))
                } else {
                    serde_json::from_value(value)
                        .map(AgentInfo::Human)
                        .map_err(|e| serde::de::Error::custom(format_args!("agent_info: {e}")))
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// A call's session metadata (`ujet-metadata/call-{id}.json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallMetadata {
    /// The call id.
    pub id: u64,
    /// Language code (`en`, `es`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<Str>,
    /// The legacy session type (`Voice Inbound (App)`, `Voice Outbound`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_type: Option<Str>,
    /// Deprecated: the same as `call_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_type: Option<Str>,
    /// The current session type vocabulary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_type_v2: Option<Str>,
    /// `scheduled`, `queued`, `connected`, `finished`, `failed` or
    /// `deflected` (an open string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Str>,
    /// `waiting_for_agent`, `in_queue`, `connected_with_agent` (note
    /// the camel case: chats spell it `sub_status`).
    #[serde(rename = "subStatus", skip_serializing_if = "Option::is_none")]
    pub sub_status: Option<Str>,
    /// When the session was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<IsoTime>,
    /// When it entered the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<IsoTime>,
    /// When it was assigned to an agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<IsoTime>,
    /// When the agent connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_at: Option<IsoTime>,
    /// When it ended (`ends_at`, not `ended_at`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<IsoTime>,
    /// When a scheduled call is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<IsoTime>,
    /// When the record last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<IsoTime>,
    /// Seconds waited before an agent answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_duration: Option<u64>,
    /// Seconds connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_duration: Option<u64>,
    /// Seconds on hold (may be `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_duration: Option<u64>,
    /// The customer's rating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<i64>,
    /// Who handled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_info: Option<AgentInfo>,
    /// Members this version does not model, kept as sent.
    #[serde(flatten)]
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl CallMetadata {
    /// A record of session `id`; everything else absent.
    #[must_use]
    pub fn new(id: u64) -> Self {
        Self {
            id,
            ..Self::default()
        }
    }
}

/// A chat's session metadata (`ujet-metadata/chat-{id}.json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChatMetadata {
    /// The chat id.
    pub id: u64,
    /// Language code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<Str>,
    /// The legacy session type (`Messaging Inbound (Web Chat)`,
    /// `Messaging (SMS)`, …).
    // Always written (`null` when unknown): it is what tells a chat
    // record from a call record.
    pub chat_type: Option<Str>,
    /// Deprecated: the same as `chat_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_type: Option<Str>,
    /// The current session type vocabulary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_type_v2: Option<Str>,
    /// `queued`, `assigned`, `finished`, `no_response`, `canceled` or
    /// `failed` (an open string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Str>,
    /// The sub-status (snake case here: calls spell it `subStatus`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_status: Option<Str>,
    /// When the session was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<IsoTime>,
    /// When it was assigned to an agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<IsoTime>,
    /// Who handled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_info: Option<AgentInfo>,
    /// Members this version does not model, kept as sent.
    #[serde(flatten)]
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ChatMetadata {
    /// A record of session `id`; everything else absent.
    #[must_use]
    pub fn new(id: u64) -> Self {
        Self {
            id,
            ..Self::default()
        }
    }
}

/// A call's or a chat's metadata record.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionMetadata {
    /// A call record.
    Call(Box<CallMetadata>),
    /// A chat record.
    Chat(Box<ChatMetadata>),
}

impl SessionMetadata {
    /// Decodes a record, telling a chat (`chat_type` or `sub_status`)
    /// from a call (anything else). When the file name tells which it
    /// is, [`CallMetadata::decode`] / [`ChatMetadata::decode`] say so
    /// directly.
    ///
    /// # Errors
    ///
    /// Syntax and payload errors naming what is wrong (`id` missing or
    /// not an unsigned integer, a field of the wrong type, …).
    pub fn decode(json: &str) -> crate::Result<Self> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(Error::from_json)?;
        let Some(map) = value.as_object() else {
            return Err(Error::new(
                ErrorKind::Payload,
                "session metadata is a JSON object",
            ));
        };
        if map.contains_key("chat_type") || map.contains_key("sub_status") {
            ChatMetadata::decode(json).map(|c| Self::Chat(Box::new(c)))
        } else {
            CallMetadata::decode(json).map(|c| Self::Call(Box::new(c)))
        }
    }

    /// The record as JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        match self {
            Self::Call(c) => serde_json::to_string(&**c),
            Self::Chat(c) => serde_json::to_string(&**c),
        }
        .unwrap_or_default()
    }

    /// The session id.
    #[must_use]
    pub fn id(&self) -> u64 {
        match self {
            Self::Call(c) => c.id,
            Self::Chat(c) => c.id,
        }
    }
}

impl CallMetadata {
    /// Decodes a call record.
    ///
    /// # Errors
    ///
    /// As [`SessionMetadata::decode`].
    pub fn decode(json: &str) -> crate::Result<Self> {
        serde_json::from_str(json).map_err(Error::from_json)
    }
}

impl ChatMetadata {
    /// Decodes a chat record.
    ///
    /// # Errors
    ///
    /// As [`SessionMetadata::decode`].
    pub fn decode(json: &str) -> crate::Result<Self> {
        serde_json::from_str(json).map_err(Error::from_json)
    }
}
