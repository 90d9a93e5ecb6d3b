//! Property tests: typed values survive encode → decode; arbitrary JSON
//! never panics a decoder, and whatever decodes re-encodes to equal JSON.

use cti_protocol::leaddesk::{self, TalkEvent, TalkMessage};
use cti_protocol::types::{EngagementId, NumOrStr, TalkTime};
use cti_protocol::zoom::{self, ZoomCommand, ZoomEvent, ZoomMessage};
use cti_protocol::{Body, Vendor, decode};
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
    known.extend(ZoomEvent::known_types());
    known.extend(ZoomCommand::known_types());
    known.extend(TalkEvent::known_types());
    known.extend(leaddesk::TalkCommand::known_types());
    known.extend(cti_protocol::ccai::AdapterEvent::known_types());
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
        flags in prop::option::of(any::<bool>()),
        notes in prop::option::of(prop::collection::vec(text(), 0..4)), secs in 0u64..100_000,
    ) {
        let mut ringing = zoom::CallRinging::new(EngagementId::from(id.clone()));
        ringing.from = from.clone().map(Into::into);
        ringing.create_ts = ts.map(cti_protocol::types::EpochMillis);
        ringing.is_transfer = flags;
        let event = ZoomEvent::CallRinging(Box::new(ringing));
        let msg = decode(Vendor::Zoom, &serde_json::to_string(&event).unwrap()).unwrap();
        prop_assert_eq!(msg.body(), &Body::Zoom(ZoomMessage::Event(event)));
        prop_assert!(msg.unreadable().is_empty());

        let mut record = zoom::CallLogRecord::default();
        record.call_duration = Some(cti_protocol::types::ClockDuration::minutes_seconds(secs));
        record.notes = notes.map(|n| n.into_iter().map(Into::into).collect::<Vec<_>>());
        record.from = from.map(Into::into);
        let mut log = zoom::PhoneCallLog::new(record);
        log.engagement_id = Some(EngagementId::from(id));
        let log = ZoomEvent::PhoneCallLog(Box::new(log));
        let back = decode(Vendor::Zoom, &serde_json::to_string(&log).unwrap()).unwrap();
        prop_assert_eq!(back.body(), &Body::Zoom(ZoomMessage::Event(log)));
        if let Body::Zoom(ZoomMessage::Event(ZoomEvent::PhoneCallLog(l))) = back.body() {
            prop_assert_eq!(l.object_record.call_duration.as_ref().and_then(|d| d.seconds()), Some(secs));
        }

        let mut contact = zoom::Contact::new("c1", "n");
        contact.phone = Some("+1".into());
        let cmd = ZoomCommand::IncomingPhoneResponse(Box::new(zoom::ContactMatches::list(vec![contact])));
        let back = decode(Vendor::Zoom, &serde_json::to_string(&cmd).unwrap()).unwrap();
        prop_assert_eq!(back.body(), &Body::Zoom(ZoomMessage::Command(cmd)));
    }

    #[test]
    fn typed_leaddesk_values_round_trip(
        number in num_or_str(), id in any::<i64>(), comment in prop::option::of(text()),
        y in 1970i16..2100, mo in 1i8..=12, d in 1i8..=28, h in 0i8..24, mi in 0i8..60, s in 0i8..60,
    ) {
        let at = jiff::civil::DateTime::new(y, mo, d, h, mi, s, 0).unwrap();
        let mut ringing = leaddesk::RingingCall::new(number);
        ringing.id = Some(cti_protocol::types::TalkCallId::from(id));
        ringing.ring_start = Some(TalkTime::from_datetime(at));
        let call = TalkEvent::Call(Box::new(ringing));
        let back = decode(Vendor::LeadDesk, &serde_json::to_string(&call).unwrap()).unwrap();
        prop_assert_eq!(back.body(), &Body::LeadDesk(TalkMessage::Event(call)));
        let mut done = leaddesk::CompletedCall::default();
        done.id = Some(cti_protocol::types::TalkCallId::from(id));
        done.comment = comment.map(Into::into);
        done.answered = Some(false);
        let done = TalkEvent::Completed(Box::new(leaddesk::Completed::new(done)));
        let back = decode(Vendor::LeadDesk, &serde_json::to_string(&done).unwrap()).unwrap();
        prop_assert_eq!(back.body(), &Body::LeadDesk(TalkMessage::Event(done)));
    }
}

