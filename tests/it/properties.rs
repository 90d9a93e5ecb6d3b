//! Property tests: typed values survive encode → decode; arbitrary JSON
//! never panics a decoder, and whatever decodes re-encodes to equal JSON.

use cti_protocol::leaddesk::{self, TalkEvent};
use cti_protocol::types::{EngagementId, NumOrStr, TalkTime};
use cti_protocol::zoom::{self, ZoomCommand, ZoomEvent};
use cti_protocol::{Vendor, decode};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, including the characters JSON has to escape.
    prop_oneof![any::<String>(), "[+&=#%/?\"\\\\\u{0}-\u{1f}a-z ]{0,12}"]
}

fn num_or_str() -> impl Strategy<Value = NumOrStr> {
    prop_oneof![
        any::<i64>().prop_map(NumOrStr::number),
        text().prop_map(NumOrStr::text)
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys a vendor might really send, so that known fields get exercised
/// with wrong and right types alike.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "engagementId", "from", "to", "queueId", "queueName", "createTs", "acceptTs", "completeTs",
            "channel", "direction", "id", "name", "phone", "email", "entity", "query", "comment",
            "objectRecord", "callDuration", "callStartTime", "notes", "reasonCode", "statusCode",
            "number", "ringStart", "callStart", "callEnd", "call", "answered", "duration", "reason",
            "agent_id", "call_id", "chat_id", "queue_id", "session_type", "cobrowse_session_id",
            "cobrowse_session_requested_by", "cobrowse_session_remote_control", "recordUrl", "jwt",
        ]).prop_map(str::to_owned),
        1 => text(),
    ]
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), json_value(), 0..8).prop_map(|m| m.into_iter().collect())
}

fn any_type() -> impl Strategy<Value = String> {
    let mut known: Vec<&str> = Vec::new();
    known.extend(ZoomEvent::KNOWN_TYPES);
    known.extend(ZoomCommand::KNOWN_TYPES);
    known.extend(TalkEvent::KNOWN_TYPES);
    known.extend(leaddesk::TalkCommand::KNOWN_TYPES);
    known.extend(cti_protocol::ccai::AdapterEvent::KNOWN_TYPES);
    prop_oneof![3 => prop::sample::select(known).prop_map(str::to_owned), 1 => text()]
}

fn message() -> impl Strategy<Value = Value> {
    prop_oneof![
        (any_type(), object(), prop::option::of(object())).prop_map(|(t, data, extra)| {
            let mut m = extra.unwrap_or_default();
            m.insert("type".into(), Value::String(t));
            m.insert("data".into(), Value::Object(data));
            Value::Object(m)
        }),
        (any_type(), object()).prop_map(|(t, mut m)| {
            m.insert("action".into(), Value::String(t));
            Value::Object(m)
        }),
        json_value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_json_never_panics_and_decoded_messages_round_trip(msg in message()) {
        let text = serde_json::to_string(&msg).unwrap();
        for vendor in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
            if let Ok(decoded) = decode(vendor, &text) {
                let _ = decoded.event_kind();
                prop_assert_eq!(decoded.to_value(), msg.clone(), "{:?} {}", vendor, text);
            }
        }
        // The CCAI string form too.
        let as_string = serde_json::to_string(&text).unwrap();
        if let Ok(decoded) = decode(Vendor::Ccai, &as_string) {
            prop_assert_eq!(decoded.to_value(), msg);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            for vendor in [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai] {
                let _ = decode(vendor, text);
            }
        }
    }

    #[test]
    fn typed_zoom_values_round_trip(
        id in text(), from in prop::option::of(text()), ts in prop::option::of(any::<i64>()),
        flags in prop::option::of(any::<bool>()), extra in object(),
        notes in prop::option::of(prop::collection::vec(text(), 0..4)), secs in 0u64..100_000,
    ) {
        let mut ringing = zoom::CallRinging::default()
            .engagement_id(EngagementId::from(id.clone()))
            .from(from.clone().map(Into::into))
            .create_ts(ts.map(cti_protocol::types::EpochMillis))
            .is_transfer(flags);
        for (k, v) in &extra {
            if !["channel", "createTs", "engagementId", "from", "queueName", "to", "isConference", "isTransfer"].contains(&k.as_str()) {
                ringing.extra.insert(k.clone(), v.clone());
            }
        }
        let event = ZoomEvent::CallRinging(Box::new(ringing));
        prop_assert_eq!(ZoomEvent::decode(&event.encode()).unwrap(), event.clone());

        let record = zoom::CallLogRecord::default()
            .call_duration(cti_protocol::types::ClockDuration::minutes_seconds(secs))
            .notes(notes.map(|n| n.into_iter().map(Into::into).collect::<Vec<_>>()))
            .from(from.map(Into::into));
        let log = ZoomEvent::PhoneCallLog(Box::new(zoom::PhoneCallLog::default().object_record(record).engagement_id(EngagementId::from(id))));
        let back = ZoomEvent::decode(&log.encode()).unwrap();
        prop_assert_eq!(&back, &log);
        if let ZoomEvent::PhoneCallLog(l) = back {
            prop_assert_eq!(l.object_record.call_duration.and_then(|d| d.seconds()), Some(secs));
        }

        let contacts: Vec<zoom::Contact> = vec![zoom::Contact::new("c1", "n").phone(Some("+1".into()))];
        let cmd = ZoomCommand::IncomingPhoneResponse(Box::new(zoom::ContactMatches::list(contacts)));
        prop_assert_eq!(ZoomCommand::decode(&cmd.encode()).unwrap(), cmd);
    }

    #[test]
    fn typed_leaddesk_values_round_trip(
        number in num_or_str(), id in any::<i64>(), comment in prop::option::of(text()),
        y in 1970i16..2100, mo in 1i8..=12, d in 1i8..=28, h in 0i8..24, mi in 0i8..60, s in 0i8..60,
    ) {
        let at = jiff::civil::DateTime::new(y, mo, d, h, mi, s, 0).unwrap();
        let call = TalkEvent::Call(Box::new(
            leaddesk::RingingCall::default()
                .id(Some(cti_protocol::types::TalkCallId::from(id)))
                .number(number)
                .ring_start(TalkTime::from_datetime(at)),
        ));
        prop_assert_eq!(TalkEvent::decode(&call.encode()).unwrap(), call);
        let done = TalkEvent::Completed(Box::new(leaddesk::Completed::default().call(
            leaddesk::CompletedCall::default().id(Some(cti_protocol::types::TalkCallId::from(id))).comment(comment.map(Into::into)).answered(false),
        )));
        prop_assert_eq!(TalkEvent::decode(&done.encode()).unwrap(), done);
    }
}

