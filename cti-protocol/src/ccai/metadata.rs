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
//! back, so a record decoded and re-encoded is equal to the input (key
//! order aside), explicit `null`s included.
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
use crate::wire::wire_struct;
use crate::{Error, ErrorKind};

wire_struct! {
    /// A human agent in `agent_info`.
    pub struct HumanAgent {
        /// The agent's id.
        "id" => id: opt NumOrStr,
        /// Display name.
        "name" => name: opt Str,
        /// Avatar image URL.
        "avatar_url" => avatar_url: opt Str,
        /// E-mail address (what tells a human agent apart).
        "email" => email: opt Str,
        /// First name.
        "first_name" => first_name: opt Str,
        /// Last name.
        "last_name" => last_name: opt Str,
        /// The agent's number.
        "agent_number" => agent_number: opt NumOrStr,
    }
}

wire_struct! {
    /// A virtual agent in `agent_info`.
    pub struct VirtualAgent {
        /// The virtual agent's id.
        "id" => id: opt NumOrStr,
        /// Display name.
        "name" => name: opt Str,
        /// Avatar image URL.
        "avatar_url" => avatar_url: opt Str,
        /// The virtual agent's alias (what tells a virtual agent apart).
        "va_alias" => va_alias: req Str,
    }
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

impl crate::fast::FastRead for AgentInfo {
    fn fast_read(s: &mut crate::fast::Scan<'_>) -> crate::fast::Fast<Self> {
        s.serde()
    }
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

wire_struct! {
    /// A call's session metadata (`ujet-metadata/call-{id}.json`).
    pub struct CallMetadata {
        /// The call id.
        "id" => id: req u64,
        /// Language code (`en`, `es`, …).
        "lang" => lang: opt Str,
        /// The legacy session type (`Voice Inbound (App)`, `Voice Outbound`, …).
        "call_type" => call_type: opt Str,
        /// Deprecated: the same as `call_type`.
        "session_type" => session_type: opt Str,
        /// The current session type vocabulary.
        "session_type_v2" => session_type_v2: opt Str,
        /// `scheduled`, `queued`, `connected`, `finished`, `failed` or
        /// `deflected` (an open string).
        "status" => status: opt Str,
        /// `waiting_for_agent`, `in_queue`, `connected_with_agent` (note
        /// the camel case: chats spell it `sub_status`).
        "subStatus" => sub_status: opt Str,
        /// When the session was created.
        "created_at" => created_at: opt IsoTime,
        /// When it entered the queue.
        "queued_at" => queued_at: opt IsoTime,
        /// When it was assigned to an agent.
        "assigned_at" => assigned_at: opt IsoTime,
        /// When the agent connected.
        "connected_at" => connected_at: opt IsoTime,
        /// When it ended (`ends_at`, not `ended_at`).
        "ends_at" => ends_at: opt IsoTime,
        /// When a scheduled call is due.
        "scheduled_at" => scheduled_at: opt IsoTime,
        /// When the record last changed.
        "updated_at" => updated_at: opt IsoTime,
        /// Seconds waited before an agent answered.
        "wait_duration" => wait_duration: opt u64,
        /// Seconds connected.
        "call_duration" => call_duration: opt u64,
        /// Seconds on hold (may be `null`).
        "hold_duration" => hold_duration: opt u64,
        /// The customer's rating.
        "rating" => rating: opt i64,
        /// Who handled it.
        "agent_info" => agent_info: opt AgentInfo,
    }
}

wire_struct! {
    /// A chat's session metadata (`ujet-metadata/chat-{id}.json`).
    pub struct ChatMetadata {
        /// The chat id.
        "id" => id: req u64,
        /// Language code.
        "lang" => lang: opt Str,
        /// The legacy session type (`Messaging Inbound (Web Chat)`,
        /// `Messaging (SMS)`, …).
        "chat_type" => chat_type: opt Str,
        /// Deprecated: the same as `chat_type`.
        "session_type" => session_type: opt Str,
        /// The current session type vocabulary.
        "session_type_v2" => session_type_v2: opt Str,
        /// `queued`, `assigned`, `finished`, `no_response`, `canceled` or
        /// `failed` (an open string).
        "status" => status: opt Str,
        /// The sub-status (snake case here: calls spell it `subStatus`).
        "sub_status" => sub_status: opt Str,
        /// When the session was created.
        "created_at" => created_at: opt IsoTime,
        /// When it was assigned to an agent.
        "assigned_at" => assigned_at: opt IsoTime,
        /// Who handled it.
        "agent_info" => agent_info: opt AgentInfo,
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
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::from_json(&e))?;
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
        serde_json::from_str(json).map_err(|e| Error::from_json(&e))
    }
}

impl ChatMetadata {
    /// Decodes a chat record.
    ///
    /// # Errors
    ///
    /// As [`SessionMetadata::decode`].
    pub fn decode(json: &str) -> crate::Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::from_json(&e))
    }
}