/// Every message of the fixtures, taken from the vendors' docs, with its
/// vendor.
fn documented_messages() -> Vec<(Vendor, String)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let mut out = Vec::new();
    for (vendor, file) in [
        (Vendor::Zoom, "zoom/events.jsonl"),
        (Vendor::Zoom, "zoom/commands.jsonl"),
        (Vendor::LeadDesk, "leaddesk/events.jsonl"),
        (Vendor::Ccai, "ccai/events.jsonl"),
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap_or_default();
        out.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| (vendor, l.to_owned())),
        );
    }
    out
}

/// The paths of every leaf of a message's payload.
fn leaf_paths(v: &Value, here: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                here.push(json!(k));
                leaf_paths(c, here, out);
                here.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, c) in a.iter().enumerate() {
                here.push(json!(i));
                leaf_paths(c, here, out);
                here.pop();
            }
        }
        _ => out.push(here.clone()),
    }
}

fn at_path<'v>(v: &'v mut Value, path: &[Value]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        Value::String(k) => v.get_mut(k.as_str()),
        Value::Number(n) => v.get_mut(usize::try_from(n.as_u64()?).ok()?),
        _ => None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Nothing is lost: in any documented message, any one field replaced
    /// by any JSON value still decodes as that known message, raw kept.
    #[test]
    fn one_odd_field_never_loses_a_known_message(
        pick in any::<prop::sample::Index>(),
        leaf in any::<prop::sample::Index>(),
        value in json_value(),
    ) {
        let all = documented_messages();
        let (vendor, line) = &all[pick.index(all.len())];
        let mut msg: Value = match serde_json::from_str(line).unwrap() {
            Value::String(inner) => serde_json::from_str(&inner).unwrap(),
            v => v,
        };
        let before = decode(*vendor, line).unwrap();
        // Any leaf but the type tag itself.
        let mut paths = Vec::new();
        leaf_paths(&msg, &mut Vec::new(), &mut paths);
        paths.retain(|p| p.first() != Some(&json!("type")) && p.first() != Some(&json!("action")));
        prop_assume!(!paths.is_empty());
        let path = &paths[leaf.index(paths.len())];
        if let Some(slot) = at_path(&mut msg, path) {
            *slot = value;
        }
        let text = msg.to_string();
        let after = decode(*vendor, &text);
        prop_assert!(after.is_ok(), "{} -> {:?}", text, after.err());
        let after = after.unwrap();
        prop_assert_eq!(after.wire_type(), before.wire_type());
        prop_assert_eq!(after.is_known(), before.is_known(), "{}", text);
        prop_assert_eq!(after.raw(), text.as_str());
        // The neutral meaning survives too, from whatever was readable
        // (but a record pop whose URL cannot be read has nothing to open).
        if after.wire_type() != "CRM_Record_Pop" {
            prop_assert_eq!(after.event_kind().is_some(), before.event_kind().is_some(), "{}", text);
        }
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
    /// to equal JSON (unknown keys kept; `null` members of modelled keys
    /// are left out).
    #[test]
    fn session_metadata_round_trips(record in metadata_record()) {
        use cti_protocol::ccai::metadata::SessionMetadata;
        let text = record.to_string();
        if let Ok(decoded) = SessionMetadata::decode(&text) {
            let again: Value = serde_json::from_str(&decoded.to_json()).unwrap_or_default();
            prop_assert_eq!(crate::without_nulls(&again), crate::without_nulls(&record));
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
            let mut v = VirtualAgent::default();
            v.name = Some(name.as_str().into());
            v.va_alias = name.as_str().into();
            AgentInfo::Virtual(v)
        } else {
            let mut h = HumanAgent::default();
            h.name = Some(name.as_str().into());
            h.email = Some("a@example.com".into());
            AgentInfo::Human(h)
        };
        let mut call = CallMetadata::default();
        call.id = id;
        call.lang = lang.clone().map(Into::into);
        call.status = status.clone().map(Into::into);
        call.sub_status = Some("connected_with_agent".into());
        call.ends_at = Some(at.clone());
        call.wait_duration = wait;
        call.agent_info = Some(agent.clone());
        let text = serde_json::to_string(&call).unwrap_or_default();
        prop_assert!(text.contains("\"subStatus\"") && text.contains("\"ends_at\""));
        prop_assert_eq!(CallMetadata::decode(&text).ok(), Some(call.clone()));
        let mut chat = ChatMetadata::default();
        chat.id = id;
        chat.chat_type = Some("Messaging Inbound (Web Chat)".into());
        chat.sub_status = Some("in_queue".into());
        chat.assigned_at = Some(at);
        chat.agent_info = Some(agent);
        let text = serde_json::to_string(&chat).unwrap_or_default();
        prop_assert!(text.contains("\"sub_status\""));
        prop_assert_eq!(SessionMetadata::decode(&text).ok(), Some(SessionMetadata::Chat(Box::new(chat))));
    }
}