/// Keys of CCAI session metadata records, including the ones that differ
/// between calls and chats, and agent_info's.
fn metadata_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "id", "lang", "call_type", "chat_type", "session_type", "session_type_v2", "status",
            "subStatus", "sub_status", "created_at", "queued_at", "assigned_at", "connected_at",
            "ends_at", "scheduled_at", "updated_at", "wait_duration", "call_duration",
            "hold_duration", "rating", "agent_info", "transfers",
        ]).prop_map(str::to_owned),
        1 => text(),
    ]
}

fn metadata_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => json_leaf(),
        1 => prop::sample::select(vec![
            "2026-11-23T10:15:00.000Z", "2026-11-23T10:15:00+01:00", "", "not a time",
        ]).prop_map(|s| Value::String(s.to_owned())),
        1 => (prop::option::of(text()), prop::option::of(text()), prop::option::of(any::<u32>()))
            .prop_map(|(email, alias, id)| {
                let mut m = Map::new();
                if let Some(id) = id { m.insert("id".into(), json!(id)); }
                if let Some(e) = email { m.insert("email".into(), Value::String(e)); }
                if let Some(a) = alias { m.insert("va_alias".into(), Value::String(a)); }
                Value::Object(m)
            }),
        1 => json_value(),
    ]
}

fn metadata_record() -> impl Strategy<Value = Value> {
    (
        prop::option::of(any::<u64>()),
        prop::collection::btree_map(metadata_key(), metadata_value(), 0..10),
    )
        .prop_map(|(id, m)| {
            let mut m: Map<String, Value> = m.into_iter().collect();
            if let Some(id) = id {
                m.insert("id".into(), json!(id));
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any record decodes or is a typed error; a decoded record re-encodes
    /// to equal JSON (unknown keys and explicit nulls kept).
    #[test]
    fn session_metadata_round_trips(record in metadata_record()) {
        use cti_protocol::ccai::metadata::SessionMetadata;
        let text = record.to_string();
        if let Ok(decoded) = SessionMetadata::decode(&text) {
            let again: Value = serde_json::from_str(&decoded.to_json()).unwrap_or_default();
            prop_assert_eq!(&again, &record);
            let twice = SessionMetadata::decode(&decoded.to_json());
            prop_assert_eq!(twice.ok(), Some(decoded));
        }
    }

    /// Typed records survive encode → decode.
    #[test]
    fn typed_session_metadata_round_trips(
        id in any::<u64>(),
        lang in prop::option::of(text()),
        status in prop::option::of(text()),
        wait in prop::option::of(any::<u64>()),
        secs in 0i64..4_000_000_000,
        virtual_agent in any::<bool>(),
        name in text(),
    ) {
        use cti_protocol::ccai::metadata::{
            AgentInfo, CallMetadata, ChatMetadata, HumanAgent, SessionMetadata, VirtualAgent,
        };
        use cti_protocol::types::IsoTime;
        let at = IsoTime::from_timestamp(jiff::Timestamp::from_second(secs).unwrap_or_default());
        let agent = if virtual_agent {
            AgentInfo::Virtual(VirtualAgent::default().name(Some(name.as_str().into())).va_alias(name.as_str()))
        } else {
            AgentInfo::Human(HumanAgent::default().name(Some(name.as_str().into())).email(Some("a@example.com".into())))
        };
        let call = CallMetadata::default()
            .id(id)
            .lang(lang.clone().map(Into::into))
            .status(status.clone().map(Into::into))
            .sub_status(Some("connected_with_agent".into()))
            .ends_at(Some(at.clone()))
            .wait_duration(wait)
            .agent_info(Some(agent.clone()));
        let text = serde_json::to_string(&call).unwrap_or_default();
        prop_assert!(text.contains("\"subStatus\"") && text.contains("\"ends_at\""));
        prop_assert_eq!(CallMetadata::decode(&text).ok(), Some(call.clone()));
        let chat = ChatMetadata::default()
            .id(id)
            .chat_type(Some("Messaging Inbound (Web Chat)".into()))
            .sub_status(Some("in_queue".into()))
            .assigned_at(Some(at))
            .agent_info(Some(agent));
        let text = serde_json::to_string(&chat).unwrap_or_default();
        prop_assert!(text.contains("\"sub_status\""));
        prop_assert_eq!(SessionMetadata::decode(&text).ok(), Some(SessionMetadata::Chat(Box::new(chat))));
    }
}
